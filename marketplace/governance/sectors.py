"""The sector tree as admins keep it: names, floor prices and return windows, each
change in the audit trail with what it was before."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from marketplace import audit, snapshots
from marketplace.campaigns import floor_price_cents
from marketplace.errors import NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.models import Campaign, CampaignStatus, Sector, campaign_sectors

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_FLOOR_CENTS = 1_000_000


@dataclass(frozen=True)
class SectorLine:
    sector: Sector
    floor_cents: int  # what a lead of it sells for at least (its parent's floor included)
    return_window_days: int
    active_campaigns: int
    below_floor: int  # active campaigns on it whose price is under floor_cents


@dataclass(frozen=True)
class SectorChange:
    name_fr: str
    name_en: str
    floor_price_cents: int
    return_window_days: int | None
    reason: str
    audience: str = "b2b"


def return_window_days(sector: Sector) -> int:
    """The days a buyer may dispute a lead of this sector (a sub-sector without its
    own window takes its parent's)."""
    for candidate in (sector, sector.parent):
        if candidate is not None and candidate.return_window_days is not None:
            return candidate.return_window_days
    return current_app.config["RETURN_WINDOW_DAYS"]


def longest_return_window_days() -> int:
    """The longest window of any sector: what a publisher's earning waits for."""
    longest = db.session.scalar(select(func.max(Sector.return_window_days)))
    return max(longest or 0, current_app.config["RETURN_WINDOW_DAYS"])


def tree() -> list[SectorLine]:
    """Every sector, each parent followed by its children, with its campaigns."""
    sectors = list(db.session.scalars(select(Sector).order_by(Sector.id)))
    campaigns = db.session.execute(
        select(campaign_sectors.c.sector_id, Campaign.price_cents)
        .join(Campaign, Campaign.id == campaign_sectors.c.campaign_id)
        .where(Campaign.status == CampaignStatus.ACTIVE)
    ).all()
    lines = []
    by_parent: dict[int | None, list[Sector]] = {}
    for sector in sectors:
        by_parent.setdefault(sector.parent_id, []).append(sector)
    ordered = []
    for parent in sorted(by_parent.get(None, []), key=lambda s: s.name_fr):
        ordered.append(parent)
        ordered.extend(sorted(by_parent.get(parent.id, []), key=lambda s: s.name_fr))
    for sector in ordered:
        floor = floor_price_cents([sector])
        prices = [price for sector_id, price in campaigns if sector_id == sector.id]
        lines.append(
            SectorLine(
                sector=sector,
                floor_cents=floor,
                return_window_days=return_window_days(sector),
                active_campaigns=len(prices),
                below_floor=sum(1 for price in prices if price < floor),
            )
        )
    return lines


def _checked(change: SectorChange) -> dict[str, str]:
    errors = {}
    if not change.name_fr.strip():
        errors["name_fr"] = str(_l("Give a name."))
    if not change.name_en.strip():
        errors["name_en"] = str(_l("Give a name."))
    if not 0 <= change.floor_price_cents <= MAX_FLOOR_CENTS:
        errors["floor_price"] = str(_l("Between 0 and 10,000 euros."))
    if change.return_window_days is not None and not 0 <= change.return_window_days <= 90:
        errors["return_window_days"] = str(_l("Between 0 and 90 days."))
    if change.audience not in ("b2b", "b2c"):
        errors["audience"] = str(_l("Companies or consumers."))
    if len(change.reason.strip()) < 5:
        errors["reason"] = str(_l("Say why: it stays in the audit trail."))
    return errors


def _values(sector: Sector) -> dict:
    return {
        "name_fr": sector.name_fr,
        "name_en": sector.name_en,
        "floor_price_cents": sector.floor_price_cents,
        "return_window_days": sector.return_window_days,
        "audience": sector.audience,
    }


def update_sector(sector_id: int, admin_id: int, change: SectorChange) -> Sector:
    errors = _checked(change)
    if errors:
        raise ValidationFailed(fields=errors)
    sector = db.session.scalar(select(Sector).where(Sector.id == sector_id).with_for_update())
    if sector is None:
        raise NotFound()
    before = _values(sector)
    sector.name_fr = change.name_fr.strip()
    sector.name_en = change.name_en.strip()
    sector.floor_price_cents = change.floor_price_cents
    sector.return_window_days = change.return_window_days
    sector.audience = change.audience
    after = _values(sector)
    if after == before:
        db.session.rollback()
        return sector
    changed = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    audit.record(
        "sector.changed",
        "sector",
        sector.id,
        actor_user_id=admin_id,
        details={"reason": change.reason.strip(), "changed": changed},
    )
    db.session.commit()
    snapshots.forget_all()
    return sector


def add_sector(parent_id: int | None, slug: str, admin_id: int, change: SectorChange) -> Sector:
    errors = _checked(change)
    slug = (slug or "").strip().lower()
    if not SLUG.match(slug) or len(slug) > 80:
        errors["slug"] = str(_l("Lower-case letters, digits and hyphens, like it-cloud."))
    elif db.session.scalar(select(Sector.id).where(Sector.slug == slug)):
        errors["slug"] = str(_l("Another sector has this short name."))
    parent = None
    if parent_id is not None:
        parent = db.session.get(Sector, parent_id)
        if parent is None or parent.parent_id is not None:
            errors["parent_id"] = str(_l("Choose a top-level sector (the tree has two levels)."))
    if errors:
        raise ValidationFailed(fields=errors)
    sector = Sector(
        parent=parent,
        slug=slug,
        name_fr=change.name_fr.strip(),
        name_en=change.name_en.strip(),
        floor_price_cents=change.floor_price_cents,
        return_window_days=change.return_window_days,
        audience=change.audience,
        currency=current_app.config["DEFAULT_CURRENCY"],
    )
    db.session.add(sector)
    db.session.flush()
    audit.record(
        "sector.added",
        "sector",
        sector.id,
        actor_user_id=admin_id,
        details={"reason": change.reason.strip(), "values": _values(sector), "slug": slug},
    )
    db.session.commit()
    snapshots.forget_all()
    return sector
