"""The quality of sources: what buyers' verdicts say of a publisher and of each magnet."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.extensions import db
from marketplace.models.types import UTCDateTime, utcnow


class SourceQuality(db.Model):
    """A source's evidence and score: a publisher's (``magnet_id`` empty) or one magnet's.

    Recomputed from the sales, ratings, outcomes and accepted returns whenever a verdict
    arrives and nightly (``marketplace.quality.sources``): a refresh run twice gives the
    same row, so a retried job changes nothing. ``source_key`` is ``publisher:<id>`` or
    ``magnet:<id>``: one upsert key for both kinds on both databases.
    """

    __tablename__ = "source_quality"
    __table_args__ = (
        CheckConstraint("score BETWEEN 0 AND 100", name="score_range"),
        CheckConstraint("payout_multiplier_bps > 0", name="multiplier_positive"),
    )

    source_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    publisher_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    magnet_id: Mapped[int | None] = mapped_column(
        ForeignKey("lead_magnets.id", ondelete="CASCADE"), unique=True
    )
    sales: Mapped[int] = mapped_column(default=0)
    ratings: Mapped[int] = mapped_column(default=0)
    rating_sum: Mapped[int] = mapped_column(default=0)
    accepted_returns: Mapped[int] = mapped_column(default=0)
    won: Mapped[int] = mapped_column(default=0)
    score: Mapped[int] = mapped_column(default=0)
    # 10,000 = the publisher's revenue share as it is; applied to each sale's earning.
    payout_multiplier_bps: Mapped[int] = mapped_column(default=10_000)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SourceQualityWeek(db.Model):
    """A source's score as it stood at the end of each week (Monday, UTC): its trend."""

    __tablename__ = "source_quality_weeks"

    source_key: Mapped[str] = mapped_column(String(40), primary_key=True)
    week_start: Mapped[date] = mapped_column(Date, primary_key=True)
    score: Mapped[int]


class QualitySettings(db.Model):
    """The platform's priors and the payout multiplier's bounds: one row, admins edit it."""

    __tablename__ = "quality_settings"
    __table_args__ = (
        CheckConstraint("prior_rating_tenths BETWEEN 10 AND 50", name="prior_rating_range"),
        CheckConstraint("prior_weight BETWEEN 1 AND 1000", name="prior_weight_range"),
        CheckConstraint(
            "payout_min_bps BETWEEN 5000 AND 10000 AND payout_max_bps BETWEEN 10000 AND 15000",
            name="payout_bounds_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # A source with no rating counts as rated prior_weight times at prior_rating.
    prior_rating_tenths: Mapped[int] = mapped_column(default=35)
    prior_weight: Mapped[int] = mapped_column(default=10)
    payout_min_bps: Mapped[int] = mapped_column(default=9_000)
    payout_max_bps: Mapped[int] = mapped_column(default=11_000)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
