"""Writing sales: the lead's places, the campaigns' caps and budgets, the sales and
their ledger rows, all or nothing, inside the lead's transaction.

A distribution round (``sell_offers``) offers the lead to a few campaigns at once.
On PostgreSQL it is one statement of data-modifying CTEs, each step taking only
the offers the one before it passed:

1. the campaign is still active and its buyer in good billing standing;
2. the day's usage takes one lead (an upsert refused at the daily cap);
3. the month's usage takes one lead and the price (refused at the monthly cap or
   budget);
4. the lead gives its places (a conditional update: shared sales need places left
   and no exclusive sale; an exclusive one needs no sale at all and closes it), and
   takes its final status and decision log;
5. the sales (with the lead's sector, which the portal reads from them), the
   buyers' debits and the publisher's earnings are written;
6. the sales' deliveries (the outbox, ``delivery.SALES_DELIVERIES``).

The ledger's balances and the buyers' purchase counts follow by themselves: the
database's triggers add each statement's new rows up (migration 0020). Every sale of
a publisher, or to a buyer, writes the same rows there, locked until the commit:
nothing runs between the round and the commit (docs/matching.md).

The database decides every limit in the statement that consumes it, so concurrent
workers cannot pass one. What a refused offer took is given back (the day's usage
when the month refused, both when the place was gone). SQLite runs the same steps
one statement at a time (``write_sale``), as does a catalogue purchase (one
statement on PostgreSQL: it has no campaign).

A cap or budget found reached is remembered by the process for the rest of the
period (at most ``MATCHING_SNAPSHOT_SECONDS``, so that a raised cap shows within
that delay), so later leads skip the campaign without asking the database.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from marketplace import delivery, snapshots
from marketplace.db_pool import driver_connection, json_rows, on_postgresql, one_line
from marketplace.extensions import db
from marketplace.models import (
    BillingStatus,
    Campaign,
    CampaignStatus,
    CampaignUsage,
    Lead,
    LedgerEntry,
    LedgerKind,
    Organization,
    Sale,
    SaleSource,
    UsagePeriod,
)

NO_PLACE_LEFT = "no_place_left"
CAMPAIGN_CHANGED = "campaign_paused_or_buyer_held_meanwhile"
DAILY_CAP = "daily_cap_reached"
MONTHLY_CAP = "monthly_cap_reached"
MONTHLY_BUDGET = "monthly_budget_reached"


@dataclass(frozen=True)
class SaleAttempt:
    lead_id: int
    publisher_id: int
    buyer_id: int
    price_cents: int
    currency: str
    earning_cents: int
    label: str
    campaign: object | None  # a matching.CampaignRule, or None for the catalogue
    exclusive: bool
    source: SaleSource


def sale_label(lead_id: int, sector_slug: str, now: datetime) -> str:
    """The ledger's (and the invoice line's) description of a sale."""
    return f"Lead #{lead_id} - {sector_slug} - {now.date().isoformat()}"


def write_sale(sale: SaleAttempt, now: datetime) -> tuple[int | None, str | None]:
    """One sale: (its id, None), or (None, why it was refused) with nothing kept.

    The catalogue's sales (no campaign) are one statement on PostgreSQL; a
    campaign's sale is step by step (SQLite's distribution rounds): on PostgreSQL
    distribution sells through ``sell_offers``.
    """
    if sale.campaign is None and on_postgresql():
        return _catalogue_sale(sale, now)
    return _step_by_step(sale, now)


def periods(campaign, now: datetime) -> tuple[date, date]:
    """The campaign's current day and month, in its own timezone."""
    return _periods_in(campaign.timezone, now)


@lru_cache(maxsize=256)
def _periods_in(timezone: str, now: datetime) -> tuple[date, date]:
    local_day = now.astimezone(ZoneInfo(timezone)).date()
    return local_day, local_day.replace(day=1)


def monthly_refusal(campaign) -> str:
    if campaign.monthly_budget_cents is None:
        return MONTHLY_CAP
    if campaign.monthly_cap is None:
        return MONTHLY_BUDGET
    return f"{MONTHLY_CAP}_or_{MONTHLY_BUDGET}"


# (campaign id, period, period start) -> (the lowest price refused, until when to
# believe it, in time.monotonic()). A plain dict: matching reads it for every capped
# candidate of every lead, so a read is one dict lookup, without a lock.
_REFUSED: dict[tuple, tuple[int, float]] = snapshots.register_store({})
_REFUSED_MAX = 100_000


def known_limit(campaign, price_cents: int, now: datetime) -> str | None:
    """The cap or budget this process saw reached for the campaign's current period."""
    if not _REFUSED:
        return None
    day, month = periods(campaign, now)
    clock = time.monotonic()
    for period, start in ((UsagePeriod.DAY, day), (UsagePeriod.MONTH, month)):
        known = _REFUSED.get((campaign.id, period, start))
        if known is not None and price_cents >= known[0] and clock < known[1]:
            return DAILY_CAP if period is UsagePeriod.DAY else monthly_refusal(campaign)
    return None


def _remember_refusal(campaign, period: UsagePeriod, start: date, price_cents: int) -> None:
    """A cap refuses any price from now on; a budget, this price and dearer ones."""
    seconds = current_app.config["MATCHING_SNAPSHOT_SECONDS"]
    if current_app.config["SNAPSHOT_SECONDS"] <= 0 or seconds <= 0:
        return  # copies off (tests): every sale asks the database
    if len(_REFUSED) > _REFUSED_MAX:
        _REFUSED.clear()  # past periods' entries, mostly
    budget_only = period is UsagePeriod.MONTH and campaign.monthly_cap is None
    key = (campaign.id, period, start)
    refused_from = price_cents if budget_only else 0
    earlier = _REFUSED.get(key)
    if earlier is not None:
        refused_from = min(refused_from, earlier[0])
    _REFUSED[key] = (refused_from, time.monotonic() + seconds)


# --- PostgreSQL: a catalogue sale in one statement ------------------------------

# The lead's place (a conditional update: a shared sale needs a place left and no
# exclusive sale; an exclusive one needs no sale at all and closes it), then the
# sale, the buyer's debit and the publisher's earning, only if the place was taken.
_CATALOGUE_SALE = text("""
WITH place AS (
    UPDATE leads SET sales_count = sales_count + 1,
                     sold_exclusively = CAST(:exclusive AS boolean)
    WHERE id = :lead_id AND NOT sold_exclusively
      AND CASE WHEN CAST(:exclusive AS boolean) THEN sales_count = 0
               ELSE sales_count < max_buyers END
    RETURNING id, sector_id
), sale AS (
    INSERT INTO sales (lead_id, buyer_id, campaign_id, sector_id, source, exclusive,
                       price_cents, currency, created_at, rating_reasons)
    SELECT :lead_id, :buyer_id, NULL, place.sector_id, :source, :exclusive, :price,
           :currency, :now, '[]'
    FROM place
    RETURNING id
), ledger AS (
    INSERT INTO ledger_entries (entry_key, organization_id, kind, amount_cents, currency,
                                sale_id, description, created_at)
    SELECT 'sale:' || sale.id || ':' || entry.suffix, entry.organization_id, entry.kind,
           entry.amount_cents, :currency, sale.id, :label, :now
    FROM sale, (VALUES ('debit', CAST(:buyer_id AS bigint), 'sale_debit',
                        -CAST(:price AS bigint)),
                       ('earning', :publisher_id, 'publisher_earning', :earning))
               AS entry (suffix, organization_id, kind, amount_cents)
    WHERE entry.amount_cents <> 0
)
SELECT (SELECT id FROM sale)
""")


def _catalogue_sale(sale: SaleAttempt, now: datetime) -> tuple[int | None, str | None]:
    sale_id = db.session.execute(
        _CATALOGUE_SALE,
        {
            "lead_id": sale.lead_id,
            "publisher_id": sale.publisher_id,
            "buyer_id": sale.buyer_id,
            "source": sale.source.value,
            "exclusive": sale.exclusive,
            "price": sale.price_cents,
            "earning": sale.earning_cents,
            "currency": sale.currency,
            "label": sale.label,
            "now": now,
        },
    ).scalar_one()
    return (sale_id, None) if sale_id is not None else (None, NO_PLACE_LEFT)


def _release_usage(campaign_id: int, period: UsagePeriod, start: date, price_cents: int) -> None:
    table = CampaignUsage.__table__
    db.session.execute(
        update(table)
        .where(
            table.c.campaign_id == campaign_id,
            table.c.period == period,
            table.c.period_start == start,
        )
        .values(leads=table.c.leads - 1, spent_cents=table.c.spent_cents - price_cents)
    )


# --- A statement per step (SQLite) -------------------------------------------


def _step_by_step(sale: SaleAttempt, now: datetime) -> tuple[int | None, str | None]:
    campaign = sale.campaign
    capped = False
    if campaign is not None:
        limits = _limits_if_selling(campaign.id)
        if limits is None:
            return None, CAMPAIGN_CHANGED
        capped = any(limit is not None for limit in limits)
        if capped:
            refusal = _consume(campaign, limits, sale.price_cents, now)
            if refusal is not None:
                return None, refusal
    if not _take_place(sale):
        if capped:
            day, month = periods(campaign, now)
            _release_usage(campaign.id, UsagePeriod.DAY, day, sale.price_cents)
            _release_usage(campaign.id, UsagePeriod.MONTH, month, sale.price_cents)
        return None, NO_PLACE_LEFT
    sale_id = db.session.execute(
        insert(Sale.__table__)
        .values(
            lead_id=sale.lead_id,
            buyer_id=sale.buyer_id,
            campaign_id=campaign.id if campaign is not None else None,
            # The lead's sector, in the same statement (the dashboard and the inbox's
            # sector filter read it from the sale).
            sector_id=select(Lead.sector_id).where(Lead.id == sale.lead_id).scalar_subquery(),
            source=sale.source,
            exclusive=sale.exclusive,
            price_cents=sale.price_cents,
            currency=sale.currency,
            created_at=now,
            rating_reasons=[],
            first_viewed_at=None,
        )
        .returning(Sale.__table__.c.id)
    ).scalar_one()
    _book(sale_id, sale, now)
    return sale_id, None


def _limits_if_selling(campaign_id: int) -> tuple | None:
    """The campaign's (daily cap, monthly cap, monthly budget) as they are now, if it
    is still active and its buyer in good standing; None otherwise."""
    return db.session.execute(
        select(Campaign.daily_cap, Campaign.monthly_cap, Campaign.monthly_budget_cents)
        .join(Organization, Organization.id == Campaign.buyer_id)
        .where(
            Campaign.id == campaign_id,
            Campaign.status == CampaignStatus.ACTIVE,
            Organization.billing_status == BillingStatus.GOOD,
        )
    ).first()


def _take_place(sale: SaleAttempt) -> bool:
    leads = Lead.__table__
    places = update(leads).where(leads.c.id == sale.lead_id, leads.c.sold_exclusively.is_(False))
    if sale.exclusive:
        places = places.where(leads.c.sales_count == 0).values(
            sales_count=leads.c.sales_count + 1, sold_exclusively=True
        )
    else:
        places = places.where(leads.c.sales_count < leads.c.max_buyers).values(
            sales_count=leads.c.sales_count + 1
        )
    return db.session.execute(places).rowcount == 1


def _consume(campaign, limits: tuple, price_cents: int, now: datetime) -> str | None:
    """Take one lead and its price from the campaign's day and month, or say which
    limit refused (giving back what was taken)."""
    day, month = periods(campaign, now)
    daily_cap, monthly_cap, monthly_budget = limits
    limits = (
        (UsagePeriod.DAY, day, daily_cap, None),
        (UsagePeriod.MONTH, month, monthly_cap, monthly_budget),
    )
    table = CampaignUsage.__table__
    dialect = postgresql if on_postgresql() else sqlite
    for period, start, cap, budget in limits:
        room = []
        if cap is not None:
            room.append(table.c.leads < cap)
        if budget is not None:
            room.append(table.c.spent_cents + price_cents <= budget)
        fresh_row_fits = (cap is None or cap >= 1) and (budget is None or price_cents <= budget)
        statement = (
            dialect.insert(table)
            .values(
                campaign_id=campaign.id,
                period=period,
                period_start=start,
                leads=1,
                spent_cents=price_cents,
            )
            .on_conflict_do_update(
                index_elements=[table.c.campaign_id, table.c.period, table.c.period_start],
                set_={
                    "leads": table.c.leads + 1,
                    "spent_cents": table.c.spent_cents + price_cents,
                },
                where=and_(*room) if room else None,
            )
            .returning(table.c.leads)
        )
        if not fresh_row_fits or db.session.execute(statement).first() is None:
            _remember_refusal(campaign, period, start, price_cents)
            if period is UsagePeriod.DAY:
                return DAILY_CAP
            _release_usage(campaign.id, UsagePeriod.DAY, day, price_cents)
            return monthly_refusal(campaign)
    return None


def _book(sale_id: int, sale: SaleAttempt, now: datetime) -> None:
    """The buyer's debit and the publisher's earning for a sale."""
    entries = [
        {
            "entry_key": f"sale:{sale_id}:debit",
            "organization_id": sale.buyer_id,
            "kind": LedgerKind.SALE_DEBIT,
            "amount_cents": -sale.price_cents,
        },
    ]
    if sale.earning_cents:
        entries.append(
            {
                "entry_key": f"sale:{sale_id}:earning",
                "organization_id": sale.publisher_id,
                "kind": LedgerKind.PUBLISHER_EARNING,
                "amount_cents": sale.earning_cents,
            }
        )
    db.session.execute(
        insert(LedgerEntry.__table__),
        [
            {
                **entry,
                "currency": sale.currency,
                "sale_id": sale_id,
                "dispute_id": None,
                "description": sale.label,
                "created_at": now,
                "stripe_object_id": None,
                "mirrored_at": None,
            }
            for entry in entries
        ],
    )


# --- A lead's offers: the sales of one distribution round -----------------------


@dataclass(frozen=True)
class Offer:
    """A campaign offered the lead in a distribution round, at this price."""

    campaign: object  # a matching.CampaignRule
    price_cents: int


@dataclass(frozen=True)
class LeadSale:
    """What every offer of a round shares: the lead, its publisher, the label."""

    lead_id: int
    publisher_id: int
    share_bps: int
    label: str
    exclusive: bool


def sell_offers(
    sale: LeadSale, offers: list[Offer], now: datetime, lead_changes: dict | None = None
) -> tuple[list[tuple[int | None, str | None]], bool, list[delivery.CreatedDelivery]]:
    """Sell the lead to each offer that its campaign's caps, budget and the lead's
    places allow: ([(sale id, None) or (None, why not)] in the offers' order,
    whether ``lead_changes`` were written, the sales' deliveries written).

    The sales' ``purchase.created`` deliveries are written with them (the outbox:
    delivery.py's rule). On PostgreSQL the round is one statement, which also writes
    ``lead_changes`` (the lead's final columns, as they are if every offer sells) with
    the places taken; elsewhere the offers are sold one by one and the caller writes
    the lead.
    """
    if not on_postgresql():
        results = [write_sale(_attempt(sale, offer), now) for offer in offers]
        sold = [sale_id for sale_id, _refusal in results if sale_id is not None]
        return results, False, delivery.create_sale_deliveries(sold, now)
    return _round_in_one_statement(sale, offers, now, lead_changes or {})


def _attempt(sale: LeadSale, offer: Offer) -> SaleAttempt:
    campaign = offer.campaign
    return SaleAttempt(
        lead_id=sale.lead_id,
        publisher_id=sale.publisher_id,
        buyer_id=campaign.buyer_id,
        price_cents=offer.price_cents,
        currency=campaign.currency,
        earning_cents=offer.price_cents * sale.share_bps // 10_000,
        label=sale.label,
        campaign=campaign,
        exclusive=sale.exclusive,
        source=SaleSource.CAMPAIGN,
    )


# The offers' count is their LIMIT, which drops none: PostgreSQL takes a set-returning
# function for 100 rows, and for 100 offers it read every campaign (a hash join over a
# sequential scan of 10,000 campaigns at each sale) where it now reads each offer's by
# its key (docs/benchmarks.md, "2026-12-05 (session 22)").
# The caps and budget are those of the campaigns table, not of the caller's copy:
# a cap set a second ago applies. A campaign has usage rows only if it has a limit.
# The usage rows are taken in campaign order, whatever the offers' order, so that two
# workers selling to the same capped campaigns cannot deadlock.
_ROUND = """
WITH offer AS (
    SELECT * FROM ROWS FROM (json_to_recordset(%(offers)s::json) AS (
        campaign_id integer, price integer, earning integer, currency varchar,
        day_start date, month_start date
    )) WITH ORDINALITY AS o (campaign_id, price, earning, currency, day_start, month_start, n)
    LIMIT %(offer_count)s
), gate AS (
    SELECT o.*, c.buyer_id, c.daily_cap, c.monthly_cap, c.monthly_budget_cents AS budget,
           c.webhook_secret, c.daily_cap IS NOT NULL OR c.monthly_cap IS NOT NULL
               OR c.monthly_budget_cents IS NOT NULL AS capped
    FROM offer o
    JOIN campaigns c ON c.id = o.campaign_id AND c.status = 'active'
    JOIN organizations b ON b.id = c.buyer_id AND b.billing_status = 'good'
), day AS (
    INSERT INTO campaign_usage AS u (campaign_id, period, period_start, leads, spent_cents)
    SELECT campaign_id, 'day', day_start, 1, price FROM gate
    WHERE capped AND (daily_cap IS NULL OR daily_cap >= 1) ORDER BY campaign_id
    ON CONFLICT (campaign_id, period, period_start) DO UPDATE
    SET leads = u.leads + 1, spent_cents = u.spent_cents + excluded.spent_cents
    WHERE u.leads < coalesce(
        (SELECT daily_cap FROM campaigns c WHERE c.id = u.campaign_id), u.leads + 1)
    RETURNING campaign_id
), month AS (
    INSERT INTO campaign_usage AS u (campaign_id, period, period_start, leads, spent_cents)
    SELECT g.campaign_id, 'month', month_start, 1, price
    FROM gate g JOIN day ON day.campaign_id = g.campaign_id
    WHERE (monthly_cap IS NULL OR monthly_cap >= 1) AND (budget IS NULL OR price <= budget)
    ORDER BY g.campaign_id
    ON CONFLICT (campaign_id, period, period_start) DO UPDATE
    SET leads = u.leads + 1, spent_cents = u.spent_cents + excluded.spent_cents
    WHERE (SELECT u.leads < coalesce(c.monthly_cap, u.leads + 1)
              AND u.spent_cents + excluded.spent_cents
                  <= coalesce(c.monthly_budget_cents, u.spent_cents + excluded.spent_cents)
           FROM campaigns c WHERE c.id = u.campaign_id)
    RETURNING campaign_id
), passed AS (
    SELECT * FROM gate WHERE NOT capped OR campaign_id IN (SELECT campaign_id FROM month)
), place AS (
    UPDATE leads l
    SET sales_count = l.sales_count + t.n,
        sold_exclusively = t.n > 0 AND %(exclusive)s,
        status = CASE WHEN l.sales_count + t.n > 0 THEN 'distributed' ELSE l.status END,
        distributed_at = CASE WHEN l.sales_count + t.n > 0 THEN %(now)s
                              ELSE l.distributed_at END,
        distribute_after = CASE WHEN l.sales_count + t.n > 0 THEN NULL
                                ELSE l.distribute_after END,
        distribution_log = coalesce(%(log)s::jsonb, l.distribution_log),
        score = coalesce(%(score)s, l.score),
        temperature = coalesce(%(temperature)s, l.temperature),
        score_explanation = coalesce(%(score_explanation)s::jsonb, l.score_explanation)
    FROM (SELECT count(*)::integer AS n FROM passed) AS t
    WHERE l.id = %(lead_id)s AND NOT l.sold_exclusively
      AND CASE WHEN %(exclusive)s THEN l.sales_count = 0 AND t.n <= 1
               ELSE l.sales_count + t.n <= l.max_buyers END
    RETURNING t.n, l.sector_id
), sale AS (
    INSERT INTO sales (lead_id, buyer_id, campaign_id, sector_id, source, exclusive,
                       price_cents, currency, created_at, rating_reasons)
    SELECT %(lead_id)s, buyer_id, campaign_id, place.sector_id, 'campaign', %(exclusive)s,
           price, currency, %(now)s, '[]'
    FROM passed, place
    RETURNING id, campaign_id
), ledger AS (
    INSERT INTO ledger_entries (entry_key, organization_id, kind, amount_cents, currency,
                                sale_id, description, created_at)
    SELECT 'sale:' || s.id || ':' || e.suffix, e.organization_id, e.kind, e.amount_cents,
           p.currency, s.id, %(label)s, %(now)s
    FROM sale s JOIN passed p ON p.campaign_id = s.campaign_id,
         LATERAL (VALUES ('debit', p.buyer_id, 'sale_debit', -p.price),
                         ('earning', %(publisher_id)s, 'publisher_earning', p.earning))
         AS e (suffix, organization_id, kind, amount_cents)
    WHERE e.amount_cents <> 0
)
"""
# What each offer came to, in the offers' order: its sale, or which step refused it;
# and the sale's deliveries.
_ROUND_ANSWER = """
SELECT s.id, g.campaign_id IS NOT NULL, coalesce(g.capped, false), d.campaign_id IS NOT NULL,
       m.campaign_id IS NOT NULL, EXISTS (SELECT FROM place),
       (SELECT json_agg(json_build_array(w.id, w.channel, w.target) ORDER BY w.id)
        FROM delivery w WHERE w.sale_id = s.id), g.webhook_secret
FROM offer o
LEFT JOIN gate g ON g.campaign_id = o.campaign_id
LEFT JOIN day d ON d.campaign_id = o.campaign_id
LEFT JOIN month m ON m.campaign_id = o.campaign_id
LEFT JOIN sale s ON s.campaign_id = o.campaign_id
ORDER BY o.n
"""

LEAD_CHANGES = ("log", "score", "temperature", "score_explanation")


# The sales' deliveries are written by the round's statement (delivery.SALES_DELIVERIES).
# At 4.9 KB the statement is past what psycopg keeps parsed (4 KB): its parsing, 25 µs
# at each execution, costs less than the statement it spared (docs/benchmarks.md).
_ROUND = one_line(f"{_ROUND}, {delivery.SALES_DELIVERIES} {_ROUND_ANSWER}")


def _round_in_one_statement(
    sale: LeadSale, offers: list[Offer], now: datetime, lead_changes: dict
) -> tuple[list[tuple[int | None, str | None]], bool, list[delivery.CreatedDelivery]]:
    periods_of = [periods(offer.campaign, now) for offer in offers]
    offer_rows = [
        {
            "campaign_id": offer.campaign.id,
            "price": offer.price_cents,
            "earning": offer.price_cents * sale.share_bps // 10_000,
            "currency": offer.campaign.currency,
            "day_start": day,
            "month_start": month,
        }
        for offer, (day, month) in zip(offers, periods_of, strict=True)
    ]
    params = {
        "offers": json_rows(offer_rows),
        "offer_count": len(offer_rows),
        "exclusive": sale.exclusive,
        "now": now,
        "lead_id": sale.lead_id,
        "publisher_id": sale.publisher_id,
        "label": sale.label,
        **{name: lead_changes.get(name) for name in LEAD_CHANGES},
        **delivery.sales_deliveries_params(delivery.PURCHASE_CREATED, "", now),
    }
    rows = driver_connection().execute(_ROUND, params).fetchall()
    results, deliveries_of_sales = [], []
    for offer, (day, month), row in zip(offers, periods_of, rows, strict=True):
        sale_id, gate, capped, day_taken, month_taken, _placed, deliveries, secret = row
        campaign = offer.campaign
        if sale_id is not None:
            results.append((sale_id, None))
            deliveries_of_sales.append((sale_id, deliveries, secret))
        elif not gate:
            results.append((None, CAMPAIGN_CHANGED))
        elif capped and not day_taken:
            _remember_refusal(campaign, UsagePeriod.DAY, day, offer.price_cents)
            results.append((None, DAILY_CAP))
        elif capped and not month_taken:
            _release_usage(campaign.id, UsagePeriod.DAY, day, offer.price_cents)
            _remember_refusal(campaign, UsagePeriod.MONTH, month, offer.price_cents)
            results.append((None, monthly_refusal(campaign)))
        else:  # the lead had no place left for it: give back what it took
            if capped:
                _release_usage(campaign.id, UsagePeriod.DAY, day, offer.price_cents)
                _release_usage(campaign.id, UsagePeriod.MONTH, month, offer.price_cents)
            results.append((None, NO_PLACE_LEFT))
    placed = bool(rows) and rows[0][5]
    return results, placed, delivery.created_in_statement(deliveries_of_sales)
