"""Lead magnet use cases: create and edit one, its file, its statistics."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from marketplace.consent import ensure_consent_text
from marketplace.db_pool import on_postgresql
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.models import (
    ConsentRecord,
    Lead,
    LeadMagnet,
    MagnetAsset,
    MagnetKind,
    MagnetStatus,
    MagnetViews,
    Organization,
    Sector,
    utcnow,
)

# What each kind asks beyond the contact, unless the publisher chooses otherwise.
DEFAULT_FIELDS = {
    MagnetKind.QUOTE_REQUEST: [
        {"name": "company", "required": True},
        {"name": "postcode", "required": True},
        {"name": "timeframe", "required": False},
        {"name": "message", "required": False},
    ],
    MagnetKind.WHITEPAPER: [
        {"name": "company", "required": True},
        {"name": "job_title", "required": False},
        {"name": "company_size", "required": False},
    ],
    MagnetKind.NEWSLETTER: [{"name": "company", "required": False}],
    MagnetKind.DEMO_REQUEST: [
        {"name": "company", "required": True},
        {"name": "job_title", "required": False},
        {"name": "company_size", "required": False},
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
KINDS_WITH_FILE = {MagnetKind.WHITEPAPER}
MAX_ASSET_BYTES = 10 * 1024 * 1024
# A host name, optionally behind "*." for its sub-domains, optionally with a port.
DOMAIN = re.compile(
    r"^(\*\.)?(?=.{1,253}(:|$))([a-z0-9](-*[a-z0-9])*\.)*[a-z0-9](-*[a-z0-9])*(:\d{1,5})?$"
)


@dataclass(frozen=True)
class MagnetSettings:
    """What a publisher chooses for a magnet, from the portal's form."""

    title: str
    kind: MagnetKind
    sector_id: int
    max_buyers: int
    language: str = "fr"
    fields: list[dict] | None = None
    consent_extra: str | None = None
    status: MagnetStatus = MagnetStatus.LIVE
    allowed_domains: tuple[str, ...] = ()
    thank_you_message: str | None = None
    redirect_url: str | None = None
    cta_a: str | None = None
    title_b: str | None = None
    cta_b: str | None = None


def create_magnet(
    publisher_id: int, settings: MagnetSettings, key: str | None = None
) -> LeadMagnet:
    """A publisher's new magnet with the first version of its consent wording."""
    publisher = db.session.get(Organization, publisher_id)
    if publisher is None or not publisher.is_publisher:
        raise ValidationFailed(_l("Only a publisher can create a lead magnet."))
    magnet = LeadMagnet(publisher=publisher, key=key or secrets.token_urlsafe(9))
    _apply(magnet, settings)
    db.session.add(magnet)
    db.session.flush()
    ensure_consent_text(magnet)
    db.session.commit()
    return magnet


def update_magnet(publisher_id: int, magnet_id: int, settings: MagnetSettings) -> LeadMagnet:
    """Change a magnet; a changed wording becomes a new consent text version."""
    magnet = own_magnet(publisher_id, magnet_id)
    _apply(magnet, settings)
    db.session.flush()
    ensure_consent_text(magnet)
    db.session.commit()
    return magnet


def own_magnet(publisher_id: int, magnet_id: int) -> LeadMagnet:
    """The publisher's magnet, or NotFound: another publisher's magnet is not ours to see."""
    from marketplace.errors import NotFound

    magnet = db.session.scalar(
        select(LeadMagnet).where(
            LeadMagnet.id == magnet_id, LeadMagnet.publisher_id == publisher_id
        )
    )
    if magnet is None:
        raise NotFound()
    return magnet


def _apply(magnet: LeadMagnet, settings: MagnetSettings) -> None:
    errors = {}
    sector = db.session.get(Sector, settings.sector_id)
    if sector is None:
        errors["sector_id"] = _l("Choose a sector from the list.")
    if not 1 <= settings.max_buyers <= 5:
        errors["max_buyers"] = _l("Between 1 and 5 partners.")
    domains = []
    for domain in settings.allowed_domains:
        domain = domain.strip().lower().removeprefix("https://").removeprefix("http://").rstrip("/")
        if not domain:
            continue
        if not DOMAIN.match(domain):
            errors["allowed_domains"] = _l("%(domain)s is not a domain name.", domain=domain[:60])
        domains.append(domain)
    redirect_url = (settings.redirect_url or "").strip() or None
    if redirect_url:
        parts = urlsplit(redirect_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            errors["redirect_url"] = _l("Enter a full address starting with https://")
    if errors:
        raise ValidationFailed(fields=errors)
    magnet.title = settings.title.strip()
    magnet.kind = settings.kind
    magnet.sector = sector
    magnet.max_buyers = settings.max_buyers
    magnet.language = settings.language
    magnet.fields = (
        settings.fields if settings.fields is not None else DEFAULT_FIELDS[settings.kind]
    )
    magnet.consent_extra = (settings.consent_extra or "").strip() or None
    magnet.status = settings.status
    magnet.allowed_domains = sorted(set(domains))
    magnet.thank_you_message = (settings.thank_you_message or "").strip() or None
    magnet.redirect_url = redirect_url
    magnet.cta_a = (settings.cta_a or "").strip() or None
    magnet.title_b = (settings.title_b or "").strip() or None
    magnet.cta_b = (settings.cta_b or "").strip() or None


def attach_asset(publisher_id: int, magnet_id: int, filename: str, content: bytes) -> MagnetAsset:
    """Store (or replace) the PDF a whitepaper magnet gives away."""
    magnet = own_magnet(publisher_id, magnet_id)
    if not content.startswith(b"%PDF-"):
        raise ValidationFailed(fields={"asset": _l("Upload a PDF file.")})
    if len(content) > MAX_ASSET_BYTES:
        raise ValidationFailed(fields={"asset": _l("The file is larger than 10 MB.")})
    asset = db.session.scalar(select(MagnetAsset).where(MagnetAsset.magnet_id == magnet.id))
    if asset is None:
        asset = MagnetAsset(magnet_id=magnet.id)
        db.session.add(asset)
    safe_name = re.sub(r"[^\w.-]+", "-", filename or "document.pdf").strip("-")[:150]
    asset.filename = (
        safe_name if safe_name.lower().endswith(".pdf") else f"{safe_name or 'document'}.pdf"
    )
    asset.content = content
    asset.size_bytes = len(content)
    asset.sha256 = hashlib.sha256(content).hexdigest()
    db.session.commit()
    return asset


def asset_of(magnet_id: int) -> MagnetAsset | None:
    return db.session.scalar(select(MagnetAsset).where(MagnetAsset.magnet_id == magnet_id))


def magnet_by_key(key: str) -> LeadMagnet | None:
    if not key or len(key) > 64:
        return None
    return db.session.scalar(select(LeadMagnet).where(LeadMagnet.key == key))


def record_view(magnet_id: int, variant: str, now: datetime | None = None) -> None:
    """Count one view of the form, for the variant shown: the magnet's all-time counter
    and its hour's count (``magnet_views``, for the results per day), in one transaction.

    The capture page's hot path: on PostgreSQL one statement (the counter's UPDATE in a
    CTE of the hour's upsert), one round trip as before; on SQLite two statements."""
    variant = "b" if variant == "b" else "a"
    column = LeadMagnet.views_b if variant == "b" else LeadMagnet.views_a
    counter = update(LeadMagnet).where(LeadMagnet.id == magnet_id).values({column: column + 1})
    hour = (now or utcnow()).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    is_postgresql = on_postgresql()
    insert = postgresql_insert if is_postgresql else sqlite_insert
    upsert = (
        insert(MagnetViews)
        .values(magnet_id=magnet_id, hour=hour, variant=variant, views=1)
        .on_conflict_do_update(
            index_elements=[MagnetViews.magnet_id, MagnetViews.hour, MagnetViews.variant],
            set_={"views": MagnetViews.views + 1},
        )
    )
    if is_postgresql:
        db.session.execute(upsert.add_cte(counter.cte("counted")))
    else:
        db.session.execute(counter)
        db.session.execute(upsert)
    db.session.commit()


@dataclass(frozen=True)
class VariantStats:
    variant: str
    views: int
    submissions: int

    @property
    def conversion(self) -> float | None:
        return self.submissions / self.views if self.views else None


def magnet_stats(magnet: LeadMagnet) -> list[VariantStats]:
    """Views and submissions per variant of the form (B only when the magnet has one),
    then the leads posted through the API on a line of their own: they had no view of
    the form, so they take no part in its conversion (which stays a share of views)."""
    counts: dict[str, int] = {}
    for channel, variant, count in db.session.execute(
        select(ConsentRecord.channel, Lead.variant, func.count(Lead.id))
        .join(ConsentRecord, ConsentRecord.lead_id == Lead.id)
        .where(Lead.magnet_id == magnet.id)
        .group_by(ConsentRecord.channel, Lead.variant)
    ):
        key = "api" if channel == "api" else ("b" if variant == "b" else "a")
        counts[key] = counts.get(key, 0) + count
    stats = [VariantStats("a", magnet.views_a, counts.get("a", 0))]
    if magnet.has_variant_b or magnet.views_b or counts.get("b"):
        stats.append(VariantStats("b", magnet.views_b, counts.get("b", 0)))
    if counts.get("api"):
        stats.append(VariantStats("api", 0, counts["api"]))
    return stats
