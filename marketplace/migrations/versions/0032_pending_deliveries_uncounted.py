"""a sale's pending deliveries no longer counted on the sale: a new delivery writes its
sale again only once it is delivered or failed for good

Revision ID: 0032
Revises: 0031

Migration 0027 counted a sale's deliveries in each state on the sale, so that the
inbox's delivery filters read the buyer's index alone. Each new delivery then updated
its sale (+1 pending) in the sale's own transaction, and its first attempt updated it
again (-1 pending, +1 delivered): two new versions of the sale, each with an entry in
every one of its six indexes (the counts are included in three, so no update is HOT).
On the speed-to-lead bench the first of them, the trigger of the deliveries' insert,
cost 0.33 to 0.45 ms of PostgreSQL per lead (docs/benchmarks.md, "PostgreSQL's
triggers, one worker and two").

A pending delivery is a moment in a delivery's life (seconds, or the hours of a
backoff), and pending deliveries are a few among millions (533 of the portal bench's
2.4 million): the inbox's "pending" filter now reads them from the deliveries
(``ix_deliveries_status_next_attempt_at``, status first), and ``deliveries_pending``
is dropped. ``deliveries_delivered`` and ``deliveries_failed`` stay, kept as before
by a delivery that is inserted in, or moves into or out of, either state: a new
(pending) delivery fires no trigger at all.

The three indexes that included the pending count are rebuilt without it, CONCURRENTLY
on PostgreSQL (sales go on being written meanwhile), before the column is dropped.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

# The indexes' INCLUDE lists, as migrations 0027 and 0028 made them, with the pending
# count; the new ones are the same lists without it.
SALES_INCLUDE_0027 = [
    "lead_id", "campaign_id", "sector_id", "price_cents", "rating_stars", "outcome",
    "outcome_amount_cents", "lead_score", "temperature", "deliveries_pending",
    "deliveries_delivered", "deliveries_failed",
]
SECTOR_INCLUDE_0027 = [
    "campaign_id", "lead_score", "temperature", "rating_stars", "outcome",
    "deliveries_pending", "deliveries_delivered", "deliveries_failed",
]
CAMPAIGN_INCLUDE_0028 = [
    "buyer_id", "sector_id", "lead_score", "temperature", "rating_stars", "outcome",
    "deliveries_pending", "deliveries_delivered", "deliveries_failed",
]
INDEXES = {
    "ix_sales_buyer_id_created_at_id": (["buyer_id", "created_at", "id"], SALES_INCLUDE_0027),
    "ix_sales_buyer_id_sector_id_created_at_id": (
        ["buyer_id", "sector_id", "created_at", "id"], SECTOR_INCLUDE_0027,
    ),
    "ix_sales_campaign_id_created_at_id": (
        ["campaign_id", "created_at", "id"], CAMPAIGN_INCLUDE_0028,
    ),
}
COUNTED = ("delivered", "failed")


def _moved(states: tuple[str, ...]) -> str:
    """The SET list moving a sale's counts of ``states`` by NEW's state minus OLD's."""
    return ",\n        ".join(
        f"deliveries_{state} = deliveries_{state}"
        f" + (NEW.status = '{state}')::int - (OLD.status = '{state}')::int"
        for state in states
    )


def _postgresql_triggers(states: tuple[str, ...]) -> str:
    """The deliveries' triggers counting ``states`` on their sale, row by row: a new
    delivery in one of them (a pending one fires nothing), and a change of state that
    moves one of them."""
    added = ",\n        ".join(
        f"deliveries_{state} = deliveries_{state} + (NEW.status = '{state}')::int"
        for state in states
    )
    listed = ", ".join(f"'{state}'" for state in states)
    return f"""
DROP TRIGGER IF EXISTS deliveries_added ON deliveries;
DROP TRIGGER IF EXISTS deliveries_changed ON deliveries;
DROP FUNCTION IF EXISTS deliveries_added();
CREATE FUNCTION deliveries_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sales SET
        {added}
    WHERE id = NEW.sale_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER deliveries_added AFTER INSERT ON deliveries
FOR EACH ROW WHEN (NEW.status IN ({listed})) EXECUTE FUNCTION deliveries_added();

CREATE OR REPLACE FUNCTION deliveries_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sales SET
        {_moved(states)}
    WHERE id = NEW.sale_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER deliveries_changed AFTER UPDATE ON deliveries
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                   AND (OLD.status IN ({listed}) OR NEW.status IN ({listed})))
EXECUTE FUNCTION deliveries_changed();
"""


# Migration 0031's statement trigger of new deliveries and 0027's row trigger of a
# change, with the pending count: the downgrade's.
POSTGRESQL_TRIGGERS_0031 = """
DROP TRIGGER IF EXISTS deliveries_added ON deliveries;
DROP TRIGGER IF EXISTS deliveries_changed ON deliveries;
DROP FUNCTION IF EXISTS deliveries_added();
CREATE FUNCTION deliveries_added() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    counted record;
BEGIN
    FOR counted IN
        SELECT sale_id, count(*) FILTER (WHERE status = 'pending') AS pending,
               count(*) FILTER (WHERE status = 'delivered') AS delivered,
               count(*) FILTER (WHERE status = 'failed') AS failed
        FROM added GROUP BY sale_id ORDER BY sale_id
    LOOP
        UPDATE sales
        SET deliveries_pending = deliveries_pending + counted.pending,
            deliveries_delivered = deliveries_delivered + counted.delivered,
            deliveries_failed = deliveries_failed + counted.failed
        WHERE id = counted.sale_id;
    END LOOP;
    RETURN NULL;
END
$$;
CREATE TRIGGER deliveries_added AFTER INSERT ON deliveries
REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION deliveries_added();

CREATE OR REPLACE FUNCTION deliveries_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sales
    SET deliveries_pending = deliveries_pending
            + (NEW.status = 'pending')::int - (OLD.status = 'pending')::int,
        deliveries_delivered = deliveries_delivered
            + (NEW.status = 'delivered')::int - (OLD.status = 'delivered')::int,
        deliveries_failed = deliveries_failed
            + (NEW.status = 'failed')::int - (OLD.status = 'failed')::int
    WHERE id = NEW.sale_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER deliveries_changed AFTER UPDATE ON deliveries
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
EXECUTE FUNCTION deliveries_changed();
"""


def _sqlite_triggers(states: tuple[str, ...]) -> tuple[str, ...]:
    """SQLite's row triggers (migration 0027's), counting ``states``."""

    def counts(sign: str, row: str) -> str:
        return ", ".join(
            f"deliveries_{state} = deliveries_{state} + {sign} * ({row}.status = '{state}')"
            for state in states
        )

    listed = ", ".join(f"'{state}'" for state in states)
    return (
        f"""
CREATE TRIGGER deliveries_added AFTER INSERT ON deliveries
WHEN NEW.status IN ({listed})
BEGIN
    UPDATE sales SET {counts("1", "NEW")} WHERE id = NEW.sale_id;
END
""",
        f"""
CREATE TRIGGER deliveries_changed AFTER UPDATE ON deliveries
WHEN OLD.status IS NOT NEW.status
BEGIN
    UPDATE sales SET {counts("-1", "OLD")} WHERE id = OLD.sale_id;
    UPDATE sales SET {counts("1", "NEW")} WHERE id = NEW.sale_id;
END
""",
    )


def _rebuild_indexes(without: str | None) -> None:
    """PostgreSQL: each of the three indexes built again under a new name (with its
    INCLUDE list less ``without``, or the whole list), the old one dropped, the new one
    renamed; CONCURRENTLY, so that sales are written meanwhile."""
    with op.get_context().autocommit_block():
        for name, (columns, include) in INDEXES.items():
            op.create_index(
                f"{name}_new", "sales", columns,
                postgresql_include=[column for column in include if column != without],
                postgresql_concurrently=True,
            )
            op.drop_index(name, table_name="sales", postgresql_concurrently=True)
            op.execute(f"ALTER INDEX {name}_new RENAME TO {name}")


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_postgresql_triggers(COUNTED))
        _rebuild_indexes(without="deliveries_pending")
        op.drop_column("sales", "deliveries_pending")
        return
    op.execute("DROP TRIGGER IF EXISTS deliveries_added")
    op.execute("DROP TRIGGER IF EXISTS deliveries_changed")
    op.drop_column("sales", "deliveries_pending")
    for trigger in _sqlite_triggers(COUNTED):
        op.execute(trigger)


def _add_pending_count() -> None:
    op.execute(
        "ALTER TABLE sales ADD COLUMN deliveries_pending SMALLINT NOT NULL DEFAULT 0"
    )
    op.execute("""
        UPDATE sales SET deliveries_pending = (
            SELECT count(*) FROM deliveries d WHERE d.sale_id = sales.id AND d.status = 'pending')
        WHERE id IN (SELECT sale_id FROM deliveries WHERE status = 'pending')
    """)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        # The triggers first: they lock deliveries against writes until the commit, so
        # that no delivery is missed by the count below.
        op.execute(POSTGRESQL_TRIGGERS_0031)
        _add_pending_count()
        _rebuild_indexes(without=None)
        return
    op.execute("DROP TRIGGER IF EXISTS deliveries_added")
    op.execute("DROP TRIGGER IF EXISTS deliveries_changed")
    _add_pending_count()
    for trigger in _sqlite_triggers(("pending", *COUNTED)):
        op.execute(trigger)
