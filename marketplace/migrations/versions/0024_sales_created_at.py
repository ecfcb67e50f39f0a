"""sales by date: the platform's sales of a period (the admins' overview and platform
reports) read from an index on ``sales.created_at`` instead of every sale

Revision ID: 0024
Revises: 0023

The buyer's index (buyer_id, created_at, id) serves one buyer's purchases, not the
whole platform's over a period: without this one PostgreSQL read every sale for a
month's report. Built CONCURRENTLY on PostgreSQL: sales go on being written meanwhile.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.create_index(
                "ix_sales_created_at", "sales", ["created_at"], postgresql_concurrently=True
            )
    else:
        op.create_index("ix_sales_created_at", "sales", ["created_at"])


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.drop_index("ix_sales_created_at", table_name="sales", postgresql_concurrently=True)
    else:
        op.drop_index("ix_sales_created_at", table_name="sales")
