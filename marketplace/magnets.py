"""Lead magnet use cases: create one, find it by key, count its views."""

from __future__ import annotations

import secrets

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from marketplace.consent import ensure_consent_text
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.models import LeadMagnet, MagnetKind, MagnetStatus, Organization, Sector

# What each kind asks beyond the contact, unless the publisher chooses otherwise.
DEFAULT_FIELDS = {
    MagnetKind.QUOTE_REQUEST: [
        {"name": "company", "required": True},
        {"name": "postcode", "required": True},
        {"name": "message", "required": False},
    ],
    MagnetKind.WHITEPAPER: [
        {"name": "company", "required": True},
        {"name": "job_title", "required": False},
    ],
    MagnetKind.NEWSLETTER: [{"name": "company", "required": False}],
    MagnetKind.DEMO_REQUEST: [
        {"name": "company", "required": True},
        {"name": "job_title", "required": False},
        {"name": "postcode", "required": False},
    ],
    MagnetKind.CALLBACK_REQUEST: [
        {"name": "company", "required": False},
        {"name": "postcode", "required": True},
    ],
    MagnetKind.WEBINAR: [
        {"name": "company", "required": True},
        {"name": "job_title", "required": False},
    ],
}


def create_magnet(
    publisher_id: int,
    *,
    title: str,
    kind: MagnetKind,
    sector_id: int,
    max_buyers: int,
    language: str = "fr",
    fields: list[dict] | None = None,
    consent_extra: str | None = None,
    status: MagnetStatus = MagnetStatus.LIVE,
    key: str | None = None,
) -> LeadMagnet:
    """A publisher's new magnet with the first version of its consent wording."""
    publisher = db.session.get(Organization, publisher_id)
    if publisher is None or not publisher.is_publisher:
        raise ValidationFailed(_l("Only a publisher can create a lead magnet."))
    sector = db.session.get(Sector, sector_id)
    if sector is None:
        raise ValidationFailed(fields={"sector_id": _l("Choose a sector from the list.")})
    if not 1 <= max_buyers <= 5:
        raise ValidationFailed(fields={"max_buyers": _l("Between 1 and 5 partners.")})
    magnet = LeadMagnet(
        publisher=publisher,
        key=key or secrets.token_urlsafe(9),
        title=title.strip(),
        kind=kind,
        sector=sector,
        max_buyers=max_buyers,
        language=language,
        fields=fields if fields is not None else DEFAULT_FIELDS[kind],
        consent_extra=(consent_extra or "").strip() or None,
        status=status,
        allowed_domains=[],
    )
    db.session.add(magnet)
    db.session.flush()
    ensure_consent_text(magnet)
    db.session.commit()
    return magnet


def magnet_by_key(key: str) -> LeadMagnet | None:
    if not key or len(key) > 64:
        return None
    return db.session.scalar(select(LeadMagnet).where(LeadMagnet.key == key))


def record_view(magnet_id: int) -> None:
    db.session.execute(
        update(LeadMagnet).where(LeadMagnet.id == magnet_id).values(views=LeadMagnet.views + 1)
    )
    db.session.commit()
