"""Matching and the atomic sale: which campaigns may have a lead, and selling it.

Rules (docs/matching.md):
- eligible: the campaign is active and covers the lead's sector; its buyer is in
  good billing standing and on the lead's consent partner list; every filter of
  the campaign matches; the buyer has not bought this lead, nor this person
  (e-mail or phone hash) within the dedupe window; caps and budget have room.
- ranked by price (highest first), then by the campaign served least recently,
  one campaign per buyer, up to the places left on the lead.
- each sale, its cap and budget consumption, the buyer's debit and the
  publisher's earning are written in the lead's one transaction.

Concurrency: the lead row is locked ``FOR NO KEY UPDATE`` (concurrent inserts of
sales referencing it keep their foreign-key checks unblocked), its
``sales_count`` only moves through a conditional update, and each cap through a
conditional update of its usage counter; a unique (lead, buyer) index makes a
double sale impossible even if every other guard failed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import and_, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.attributes import set_committed_value

from marketplace import jobs, snapshots
from marketplace.consent import partners_now
from marketplace.extensions import db
from marketplace.models import (
    BillingStatus,
    Campaign,
    CampaignStatus,
    CampaignUsage,
    Lead,
    LeadMagnet,
    LeadStatus,
    LedgerEntry,
    LedgerKind,
    Organization,
    Sale,
    SaleSource,
    UsagePeriod,
    campaign_sectors,
    utcnow,
)
from marketplace.scoring import score_lead
from marketplace.validation import french_department

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    """Why a campaign was or was not chosen for a lead (for the admin's lead page)."""

    campaign_id: int
    eligible: bool
    reason: str


def distribute_lead(lead_id: int, now: datetime | None = None) -> list[int]:
    """Score a pending lead and sell it to the best eligible campaigns. Idempotent.

    Returns the ids of the sales made by this call (none when the lead was not
    pending: a retried job changes nothing).
    """
    now = now or utcnow()
    lead = db.session.scalar(select(Lead).where(Lead.id == lead_id).with_for_update(key_share=True))
    if lead is None or lead.status is not LeadStatus.PENDING:
        db.session.rollback()
        return []
    if lead.score is None:
        score = score_lead(lead)
        lead.score, lead.temperature, lead.score_explanation = (
            score.value,
            score.temperature,
            score.explanation,
        )

    if lead.distribute_after is not None and lead.distribute_after > now:
        db.session.rollback()  # waiting for a campaign's opening hours
        return []
    lock_person(lead)
    campaigns = candidate_campaigns(lead)
    by_id = {campaign.id: campaign for campaign in campaigns}
    verdicts = judge(lead, campaigns, now)
    outcome = {v.campaign_id: v.reason for v in verdicts}
    eligible = rank([by_id[v.campaign_id] for v in verdicts if v.eligible])
    sale_ids = []
    share_bps = _share_bps(lead.publisher_id) if eligible else 0
    exclusive = choose_exclusive(lead, eligible)
    if exclusive is not None:
        sale = _sell(
            lead,
            now,
            buyer_id=exclusive.buyer_id,
            price_cents=offer_cents(exclusive),
            currency=exclusive.currency,
            share_bps=share_bps,
            campaign=exclusive,
            exclusive=True,
        )
        if sale is not None:
            outcome[exclusive.id] = "sold_exclusive"
            sale_ids.append(sale)
            eligible = []
        else:
            outcome[exclusive.id] = "cap_reached_meanwhile"
            eligible = [campaign for campaign in eligible if campaign is not exclusive]
    for campaign in eligible:
        if lead.sales_count >= lead.max_buyers:
            outcome[campaign.id] = "no_place_left"
            continue
        sale = _sell(
            lead,
            now,
            buyer_id=campaign.buyer_id,
            price_cents=campaign.price_cents,
            currency=campaign.currency,
            share_bps=share_bps,
            campaign=campaign,
        )
        if sale is None:
            outcome[campaign.id] = "cap_reached_meanwhile"
        else:
            outcome[campaign.id] = "sold"
            sale_ids.append(sale)
    lead.distribution_log = [
        {
            "at": now.isoformat(),
            "campaign_id": campaign.id,
            "buyer_id": campaign.buyer_id,
            "price_cents": campaign.price_cents,
            "verdict": outcome[campaign.id],
        }
        for campaign in campaigns
    ]
    if not sale_ids and _wait_for_opening(lead, campaigns, outcome, now):
        db.session.commit()
        return []
    lead.status = LeadStatus.DISTRIBUTED if lead.sales_count else LeadStatus.UNSOLD
    lead.distributed_at = now
    lead.distribute_after = None
    db.session.commit()
    log.info("lead %s distributed: %d sale(s)", lead_id, len(sale_ids))
    for sale_id in sale_ids:
        _start_delivery(sale_id)
    return sale_ids


def _start_delivery(sale_id: int) -> None:
    """The sale is committed; its e-mail and webhook go out in their own job."""
    try:
        jobs.enqueue("marketplace.delivery:deliver_sale", sale_id)
    except jobs.EnqueueFailed:
        log.warning("sale %s: delivery not enqueued; the portal and the API have it", sale_id)


def offer_cents(campaign: Campaign) -> int:
    """What a campaign pays for a lead it gets alone: its exclusive price if it set one."""
    if campaign.wants_exclusive and campaign.exclusive_price_cents:
        return campaign.exclusive_price_cents
    return campaign.price_cents


def choose_exclusive(lead: Lead, ranked: list[Campaign]) -> Campaign | None:
    """The campaign that gets the lead alone, if any (docs/matching.md).

    A lead whose person agreed to one partner (``max_buyers`` 1) goes to the best
    single offer. Otherwise it goes to one buyer alone only when that buyer's
    exclusive price beats the shared sales it would replace, and only before any
    shared sale.
    """
    if not ranked or lead.sales_count:
        return None
    never = datetime.min.replace(tzinfo=UTC)
    by_offer = sorted(ranked, key=lambda c: (-offer_cents(c), c.last_sold_at or never, c.id))
    if lead.max_buyers == 1:
        return by_offer[0]
    shared_total = sum(campaign.price_cents for campaign in ranked[: lead.max_buyers])
    best = by_offer[0]
    if best.wants_exclusive and offer_cents(best) > shared_total:
        return best
    return None


def lock_person(lead: Lead) -> None:
    """Serialise the distributions of one person's leads (PostgreSQL advisory locks).

    Two leads of the same person (e-mail or phone) distributed at once by two
    workers could each see that a buyer has not bought that person yet; the lock,
    held to the end of the transaction, makes the second wait for the first.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return  # SQLite runs one writer at a time
    keys = sorted({int(value[:15], 16) for value in (lead.email_hash, lead.phone_hash) if value})
    # One round trip; the locks are taken in key order, so two jobs cannot deadlock.
    calls = ", ".join(f"pg_advisory_xact_lock(:k{n})" for n in range(len(keys)))
    db.session.execute(text(f"SELECT {calls}"), {f"k{n}": key for n, key in enumerate(keys)})


def _wait_for_opening(lead: Lead, campaigns, outcome: dict, now: datetime) -> bool:
    """Keep the lead pending until the first campaign closed now opens, within its freshness."""
    openings = [
        opening
        for campaign in campaigns
        if outcome[campaign.id] == "closed_now"
        and (opening := next_opening(campaign, now)) is not None
    ]
    fresh_until = lead.created_at + timedelta(days=current_app.config["LEAD_FRESHNESS_DAYS"])
    if not openings or min(openings) > fresh_until:
        return False
    lead.distribute_after = min(openings)
    return True


@dataclass(frozen=True)
class CampaignRule:
    """A campaign as matching reads it: its settings, its buyer's name and standing.

    Kept a few seconds per process (snapshots.py) per sector: matching then costs no
    query for campaigns. What must be exact is checked again when selling: the
    campaign still active and its buyer in good standing (``_claim_campaign``), its
    caps and budget (``_consume``).
    """

    id: int
    name: str
    buyer_id: int
    buyer_name: str
    buyer_good: bool
    price_cents: int
    currency: str
    countries: tuple
    departments: tuple
    postcode_prefixes: tuple
    company_sizes: tuple
    magnet_kinds: tuple
    min_score: int
    wants_exclusive: bool
    exclusive_price_cents: int | None
    daily_cap: int | None
    monthly_cap: int | None
    monthly_budget_cents: int | None
    opening_hours: dict
    timezone: str
    last_sold_at: datetime | None

    @property
    def capped(self) -> bool:
        return any(
            limit is not None
            for limit in (self.daily_cap, self.monthly_cap, self.monthly_budget_cents)
        )


def candidate_campaigns(lead: Lead) -> list[CampaignRule]:
    """Active campaigns covering the lead's sector or its parent."""
    sector_ids = (lead.sector_id, lead.sector.parent_id)
    return list(
        snapshots.remembered(
            "campaign_rules",
            sector_ids,
            lambda: _load_rules(sector_ids),
            seconds=current_app.config["MATCHING_SNAPSHOT_SECONDS"],
        )
    )


def _load_rules(sector_ids: tuple) -> tuple[CampaignRule, ...]:
    rows = db.session.execute(
        select(Campaign, Organization.name, Organization.billing_status)
        .join(Organization, Organization.id == Campaign.buyer_id)
        .where(
            Campaign.status == CampaignStatus.ACTIVE,
            Campaign.id.in_(
                select(campaign_sectors.c.campaign_id).where(
                    campaign_sectors.c.sector_id.in_([s for s in sector_ids if s])
                )
            ),
        )
    ).all()
    return tuple(
        CampaignRule(
            id=c.id,
            name=c.name,
            buyer_id=c.buyer_id,
            buyer_name=name,
            buyer_good=standing is BillingStatus.GOOD,
            price_cents=c.price_cents,
            currency=c.currency,
            countries=tuple(c.countries),
            departments=tuple(c.departments),
            postcode_prefixes=tuple(c.postcode_prefixes),
            company_sizes=tuple(c.company_sizes),
            magnet_kinds=tuple(c.magnet_kinds),
            min_score=c.min_score,
            wants_exclusive=c.wants_exclusive,
            exclusive_price_cents=c.exclusive_price_cents,
            daily_cap=c.daily_cap,
            monthly_cap=c.monthly_cap,
            monthly_budget_cents=c.monthly_budget_cents,
            opening_hours=dict(c.opening_hours),
            timezone=c.timezone,
            last_sold_at=c.last_sold_at,
        )
        for c, name, standing in rows
    )


def partner_ids(partner_list_id: int) -> frozenset[int]:
    """The organization ids of a stored partner list (immutable: kept per process)."""
    from marketplace.models import PartnerList

    def load():
        partners = db.session.scalar(
            select(PartnerList.partners).where(PartnerList.id == partner_list_id)
        )
        return frozenset(partner.get("id") for partner in partners or [])

    return snapshots.remembered("partner_ids", partner_list_id, load)


def judge(
    lead: Lead, campaigns: list, now: datetime, *, partners: list[dict] | None = None
) -> list[Verdict]:
    """A verdict for each candidate campaign, with the first rule that excluded it.

    ``partners`` replaces the lead's consent snapshot for a lead not yet captured
    (an estimate), which has no person to dedupe against either.
    """
    if partners is None:
        allowed = partner_ids(lead.consent.partner_list_id) if lead.consent else frozenset()
        buyers_with_person = buyers_who_bought_person(lead, now)
    else:
        allowed = frozenset(partner.get("id") for partner in partners)
        buyers_with_person = set()
    kind = lead.magnet.kind
    reasons = {}
    for campaign in campaigns:
        reasons[campaign.id] = _static_exclusion(lead, kind, campaign, allowed, buyers_with_person)
    # Usage is read only for the capped campaigns still in the running.
    capped = [c for c in campaigns if reasons[c.id] is None and c.capped]
    usage = _usage_by_campaign(capped, now)
    for campaign in campaigns:
        if reasons[campaign.id] is None:
            reasons[campaign.id] = _dynamic_exclusion(campaign, usage, now)
    return [Verdict(c.id, reasons[c.id] is None, reasons[c.id] or "eligible") for c in campaigns]


def estimate(magnet: LeadMagnet, qualification: dict, now: datetime) -> tuple[int, int]:
    """(buyers, revenue in cents) a lead with this qualification would get now.

    The lead is built in memory and never stored; the partner list is the one the
    form would show now.
    """
    lead = Lead(
        magnet=magnet,
        sector=magnet.sector,
        sector_id=magnet.sector_id,
        max_buyers=magnet.max_buyers,
        sales_count=0,
        country=qualification.get("country") or "FR",
        email_hash="",
        **{name: qualification.get(name) for name in ESTIMATE_FIELDS},
    )
    score = score_lead(lead)
    lead.score = score.value
    campaigns = candidate_campaigns(lead)
    by_id = {campaign.id: campaign for campaign in campaigns}
    shown = partners_now(magnet.sector_id, magnet.sector.parent_id)
    eligible = rank(
        [by_id[v.campaign_id] for v in judge(lead, campaigns, now, partners=shown) if v.eligible]
    )
    exclusive = choose_exclusive(lead, eligible)
    if exclusive is not None:
        return 1, offer_cents(exclusive)
    chosen = eligible[: lead.max_buyers]
    return len(chosen), sum(campaign.price_cents for campaign in chosen)


ESTIMATE_FIELDS = ("company", "company_size", "budget", "timeframe", "postcode", "message")


def rank(campaigns: list[Campaign]) -> list[Campaign]:
    """Best price first; among equals the campaign served least recently; one per buyer."""
    never = datetime.min.replace(tzinfo=UTC)
    ordered = sorted(campaigns, key=lambda c: (-c.price_cents, c.last_sold_at or never, c.id))
    seen_buyers: set[int] = set()
    chosen = []
    for campaign in ordered:
        if campaign.buyer_id not in seen_buyers:
            seen_buyers.add(campaign.buyer_id)
            chosen.append(campaign)
    return chosen


def filter_reason(campaign: Campaign, lead, magnet_kind) -> str | None:
    """The first of the campaign's own filters that the lead fails, or None.

    ``lead`` is anything with the lead's country, postcode, company_size and score
    (a Lead, or a row of them for the campaign editor's estimate).
    """
    if campaign.countries and lead.country not in campaign.countries:
        return "filter_country"
    if campaign.departments and french_department(lead.postcode) not in campaign.departments:
        return "filter_department"
    if campaign.postcode_prefixes and not any(
        (lead.postcode or "").startswith(prefix) for prefix in campaign.postcode_prefixes
    ):
        return "filter_postcode"
    if campaign.company_sizes and lead.company_size not in campaign.company_sizes:
        return "filter_company_size"
    kind = getattr(magnet_kind, "value", magnet_kind)
    if campaign.magnet_kinds and kind not in campaign.magnet_kinds:
        return "filter_magnet_kind"
    if (lead.score or 0) < campaign.min_score:
        return "filter_min_score"
    return None


DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def is_open(campaign: Campaign, now: datetime) -> bool:
    """Whether the campaign takes leads at ``now`` (no opening hours: always)."""
    if not campaign.opening_hours:
        return True
    local = now.astimezone(ZoneInfo(campaign.timezone))
    clock = local.strftime("%H:%M")
    windows = campaign.opening_hours.get(DAY_NAMES[local.weekday()], [])
    return any(start <= clock < end for start, end in windows)


def next_opening(campaign: Campaign, now: datetime) -> datetime | None:
    """The next time the campaign opens, within a week (None: never opens)."""
    if not campaign.opening_hours:
        return now
    zone = ZoneInfo(campaign.timezone)
    local = now.astimezone(zone)
    for offset in range(8):
        day = (local + timedelta(days=offset)).date()
        for start, _end in sorted(campaign.opening_hours.get(DAY_NAMES[day.weekday()], [])):
            hour, minute = (int(part) for part in start.split(":"))
            opening = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
            if opening > now:
                return opening.astimezone(UTC)
    return None


def sector_ids_with_children(sector_ids: list[int]) -> list[int]:
    """The sectors and, for a parent sector, its sub-sectors (a parent covers them)."""
    from marketplace.models import Sector

    if not sector_ids:
        return []
    children = db.session.scalars(select(Sector.id).where(Sector.parent_id.in_(sector_ids)))
    return sorted(set(sector_ids) | set(children))


def _static_exclusion(lead, kind, campaign, allowed, buyers_with_person) -> str | None:
    if not campaign.buyer_good:
        return "buyer_billing_standing"
    if campaign.buyer_id not in allowed:
        return "not_in_consent_partner_list"
    if campaign.buyer_id in buyers_with_person:
        return "buyer_already_has_this_person"
    return filter_reason(campaign, lead, kind)


def _dynamic_exclusion(campaign, usage, now) -> str | None:
    day, month = usage.get(campaign.id, ((0, 0), (0, 0)))
    if campaign.daily_cap is not None and day[0] >= campaign.daily_cap:
        return "daily_cap_reached"
    if campaign.monthly_cap is not None and month[0] >= campaign.monthly_cap:
        return "monthly_cap_reached"
    if (
        campaign.monthly_budget_cents is not None
        and month[1] + campaign.price_cents > campaign.monthly_budget_cents
    ):
        return "monthly_budget_reached"
    # Last, so that a campaign excluded only by its hours is one worth waiting for.
    if not is_open(campaign, now):
        return "closed_now"
    return None


def buyers_who_bought_person(lead: Lead, now: datetime) -> set[int]:
    window_start = now - timedelta(days=current_app.config["DEDUPE_WINDOW_DAYS"])
    same_person = [Lead.email_hash == lead.email_hash]
    if lead.phone_hash:
        same_person.append(Lead.phone_hash == lead.phone_hash)
    return set(
        db.session.scalars(
            select(Sale.buyer_id)
            .join(Lead, Lead.id == Sale.lead_id)
            .where(or_(*same_person), Sale.created_at >= window_start)
        )
    )


def _periods(campaign, now: datetime) -> tuple[date, date]:
    """The campaign's current day and month, in its own timezone."""
    local_day = now.astimezone(ZoneInfo(campaign.timezone)).date()
    return local_day, local_day.replace(day=1)


def _usage_by_campaign(campaigns: list, now: datetime) -> dict[int, tuple]:
    if not campaigns:
        return {}
    wanted = {}
    for campaign in campaigns:
        day, month = _periods(campaign, now)
        wanted[(campaign.id, UsagePeriod.DAY, day)] = 0
        wanted[(campaign.id, UsagePeriod.MONTH, month)] = 1
    rows = db.session.execute(
        select(
            CampaignUsage.campaign_id,
            CampaignUsage.period,
            CampaignUsage.period_start,
            CampaignUsage.leads,
            CampaignUsage.spent_cents,
        ).where(
            CampaignUsage.campaign_id.in_([c.id for c in campaigns]),
            CampaignUsage.period_start >= min(key[2] for key in wanted),
        )
    )
    usage: dict[int, list] = {}
    for campaign_id, period, start, leads, spent in rows:
        slot = wanted.get((campaign_id, period, start))
        if slot is not None:
            usage.setdefault(campaign_id, [(0, 0), (0, 0)])[slot] = (leads, spent)
    return {key: tuple(value) for key, value in usage.items()}


def _dialect():
    return postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite


def _consume(campaign, price_cents: int, now: datetime) -> bool:
    """Take one lead and its price from the campaign's day and month, if they have room.

    One upsert per period: a new row takes the first lead; an existing one is
    updated only while under its cap and budget, which the database checks in the
    same statement, so concurrent workers cannot pass them.
    """
    day, month = _periods(campaign, now)
    limits = (
        (UsagePeriod.DAY, day, campaign.daily_cap, None),
        (UsagePeriod.MONTH, month, campaign.monthly_cap, campaign.monthly_budget_cents),
    )
    table = CampaignUsage.__table__
    taken = []
    for period, start, cap, budget in limits:
        statement = (
            _dialect()
            .insert(table)
            .values(
                campaign_id=campaign.id,
                period=period,
                period_start=start,
                leads=1,
                spent_cents=price_cents,
            )
        )
        room = []
        if cap is not None:
            room.append(table.c.leads < cap)
        if budget is not None:
            room.append(table.c.spent_cents + price_cents <= budget)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.campaign_id, table.c.period, table.c.period_start],
            set_={"leads": table.c.leads + 1, "spent_cents": table.c.spent_cents + price_cents},
            where=and_(*room) if room else None,
        ).returning(table.c.leads)
        if db.session.execute(statement).first() is None:
            for done_period, done_start in taken:  # give back what was taken
                db.session.execute(
                    update(table)
                    .where(
                        table.c.campaign_id == campaign.id,
                        table.c.period == done_period,
                        table.c.period_start == done_start,
                    )
                    .values(leads=table.c.leads - 1, spent_cents=table.c.spent_cents - price_cents)
                )
            return False
        taken.append((period, start))
    return True


def _claim_campaign(campaign, now: datetime) -> bool:
    """The campaign is still active and its buyer in good standing: mark it served now."""
    campaigns = Campaign.__table__
    claimed = db.session.execute(
        update(campaigns)
        .where(
            campaigns.c.id == campaign.id,
            campaigns.c.status == CampaignStatus.ACTIVE.value,
            select(Organization.id)
            .where(
                Organization.id == campaigns.c.buyer_id,
                Organization.billing_status == BillingStatus.GOOD,
            )
            .exists(),
        )
        .values(last_sold_at=now)
    )
    return claimed.rowcount == 1


def _sell(
    lead: Lead,
    now: datetime,
    *,
    buyer_id: int,
    price_cents: int,
    currency: str,
    share_bps: int,
    campaign=None,
    exclusive: bool = False,
    source: SaleSource = SaleSource.CAMPAIGN,
) -> int | None:
    """One sale inside the lead's transaction: its id, or None when a place, the
    campaign or one of its caps is gone (what the attempt took is given back).

    The place is taken by a conditional update: a shared sale needs a place left and
    no exclusive sale; an exclusive one needs no sale at all and closes the lead.
    """
    lead_table = Lead.__table__
    places = update(lead_table).where(
        lead_table.c.id == lead.id, lead_table.c.sold_exclusively.is_(False)
    )
    if exclusive:
        places = places.where(lead_table.c.sales_count == 0).values(
            sales_count=lead_table.c.sales_count + 1, sold_exclusively=True
        )
    else:
        places = places.where(lead_table.c.sales_count < lead_table.c.max_buyers).values(
            sales_count=lead_table.c.sales_count + 1
        )
    if db.session.execute(places).rowcount != 1:
        return None  # nothing written
    if campaign is not None and not (
        _claim_campaign(campaign, now)
        and (not campaign.capped or _consume(campaign, price_cents, now))
    ):
        # Give the place back. A usage counter consumed for the day when the month then
        # refused is given back inside _consume; a stamped last_sold_at is harmless.
        db.session.execute(
            update(lead_table)
            .where(lead_table.c.id == lead.id)
            .values(sales_count=lead_table.c.sales_count - 1, sold_exclusively=False)
        )
        return None
    sale_id = db.session.execute(
        insert(Sale.__table__)
        .values(
            lead_id=lead.id,
            buyer_id=buyer_id,
            campaign_id=campaign.id if campaign is not None else None,
            source=source,
            exclusive=exclusive,
            price_cents=price_cents,
            currency=currency,
            created_at=now,
            rating_reasons=[],
            first_viewed_at=None,
        )
        .returning(Sale.__table__.c.id)
    ).scalar_one()
    _book(sale_id, lead, buyer_id, price_cents, currency, share_bps, now)
    # Mirror the database without marking the row dirty for a second write.
    set_committed_value(lead, "sales_count", lead.sales_count + 1)
    set_committed_value(lead, "sold_exclusively", exclusive)
    return sale_id


def sell(
    lead: Lead,
    now: datetime,
    *,
    buyer_id: int,
    price_cents: int,
    currency: str,
    source: SaleSource,
) -> int | None:
    """A sale outside distribution (the catalogue), through the same guarded path."""
    return _sell(
        lead,
        now,
        buyer_id=buyer_id,
        price_cents=price_cents,
        currency=currency,
        share_bps=_share_bps(lead.publisher_id),
        source=source,
    )


def _share_bps(publisher_id: int) -> int:
    return db.session.scalar(
        select(Organization.revenue_share_bps).where(Organization.id == publisher_id)
    )


def _book(
    sale_id: int,
    lead: Lead,
    buyer_id: int,
    price_cents: int,
    currency: str,
    share_bps: int,
    now: datetime,
) -> None:
    """The buyer's debit and the publisher's earning for a sale."""
    earning = price_cents * share_bps // 10_000
    label = f"Lead #{lead.id} - {lead.sector.slug} - {now.date().isoformat()}"
    entries = [
        {
            "entry_key": f"sale:{sale_id}:debit",
            "organization_id": buyer_id,
            "kind": LedgerKind.SALE_DEBIT,
            "amount_cents": -price_cents,
        },
    ]
    if earning:
        entries.append(
            {
                "entry_key": f"sale:{sale_id}:earning",
                "organization_id": lead.publisher_id,
                "kind": LedgerKind.PUBLISHER_EARNING,
                "amount_cents": earning,
            }
        )
    db.session.execute(
        insert(LedgerEntry.__table__),
        [
            {
                **entry,
                "currency": currency,
                "sale_id": sale_id,
                "dispute_id": None,
                "description": label,
                "created_at": now,
                "stripe_object_id": None,
                "mirrored_at": None,
            }
            for entry in entries
        ],
    )
