"""Campaign use cases for buyers: create one within the sector's floor price."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.models import Campaign, CampaignStatus, Organization, Sector


def floor_price_cents(sectors: list[Sector]) -> int:
    """The highest floor among the sectors (a sub-sector inherits its parent's floor)."""
    floors = [0]
    for sector in sectors:
        floors.append(sector.floor_price_cents)
        if sector.parent is not None:
            floors.append(sector.parent.floor_price_cents)
    return max(floors)


def create_campaign(
    buyer_id: int,
    *,
    name: str,
    sector_ids: list[int],
    price_cents: int,
    countries: list[str] | None = None,
    departments: list[str] | None = None,
    daily_cap: int | None = None,
    monthly_cap: int | None = None,
    monthly_budget_cents: int | None = None,
    status: CampaignStatus = CampaignStatus.ACTIVE,
) -> Campaign:
    """A buyer's new campaign; refused below the sectors' floor price."""
    buyer = db.session.get(Organization, buyer_id)
    if buyer is None or not buyer.is_buyer:
        raise ValidationFailed(_l("Only a buyer can create a campaign."))
    sectors = list(db.session.scalars(select(Sector).where(Sector.id.in_(sector_ids))))
    if not sectors or len(sectors) != len(set(sector_ids)):
        raise ValidationFailed(fields={"sector_ids": _l("Choose at least one sector.")})
    floor = floor_price_cents(sectors)
    if price_cents < floor:
        raise ValidationFailed(
            fields={
                "price": _l(
                    "The floor price of these sectors is %(floor)s EUR.",
                    floor=f"{floor / 100:.2f}",
                )
            }
        )
    campaign = Campaign(
        buyer=buyer,
        name=name.strip(),
        sectors=sectors,
        price_cents=price_cents,
        countries=countries if countries is not None else ["FR"],
        departments=departments or [],
        daily_cap=daily_cap,
        monthly_cap=monthly_cap,
        monthly_budget_cents=monthly_budget_cents,
        status=status,
    )
    db.session.add(campaign)
    db.session.commit()
    return campaign
