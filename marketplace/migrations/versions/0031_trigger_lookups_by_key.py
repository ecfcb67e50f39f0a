"""the triggers of new sales and new deliveries read the rows they change by key

Revision ID: 0031
Revises: 0030

Migration 0027's statement triggers joined their transition table with ``sales`` (a new
delivery's counts on its sale) and with ``leads`` (a new sale's searched words). A
plan PostgreSQL caches for a trigger's statement is kept until the table's statistics
change; made while the table was small, a join's plan hashes the transition table and
reads the whole of ``sales`` or ``leads``, and goes on doing so as they grow: on the
speed-to-lead bench a new sale's three deliveries cost 2 to 3 ms of PostgreSQL,
growing with the sales, in a statement that needs three rows (docs/benchmarks.md,
"Planning"). Now each sale's counts are updated by its id, one sale after the other in
id order (two statements still lock the same sales in the same order), and each new
sale reads its lead by id: look-ups whatever the plan. PostgreSQL only: SQLite's
triggers are row triggers already.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

# Migration 0027's expressions, word for word.
SEARCH_TEXT = (
    "lower(coalesce({t}first_name, '') || ' ' || coalesce({t}last_name, '') || ' ' || "
    "coalesce({t}company, '') || ' ' || coalesce({t}email, '') || ' ' || "
    "coalesce({t}phone, ''))"
)
FIGURES = (
    "purchases", "spend_cents", "contacted", "won", "revenue_cents", "disputes",
    "credits_cents",
)
ADD_FIGURES = ", ".join(f"{name} = p.{name} + excluded.{name}" for name in FIGURES)
PG_WEEK = "date_trunc('week', {moment} AT TIME ZONE 'UTC')::date"

PURCHASE_WEEKS_ADDED = f"""
    INSERT INTO purchase_weeks AS p (buyer_id, week, campaign_id, sector_id, {", ".join(FIGURES)})
    SELECT buyer_id, {PG_WEEK.format(moment="created_at")}, coalesce(campaign_id, 0),
           sector_id, count(*), sum(price_cents), count(outcome),
           count(*) FILTER (WHERE outcome = 'won'),
           coalesce(sum(outcome_amount_cents) FILTER (WHERE outcome = 'won'), 0), 0, 0
    FROM added GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (buyer_id, week, campaign_id, sector_id) DO UPDATE SET {ADD_FIGURES};
"""

BY_KEY = f"""
CREATE OR REPLACE FUNCTION sales_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {PURCHASE_WEEKS_ADDED}
    -- Each new sale's lead by its id (OFFSET 0 keeps the sub-select a look-up per sale).
    INSERT INTO purchase_search (sale_id, buyer_id, created_at, search_text)
    SELECT a.id, a.buyer_id, a.created_at, {SEARCH_TEXT.format(t="l.")}
    FROM added a
    CROSS JOIN LATERAL (SELECT * FROM leads WHERE leads.id = a.lead_id OFFSET 0) AS l;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION deliveries_added() RETURNS trigger LANGUAGE plpgsql AS $$
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
"""

BY_JOIN_0027 = f"""
CREATE OR REPLACE FUNCTION sales_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {PURCHASE_WEEKS_ADDED}
    INSERT INTO purchase_search (sale_id, buyer_id, created_at, search_text)
    SELECT a.id, a.buyer_id, a.created_at, {SEARCH_TEXT.format(t="l.")}
    FROM added a JOIN leads l ON l.id = a.lead_id;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION deliveries_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM sales WHERE id IN (SELECT sale_id FROM added) ORDER BY id
    FOR NO KEY UPDATE;
    UPDATE sales s
    SET deliveries_pending = s.deliveries_pending + a.pending,
        deliveries_delivered = s.deliveries_delivered + a.delivered,
        deliveries_failed = s.deliveries_failed + a.failed
    FROM (SELECT sale_id, count(*) FILTER (WHERE status = 'pending') AS pending,
                 count(*) FILTER (WHERE status = 'delivered') AS delivered,
                 count(*) FILTER (WHERE status = 'failed') AS failed
          FROM added GROUP BY sale_id) a
    WHERE s.id = a.sale_id;
    RETURN NULL;
END
$$;
"""


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(BY_KEY)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(BY_JOIN_0027)
