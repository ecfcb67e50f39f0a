"""What a capture needs to know of a magnet, read once and kept a few seconds."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from marketplace import snapshots
from marketplace.consent import partner_list_id, partners_now
from marketplace.extensions import db
from marketplace.models import ConsentText, LeadMagnet, MagnetStatus, Sector


@dataclass(frozen=True)
class ConsentVersion:
    id: int
    version: int
    sha256: str


@dataclass(frozen=True)
class CaptureTarget:
    """A magnet as the capture use case reads it: settings, consent texts, partners."""

    id: int
    key: str
    publisher_id: int
    sector_id: int
    sector_slug: str
    max_buyers: int
    live: bool
    fields: list[dict]
    consent_texts: tuple[ConsentVersion, ...]
    # The partner list the form names now (stored once): the consent record points at it.
    partner_list_id: int

    def consent_text(self, *, text_id: int | None = None, version: int | None = None):
        for text in self.consent_texts:
            if text.id == text_id or text.version == version:
                return text
        return None


def capture_target(magnet_key: str) -> CaptureTarget | None:
    """The magnet with this key, as captures read it (None when there is none)."""
    if not magnet_key or len(magnet_key) > 64:
        return None
    return snapshots.remembered("capture_target", magnet_key, lambda: _load(magnet_key))


def _load(magnet_key: str) -> CaptureTarget | None:
    magnet = db.session.scalar(
        select(LeadMagnet)
        .where(LeadMagnet.key == magnet_key)
        .options(joinedload(LeadMagnet.sector).joinedload(Sector.parent))
    )
    if magnet is None:
        return None
    texts = db.session.execute(
        select(ConsentText.id, ConsentText.version, ConsentText.sha256)
        .where(ConsentText.magnet_id == magnet.id)
        .order_by(ConsentText.version)
    ).all()
    return CaptureTarget(
        id=magnet.id,
        key=magnet.key,
        publisher_id=magnet.publisher_id,
        sector_id=magnet.sector_id,
        sector_slug=magnet.sector.slug,
        max_buyers=magnet.max_buyers,
        live=magnet.status is MagnetStatus.LIVE,
        fields=list(magnet.fields or []),
        consent_texts=tuple(ConsentVersion(*row) for row in texts),
        partner_list_id=partner_list_id(partners_now(magnet.sector_id, magnet.sector.parent_id)),
    )
