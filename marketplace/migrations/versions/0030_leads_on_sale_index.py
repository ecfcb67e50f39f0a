"""the leads on sale indexed by date and by score: the catalogue's newest and best-scored
pages read their leads in order and stop once full, instead of every fresh lead

Revision ID: 0030
Revises: 0029

A partial index on (created_at, id) of the leads a buyer may buy from the catalogue
(marketplace/lead_catalogue.py, ``_on_sale``): distributed or unsold, with room left,
not sold exclusively. Before it, a catalogue page read every lead of the freshness window
(80,000 on the portal bench's database, 46,000 with room left), sorted them and kept
250: 1.4 to 2.9 s for the bench's largest buyer; with it (and the person check made
per lead, marketplace/lead_catalogue.py), 7 to 10 ms in PostgreSQL (docs/benchmarks.md,
"The buyer's catalogue"). On PostgreSQL a second one on (score
descending, nulls last, created_at, id) serves the "score" sort (1.5 s -> 19 ms in
PostgreSQL): its order is the sort's first key, and an incremental sort orders each
score's few leads by their source's quality. SQLite (the laptop's few leads) has the
first only: its index columns cannot say NULLS LAST. A lead leaves both when it sells
out, as its status already moved it in ``ix_leads_status_created_at``. Built
CONCURRENTLY on PostgreSQL: leads go on being captured and sold meanwhile.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

NAME = "ix_leads_on_sale_created_at_id"
BY_SCORE = "ix_leads_on_sale_score"
# The catalogue's own conditions, word for word, so that PostgreSQL proves them.
ON_SALE = sa.text(
    "status IN ('distributed', 'unsold') AND sales_count < max_buyers "
    "AND sold_exclusively IS false"
)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        op.create_index(NAME, "leads", ["created_at", "id"], sqlite_where=ON_SALE)
        return
    with op.get_context().autocommit_block():
        op.create_index(
            NAME, "leads", ["created_at", "id"], postgresql_where=ON_SALE,
            postgresql_concurrently=True,
        )
        op.create_index(
            BY_SCORE, "leads", [sa.text("score DESC NULLS LAST"), "created_at", "id"],
            postgresql_where=ON_SALE, postgresql_concurrently=True,
        )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        op.drop_index(NAME, table_name="leads")
        return
    with op.get_context().autocommit_block():
        op.drop_index(BY_SCORE, table_name="leads", postgresql_concurrently=True)
        op.drop_index(NAME, table_name="leads", postgresql_concurrently=True)
