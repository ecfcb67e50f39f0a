"""portal indexes: a buyer's purchases in keyset order with what the inbox filters and
the dashboard sum, a lead's sector, temperature and score, a buyer's ledger with its
amounts: each read from the index alone

Revision ID: 0016
Revises: 0015
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

# marketplace/models/sales.py and leads.py declare the same indexes. INCLUDE is
# PostgreSQL's: on SQLite the indexes have their key columns only.
SALES_INCLUDE = [
    'lead_id', 'campaign_id', 'price_cents', 'rating_stars', 'outcome', 'outcome_amount_cents'
]
LEDGER_INCLUDE = ['currency', 'amount_cents']
LEAD_INCLUDE = ['sector_id', 'temperature', 'score']


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        op.drop_index('ix_sales_buyer_id_created_at', table_name='sales')
        op.create_index(
            'ix_sales_buyer_id_created_at_id', 'sales', ['buyer_id', 'created_at', 'id']
        )
        op.create_index('ix_leads_id_facts', 'leads', ['id'])
        return
    # Built without blocking the sales and the ledger (a marketplace in use writes them
    # all the time): CONCURRENTLY, outside the migration's transaction.
    with op.get_context().autocommit_block():
        op.create_index(
            'ix_sales_buyer_id_created_at_id', 'sales', ['buyer_id', 'created_at', 'id'],
            postgresql_include=SALES_INCLUDE, postgresql_concurrently=True,
        )
        op.drop_index(
            'ix_sales_buyer_id_created_at', table_name='sales', postgresql_concurrently=True
        )
        op.create_index(
            'ix_ledger_entries_organization_id_created_at_new', 'ledger_entries',
            ['organization_id', 'created_at'],
            postgresql_include=LEDGER_INCLUDE, postgresql_concurrently=True,
        )
        op.drop_index(
            'ix_ledger_entries_organization_id_created_at', table_name='ledger_entries',
            postgresql_concurrently=True,
        )
        op.create_index(
            'ix_leads_id_facts', 'leads', ['id'],
            postgresql_include=LEAD_INCLUDE, postgresql_concurrently=True,
        )
    op.execute(
        'ALTER INDEX ix_ledger_entries_organization_id_created_at_new '
        'RENAME TO ix_ledger_entries_organization_id_created_at'
    )


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        op.drop_index('ix_leads_id_facts', table_name='leads')
        op.drop_index('ix_sales_buyer_id_created_at_id', table_name='sales')
        op.create_index('ix_sales_buyer_id_created_at', 'sales', ['buyer_id', 'created_at'])
        return
    with op.get_context().autocommit_block():
        op.drop_index('ix_leads_id_facts', table_name='leads', postgresql_concurrently=True)
        op.create_index(
            'ix_sales_buyer_id_created_at', 'sales', ['buyer_id', 'created_at'],
            postgresql_concurrently=True,
        )
        op.drop_index(
            'ix_sales_buyer_id_created_at_id', table_name='sales', postgresql_concurrently=True
        )
        op.create_index(
            'ix_ledger_entries_organization_id_created_at_old', 'ledger_entries',
            ['organization_id', 'created_at'], postgresql_concurrently=True,
        )
        op.drop_index(
            'ix_ledger_entries_organization_id_created_at', table_name='ledger_entries',
            postgresql_concurrently=True,
        )
    op.execute(
        'ALTER INDEX ix_ledger_entries_organization_id_created_at_old '
        'RENAME TO ix_ledger_entries_organization_id_created_at'
    )
