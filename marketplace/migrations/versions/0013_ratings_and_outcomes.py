"""ratings and outcomes: who rated a purchase and when, the lost reason, each move of
the buyer's pipeline

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sales', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('rated_by_user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('outcome_lost_reason', sa.String(length=30), nullable=True))
        batch_op.create_foreign_key(
            'fk_sales_rated_by_user_id_users', 'users', ['rated_by_user_id'], ['id'],
            ondelete='SET NULL',
        )
    op.create_table(
        'outcome_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sale_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('amount_cents', sa.Integer(), nullable=True),
        sa.Column('lost_reason', sa.String(length=30), nullable=True),
        sa.Column('changed_by_user_id', sa.Integer(), nullable=True),
        sa.Column('via', sa.String(length=10), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('new', 'contacted', 'meeting', 'won', 'lost')",
            name=op.f('ck_outcome_changes_status_known'),
        ),
        sa.CheckConstraint(
            'amount_cents IS NULL OR amount_cents >= 0',
            name=op.f('ck_outcome_changes_amount_positive'),
        ),
        sa.ForeignKeyConstraint(
            ['changed_by_user_id'], ['users.id'],
            name=op.f('fk_outcome_changes_changed_by_user_id_users'), ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['sale_id'], ['sales.id'],
            name=op.f('fk_outcome_changes_sale_id_sales'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_outcome_changes')),
    )
    op.create_index(
        op.f('ix_outcome_changes_sale_id'), 'outcome_changes', ['sale_id'], unique=False
    )


def downgrade():
    op.drop_index(op.f('ix_outcome_changes_sale_id'), table_name='outcome_changes')
    op.drop_table('outcome_changes')
    with op.batch_alter_table('sales', schema=None) as batch_op:
        batch_op.drop_constraint('fk_sales_rated_by_user_id_users', type_='foreignkey')
        batch_op.drop_column('outcome_lost_reason')
        batch_op.drop_column('rated_by_user_id')
        batch_op.drop_column('rated_at')
