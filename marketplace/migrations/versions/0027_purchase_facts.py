"""purchase facts kept for the buyer portal: each sale's deliveries by state and its
lead's score and temperature on the sale, each buyer's purchases added up per UTC week,
campaign and sector, and each purchase's searched words beside its buyer

Revision ID: 0027
Revises: 0026

Issue 12's remaining speed targets (docs/benchmarks.md, "Buyer portal"). Everything is
kept by triggers, in the transaction of the write, whichever code writes the row (the
distribution's one-statement rounds, the catalogue, deliveries, disputes, ratings,
outcomes, privacy, the ORM, COPY): one rule per fact, in one place, as migration 0020's
totals.

- ``sales.deliveries_pending``, ``deliveries_delivered``, ``deliveries_failed``: how
  many of the sale's deliveries are in each state (a sale has several: e-mail and
  webhook, a credit's event, a privacy notice). Counts, not a flag: two deliveries of
  one sale changing at once each add their own +1/-1 to the latest row, where a flag
  recomputed from the deliveries could be written from a stale read. The inbox's
  delivery filter reads them from the buyer's index instead of probing 2.4 million
  deliveries.
- ``sales.lead_score``, ``sales.temperature``: the lead's, copied at the sale (a BEFORE
  INSERT trigger on PostgreSQL, set right after the insert on SQLite) and again if the
  lead's change once it is sold (a lead is scored once, before or in the round that
  first sells it; the trigger on leads keeps the copies true anyway). The inbox's score and temperature filters read the
  buyer's index instead of looking up each lead.
- ``purchase_weeks``: per buyer, UTC week (from Monday 00:00 UTC), campaign (0: none,
  the catalogue) and sector, the purchases and what the dashboard adds up (spend,
  contacted, won, revenue, disputes, credits), changed by each sale, outcome, dispute
  and decision. UTC weeks, so that a change of the organization's timezone changes
  nothing here: the dashboard reads the few hours between a local week's start and the
  nearest UTC Monday midnight from the sales themselves (buyers/dashboard.py). Weeks,
  not days: a year of the bench's largest buyer is 4,003 rows, not 26,510.
- ``purchase_search``: per sale, its buyer, its time and the lead's searched text (the same
  expression as migration 0014's, which it replaces), under a GIN index on (buyer,
  trigrams) (btree_gin): a search reads the buyer's matching purchases only, not every
  matching lead of the platform. A rectification or an erasure of the lead rewrites it
  (trigger on leads).

Sales and disputes are never deleted (the ledger refers to them, RESTRICT), nor
deliveries but with their sale: no DELETE trigger. Filling the new columns rewrites
every sale (2 to 4 minutes for 2,500,000 on the bench machine) while the tables are
locked: run it when no worker sells.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

SALES_INCLUDE_0020 = [
    "lead_id", "campaign_id", "sector_id", "price_cents", "rating_stars", "outcome",
    "outcome_amount_cents",
]
SALES_INCLUDE = [
    *SALES_INCLUDE_0020, "lead_score", "temperature", "deliveries_pending",
    "deliveries_delivered", "deliveries_failed",
]
# buyers/inbox.py searches this text (migration 0014's expression, over a lead's row).
SECTOR_INDEX_INCLUDE = [
    "campaign_id", "lead_score", "temperature", "rating_stars", "outcome",
    "deliveries_pending", "deliveries_delivered", "deliveries_failed",
]
SEARCH_TEXT = (
    "lower(coalesce({t}first_name, '') || ' ' || coalesce({t}last_name, '') || ' ' || "
    "coalesce({t}company, '') || ' ' || coalesce({t}email, '') || ' ' || "
    "coalesce({t}phone, ''))"
)
SEARCHED = ("first_name", "last_name", "company", "email", "phone")
FIGURES = (
    "purchases", "spend_cents", "contacted", "won", "revenue_cents", "disputes",
    "credits_cents",
)
ADD_FIGURES = ", ".join(f"{name} = p.{name} + excluded.{name}" for name in FIGURES)
ADD_FIGURES_SQLITE = ", ".join(f"{name} = {name} + excluded.{name}" for name in FIGURES)
# A sale's UTC week: the Monday (UTC) on or before it, in each database's words.
PG_WEEK = "date_trunc('week', {moment} AT TIME ZONE 'UTC')::date"
SQLITE_WEEK = "date({moment}, '-6 days', 'weekday 1')"
# What a sale's keys are in purchase_weeks, and what one sale adds there (its dispute's
# status apart): the rule of buyers/dashboard.py's _sums, written once per database.
KEY_CHANGED = (
    "OLD.buyer_id IS DISTINCT FROM NEW.buyer_id OR OLD.created_at IS DISTINCT FROM "
    "NEW.created_at OR OLD.campaign_id IS DISTINCT FROM NEW.campaign_id OR OLD.sector_id "
    "IS DISTINCT FROM NEW.sector_id OR OLD.price_cents IS DISTINCT FROM NEW.price_cents "
    "OR OLD.outcome IS DISTINCT FROM NEW.outcome OR OLD.outcome_amount_cents IS DISTINCT "
    "FROM NEW.outcome_amount_cents"
)
LEAD_CHANGED = " OR ".join(
    f"OLD.{column} IS DISTINCT FROM NEW.{column}"
    for column in (*SEARCHED, "score", "temperature")
)

POSTGRESQL_TRIGGERS = f"""
CREATE FUNCTION purchase_weeks_change(
    buyer integer, moment timestamptz, campaign integer, sector integer,
    d_purchases integer, d_spend bigint, d_contacted integer, d_won integer,
    d_revenue bigint, d_disputes integer, d_credits bigint
) RETURNS void LANGUAGE sql AS $$
    INSERT INTO purchase_weeks AS p (buyer_id, week, campaign_id, sector_id, {", ".join(FIGURES)})
    VALUES (buyer, {PG_WEEK.format(moment="moment")}, coalesce(campaign, 0), sector,
            d_purchases, d_spend, d_contacted, d_won, d_revenue, d_disputes, d_credits)
    ON CONFLICT (buyer_id, week, campaign_id, sector_id) DO UPDATE SET {ADD_FIGURES};
$$;

-- One sale's figures, its dispute's status apart, times sign (+1 added, -1 taken off).
CREATE FUNCTION purchase_weeks_sale(s sales, dispute_status varchar, sign integer)
RETURNS void LANGUAGE sql AS $$
    SELECT purchase_weeks_change(
        s.buyer_id, s.created_at, s.campaign_id, s.sector_id, sign, sign * s.price_cents,
        sign * (CASE WHEN s.outcome IS NULL THEN 0 ELSE 1 END),
        sign * (CASE WHEN s.outcome = 'won' THEN 1 ELSE 0 END),
        sign * (CASE WHEN s.outcome = 'won' THEN coalesce(s.outcome_amount_cents, 0) ELSE 0 END),
        sign * (CASE WHEN dispute_status IS NULL THEN 0 ELSE 1 END),
        sign * (CASE WHEN dispute_status = 'accepted' THEN s.price_cents ELSE 0 END));
$$;

-- The lead's score and temperature on each new sale.
CREATE FUNCTION sales_lead_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT score, temperature INTO NEW.lead_score, NEW.temperature
    FROM leads WHERE id = NEW.lead_id;
    RETURN NEW;
END
$$;
CREATE TRIGGER sales_lead_facts BEFORE INSERT ON sales
FOR EACH ROW EXECUTE FUNCTION sales_lead_facts();

-- New sales, per statement (a round sells a lead to several buyers in one): their weeks
-- in key order (two rounds lock the same rows in the same order), their searched text.
CREATE FUNCTION sales_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO purchase_weeks AS p (buyer_id, week, campaign_id, sector_id, {", ".join(FIGURES)})
    SELECT buyer_id, {PG_WEEK.format(moment="created_at")}, coalesce(campaign_id, 0),
           sector_id, count(*), sum(price_cents), count(outcome),
           count(*) FILTER (WHERE outcome = 'won'),
           coalesce(sum(outcome_amount_cents) FILTER (WHERE outcome = 'won'), 0), 0, 0
    FROM added GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (buyer_id, week, campaign_id, sector_id) DO UPDATE SET {ADD_FIGURES};
    INSERT INTO purchase_search (sale_id, buyer_id, created_at, search_text)
    SELECT a.id, a.buyer_id, a.created_at, {SEARCH_TEXT.format(t="l.")}
    FROM added a JOIN leads l ON l.id = a.lead_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER sales_added AFTER INSERT ON sales
REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION sales_added();

-- A sale's figures changed (an outcome, a campaign deleted, a date moved): taken off
-- its old week's row, added to its new one; its searched words follow its date.
CREATE FUNCTION sales_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    dispute_status varchar;
BEGIN
    SELECT status INTO dispute_status FROM disputes WHERE sale_id = NEW.id;
    PERFORM purchase_weeks_sale(OLD, dispute_status, -1);
    PERFORM purchase_weeks_sale(NEW, dispute_status, 1);
    IF OLD.created_at IS DISTINCT FROM NEW.created_at OR OLD.buyer_id <> NEW.buyer_id THEN
        UPDATE purchase_search SET created_at = NEW.created_at, buyer_id = NEW.buyer_id
        WHERE sale_id = NEW.id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER sales_changed AFTER UPDATE ON sales
FOR EACH ROW WHEN ({KEY_CHANGED}) EXECUTE FUNCTION sales_changed();

-- A dispute opened (it may be opened accepted), or decided. Its sale is locked first,
-- as a deal's move locks it before its week's row: a decision (then its credit's
-- delivery, which counts on the sale) and a deal moved at the same moment take the two
-- rows in the same order.
CREATE FUNCTION disputes_counted() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s sales;
BEGIN
    SELECT * INTO s FROM sales WHERE id = NEW.sale_id FOR NO KEY UPDATE;
    IF TG_OP = 'INSERT' THEN
        PERFORM purchase_weeks_change(
            s.buyer_id, s.created_at, s.campaign_id, s.sector_id, 0, 0, 0, 0, 0, 1,
            CASE WHEN NEW.status = 'accepted' THEN s.price_cents ELSE 0 END);
    ELSE
        PERFORM purchase_weeks_change(
            s.buyer_id, s.created_at, s.campaign_id, s.sector_id, 0, 0, 0, 0, 0, 0,
            (CASE WHEN NEW.status = 'accepted' THEN s.price_cents ELSE 0 END)
            - (CASE WHEN OLD.status = 'accepted' THEN s.price_cents ELSE 0 END));
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER disputes_added AFTER INSERT ON disputes
FOR EACH ROW EXECUTE FUNCTION disputes_counted();
CREATE TRIGGER disputes_decided AFTER UPDATE ON disputes
FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
EXECUTE FUNCTION disputes_counted();

-- New deliveries, per statement: their sales' counts, the sales locked in id order.
CREATE FUNCTION deliveries_added() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE TRIGGER deliveries_added AFTER INSERT ON deliveries
REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION deliveries_added();

-- A delivery changed state (delivered, failed for good): its sale's counts, as a +1/-1
-- on the sale's latest row (two deliveries of a sale may change at once).
CREATE FUNCTION deliveries_changed() RETURNS trigger LANGUAGE plpgsql AS $$
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

-- A lead rectified, erased or scored: the copies on its sales.
CREATE FUNCTION leads_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sales SET lead_score = NEW.score, temperature = NEW.temperature
    WHERE lead_id = NEW.id
      AND (lead_score IS DISTINCT FROM NEW.score OR temperature IS DISTINCT FROM NEW.temperature);
    UPDATE purchase_search ps SET search_text = {SEARCH_TEXT.format(t="NEW.")}
    FROM sales s
    WHERE s.lead_id = NEW.id AND ps.sale_id = s.id
      AND ps.search_text IS DISTINCT FROM {SEARCH_TEXT.format(t="NEW.")};
    RETURN NULL;
END
$$;
-- Only for a lead already sold: the round that first sells a lead scores it in the
-- same statement, whose new sales copy the score themselves (their BEFORE INSERT); a
-- trigger call per distributed lead cost the distribution for nothing.
CREATE TRIGGER leads_changed AFTER UPDATE ON leads
FOR EACH ROW WHEN (OLD.sales_count > 0 AND ({LEAD_CHANGED})) EXECUTE FUNCTION leads_changed();
"""

POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS leads_changed ON leads;
DROP TRIGGER IF EXISTS deliveries_changed ON deliveries;
DROP TRIGGER IF EXISTS deliveries_added ON deliveries;
DROP TRIGGER IF EXISTS disputes_decided ON disputes;
DROP TRIGGER IF EXISTS disputes_added ON disputes;
DROP TRIGGER IF EXISTS sales_changed ON sales;
DROP TRIGGER IF EXISTS sales_added ON sales;
DROP TRIGGER IF EXISTS sales_lead_facts ON sales;
DROP FUNCTION IF EXISTS leads_changed();
DROP FUNCTION IF EXISTS deliveries_changed();
DROP FUNCTION IF EXISTS deliveries_added();
DROP FUNCTION IF EXISTS disputes_counted();
DROP FUNCTION IF EXISTS sales_changed();
DROP FUNCTION IF EXISTS sales_added();
DROP FUNCTION IF EXISTS sales_lead_facts();
DROP FUNCTION IF EXISTS purchase_weeks_sale(sales, varchar, integer);
DROP FUNCTION IF EXISTS purchase_weeks_change(
    integer, timestamptz, integer, integer, integer, bigint, integer, integer, bigint,
    integer, bigint);
"""


def _sqlite_upsert(sign: str, row: str, dispute: str, *, sale_id: str | None = None) -> str:
    """SQLite: one sale's figures (``row`` is NEW or OLD) times ``sign`` into its week's
    row; ``dispute`` is the SQL of its dispute's status. With ``sale_id``, the dispute's
    figures alone, of the sale read by that id (``row`` then names it)."""
    accepted = f"(CASE WHEN {dispute} = 'accepted' THEN {row}.price_cents ELSE 0 END)"
    disputed = f"(CASE WHEN {dispute} IS NULL THEN 0 ELSE 1 END)"
    if sale_id is not None:
        values = f"0, 0, 0, 0, 0, {sign} * {disputed}, {sign} * {accepted}"
    else:
        won = f"{row}.outcome = 'won'"
        values = (
            f"{sign}, {sign} * {row}.price_cents, "
            f"{sign} * (CASE WHEN {row}.outcome IS NULL THEN 0 ELSE 1 END), "
            f"{sign} * (CASE WHEN {won} THEN 1 ELSE 0 END), "
            f"{sign} * (CASE WHEN {won} THEN coalesce({row}.outcome_amount_cents, 0) ELSE 0 END), "
            f"{sign} * {disputed}, {sign} * {accepted}"
        )
    keys = (
        f"{row}.buyer_id, {SQLITE_WEEK.format(moment=f'{row}.created_at')}, "
        f"coalesce({row}.campaign_id, 0), "
        f"{row}.sector_id, {values}"
    )
    # (SQLite needs the WHERE of an INSERT ... SELECT before its ON CONFLICT.)
    source = (
        f"VALUES ({keys})"
        if sale_id is None
        else f"SELECT {keys} FROM sales {row} WHERE {row}.id = {sale_id}"
    )
    return (
        f"INSERT INTO purchase_weeks (buyer_id, week, campaign_id, sector_id, {', '.join(FIGURES)}) "
        f"{source} "
        f"ON CONFLICT (buyer_id, week, campaign_id, sector_id) DO UPDATE SET {ADD_FIGURES_SQLITE};"
    )


def _sqlite_dispute_of(row: str) -> str:
    return f"(SELECT status FROM disputes WHERE sale_id = {row}.id)"


def _sqlite_delivery_counts(sign: str, row: str) -> str:
    return ", ".join(
        f"deliveries_{state} = deliveries_{state} + {sign} * ({row}.status = '{state}')"
        for state in ("pending", "delivered", "failed")
    )


def _sqlite_triggers() -> tuple[str, ...]:
    """The same rules, per row (SQLite has one writer at a time)."""
    return (
        f"""
CREATE TRIGGER sales_added AFTER INSERT ON sales
BEGIN
    UPDATE sales SET lead_score = (SELECT score FROM leads WHERE id = NEW.lead_id),
                     temperature = (SELECT temperature FROM leads WHERE id = NEW.lead_id)
    WHERE id = NEW.id;
    {_sqlite_upsert("1", "NEW", "NULL")}
    INSERT INTO purchase_search (sale_id, buyer_id, created_at, search_text)
    SELECT NEW.id, NEW.buyer_id, NEW.created_at, {SEARCH_TEXT.format(t="")}
    FROM leads WHERE id = NEW.lead_id;
END
""",
        f"""
CREATE TRIGGER sales_changed AFTER UPDATE ON sales WHEN {KEY_CHANGED}
BEGIN
    {_sqlite_upsert("-1", "OLD", _sqlite_dispute_of("OLD"))}
    {_sqlite_upsert("1", "NEW", _sqlite_dispute_of("NEW"))}
    UPDATE purchase_search SET created_at = NEW.created_at, buyer_id = NEW.buyer_id
    WHERE sale_id = NEW.id
      AND (created_at IS NOT NEW.created_at OR buyer_id IS NOT NEW.buyer_id);
END
""",
        f"""
CREATE TRIGGER disputes_added AFTER INSERT ON disputes
BEGIN
    {_sqlite_upsert("1", "s", "NEW.status", sale_id="NEW.sale_id")}
END
""",
        f"""
CREATE TRIGGER disputes_decided AFTER UPDATE ON disputes
WHEN OLD.status IS NOT NEW.status
BEGIN
    {_sqlite_upsert("-1", "s", "OLD.status", sale_id="OLD.sale_id")}
    {_sqlite_upsert("1", "s", "NEW.status", sale_id="NEW.sale_id")}
END
""",
        f"""
CREATE TRIGGER deliveries_added AFTER INSERT ON deliveries
BEGIN
    UPDATE sales SET {_sqlite_delivery_counts("1", "NEW")} WHERE id = NEW.sale_id;
END
""",
        f"""
CREATE TRIGGER deliveries_changed AFTER UPDATE ON deliveries
WHEN OLD.status IS NOT NEW.status
BEGIN
    UPDATE sales SET {_sqlite_delivery_counts("-1", "OLD")} WHERE id = OLD.sale_id;
    UPDATE sales SET {_sqlite_delivery_counts("1", "NEW")} WHERE id = NEW.sale_id;
END
""",
        f"""
CREATE TRIGGER leads_changed AFTER UPDATE ON leads
WHEN {LEAD_CHANGED.replace("IS DISTINCT FROM", "IS NOT")}
BEGIN
    UPDATE sales SET lead_score = NEW.score, temperature = NEW.temperature
    WHERE lead_id = NEW.id;
    UPDATE purchase_search SET search_text = {SEARCH_TEXT.format(t="NEW.")}
    WHERE sale_id IN (SELECT id FROM sales WHERE lead_id = NEW.id);
END
""",
    )


SQLITE_TRIGGER_NAMES = (
    "sales_added", "sales_changed", "disputes_added", "disputes_decided", "deliveries_added",
    "deliveries_changed", "leads_changed",
)


def _backfill(postgresql: bool) -> None:
    if postgresql:
        op.execute("SET LOCAL work_mem = '256MB'")
        op.execute("SET LOCAL maintenance_work_mem = '512MB'")
        op.execute("""
            UPDATE sales s
            SET lead_score = x.score, temperature = x.temperature,
                deliveries_pending = x.pending, deliveries_delivered = x.delivered,
                deliveries_failed = x.failed
            FROM (SELECT s2.id, l.score, l.temperature,
                         coalesce(d.pending, 0) AS pending,
                         coalesce(d.delivered, 0) AS delivered,
                         coalesce(d.failed, 0) AS failed
                  FROM sales s2 JOIN leads l ON l.id = s2.lead_id
                  LEFT JOIN (SELECT sale_id,
                                    count(*) FILTER (WHERE status = 'pending') AS pending,
                                    count(*) FILTER (WHERE status = 'delivered') AS delivered,
                                    count(*) FILTER (WHERE status = 'failed') AS failed
                             FROM deliveries GROUP BY sale_id) d ON d.sale_id = s2.id) x
            WHERE s.id = x.id
        """)
        week = PG_WEEK.format(moment="s.created_at")
    else:
        op.execute("""
            UPDATE sales
            SET lead_score = (SELECT score FROM leads WHERE leads.id = sales.lead_id),
                temperature = (SELECT temperature FROM leads WHERE leads.id = sales.lead_id),
                deliveries_pending = (SELECT count(*) FROM deliveries d
                                      WHERE d.sale_id = sales.id AND d.status = 'pending'),
                deliveries_delivered = (SELECT count(*) FROM deliveries d
                                        WHERE d.sale_id = sales.id AND d.status = 'delivered'),
                deliveries_failed = (SELECT count(*) FROM deliveries d
                                     WHERE d.sale_id = sales.id AND d.status = 'failed')
        """)
        week = SQLITE_WEEK.format(moment="s.created_at")
    op.execute(f"""
        INSERT INTO purchase_weeks (buyer_id, week, campaign_id, sector_id, {", ".join(FIGURES)})
        SELECT s.buyer_id, {week}, coalesce(s.campaign_id, 0), s.sector_id, count(*),
               sum(s.price_cents),
               sum(CASE WHEN s.outcome IS NULL THEN 0 ELSE 1 END),
               sum(CASE WHEN s.outcome = 'won' THEN 1 ELSE 0 END),
               sum(CASE WHEN s.outcome = 'won' THEN coalesce(s.outcome_amount_cents, 0)
                        ELSE 0 END),
               count(d.id),
               sum(CASE WHEN d.status = 'accepted' THEN s.price_cents ELSE 0 END)
        FROM sales s LEFT JOIN disputes d ON d.sale_id = s.id
        GROUP BY s.buyer_id, {week}, coalesce(s.campaign_id, 0), s.sector_id
    """)
    op.execute(f"""
        INSERT INTO purchase_search (sale_id, buyer_id, created_at, search_text)
        SELECT s.id, s.buyer_id, s.created_at, {SEARCH_TEXT.format(t="l.")}
        FROM sales s JOIN leads l ON l.id = s.lead_id
    """)


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    # Plain ADD COLUMN (no batch on SQLite: a batch copies the table without its
    # triggers, 0020's among them).
    op.add_column("sales", sa.Column("lead_score", sa.SmallInteger(), nullable=True))
    op.add_column(
        "sales",
        sa.Column(
            "temperature",
            sa.Enum("cold", "warm", "hot", name="temperature", native_enum=False, length=32),
            nullable=True,
        ),
    )
    for state in ("pending", "delivered", "failed"):
        op.add_column(
            "sales",
            sa.Column(
                f"deliveries_{state}", sa.SmallInteger(), nullable=False, server_default="0"
            ),
        )
    op.create_table(
        "purchase_weeks",
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("sector_id", sa.Integer(), nullable=False),
        sa.Column("purchases", sa.Integer(), nullable=False),
        sa.Column("spend_cents", sa.BigInteger(), nullable=False),
        sa.Column("contacted", sa.Integer(), nullable=False),
        sa.Column("won", sa.Integer(), nullable=False),
        sa.Column("revenue_cents", sa.BigInteger(), nullable=False),
        sa.Column("disputes", sa.Integer(), nullable=False),
        sa.Column("credits_cents", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["buyer_id"],
            ["organizations.id"],
            name=op.f("fk_purchase_weeks_buyer_id_organizations"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "buyer_id", "week", "campaign_id", "sector_id", name=op.f("pk_purchase_weeks")
        ),
    )
    op.create_table(
        "purchase_search",
        sa.Column("sale_id", sa.Integer(), nullable=False),
        sa.Column("buyer_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sale_id"],
            ["sales.id"],
            name=op.f("fk_purchase_search_sale_id_sales"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("sale_id", name=op.f("pk_purchase_search")),
    )
    # The triggers first: creating one locks its table against writes until the commit,
    # so that nothing is counted twice or missed by the filling below.
    if postgresql:
        op.execute(POSTGRESQL_TRIGGERS)
    else:
        for trigger in _sqlite_triggers():
            op.execute(trigger)
    _backfill(postgresql)

    if not postgresql:
        # SQLite: a plain index (buyer, created_at) for the search's LIKE among the buyer's.
        op.create_index(
            "ix_purchase_search_buyer_id", "purchase_search", ["buyer_id", "created_at"]
        )
        op.create_index(
            "ix_sales_buyer_id_sector_id_created_at_id", "sales",
            ["buyer_id", "sector_id", "created_at", "id"],
        )
        return
    # btree_gin is a trusted extension (PostgreSQL 13+), as pg_trgm: the buyer's id and
    # the trigrams in one GIN index, so that the search reads the buyer's matches only.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.execute(
        "CREATE INDEX ix_purchase_search_buyer_id_trgm ON purchase_search "
        "USING gin (buyer_id, search_text gin_trgm_ops)"
    )
    # The leads' trigram index served the search alone (0014): one index fewer per lead.
    op.execute("DROP INDEX IF EXISTS ix_leads_search_trgm")
    with op.get_context().autocommit_block():
        # A count filtered by sector reads the sector's range of the buyer's purchases.
        op.create_index(
            "ix_sales_buyer_id_sector_id_created_at_id", "sales",
            ["buyer_id", "sector_id", "created_at", "id"],
            postgresql_include=SECTOR_INDEX_INCLUDE, postgresql_concurrently=True,
        )
        op.create_index(
            "ix_sales_buyer_id_created_at_id_new", "sales", ["buyer_id", "created_at", "id"],
            postgresql_include=SALES_INCLUDE, postgresql_concurrently=True,
        )
        op.drop_index(
            "ix_sales_buyer_id_created_at_id", table_name="sales", postgresql_concurrently=True
        )
    op.execute(
        "ALTER INDEX ix_sales_buyer_id_created_at_id_new RENAME TO ix_sales_buyer_id_created_at_id"
    )


def downgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.drop_index("ix_sales_buyer_id_sector_id_created_at_id", table_name="sales")
    if postgresql:
        with op.get_context().autocommit_block():
            op.create_index(
                "ix_sales_buyer_id_created_at_id_old", "sales",
                ["buyer_id", "created_at", "id"],
                postgresql_include=SALES_INCLUDE_0020, postgresql_concurrently=True,
            )
            op.drop_index(
                "ix_sales_buyer_id_created_at_id", table_name="sales",
                postgresql_concurrently=True,
            )
        op.execute(
            "ALTER INDEX ix_sales_buyer_id_created_at_id_old "
            "RENAME TO ix_sales_buyer_id_created_at_id"
        )
        op.execute(POSTGRESQL_DROP)
        op.execute(
            f"CREATE INDEX ix_leads_search_trgm ON leads USING gin "
            f"(({SEARCH_TEXT.format(t='')}) gin_trgm_ops)"
        )
    else:
        op.drop_index("ix_purchase_search_buyer_id", table_name="purchase_search")
        for name in SQLITE_TRIGGER_NAMES:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("purchase_search")
    op.drop_table("purchase_weeks")
    for column in (
        "deliveries_failed", "deliveries_delivered", "deliveries_pending", "temperature",
        "lead_score",
    ):
        op.drop_column("sales", column)
