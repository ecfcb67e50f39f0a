"""Campaign use cases for buyers: set one up within the sector's floor price, change
it, pause and resume it, and see what it would have matched."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from marketplace.errors import NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.matching import filter_reason, sector_ids_with_children
from marketplace.models import (
    Campaign,
    CampaignStatus,
    Lead,
    LeadMagnet,
    LeadStatus,
    MagnetKind,
    Organization,
    Sector,
    utcnow,
)
from marketplace.validation import COMPANY_SIZES, COUNTRIES, FieldInvalid, normalise_email

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
# Metropolitan departments (20 is split into 2A and 2B) and the five overseas ones.
DEPARTMENTS = frozenset(
    [f"{n:02d}" for n in range(1, 96) if n != 20] + ["2A", "2B", "971", "972", "973", "974", "976"]
)
POSTCODE_PREFIX = re.compile(r"^\d{1,5}$")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


def floor_price_cents(sectors: list[Sector]) -> int:
    """The highest floor among the sectors (a sub-sector inherits its parent's floor)."""
    floors = [0]
    for sector in sectors:
        floors.append(sector.floor_price_cents)
        if sector.parent is not None:
            floors.append(sector.parent.floor_price_cents)
    return max(floors)


def create_campaign(buyer_id: int, **settings) -> Campaign:
    """A buyer's new campaign (active unless told otherwise); see ``_apply`` for settings."""
    buyer = db.session.get(Organization, buyer_id)
    if buyer is None or not buyer.is_buyer:
        raise ValidationFailed(_l("Only a buyer can create a campaign."))
    campaign = Campaign(buyer=buyer, webhook_secret=secrets.token_hex(24))
    _apply(campaign, **settings)
    db.session.add(campaign)
    db.session.commit()
    return campaign


def draft_campaign(buyer_id: int, **settings) -> Campaign:
    """A campaign checked like a real one but never stored: for the editor's preview."""
    buyer = db.session.get(Organization, buyer_id)
    campaign = Campaign(buyer_id=buyer_id, buyer=buyer)
    with db.session.no_autoflush:
        _apply(campaign, **settings)
    if campaign in db.session:
        db.session.expunge(campaign)
    return campaign


def update_campaign(buyer_id: int, campaign_id: int, **settings) -> Campaign:
    campaign = own_campaign(buyer_id, campaign_id)
    _apply(campaign, **settings)
    db.session.commit()
    return campaign


def set_status(buyer_id: int, campaign_id: int, status: CampaignStatus) -> Campaign:
    """Pause, resume or archive a campaign: a paused one receives nothing."""
    campaign = own_campaign(buyer_id, campaign_id)
    campaign.status = status
    db.session.commit()
    return campaign


def new_webhook_secret(buyer_id: int, campaign_id: int) -> str:
    campaign = own_campaign(buyer_id, campaign_id)
    campaign.webhook_secret = secrets.token_hex(24)
    db.session.commit()
    return campaign.webhook_secret


def own_campaign(buyer_id: int, campaign_id: int) -> Campaign:
    """The buyer's campaign, or NotFound: another buyer's campaign is not ours to see."""
    campaign = db.session.scalar(
        select(Campaign).where(Campaign.id == campaign_id, Campaign.buyer_id == buyer_id)
    )
    if campaign is None:
        raise NotFound()
    return campaign


def _apply(
    campaign: Campaign,
    *,
    name: str,
    sector_ids: list[int],
    price_cents: int,
    countries: list[str] | None = None,
    departments: list[str] | None = None,
    postcode_prefixes: list[str] | None = None,
    company_sizes: list[str] | None = None,
    magnet_kinds: list[str] | None = None,
    min_score: int = 0,
    wants_exclusive: bool = False,
    exclusive_price_cents: int | None = None,
    daily_cap: int | None = None,
    monthly_cap: int | None = None,
    monthly_budget_cents: int | None = None,
    opening_hours: dict | None = None,
    timezone: str = "Europe/Paris",
    email_recipients: list[str] | None = None,
    webhook_url: str | None = None,
    status: CampaignStatus | None = None,
) -> None:
    """Check every setting, name each one in error, then set them all."""
    errors: dict[str, object] = {}
    sectors = list(db.session.scalars(select(Sector).where(Sector.id.in_(sector_ids))))
    if not sectors or len(sectors) != len(set(sector_ids)):
        errors["sector_ids"] = _l("Choose at least one sector.")
    floor = floor_price_cents(sectors)
    if price_cents is None or price_cents < max(floor, 1):
        errors["price"] = _l(
            "The floor price of these sectors is %(floor)s EUR.", floor=f"{floor / 100:.2f}"
        )
    if wants_exclusive and (exclusive_price_cents or 0) < (price_cents or 0):
        errors["exclusive_price"] = _l("An exclusive lead costs at least the shared price.")
    countries = [c.upper() for c in countries or []]
    if any(c not in COUNTRIES for c in countries):
        errors["countries"] = _l("Choose countries from the list.")
    departments = [d.strip().upper() for d in departments or [] if d.strip()]
    if any(d not in DEPARTMENTS for d in departments):
        errors["departments"] = _l("Use department numbers like 69, 2A or 974.")
    prefixes = [p.strip() for p in postcode_prefixes or [] if p.strip()]
    if any(not POSTCODE_PREFIX.match(p) for p in prefixes):
        errors["postcode_prefixes"] = _l("Use the first 1 to 5 digits of postcodes, like 750.")
    if any(size not in COMPANY_SIZES for size in company_sizes or []):
        errors["company_sizes"] = _l("Choose company sizes from the list.")
    kinds = {kind.value for kind in MagnetKind}
    if any(kind not in kinds for kind in magnet_kinds or []):
        errors["magnet_kinds"] = _l("Choose kinds from the list.")
    if not 0 <= (min_score or 0) <= 100:
        errors["min_score"] = _l("A score is between 0 and 100.")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = _l("Choose a timezone from the list.")
    hours_error = _check_hours(opening_hours or {})
    if hours_error:
        errors["opening_hours"] = hours_error
    recipients = []
    for address in email_recipients or []:
        try:
            recipients.append(normalise_email(address))
        except FieldInvalid as invalid:
            errors["email_recipients"] = invalid.message
    webhook_url = (webhook_url or "").strip() or None
    if webhook_url:
        parts = urlsplit(webhook_url)
        plain_http_allowed = parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS
        if not parts.hostname or (parts.scheme != "https" and not plain_http_allowed):
            errors["webhook_url"] = _l("The webhook address must start with https://")
    if errors:
        raise ValidationFailed(fields=errors)
    campaign.name = name.strip()
    campaign.sectors = sectors
    campaign.price_cents = price_cents
    campaign.currency = sectors[0].currency
    campaign.countries = countries
    campaign.departments = departments
    campaign.postcode_prefixes = prefixes
    campaign.company_sizes = list(company_sizes or [])
    campaign.magnet_kinds = list(magnet_kinds or [])
    campaign.min_score = min_score or 0
    campaign.wants_exclusive = wants_exclusive
    campaign.exclusive_price_cents = exclusive_price_cents if wants_exclusive else None
    campaign.daily_cap = daily_cap
    campaign.monthly_cap = monthly_cap
    campaign.monthly_budget_cents = monthly_budget_cents
    campaign.opening_hours = opening_hours or {}
    campaign.timezone = timezone
    campaign.email_recipients = recipients
    campaign.webhook_url = webhook_url
    if status is not None:
        campaign.status = status
    elif campaign.status is None:
        campaign.status = CampaignStatus.ACTIVE


def _check_hours(hours: dict):
    for day, windows in hours.items():
        if day not in DAYS or not isinstance(windows, list):
            return _l("Opening hours are given per day of the week.")
        for window in windows:
            if (
                not isinstance(window, list | tuple)
                or len(window) != 2
                or not all(isinstance(t, str) and TIME.match(t) for t in window)
                or window[0] >= window[1]
            ):
                return _l("Give opening hours as HH:MM to HH:MM, the start before the end.")
    return None


def recent_matches(campaign: Campaign, days: int = 30) -> tuple[int, int]:
    """(leads, cost in cents) the campaign's filters would have matched in the last days.

    The filters only (sector, geography, size, kind, score): caps and budget apply
    as they stand, the way a buyer reads "at most this much".
    """
    sector_ids = sector_ids_with_children([sector.id for sector in campaign.sectors])
    if not sector_ids:
        return 0, 0
    rows = db.session.execute(
        select(
            Lead.id,
            Lead.country,
            Lead.postcode,
            Lead.company_size,
            Lead.score,
            Lead.created_at,
            Lead.magnet_id,
        ).where(
            Lead.sector_id.in_(sector_ids),
            Lead.created_at >= utcnow() - timedelta(days=days),
            Lead.status.notin_([LeadStatus.DUPLICATE, LeadStatus.REJECTED, LeadStatus.ERASED]),
        )
    ).all()
    kinds = _magnet_kinds({row.magnet_id for row in rows})
    matched = [row for row in rows if filter_reason(campaign, row, kinds[row.magnet_id]) is None]
    count = len(matched)
    if campaign.monthly_cap is not None:
        count = min(count, campaign.monthly_cap * max(1, days // 30))
    cost = count * campaign.price_cents
    if campaign.monthly_budget_cents is not None:
        cost = min(cost, campaign.monthly_budget_cents * max(1, days // 30))
        count = min(count, cost // campaign.price_cents)
    return count, cost


def _magnet_kinds(magnet_ids: set[int]) -> dict[int, str]:
    if not magnet_ids:
        return {}
    return dict(
        db.session.execute(
            select(LeadMagnet.id, LeadMagnet.kind).where(LeadMagnet.id.in_(magnet_ids))
        ).all()
    )
