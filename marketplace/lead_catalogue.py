"""The catalogue: leads still on sale, shown to a buyer without personal data, and bought
through the same guarded path as distribution.

A lead is on sale to a buyer while it is fresh (30 days), has places left (and was not
sold exclusively), was distributed or found no buyer, names the buyer in its consent's
partner list, and the buyer has bought neither it nor its person within the dedupe
window. Its price there is the buyer's best active campaign price for the sector, or
the sector's floor price when the buyer has no campaign for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, literal_column, or_, select
from sqlalchemy.orm import aliased, joinedload

from marketplace.campaigns import floor_price_cents
from marketplace.errors import DomainError, ValidationFailed
from marketplace.extensions import db
from marketplace.governance.organizations import selling_publishers
from marketplace.guards import MAX_ID
from marketplace.matching import lock_person, sell
from marketplace.models import (
    BillingStatus,
    Campaign,
    CampaignStatus,
    ConsentRecord,
    Lead,
    LeadMagnet,
    LeadStatus,
    MagnetKind,
    Organization,
    PartnerList,
    Sale,
    SaleSource,
    Sector,
    SourceQuality,
    campaign_sectors,
    utcnow,
)
from marketplace.models.leads import ON_SALE_STATUSES
from marketplace.quality.sources import neutral_score
from marketplace.validation import COMPANY_SIZES, french_department

SORTS = ("newest", "score", "price", "quality")


class NotForSale(DomainError):
    status = 409
    code = "not_for_sale"
    default_message = _l("This lead is no longer on sale to you.")


@dataclass(frozen=True)
class Offer:
    """A lead on sale, as a buyer may see it before buying: no personal data."""

    lead_id: int
    sector: Sector
    country: str
    department: str | None
    company_size: str | None
    budget: str | None
    timeframe: str | None
    housing: str | None
    magnet_kind: str
    score: int | None
    temperature: str | None
    created_at: datetime
    places_left: int
    price_cents: int
    currency: str

    def as_json(self, now: datetime) -> dict:
        return {
            "lead_id": self.lead_id,
            "sector": self.sector.slug,
            "country": self.country,
            "department": self.department,
            "company_size": self.company_size,
            "budget": self.budget,
            "timeframe": self.timeframe,
            "housing": self.housing,
            "magnet_kind": self.magnet_kind,
            "score": self.score,
            "temperature": self.temperature,
            "age_hours": int((now - self.created_at).total_seconds() // 3600),
            "places_left": self.places_left,
            "price_cents": self.price_cents,
            "currency": self.currency,
        }


def offers_for(
    buyer_id: int,
    *,
    now: datetime | None = None,
    sector_id: int | None = None,
    department: str | None = None,
    company_size: str | None = None,
    magnet_kind: str | None = None,
    min_score: int | None = None,
    sort: str = "newest",
    limit: int = 50,
) -> list[Offer]:
    """The leads on sale to this buyer, filtered and sorted, at most ``limit``.

    The filters are closed lists and bounded numbers, checked here for every caller
    (the page and the API): a value outside them is a ValidationFailed naming it.
    """
    _check_filters(sector_id, company_size, magnet_kind, min_score, sort)
    now = now or utcnow()
    window = timedelta(days=current_app.config["DEDUPE_WINDOW_DAYS"])
    query = (
        select(Lead, LeadMagnet.kind, PartnerList.partners)
        .join(LeadMagnet, LeadMagnet.id == Lead.magnet_id)
        .join(ConsentRecord, ConsentRecord.lead_id == Lead.id)
        .join(PartnerList, PartnerList.id == ConsentRecord.partner_list_id)
        .where(*_on_sale(now), ~_has_person(buyer_id, now - window))
        .where(~select(Sale.id).where(Sale.lead_id == Lead.id, Sale.buyer_id == buyer_id).exists())
        .options(joinedload(Lead.sector).joinedload(Sector.parent))
    )
    if sector_id:
        query = query.where(
            or_(
                Lead.sector_id == sector_id,
                Lead.sector_id.in_(select(Sector.id).where(Sector.parent_id == sector_id)),
            )
        )
    if company_size:
        query = query.where(Lead.company_size == company_size)
    if magnet_kind:
        query = query.where(LeadMagnet.kind == magnet_kind)
    if min_score:
        query = query.where(Lead.score >= min_score)
    if department:
        query = query.where(Lead.postcode.startswith(department[:2]))
    # Between leads alike, the better source first (issue 14's tie-break).
    source_quality = func.coalesce(SourceQuality.score, neutral_score())
    query = query.outerjoin(SourceQuality, SourceQuality.magnet_id == Lead.magnet_id)
    order = {
        "score": (Lead.score.desc().nulls_last(), source_quality.desc()),
        # The newest page, then sorted by price below.
        "price": (Lead.created_at.desc(),),
        "quality": (source_quality.desc(), Lead.created_at.desc()),
    }.get(sort, (Lead.created_at.desc(),))
    rows = db.session.execute(query.order_by(*order, Lead.id.desc()).limit(limit * 5)).all()
    prices = _prices_for(buyer_id)
    offers = []
    for lead, kind, partners in rows:
        if not any(partner.get("id") == buyer_id for partner in partners):
            continue
        if department and french_department(lead.postcode) != department:
            continue
        offers.append(_offer(lead, kind, prices))
        if len(offers) == limit:
            break
    if sort == "price":
        offers.sort(key=lambda offer: (offer.price_cents, -offer.lead_id))
    return offers


def _check_filters(sector_id, company_size, magnet_kind, min_score, sort) -> None:
    not_listed = _l("Choose a value from the list.")
    errors = {}
    if sector_id is not None and not 0 < sector_id <= MAX_ID:
        errors["sector"] = not_listed
    if company_size is not None and company_size not in COMPANY_SIZES:
        errors["company_size"] = not_listed
    if magnet_kind is not None and magnet_kind not in MAGNET_KINDS:
        errors["kind"] = not_listed
    if min_score is not None and not 0 <= min_score <= 100:
        errors["min_score"] = _l("Give a score from 0 to 100.")
    if sort not in SORTS:
        errors["sort"] = not_listed
    if errors:
        raise ValidationFailed(fields=errors)


MAGNET_KINDS = frozenset(kind.value for kind in MagnetKind)


def buy(buyer_id: int, lead_id: int, *, now: datetime | None = None) -> Sale:
    """Buy one lead from the catalogue, or NotForSale (409) saying why not."""
    now = now or utcnow()
    lead = db.session.scalar(select(Lead).where(Lead.id == lead_id).with_for_update(key_share=True))
    if lead is None:
        db.session.rollback()
        raise NotForSale()
    lock_person(lead)
    reason = _refusal(buyer_id, lead, now)
    if reason is not None:
        db.session.rollback()
        raise NotForSale(str(reason))
    price = _prices_for(buyer_id)(lead.sector)
    sale_id = sell(
        lead,
        now,
        buyer_id=buyer_id,
        price_cents=price,
        currency=lead.sector.currency,
        source=SaleSource.CATALOGUE,
    )
    if sale_id is None:
        db.session.rollback()
        raise NotForSale(str(_l("This lead has just sold out.")))
    lead.status = LeadStatus.DISTRIBUTED
    db.session.commit()
    return db.session.get(Sale, sale_id)


def _has_person(buyer_id: int, since: datetime):
    """The buyer bought this lead's person (the same e-mail, or the same phone) since
    ``since``: one rule for the list and the purchase, so that nothing listed is then
    refused for it. Read from the lead's person (their few leads, by the hashes'
    indexes, each looked up among the buyer's sales), never by walking the buyer's
    sales: a buyer with thousands of purchases made a catalogue of a few thousand
    leads cost seconds, each lead compared with every purchase."""
    earlier = aliased(Lead)
    bought = (
        select(Sale.id)
        .where(Sale.lead_id == earlier.id, Sale.buyer_id == buyer_id, Sale.created_at >= since)
        .exists()
    )
    # OFFSET 0 keeps PostgreSQL from hashing the buyer's every recent purchase's e-mail
    # first (25,000 for the bench's largest buyer, 55 ms): a page that stops after a few
    # hundred leads (the newest first, migration 0030) asks about those few only.
    same_email = (
        select(earlier.id).where(earlier.email_hash == Lead.email_hash, bought).offset(0).exists()
    )
    same_phone = (
        select(earlier.id)
        .where(Lead.phone_hash.is_not(None), earlier.phone_hash == Lead.phone_hash, bought)
        .exists()
    )
    return or_(same_email, same_phone)


def _on_sale(now: datetime) -> list:
    fresh_since = now - timedelta(days=current_app.config["LEAD_FRESHNESS_DAYS"])
    return [
        # Written into the SQL, not bound: the leads-on-sale index's condition (migration
        # 0030) is then provable from the query in every plan PostgreSQL keeps.
        Lead.status.in_([literal_column(f"'{status.value}'") for status in ON_SALE_STATUSES]),
        Lead.created_at >= fresh_since,
        Lead.sales_count < Lead.max_buyers,
        Lead.sold_exclusively.is_(False),
        Lead.publisher_id.in_(selling_publishers()),
    ]


def _refusal(buyer_id: int, lead: Lead, now: datetime):
    buyer = db.session.get(Organization, buyer_id)
    if buyer is None or not buyer.is_buyer:
        return _l("Only a buyer can buy leads.")
    if buyer.billing_status is not BillingStatus.GOOD:
        return _l("Your billing needs attention before you can buy leads.")
    on_sale = db.session.scalar(
        select(func.count(Lead.id)).where(Lead.id == lead.id, *_on_sale(now))
    )
    if not on_sale:
        return _l("This lead has sold out or is no longer fresh.")
    if not lead.consent or not lead.consent.covers(buyer_id):
        return _l("The person did not agree to be contacted by your company.")
    if db.session.scalar(select(Sale.id).where(Sale.lead_id == lead.id, Sale.buyer_id == buyer_id)):
        return _l("You already bought this lead.")
    window = timedelta(days=current_app.config["DEDUPE_WINDOW_DAYS"])
    if db.session.scalar(select(_has_person(buyer_id, now - window)).where(Lead.id == lead.id)):
        return _l("You bought this person within the last 30 days.")
    return None


def _prices_for(buyer_id: int):
    """A function giving this buyer's catalogue price for a sector."""
    rows = db.session.execute(
        select(campaign_sectors.c.sector_id, func.max(Campaign.price_cents))
        .join(Campaign, Campaign.id == campaign_sectors.c.campaign_id)
        .where(Campaign.buyer_id == buyer_id, Campaign.status == CampaignStatus.ACTIVE)
        .group_by(campaign_sectors.c.sector_id)
    ).all()
    by_sector = dict(rows)

    def price(sector: Sector) -> int:
        own = by_sector.get(sector.id) or by_sector.get(sector.parent_id)
        return own or max(floor_price_cents([sector]), 1)

    return price


def _offer(lead: Lead, kind, prices) -> Offer:
    return Offer(
        lead_id=lead.id,
        sector=lead.sector,
        country=lead.country,
        department=french_department(lead.postcode) if lead.country == "FR" else None,
        company_size=lead.company_size,
        budget=lead.budget,
        timeframe=lead.timeframe,
        housing=lead.housing,
        magnet_kind=getattr(kind, "value", kind),
        score=lead.score,
        temperature=lead.temperature.value if lead.temperature else None,
        created_at=lead.created_at,
        places_left=lead.places_left,
        price_cents=prices(lead.sector),
        currency=lead.sector.currency,
    )
