"""Returns that decide themselves: the rules an admin sets, and the permanent refusals
of our e-mails that one of them reads (marketplace.returns)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.extensions import db
from marketplace.models.types import UTCDateTime, utcnow


class ReturnRule(db.Model):
    """One rule that may accept a buyer's dispute by itself (key "platform_flagged",
    "return_cap"), seeded by migration 0023 and edited at /admin/returns."""

    __tablename__ = "return_rules"
    __table_args__ = (
        # The only parameter so far is the cap, a whole percent.
        CheckConstraint("parameter IS NULL OR parameter BETWEEN 0 AND 100", name="parameter_range"),
    )

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    parameter: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The admin who changed it last. No foreign key: the rules are the platform's and
    # outlive any account (the audit trail keeps every change and its author).
    updated_by_id: Mapped[int | None] = mapped_column(Integer)


class MailRefusal(db.Model):
    """A mail server refused for good (SMTP 5xx at RCPT) an e-mail we sent to an
    address: the address's hash only (marketplace.validation.identity_hash), never the
    address, so that it outlives an erasure as the suppression list does."""

    __tablename__ = "mail_refusals"

    id: Mapped[int] = mapped_column(primary_key=True)
    address_hash: Mapped[str] = mapped_column(String(64), index=True)
    smtp_code: Mapped[int] = mapped_column(Integer)
    refused_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
