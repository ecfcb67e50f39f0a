"""leaner sales: partial ledger indexes, campaigns' last sale read from the sales

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

PARTIAL = ("dispute_id", "invoice_id")


def upgrade():
    for column in PARTIAL:
        op.drop_index(f"ix_ledger_entries_{column}", table_name="ledger_entries")
        op.create_index(
            f"ix_ledger_entries_{column}",
            "ledger_entries",
            [column],
            postgresql_where=sa.text(f"{column} IS NOT NULL"),
            sqlite_where=sa.text(f"{column} IS NOT NULL"),
        )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_column('last_sold_at')


def downgrade():
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('last_sold_at', sa.DateTime(timezone=True), nullable=True))
    for column in PARTIAL:
        op.drop_index(f"ix_ledger_entries_{column}", table_name="ledger_entries")
        op.create_index(f"ix_ledger_entries_{column}", "ledger_entries", [column])
