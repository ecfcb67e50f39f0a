"""single-use capture form tokens: the token's nonce kept, once, with the consent record

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('form_nonce', sa.String(length=32), nullable=True))
        batch_op.create_unique_constraint('uq_consent_records_form_nonce', ['form_nonce'])


def downgrade():
    with op.batch_alter_table('consent_records', schema=None) as batch_op:
        batch_op.drop_constraint('uq_consent_records_form_nonce', type_='unique')
        batch_op.drop_column('form_nonce')
