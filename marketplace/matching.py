"""Matching: which campaigns may have a lead, and in what order (docs/matching.md).

- eligible: the campaign is active and covers the lead's sector; its buyer is in
  good billing standing and on the lead's consent partner list; every filter of
  the campaign matches; the buyer has not bought this lead, nor this person
  (e-mail or phone hash) within the dedupe window; caps and budget have room;
  it is open now.
- ranked by price (highest first), then by the campaign served least recently,
  one campaign per buyer, up to the places left on the lead.

The rules come from a per-process copy of every active campaign (``RuleBook``),
refreshed every ``MATCHING_SNAPSHOT_SECONDS``; what must be exact is decided by
the sale itself (selling.py). distribution.py runs the job that uses them; the
catalogue's sale (``sell``) and the campaign editor's estimate use them too.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import Text, bindparam, cast, func, or_, select, text
from sqlalchemy.orm.attributes import set_committed_value

from marketplace import snapshots
from marketplace.db_pool import on_postgresql
from marketplace.extensions import db
from marketplace.models import (
    BillingStatus,
    Campaign,
    CampaignStatus,
    CampaignUsage,
    Dispute,
    DisputeStatus,
    Lead,
    MagnetKind,
    Organization,
    Sale,
    SaleSource,
    Sector,
    UsagePeriod,
    campaign_sectors,
)
from marketplace.quality.sources import earning_share_bps, magnet_standing
from marketplace.selling import (
    DAILY_CAP,
    MONTHLY_BUDGET,
    MONTHLY_CAP,
    SaleAttempt,
    known_limit,
    periods,
    sale_label,
    write_sale,
)
from marketplace.validation import french_department

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    """Why a campaign was or was not chosen for a lead (for the admin's lead page)."""

    campaign_id: int
    eligible: bool
    reason: str


def offer_cents(campaign: Campaign) -> int:
    """What a campaign pays for a lead it gets alone: its exclusive price if it set one."""
    if campaign.wants_exclusive and campaign.exclusive_price_cents:
        return campaign.exclusive_price_cents
    return campaign.price_cents


def lock_person(lead: Lead) -> None:
    """Serialise the distributions of one person's leads (PostgreSQL advisory locks).

    Two leads of the same person (e-mail or phone) distributed at once by two
    workers could each see that a buyer has not bought that person yet; the lock,
    held to the end of the transaction, makes the second wait for the first. The
    distribution job takes the same keys (distribution._LOCK_PERSON_SQL).
    """
    if not on_postgresql():
        return  # SQLite runs one writer at a time
    keys = sorted({int(value[:15], 16) for value in (lead.email_hash, lead.phone_hash) if value})
    # One round trip; the locks are taken in key order, so two jobs cannot deadlock.
    calls = ", ".join(f"pg_advisory_xact_lock(:k{n})" for n in range(len(keys)))
    db.session.execute(text(f"SELECT {calls}"), {f"k{n}": key for n, key in enumerate(keys)})


@dataclass(frozen=True)
class CampaignRule:
    """A campaign as matching reads it: its settings, its buyer's name and standing.

    Kept a few seconds per process (snapshots.py): matching then costs no query for
    campaigns. What must be exact is decided by the sale itself (selling.py): the
    campaign still active and its buyer in good standing, its caps and budget.
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
    min_source_quality: int
    wants_exclusive: bool
    exclusive_price_cents: int | None
    daily_cap: int | None
    monthly_cap: int | None
    monthly_budget_cents: int | None
    opening_hours: dict
    timezone: str
    last_sold_at: datetime | None
    pushes: bool  # delivers by e-mail or webhook, beyond the portal
    capped: bool  # has a daily or monthly cap or a monthly budget
    filtered: bool  # has a geography, size, kind, score or source quality filter


def candidate_campaigns(lead, parent_sector_id: int | None = None) -> list[CampaignRule]:
    """Active campaigns covering the lead's sector or its parent."""
    if parent_sector_id is None:
        parent_sector_id = lead.sector.parent_id
    return list(_rule_book().candidates(lead.sector_id, parent_sector_id))


@dataclass(frozen=True)
class Ranking:
    """A sector's candidate campaigns in the order distribution walks them."""

    by_price: tuple[tuple[CampaignRule, ...], ...]  # equal prices together, dearest first
    exclusive: tuple[CampaignRule, ...]  # those that want leads alone
    count: int


def ranking_for(sector_id: int, parent_sector_id: int | None) -> Ranking:
    """The campaigns covering a sector (or its parent) grouped by price, dearest first:
    built once per copy of the rules, so that a lead costs no sort of hundreds of
    campaigns (the order within a price is the fairness order, decided per lead)."""
    return _rule_book().ranking(sector_id, parent_sector_id)


class RuleBook:
    """Every active campaign's rule by sector covered, with each sector's ranking."""

    def __init__(self, by_sector: dict[int, tuple[CampaignRule, ...]]):
        self.by_sector = by_sector
        self._rankings: dict[tuple, Ranking] = {}

    def candidates(self, sector_id: int, parent_sector_id: int | None) -> tuple:
        own = self.by_sector.get(sector_id, ())
        parents = self.by_sector.get(parent_sector_id, ()) if parent_sector_id else ()
        if not parents:
            return own
        seen = {rule.id for rule in own}
        return (*own, *(rule for rule in parents if rule.id not in seen))

    def ranking(self, sector_id: int, parent_sector_id: int | None) -> Ranking:
        key = (sector_id, parent_sector_id)
        ranking = self._rankings.get(key)
        if ranking is None:
            rules = sorted(
                self.candidates(sector_id, parent_sector_id),
                key=lambda rule: (-rule.price_cents, rule.id),
            )
            groups: list[list[CampaignRule]] = []
            for rule in rules:
                if groups and groups[-1][0].price_cents == rule.price_cents:
                    groups[-1].append(rule)
                else:
                    groups.append([rule])
            ranking = self._rankings[key] = Ranking(
                by_price=tuple(tuple(group) for group in groups),
                exclusive=tuple(rule for rule in rules if rule.wants_exclusive),
                count=len(rules),
            )
        return ranking


def _rule_book() -> RuleBook:
    return snapshots.remembered(
        "campaign_rules",
        "all",
        _load_rules,
        seconds=current_app.config["MATCHING_SNAPSHOT_SECONDS"],
    )


def _load_rules() -> RuleBook:
    """Every active campaign's rule, by sector covered: one query for all sectors, so
    that a worker refreshes its copy at once rather than one sector at a time."""
    sectors_of: dict[int, list[int]] = {}
    for campaign_id, sector_id in db.session.execute(
        select(campaign_sectors.c.campaign_id, campaign_sectors.c.sector_id)
        .join(Campaign, Campaign.id == campaign_sectors.c.campaign_id)
        .where(Campaign.status == CampaignStatus.ACTIVE)
    ):
        sectors_of.setdefault(campaign_id, []).append(sector_id)
    # Columns, not ORM objects, and the JSON settings as text decoded once per distinct
    # value (most campaigns share a few): a worker reloads every campaign each minute.
    columns = Campaign.__table__.c
    rows = db.session.execute(
        select(
            *(
                cast(columns[name], Text).label(name) if name in _JSON_COLUMNS else columns[name]
                for name in _RULE_COLUMNS
            ),
            Organization.name.label("buyer_name"),
            Organization.billing_status,
            # The fairness order's clock: one backward step of an index per campaign.
            select(func.max(Sale.created_at))
            .where(Sale.campaign_id == Campaign.id)
            .scalar_subquery()
            .label("last_sold_at"),
        )
        .join(Organization, Organization.id == Campaign.buyer_id)
        .where(Campaign.status == CampaignStatus.ACTIVE)
    ).all()
    decoded: dict[str, object] = {}

    def decode(value: str):
        if value not in decoded:
            decoded[value] = json.loads(value)
        return decoded[value]

    by_sector: dict[int, list[CampaignRule]] = {}
    for row in rows:
        values = row._asdict()
        for name in _JSON_COLUMNS:
            values[name] = decode(values[name] or "null") or ()
        rule = _rule(SimpleNamespace(**values), row.buyer_name, row.billing_status)
        for sector_id in sectors_of.get(row.id, ()):
            by_sector.setdefault(sector_id, []).append(rule)
    return RuleBook({sector_id: tuple(rules) for sector_id, rules in by_sector.items()})


_RULE_COLUMNS = (
    "id",
    "name",
    "buyer_id",
    "price_cents",
    "currency",
    "countries",
    "departments",
    "postcode_prefixes",
    "company_sizes",
    "magnet_kinds",
    "min_score",
    "min_source_quality",
    "wants_exclusive",
    "exclusive_price_cents",
    "daily_cap",
    "monthly_cap",
    "monthly_budget_cents",
    "opening_hours",
    "timezone",
    "email_recipients",
    "webhook_url",
)


_JSON_COLUMNS = frozenset(
    {
        "countries",
        "departments",
        "postcode_prefixes",
        "company_sizes",
        "magnet_kinds",
        "opening_hours",
        "email_recipients",
    }
)


def _rule(c, name: str, standing: BillingStatus) -> CampaignRule:
    """``c``: a Campaign, or a row of its ``_RULE_COLUMNS``."""
    return CampaignRule(
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
        min_source_quality=c.min_source_quality or 0,
        wants_exclusive=c.wants_exclusive,
        exclusive_price_cents=c.exclusive_price_cents,
        daily_cap=c.daily_cap,
        monthly_cap=c.monthly_cap,
        monthly_budget_cents=c.monthly_budget_cents,
        opening_hours=dict(c.opening_hours or {}),
        timezone=c.timezone,
        last_sold_at=c.last_sold_at,
        pushes=bool(c.email_recipients or c.webhook_url),
        capped=any(
            limit is not None for limit in (c.daily_cap, c.monthly_cap, c.monthly_budget_cents)
        ),
        filtered=bool(
            c.countries
            or c.departments
            or c.postcode_prefixes
            or c.company_sizes
            or c.magnet_kinds
            or c.min_score
            or c.min_source_quality
        ),
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


def judge(lead: Lead, campaigns: list, now: datetime, **options) -> list[Verdict]:
    """A verdict for each candidate campaign, with the first rule that excluded it
    (the options are exclusions')."""
    reasons = exclusions(lead, campaigns, now, **options)
    return [Verdict(c.id, reasons[c.id] is None, reasons[c.id] or "eligible") for c in campaigns]


def exclusions(
    lead: Lead,
    campaigns: list,
    now: datetime,
    *,
    kind: MagnetKind | None = None,
    allowed: frozenset[int] | None = None,
    read_usage: bool = True,
) -> dict[int, str | None]:
    """For each candidate campaign's id, the first rule that excludes it, or None.

    ``kind`` and ``allowed`` (the partner ids of its consent) spare the lookups when
    the caller read them with the lead. Without ``read_usage``, caps and budgets are
    left to the sale statement, which decides them exactly, except those this
    process already saw reached.
    """
    if allowed is None:
        allowed = partner_ids(lead.consent.partner_list_id) if lead.consent else frozenset()
    buyers_with_person = buyers_who_bought_person(lead, now)
    returned_by = buyers_who_returned(getattr(lead, "recycled_from_id", None))
    if kind is None:
        kind = lead.magnet.kind
    kind = getattr(kind, "value", kind)
    sector = getattr(lead, "sector", None)
    floor = sector_floor_cents(sector) if sector is not None else 0
    reasons = {
        campaign.id: _static_exclusion(
            campaign, lead, kind, allowed, buyers_with_person, floor, returned_by
        )
        for campaign in campaigns
    }
    # Usage is read only for the capped campaigns still in the running.
    capped = [c for c in campaigns if reasons[c.id] is None and c.capped]
    usage = _usage_by_campaign(capped, now) if read_usage else None
    for campaign in campaigns:
        if reasons[campaign.id] is None and (campaign.capped or campaign.opening_hours):
            reasons[campaign.id] = _dynamic_exclusion(campaign, usage, now)
    return reasons


def campaign_exclusion(
    campaign,
    lead,
    now: datetime,
    *,
    kind: str,
    allowed: frozenset[int],
    buyers: set[int],
    returned_by: frozenset[int] = frozenset(),
    floor_cents: int = 0,
) -> str | None:
    """The first rule that excludes one campaign, as distribution judges it: caps and
    budgets are left to the sale, except those this process saw reached."""
    reason = _static_exclusion(campaign, lead, kind, allowed, buyers, floor_cents, returned_by)
    if reason is None and (campaign.capped or campaign.opening_hours):
        reason = _dynamic_exclusion(campaign, None, now)
    return reason


def sector_floor_cents(sector) -> int:
    """What a lead of ``sector`` sells for at least: its floor, or its parent's if higher."""
    parent = sector.parent
    return max(sector.floor_price_cents, parent.floor_price_cents if parent is not None else 0)


# The verdicts that come from the lead itself (its sector's prices, its consent, its
# area, size, kind and score): a lead no campaign takes for these alone is disqualified.
# A cap, a budget, the hour, a buyer's billing standing, a buyer that already has the
# person or returned their earlier lead may change or concern one buyer only: a lead
# excluded by one of them is merely unsold (docs/matching.md).
STATIC_REASONS = frozenset(
    {
        "price_below_sector_floor",
        "not_in_consent_partner_list",
        "filter_country",
        "filter_department",
        "filter_postcode",
        "filter_company_size",
        "filter_magnet_kind",
        "filter_min_score",
    }
)
RETURNED_EARLIER_LEAD = "buyer_returned_earlier_lead"


def _static_exclusion(
    campaign,
    lead,
    kind: str,
    allowed,
    buyers_with_person,
    floor_cents: int = 0,
    returned_by: frozenset[int] = frozenset(),
) -> str | None:
    # The checks that cost nothing first: most campaigns have no filter.
    if not campaign.buyer_good:
        return "buyer_billing_standing"
    # A campaign over a parent sector, or priced before an admin raised the floor, pays
    # less than this lead's floor: it does not get the lead.
    if campaign.price_cents < floor_cents:
        return "price_below_sector_floor"
    if campaign.buyer_id not in allowed:
        return "not_in_consent_partner_list"
    if campaign.buyer_id in buyers_with_person:
        return "buyer_already_has_this_person"
    if campaign.buyer_id in returned_by:
        return RETURNED_EARLIER_LEAD
    if campaign.filtered:
        return filter_reason(campaign, lead, kind)
    return None


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
    if campaign.min_source_quality and source_quality_of(lead) < campaign.min_source_quality:
        return "filter_source_quality"
    return None


def source_quality_of(lead) -> int:
    """The quality score of the lead's source (its magnet): read with the lead by
    distribution, else from the per-process copy."""
    quality = getattr(lead, "source_quality", None)
    if quality is None:
        quality = magnet_standing(lead.magnet_id).score
    return quality


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

    if not sector_ids:
        return []
    children = db.session.scalars(select(Sector.id).where(Sector.parent_id.in_(sector_ids)))
    return sorted(set(sector_ids) | set(children))


def _dynamic_exclusion(campaign, usage: dict | None, now) -> str | None:
    if usage is None:
        reached = known_limit(campaign, campaign.price_cents, now) if campaign.capped else None
        if reached is not None:
            return reached
    else:
        day, month = usage.get(campaign.id, ((0, 0), (0, 0)))
        if campaign.daily_cap is not None and day[0] >= campaign.daily_cap:
            return DAILY_CAP
        if campaign.monthly_cap is not None and month[0] >= campaign.monthly_cap:
            return MONTHLY_CAP
        if (
            campaign.monthly_budget_cents is not None
            and month[1] + campaign.price_cents > campaign.monthly_budget_cents
        ):
            return MONTHLY_BUDGET
    # Last, so that a campaign excluded only by its hours is one worth waiting for.
    if not is_open(campaign, now):
        return "closed_now"
    return None


def _person_buyers_statement(with_phone: bool):
    same_person = Lead.email_hash == bindparam("email_hash")
    if with_phone:
        same_person = or_(same_person, Lead.phone_hash == bindparam("phone_hash"))
    return (
        select(Sale.buyer_id)
        .join(Lead, Lead.id == Sale.lead_id)
        .where(same_person, Sale.created_at >= bindparam("window_start"))
    )


_PERSON_BUYERS = {phone: _person_buyers_statement(phone) for phone in (False, True)}


def buyers_who_bought_person(lead: Lead, now: datetime) -> set[int]:
    """The buyers that bought this person (same e-mail or phone) within the window."""
    window_start = now - timedelta(days=current_app.config["DEDUPE_WINDOW_DAYS"])
    params = {"email_hash": lead.email_hash, "window_start": window_start}
    if lead.phone_hash:
        params["phone_hash"] = lead.phone_hash
    return set(db.session.scalars(_PERSON_BUYERS[bool(lead.phone_hash)], params))


def buyers_who_returned(lead_id: int | None) -> frozenset[int]:
    """The buyers whose purchase of this lead was returned (an accepted dispute): a lead
    that recycles it is not offered to them again."""
    if lead_id is None:
        return frozenset()
    return frozenset(
        db.session.scalars(
            select(Sale.buyer_id)
            .join(Dispute, Dispute.sale_id == Sale.id)
            .where(Sale.lead_id == lead_id, Dispute.status == DisputeStatus.ACCEPTED)
        )
    )


def _usage_by_campaign(campaigns: list, now: datetime) -> dict[int, tuple]:
    if not campaigns:
        return {}
    wanted = {}
    for campaign in campaigns:
        day, month = periods(campaign, now)
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


def _sell(
    lead: Lead,
    now: datetime,
    *,
    buyer_id: int,
    price_cents: int,
    currency: str,
    share_bps: int,
    label: str,
    campaign=None,
    exclusive: bool = False,
    source: SaleSource = SaleSource.CAMPAIGN,
) -> tuple[int | None, str | None]:
    """One sale inside the lead's transaction (selling.py): (its id, None), or
    (None, why not) with nothing kept."""
    sale_id, refusal = write_sale(
        SaleAttempt(
            lead_id=lead.id,
            publisher_id=lead.publisher_id,
            buyer_id=buyer_id,
            price_cents=price_cents,
            currency=currency,
            earning_cents=price_cents * share_bps // 10_000,
            label=label,
            campaign=campaign,
            exclusive=exclusive,
            source=source,
        ),
        now,
    )
    if sale_id is not None and isinstance(lead, Lead):
        # Mirror the database without marking the row dirty for a second write.
        set_committed_value(lead, "sales_count", lead.sales_count + 1)
        set_committed_value(lead, "sold_exclusively", exclusive)
    elif sale_id is not None:
        lead.sales_count += 1
        lead.sold_exclusively = exclusive
    return sale_id, refusal


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
    sale_id, _refusal = _sell(
        lead,
        now,
        buyer_id=buyer_id,
        price_cents=price_cents,
        currency=currency,
        share_bps=earning_share_bps(
            _share_bps(lead.publisher_id), magnet_standing(lead.magnet_id).payout_multiplier_bps
        ),
        label=sale_label(lead.id, lead.sector.slug, now),
        source=source,
    )
    return sale_id


def _share_bps(publisher_id: int) -> int:
    return db.session.scalar(
        select(Organization.revenue_share_bps).where(Organization.id == publisher_id)
    )
