"""no planner statistics on the JSON columns that are only stored and shown: ANALYZE skips
them

Revision ID: 0033
Revises: 0032

ANALYZE (autovacuum's, as the tables grow) sorts a sample of every column to build its
statistics. A JSONB column's values are compared as whole documents, which costs far
more than a number or a short text: on the speed-to-lead bench's database (9,200 leads),
``ANALYZE leads`` took 181 to 194 ms, 64 % of it for ``score_explanation``,
``distribution_log`` and ``utm``, and the database's whole ANALYZE 485 to 507 ms. On a
box that runs the database beside the web and the workers, that work takes a core from
the leads for as long as it lasts (docs/benchmarks.md, "2026-12-05 (session 23)").

No query filters, joins or sorts on these columns' whole values: they are payloads
(a lead's score explanation, its distribution log, its consent's checkboxes, an
idempotent request's stored answer, a rating's reasons, an audit event's details), and
the reports read ``utm`` by key (``->>``), an expression the column's statistics do not
describe. Their statistics target is set to 0, so ANALYZE no longer collects them; the
planner's estimates for these columns were never used. PostgreSQL only: SQLite keeps
no such statistics.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

PAYLOAD_COLUMNS = {
    "leads": ("score_explanation", "distribution_log", "utm"),
    "consent_records": ("checkboxes", "utm"),
    "idempotent_requests": ("response",),
    "sales": ("rating_reasons",),
    "audit_events": ("details",),
}


def _set_statistics(target: int) -> None:
    for table, columns in PAYLOAD_COLUMNS.items():
        changes = ", ".join(f"ALTER COLUMN {column} SET STATISTICS {target}" for column in columns)
        op.execute(f"ALTER TABLE {table} {changes}")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        _set_statistics(0)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        _set_statistics(-1)  # the server's default_statistics_target again
