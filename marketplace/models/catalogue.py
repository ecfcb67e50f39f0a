"""Sectors and lead magnets: what leads are about and where they come from."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models.organizations import Organization
from marketplace.models.types import JSONType, UTCDateTime, str_enum, utcnow


class Sector(db.Model):
    """A two-level taxonomy (IT > software); the floor price applies to its leads."""

    __tablename__ = "sectors"
    __table_args__ = (
        CheckConstraint("floor_price_cents >= 0", name="floor_price_positive"),
        CheckConstraint(
            "return_window_days IS NULL OR (return_window_days >= 0 AND return_window_days <= 90)",
            name="return_window_range",
        ),
        CheckConstraint("audience IN ('b2b', 'b2c')", name="audience_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("sectors.id", ondelete="RESTRICT"), index=True
    )
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name_en: Mapped[str] = mapped_column(String(120))
    name_fr: Mapped[str] = mapped_column(String(120))
    floor_price_cents: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    # Days a buyer may dispute one of its leads; None: RETURN_WINDOW_DAYS.
    return_window_days: Mapped[int | None] = mapped_column()
    # Whom its leads come from: companies ("b2b") or consumers ("b2c"); it picks the
    # default scoring model (marketplace.scoring).
    audience: Mapped[str] = mapped_column(String(3), default="b2b", server_default="b2b")

    parent: Mapped[Sector | None] = relationship(remote_side=[id])

    def name(self, locale: str = "fr") -> str:
        return self.name_fr if locale == "fr" else self.name_en

    def label(self, locale: str = "fr") -> str:
        """'IT > Software' style, as the portals show it."""
        if self.parent is None:
            return self.name(locale)
        return f"{self.parent.name(locale)} > {self.name(locale)}"


class MagnetKind(enum.StrEnum):
    QUOTE_REQUEST = "quote_request"
    WHITEPAPER = "whitepaper"
    NEWSLETTER = "newsletter"
    DEMO_REQUEST = "demo_request"
    CALLBACK_REQUEST = "callback_request"
    WEBINAR = "webinar"


class MagnetStatus(enum.StrEnum):
    DRAFT = "draft"
    LIVE = "live"
    PAUSED = "paused"


class LeadMagnet(db.Model):
    __tablename__ = "lead_magnets"
    __table_args__ = (
        CheckConstraint("max_buyers BETWEEN 1 AND 5", name="max_buyers_range"),
        CheckConstraint("language IN ('fr', 'en')", name="language_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    publisher_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    # The public key in /m/<key> and the embed snippet.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[MagnetKind] = mapped_column(str_enum(MagnetKind, "magnet_kind"))
    sector_id: Mapped[int] = mapped_column(ForeignKey("sectors.id", ondelete="RESTRICT"))
    max_buyers: Mapped[int] = mapped_column(default=3)
    language: Mapped[str] = mapped_column(String(2), default="fr")
    status: Mapped[MagnetStatus] = mapped_column(
        str_enum(MagnetStatus, "magnet_status"), default=MagnetStatus.DRAFT
    )
    # Qualification fields asked, each {"name": ..., "required": bool}.
    fields: Mapped[list] = mapped_column(JSONType, default=list)
    allowed_domains: Mapped[list] = mapped_column(JSONType, default=list)
    thank_you_message: Mapped[str | None] = mapped_column(Text)
    redirect_url: Mapped[str | None] = mapped_column(String(500))
    # The publisher's own optional sentence added to the platform's consent template.
    consent_extra: Mapped[str | None] = mapped_column(Text)
    # A/B test: an optional second wording of the title and the call to action.
    # Views are counted per variant here; submissions are the leads of each variant.
    cta_a: Mapped[str | None] = mapped_column(String(80))
    title_b: Mapped[str | None] = mapped_column(String(200))
    cta_b: Mapped[str | None] = mapped_column(String(80))
    views_a: Mapped[int] = mapped_column(default=0)
    views_b: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    publisher: Mapped[Organization] = relationship()
    sector: Mapped[Sector] = relationship()

    @property
    def has_variant_b(self) -> bool:
        return bool(self.title_b or self.cta_b)

    @property
    def views(self) -> int:
        return self.views_a + self.views_b

    def title_for(self, variant: str | None) -> str:
        return (self.title_b or self.title) if variant == "b" else self.title

    def cta_for(self, variant: str | None) -> str | None:
        return (self.cta_b or self.cta_a) if variant == "b" else self.cta_a


class MagnetViews(db.Model):
    """How many times a magnet's form was shown, per variant and per hour (UTC).

    Hours, not days: a day is the reader's (midnight to midnight in their zone), which
    no stored UTC day could give; an hour bucket falls wholly in one day of every zone
    whose offset is whole hours. Counted by an upsert in the view's own transaction
    (``magnets.record_view``); the magnet's ``views_a``/``views_b`` stay all-time totals.
    """

    __tablename__ = "magnet_views"
    __table_args__ = (
        CheckConstraint("variant IN ('a', 'b')", name="variant_known"),
        CheckConstraint("views > 0", name="views_positive"),
    )

    magnet_id: Mapped[int] = mapped_column(
        ForeignKey("lead_magnets.id", ondelete="CASCADE"), primary_key=True
    )
    # The first instant of the hour, UTC.
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    variant: Mapped[str] = mapped_column(String(1), primary_key=True)
    views: Mapped[int] = mapped_column(default=1)


class MagnetAsset(db.Model):
    """The file a whitepaper or guide magnet gives away (a PDF).

    Kept in the database, not on a local disk, so that every stateless web
    process can serve it.
    """

    __tablename__ = "magnet_assets"
    __table_args__ = (CheckConstraint("size_bytes > 0", name="size_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    magnet_id: Mapped[int] = mapped_column(
        ForeignKey("lead_magnets.id", ondelete="CASCADE"), unique=True
    )
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100), default="application/pdf")
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsentText(db.Model):
    """An immutable version of the consent wording a magnet showed.

    Every change of wording makes a new row; a consent record points at the
    exact version the person saw, with its SHA-256.
    """

    __tablename__ = "consent_texts"
    __table_args__ = (UniqueConstraint("magnet_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    magnet_id: Mapped[int] = mapped_column(ForeignKey("lead_magnets.id", ondelete="RESTRICT"))
    version: Mapped[int]
    language: Mapped[str] = mapped_column(String(2))
    text: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    magnet: Mapped[LeadMagnet] = relationship()


class ScoringModel(db.Model):
    """The points each fact of a lead is worth and the thresholds of its temperature and
    class: one per audience (scope "b2b", "b2c"), and a sector's own when an admin gives
    it one (scope "sector:<id>"). Edited at /admin/scoring (marketplace.scoring)."""

    __tablename__ = "scoring_models"
    __table_args__ = (
        CheckConstraint("0 < warm_from AND warm_from < hot_from AND hot_from <= 100", name="order"),
        CheckConstraint("sql_from BETWEEN 1 AND 100", name="sql_from_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(40), unique=True)
    sector_id: Mapped[int | None] = mapped_column(
        ForeignKey("sectors.id", ondelete="CASCADE"), unique=True
    )
    audience: Mapped[str] = mapped_column(String(3))
    # fact ("intent:quote_request", "phone_given", "budget:5k_20k"...) -> points
    points: Mapped[dict] = mapped_column(JSONType, default=dict)
    warm_from: Mapped[int] = mapped_column()
    hot_from: Mapped[int] = mapped_column()
    sql_from: Mapped[int] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sector: Mapped[Sector | None] = relationship()
