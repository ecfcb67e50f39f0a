"""Campaign use cases for buyers: set one up within the sector's floor price, change
it, pause and resume it, and see what it would have matched.

Who may do what: an owner of the buying organization does everything; a member may
change a campaign's targeting, delivery, caps and opening hours and pause or resume it,
but may neither create a campaign nor change what it spends (``MONEY_SETTINGS``). The
views say who is asking with ``may_set_prices``; the rule itself lives here.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from marketplace.errors import NotAllowed, NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.matching import filter_reason, sector_floor_cents, sector_ids_with_children
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
# French departments by region, as a buyer picks them: the 13 metropolitan regions
# (department 20 is split into 2A and 2B) and the five overseas departments.
DEPARTMENT_REGIONS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Auvergne-Rhône-Alpes", (
        ("01", "Ain"), ("03", "Allier"), ("07", "Ardèche"), ("15", "Cantal"), ("26", "Drôme"),
        ("38", "Isère"), ("42", "Loire"), ("43", "Haute-Loire"), ("63", "Puy-de-Dôme"),
        ("69", "Rhône"), ("73", "Savoie"), ("74", "Haute-Savoie"),
    )),
    ("Bourgogne-Franche-Comté", (
        ("21", "Côte-d'Or"), ("25", "Doubs"), ("39", "Jura"), ("58", "Nièvre"),
        ("70", "Haute-Saône"), ("71", "Saône-et-Loire"), ("89", "Yonne"),
        ("90", "Territoire de Belfort"),
    )),
    ("Bretagne", (
        ("22", "Côtes-d'Armor"), ("29", "Finistère"), ("35", "Ille-et-Vilaine"),
        ("56", "Morbihan"),
    )),
    ("Centre-Val de Loire", (
        ("18", "Cher"), ("28", "Eure-et-Loir"), ("36", "Indre"), ("37", "Indre-et-Loire"),
        ("41", "Loir-et-Cher"), ("45", "Loiret"),
    )),
    ("Corse", (("2A", "Corse-du-Sud"), ("2B", "Haute-Corse"))),
    ("Grand Est", (
        ("08", "Ardennes"), ("10", "Aube"), ("51", "Marne"), ("52", "Haute-Marne"),
        ("54", "Meurthe-et-Moselle"), ("55", "Meuse"), ("57", "Moselle"), ("67", "Bas-Rhin"),
        ("68", "Haut-Rhin"), ("88", "Vosges"),
    )),
    ("Hauts-de-France", (
        ("02", "Aisne"), ("59", "Nord"), ("60", "Oise"), ("62", "Pas-de-Calais"),
        ("80", "Somme"),
    )),
    ("Île-de-France", (
        ("75", "Paris"), ("77", "Seine-et-Marne"), ("78", "Yvelines"), ("91", "Essonne"),
        ("92", "Hauts-de-Seine"), ("93", "Seine-Saint-Denis"), ("94", "Val-de-Marne"),
        ("95", "Val-d'Oise"),
    )),
    ("Normandie", (
        ("14", "Calvados"), ("27", "Eure"), ("50", "Manche"), ("61", "Orne"),
        ("76", "Seine-Maritime"),
    )),
    ("Nouvelle-Aquitaine", (
        ("16", "Charente"), ("17", "Charente-Maritime"), ("19", "Corrèze"), ("23", "Creuse"),
        ("24", "Dordogne"), ("33", "Gironde"), ("40", "Landes"), ("47", "Lot-et-Garonne"),
        ("64", "Pyrénées-Atlantiques"), ("79", "Deux-Sèvres"), ("86", "Vienne"),
        ("87", "Haute-Vienne"),
    )),
    ("Occitanie", (
        ("09", "Ariège"), ("11", "Aude"), ("12", "Aveyron"), ("30", "Gard"),
        ("31", "Haute-Garonne"), ("32", "Gers"), ("34", "Hérault"), ("46", "Lot"),
        ("48", "Lozère"), ("65", "Hautes-Pyrénées"), ("66", "Pyrénées-Orientales"),
        ("81", "Tarn"), ("82", "Tarn-et-Garonne"),
    )),
    ("Pays de la Loire", (
        ("44", "Loire-Atlantique"), ("49", "Maine-et-Loire"), ("53", "Mayenne"),
        ("72", "Sarthe"), ("85", "Vendée"),
    )),
    ("Provence-Alpes-Côte d'Azur", (
        ("04", "Alpes-de-Haute-Provence"), ("05", "Hautes-Alpes"), ("06", "Alpes-Maritimes"),
        ("13", "Bouches-du-Rhône"), ("83", "Var"), ("84", "Vaucluse"),
    )),
    (_l("Overseas"), (
        ("971", "Guadeloupe"), ("972", "Martinique"), ("973", "Guyane"),
        ("974", "La Réunion"), ("976", "Mayotte"),
    )),
)  # fmt: skip
DEPARTMENTS = frozenset(code for _, departments in DEPARTMENT_REGIONS for code, _ in departments)
POSTCODE_PREFIX = re.compile(r"^\d{1,5}$")
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}


# The settings that commit the organization's money: the price per lead, buying
# exclusive leads and their price, the monthly budget. Caps count leads, not money,
# and stay with the members like the rest of the targeting.
MONEY_SETTINGS = ("price", "wants_exclusive", "exclusive_price", "monthly_budget_cents")
OWNERS_SET_PRICES = _l("Only an owner of your organization can change this.")
OWNERS_CREATE = _l("Only an owner of your organization can create a campaign.")


def floor_price_cents(sectors: list[Sector]) -> int:
    """The highest floor among the sectors (a sub-sector inherits its parent's floor)."""
    return max((sector_floor_cents(sector) for sector in sectors), default=0)


@dataclass(frozen=True)
class SectorChoice:
    id: int
    name: str
    # What a campaign on this sector pays at least (floor_price_cents of it alone).
    floor_cents: int
    currency: str


@dataclass(frozen=True)
class SectorGroup:
    parent: SectorChoice
    children: tuple[SectorChoice, ...]


def sector_menu(locale: str) -> list[SectorGroup]:
    """Every sector as the campaign editor offers it: each parent sector (which covers
    all its sub-sectors) with its sub-sectors, each with its floor price, by name."""
    sectors = db.session.scalars(select(Sector)).all()
    children: dict[int, list[Sector]] = defaultdict(list)
    for sector in sectors:
        if sector.parent_id is not None:
            children[sector.parent_id].append(sector)

    def choice(sector: Sector) -> SectorChoice:
        return SectorChoice(
            sector.id, sector.name(locale), floor_price_cents([sector]), sector.currency
        )

    def by_name(sector: Sector) -> str:
        # "Énergie" among the E's, not after "Véhicules": accents do not count.
        decomposed = unicodedata.normalize("NFKD", sector.name(locale).casefold())
        return "".join(c for c in decomposed if not unicodedata.combining(c))

    return [
        SectorGroup(
            choice(parent),
            tuple(choice(child) for child in sorted(children[parent.id], key=by_name)),
        )
        for parent in sorted((s for s in sectors if s.parent_id is None), key=by_name)
    ]


def create_campaign(buyer_id: int, *, may_set_prices: bool = True, **settings) -> Campaign:
    """A buyer's new campaign (active unless told otherwise); see ``_apply`` for settings.

    A new campaign sets prices, so only someone who may set them creates one. The
    default serves the callers that act for the whole organization (demo, benchmarks).
    """
    buyer = db.session.get(Organization, buyer_id)
    if buyer is None or not buyer.is_buyer:
        raise ValidationFailed(_l("Only a buyer can create a campaign."))
    if not may_set_prices:
        raise NotAllowed(OWNERS_CREATE)
    campaign = Campaign(buyer=buyer, webhook_secret=secrets.token_hex(24))
    _apply(campaign, may_set_prices=True, **settings)
    db.session.add(campaign)
    db.session.commit()
    return campaign


def draft_campaign(
    buyer_id: int, campaign_id: int | None = None, *, may_set_prices: bool = True, **settings
) -> Campaign:
    """A campaign checked like a real one but never stored: for the editor's preview,
    and for naming every error of a form in one round. With ``campaign_id``, checked as
    a change of that campaign (a member's change of a price is refused)."""
    current = None if campaign_id is None else own_campaign(buyer_id, campaign_id)
    if current is None and not may_set_prices:
        raise NotAllowed(OWNERS_CREATE)
    buyer = db.session.get(Organization, buyer_id)
    campaign = Campaign(buyer_id=buyer_id, buyer=buyer)
    try:
        with db.session.no_autoflush:
            _apply(campaign, may_set_prices=may_set_prices, current=current, **settings)
    finally:
        if campaign in db.session:
            db.session.expunge(campaign)
    return campaign


def update_campaign(
    buyer_id: int, campaign_id: int, *, may_set_prices: bool, **settings
) -> Campaign:
    """Change a campaign's settings; without ``may_set_prices`` (a member), a changed
    money setting (``MONEY_SETTINGS``) is refused at its field and nothing is saved."""
    campaign = own_campaign(buyer_id, campaign_id)
    _apply(campaign, may_set_prices=may_set_prices, current=campaign, **settings)
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
    may_set_prices: bool,
    current: Campaign | None = None,
    name: str,
    sector_ids: list[int],
    price_cents: int | None,
    countries: list[str] | None = None,
    departments: list[str] | None = None,
    postcode_prefixes: list[str] | None = None,
    company_sizes: list[str] | None = None,
    magnet_kinds: list[str] | None = None,
    min_score: int = 0,
    min_source_quality: int = 0,
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
    """Check every setting, name each one in error, then set them all.

    ``current`` is the campaign as stored, when this is a change of it: without
    ``may_set_prices`` its money settings must stay as they are.
    """
    errors: dict[str, object] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _l("Give the campaign a name.")
    elif len(name) > 120:
        errors["name"] = _l("A campaign name has at most 120 characters.")
    # Ids only: a form whose own checks failed still has every other setting checked.
    sector_ids = [i for i in sector_ids or [] if isinstance(i, int) and 0 < i < 2**31]
    sectors = []
    if sector_ids:
        sectors = list(db.session.scalars(select(Sector).where(Sector.id.in_(sector_ids))))
    if not sectors or len(sectors) != len(set(sector_ids)):
        errors["sector_ids"] = _l("Choose at least one sector.")
    floor = floor_price_cents(sectors)
    if price_cents is None or price_cents < max(floor, 1):
        errors["price"] = (
            _l("The floor price of these sectors is %(floor)s EUR.", floor=f"{floor / 100:.2f}")
            if may_set_prices
            else _l(
                "The floor price of these sectors is %(floor)s EUR: ask an owner of your "
                "organization to raise the price.",
                floor=f"{floor / 100:.2f}",
            )
        )
    if wants_exclusive and (exclusive_price_cents or 0) < (price_cents or 0):
        errors["exclusive_price"] = _l("An exclusive lead costs at least the shared price.")
    if not may_set_prices:
        if current is None:
            raise NotAllowed(OWNERS_CREATE)
        asked = _money(price_cents, wants_exclusive, exclusive_price_cents, monthly_budget_cents)
        held = _money(
            current.price_cents,
            current.wants_exclusive,
            current.exclusive_price_cents,
            current.monthly_budget_cents,
        )
        for setting in MONEY_SETTINGS:
            if asked[setting] != held[setting]:
                errors[setting] = OWNERS_SET_PRICES
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
    if not 0 <= (min_source_quality or 0) <= 100:
        errors["min_source_quality"] = _l("A score is between 0 and 100.")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
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
        try:
            parts = urlsplit(webhook_url)
            hostname = parts.hostname
        except ValueError:  # a netloc that is no host name, say "[::1" or NFKC tricks
            parts, hostname = None, None
        plain_http_allowed = (
            parts is not None and parts.scheme == "http" and hostname in LOOPBACK_HOSTS
        )
        if not hostname or (parts.scheme != "https" and not plain_http_allowed):
            errors["webhook_url"] = _l("The webhook address must start with https://")
    if errors:
        raise ValidationFailed(fields=errors)
    campaign.name = name
    campaign.sectors = sectors
    campaign.price_cents = price_cents
    campaign.currency = sectors[0].currency
    campaign.countries = countries
    campaign.departments = departments
    campaign.postcode_prefixes = prefixes
    campaign.company_sizes = list(company_sizes or [])
    campaign.magnet_kinds = list(magnet_kinds or [])
    campaign.min_score = min_score or 0
    campaign.min_source_quality = min_source_quality or 0
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


def _money(price_cents, wants_exclusive, exclusive_price_cents, monthly_budget_cents) -> dict:
    """The money settings as they would be stored (no exclusive price without exclusives)."""
    return {
        "price": price_cents,
        "wants_exclusive": bool(wants_exclusive),
        "exclusive_price": exclusive_price_cents if wants_exclusive else None,
        "monthly_budget_cents": monthly_budget_cents,
    }


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
