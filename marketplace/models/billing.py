"""What the Stripe mirror keeps of its own: invoices, and the webhook events
already processed."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.extensions import db
from marketplace.models.types import UTCDateTime, str_enum, utcnow


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


class VatTreatment(enum.StrEnum):
    FRENCH_VAT = "fr_vat_20"  # a French buyer, or one without a VAT number
    REVERSE_CHARGE = "reverse_charge"  # an EU business outside France (art. 196)
    OUTSIDE_EU = "outside_eu"  # services to a business outside the EU: no French VAT


class Invoice(db.Model):
    """A buyer's invoice: one run of the invoicing job, mirrored by one Stripe invoice.

    ``run_key`` names the run ("month:2026-11", "threshold:<last entry id>"); unique
    per buyer, it makes a retried run continue the same invoice instead of opening
    another. Amounts are Stripe's, in cents, once Stripe has computed them.
    """

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("buyer_id", "run_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    run_key: Mapped[str] = mapped_column(String(80))
    stripe_invoice_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Stripe's status: draft, open, paid, void, uncollectible; "creating" before it.
    status: Mapped[str] = mapped_column(String(20), default="creating")
    vat: Mapped[VatTreatment] = mapped_column(str_enum(VatTreatment, "vat_treatment"))
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    subtotal_cents: Mapped[int] = mapped_column(default=0)
    tax_cents: Mapped[int] = mapped_column(default=0)
    total_cents: Mapped[int] = mapped_column(default=0)
    hosted_invoice_url: Mapped[str | None] = mapped_column(String(500))
    invoice_pdf: Mapped[str | None] = mapped_column(String(500))
    payment_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
