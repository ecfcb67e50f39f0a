"""The consent wording, its immutable versions, and the partner list it names.

The CNIL's rule (field-notes.md): partners must be identifiable when the person
consents, so the wording names the maximum number of partners and links the
live list, and each consent record keeps the list as it was shown.
"""

from __future__ import annotations

import hashlib
import json

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import or_, select
from sqlalchemy.dialects import postgresql, sqlite

from marketplace.extensions import db
from marketplace.models import (
    Campaign,
    CampaignStatus,
    ConsentText,
    LeadMagnet,
    Organization,
    PartnerList,
    campaign_sectors,
    utcnow,
)


def render_consent_wording(magnet: LeadMagnet) -> str:
    """The platform's template filled for this magnet, in the magnet's language."""
    base = current_app.config.get("PUBLIC_URL", "").rstrip("/")
    with force_locale(magnet.language):
        text = _(
            "I agree that %(publisher)s shares my details (name, e-mail, phone and the "
            "answers of this form) with at most %(n)d partner companies of the sector "
            "%(sector)s, so that they can contact me with an offer. The list of these "
            "partners, kept up to date, is at %(partners_url)s. My consent does not pass "
            "on to their own partners. I can withdraw it and exercise my rights of access, "
            "rectification, erasure and objection at any time at %(privacy_url)s.",
            publisher=magnet.publisher.name,
            n=magnet.max_buyers,
            sector=magnet.sector.label(magnet.language),
            partners_url=f"{base}/m/{magnet.key}/partners",
            privacy_url=f"{base}/privacy",
        )
    if magnet.consent_extra:
        text = f"{text}\n\n{magnet.consent_extra.strip()}"
    return text


def current_consent_text(magnet_id: int) -> ConsentText | None:
    return db.session.scalar(
        select(ConsentText)
        .where(ConsentText.magnet_id == magnet_id)
        .order_by(ConsentText.version.desc())
        .limit(1)
    )


def ensure_consent_text(magnet: LeadMagnet) -> ConsentText:
    """The magnet's current wording, as a new version when it changed.

    Versions are never edited: a consent record must point at the exact words
    the person read. Adds to the session; the caller commits.
    """
    wording = render_consent_wording(magnet)
    latest = current_consent_text(magnet.id) if magnet.id else None
    if latest is not None and latest.text == wording:
        return latest
    version = ConsentText(
        magnet=magnet,
        version=(latest.version + 1) if latest else 1,
        language=magnet.language,
        text=wording,
        sha256=hashlib.sha256(wording.encode()).hexdigest(),
    )
    db.session.add(version)
    return version


def partners_now(sector_id: int, parent_sector_id: int | None) -> list[dict]:
    """Buyers with an active campaign covering the sector (or its parent), by name."""
    sector_ids = [sector_id] + ([parent_sector_id] if parent_sector_id else [])
    rows = db.session.execute(
        select(Organization.id, Organization.name)
        .join(Campaign, Campaign.buyer_id == Organization.id)
        .join(campaign_sectors, campaign_sectors.c.campaign_id == Campaign.id)
        .where(
            Campaign.status == CampaignStatus.ACTIVE,
            or_(*(campaign_sectors.c.sector_id == sid for sid in sector_ids)),
        )
        .distinct()
        .order_by(Organization.name)
    ).all()
    return [{"id": row.id, "name": row.name} for row in rows]


def partner_list_id(partners: list[dict]) -> int:
    """The id of the stored partner list with exactly these partners, stored if new.

    Runs on its own connection and commits at once: a list, once shown, is a fact
    whatever happens to the capture that needed it.
    """
    canonical = json.dumps(partners, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    table = PartnerList.__table__
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    with db.engine.begin() as connection:
        connection.execute(
            dialect.insert(table)
            .values(sha256=digest, partners=partners, created_at=utcnow())
            .on_conflict_do_nothing()
        )
        return connection.execute(select(table.c.id).where(table.c.sha256 == digest)).scalar_one()
