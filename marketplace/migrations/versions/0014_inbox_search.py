"""inbox search: a trigram index over the lead's name, company, e-mail and phone
(PostgreSQL; SQLite searches with a plain LIKE)

Revision ID: 0014
Revises: 0013
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

# buyers/inbox.py search_text() builds the same expression for its LIKE.
SEARCH_TEXT = (
    "lower(coalesce(first_name, '') || ' ' || coalesce(last_name, '') || ' ' || "
    "coalesce(company, '') || ' ' || coalesce(email, '') || ' ' || coalesce(phone, ''))"
)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(f"CREATE INDEX ix_leads_search_trgm ON leads USING gin (({SEARCH_TEXT}) gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_leads_search_trgm")
