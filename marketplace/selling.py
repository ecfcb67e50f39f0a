"""Writing one sale: the lead's place, the campaign's caps and budget, the sale and
its ledger rows, all or nothing, inside the lead's transaction.

On PostgreSQL a sale is one statement of data-modifying CTEs, each step running
only when the one before it returned a row:

1. the campaign is still active and its buyer in good billing standing;
2. the day's usage takes one lead (an upsert refused at the daily cap);
3. the month's usage takes one lead and the price (refused at the monthly cap or
   budget);
4. the lead gives a place (a conditional update: a shared sale needs a place left
   and no exclusive sale; an exclusive one needs no sale at all and closes it);
5. the sale, the buyer's debit and the publisher's earning are written, and the
   campaign is stamped as served.

The database decides every limit in the statement that consumes it, so concurrent
workers cannot pass one. What a refused attempt took is given back (the day's
usage when the month refused, both when the place was gone). SQLite has no
data-modifying CTEs and runs one writer at a time: there the same steps are a
statement each.

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

from marketplace import snapshots
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
    """(the sale's id, None), or (None, why it was refused) with nothing kept."""
    if db.session.get_bind().dialect.name == "postgresql":
        return _in_one_statement(sale, now)
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


# --- PostgreSQL: one statement -------------------------------------------------

_GATE = """gate AS (
    SELECT 1 FROM campaigns JOIN organizations AS buyer ON buyer.id = campaigns.buyer_id
    WHERE campaigns.id = :campaign_id AND campaigns.status = 'active'
      AND buyer.billing_status = 'good'
)"""
_USAGE = """{name} AS (
    INSERT INTO campaign_usage AS usage (campaign_id, period, period_start, leads, spent_cents)
    SELECT :campaign_id, '{name}', CAST(:{name}_start AS date), 1, :price FROM {after}
    ON CONFLICT (campaign_id, period, period_start) DO UPDATE
    SET leads = usage.leads + 1, spent_cents = usage.spent_cents + :price
    WHERE (CAST(:{name}_cap AS integer) IS NULL OR usage.leads < :{name}_cap)
      AND (CAST(:{name}_budget AS bigint) IS NULL
           OR usage.spent_cents + :price <= :{name}_budget)
    RETURNING 1
)"""
_PLACE = """place AS (
    UPDATE leads SET sales_count = sales_count + 1,
                     sold_exclusively = CAST(:exclusive AS boolean)
    WHERE id = :lead_id AND NOT sold_exclusively
      AND CASE WHEN CAST(:exclusive AS boolean) THEN sales_count = 0
               ELSE sales_count < max_buyers END
      {after}
    RETURNING id
)"""
_SALE = """sale AS (
    INSERT INTO sales (lead_id, buyer_id, campaign_id, source, exclusive, price_cents,
                       currency, created_at, rating_reasons)
    SELECT :lead_id, :buyer_id, :campaign_id, :source, :exclusive, :price, :currency, :now,
           '[]' FROM place
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
)"""
_STAMP = """stamp AS (
    UPDATE campaigns SET last_sold_at = :now
    WHERE id = :campaign_id AND EXISTS (SELECT 1 FROM sale)
)"""


def _statement(campaign: bool, capped: bool):
    ctes = []
    passed = ["(SELECT id FROM sale)"]
    if campaign:
        ctes.append(_GATE)
        passed.append("EXISTS (SELECT 1 FROM gate)")
        gate = "gate"
        if capped:
            ctes.append(_USAGE.format(name="day", after="gate"))
            ctes.append(_USAGE.format(name="month", after="day"))
            passed += ["EXISTS (SELECT 1 FROM day)", "EXISTS (SELECT 1 FROM month)"]
            gate = "month"
        ctes.append(_PLACE.format(after=f"AND EXISTS (SELECT 1 FROM {gate})"))  # noqa: S608 (names from this module)
    else:
        ctes.append(_PLACE.format(after=""))
    ctes.append(_SALE)
    if campaign:
        ctes.append(_STAMP)
    return text("WITH " + ",\n".join(ctes) + "\nSELECT " + ", ".join(passed))


_STATEMENTS = {
    (campaign, capped): _statement(campaign, capped)
    for campaign, capped in ((False, False), (True, False), (True, True))
}


def _in_one_statement(sale: SaleAttempt, now: datetime) -> tuple[int | None, str | None]:
    campaign = sale.campaign
    capped = campaign is not None and campaign.capped
    params = {
        "lead_id": sale.lead_id,
        "publisher_id": sale.publisher_id,
        "buyer_id": sale.buyer_id,
        "campaign_id": campaign.id if campaign is not None else None,
        "source": sale.source.value,
        "exclusive": sale.exclusive,
        "price": sale.price_cents,
        "earning": sale.earning_cents,
        "currency": sale.currency,
        "label": sale.label,
        "now": now,
    }
    if capped:
        day, month = periods(campaign, now)
        params.update(
            day_start=day,
            day_cap=campaign.daily_cap,
            day_budget=None,
            month_start=month,
            month_cap=campaign.monthly_cap,
            month_budget=campaign.monthly_budget_cents,
        )
    row = db.session.execute(_STATEMENTS[(campaign is not None, capped)], params).one()
    if row[0] is not None:
        return row[0], None
    if campaign is None:
        return None, NO_PLACE_LEFT
    if not row[1]:  # the gate
        return None, CAMPAIGN_CHANGED
    if not capped:
        return None, NO_PLACE_LEFT
    day_taken, month_taken = row[2], row[3]
    day, month = periods(campaign, now)
    if not day_taken:
        _remember_refusal(campaign, UsagePeriod.DAY, day, sale.price_cents)
        return None, DAILY_CAP
    _release_usage(campaign.id, UsagePeriod.DAY, day, sale.price_cents)
    if not month_taken:
        _remember_refusal(campaign, UsagePeriod.MONTH, month, sale.price_cents)
        return None, monthly_refusal(campaign)
    _release_usage(campaign.id, UsagePeriod.MONTH, month, sale.price_cents)
    return None, NO_PLACE_LEFT


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


# --- SQLite: the same steps, a statement each -------------------------------


def _step_by_step(sale: SaleAttempt, now: datetime) -> tuple[int | None, str | None]:
    campaign = sale.campaign
    if campaign is not None:
        if not _campaign_still_selling(campaign.id):
            return None, CAMPAIGN_CHANGED
        if campaign.capped:
            refusal = _consume(campaign, sale.price_cents, now)
            if refusal is not None:
                return None, refusal
    if not _take_place(sale):
        if campaign is not None and campaign.capped:
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
    if campaign is not None:
        db.session.execute(
            update(Campaign.__table__)
            .where(Campaign.__table__.c.id == campaign.id)
            .values(last_sold_at=now)
        )
    return sale_id, None


def _campaign_still_selling(campaign_id: int) -> bool:
    return (
        db.session.scalar(
            select(Campaign.id)
            .join(Organization, Organization.id == Campaign.buyer_id)
            .where(
                Campaign.id == campaign_id,
                Campaign.status == CampaignStatus.ACTIVE,
                Organization.billing_status == BillingStatus.GOOD,
            )
        )
        is not None
    )


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


def _consume(campaign, price_cents: int, now: datetime) -> str | None:
    """Take one lead and its price from the campaign's day and month, or say which
    limit refused (giving back what was taken)."""
    day, month = periods(campaign, now)
    limits = (
        (UsagePeriod.DAY, day, campaign.daily_cap, None),
        (UsagePeriod.MONTH, month, campaign.monthly_cap, campaign.monthly_budget_cents),
    )
    table = CampaignUsage.__table__
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    for period, start, cap, budget in limits:
        room = []
        if cap is not None:
            room.append(table.c.leads < cap)
        if budget is not None:
            room.append(table.c.spent_cents + price_cents <= budget)
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
        if db.session.execute(statement).first() is None:
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
