"""What the Stripe mirror keeps of its own: the webhook events already processed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.extensions import db
from marketplace.models.types import UTCDateTime, utcnow


class StripeEvent(db.Model):
    """One Stripe webhook event, stored under its id: Stripe repeats events, and the
    unique id is what makes each one processed once."""

    __tablename__ = "stripe_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), unique=True)
    type: Mapped[str] = mapped_column(String(100))
    object_id: Mapped[str | None] = mapped_column(String(255))
    # What processing did ("buyer 12 in good standing"), or why it ignored the event.
    outcome: Mapped[str] = mapped_column(String(300), default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
