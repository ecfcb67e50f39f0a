"""GDPR requests, the suppression list, and the audit trail."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from marketplace.extensions import db
from marketplace.models.types import JSONType, UTCDateTime, str_enum, utcnow


class GdprRequestKind(enum.StrEnum):
    ACCESS = "access"
    RECTIFICATION = "rectification"
    ERASURE = "erasure"
    OBJECTION = "objection"


class GdprRequestStatus(enum.StrEnum):
    UNVERIFIED = "unverified"
    OPEN = "open"
    COMPLETED = "completed"
    REFUSED = "refused"


class GdprRequest(db.Model):
    __tablename__ = "gdpr_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[GdprRequestKind] = mapped_column(str_enum(GdprRequestKind, "gdpr_kind"))
    status: Mapped[GdprRequestStatus] = mapped_column(
        str_enum(GdprRequestStatus, "gdpr_status"), default=GdprRequestStatus.UNVERIFIED
    )
    # Kept to answer the person; blanked when the request is closed and its time passed.
    email: Mapped[str | None] = mapped_column(String(254))
    email_hash: Mapped[str] = mapped_column(String(64), index=True)
    # Optional: leads given with this phone are the person's too.
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    # The language the person wrote in: every mail to them is in it.
    locale: Mapped[str] = mapped_column(String(5), default="fr", server_default="fr")
    # The person's own words (what to correct, say); an admin's answer; what was done.
    details: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # GDPR art. 12(3): one month after receipt (the confirmed request).
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class PrivacyRequestEvent(db.Model):
    """A request's history: asked, confirmed, more asked, completed or refused."""

    __tablename__ = "privacy_request_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("gdpr_requests.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(40))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Shown to the person (a refusal's reason, what more is needed): never personal data.
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecipientNotice(db.Model):
    """GDPR art. 19: a buyer that received a person's data is told of its erasure or
    rectification, once per purchase and change; the log the person may ask for."""

    __tablename__ = "recipient_notices"
    __table_args__ = (UniqueConstraint("sale_id", "kind", "request_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("gdpr_requests.id", ondelete="CASCADE"))
    sale_id: Mapped[int] = mapped_column(ForeignKey("sales.id", ondelete="CASCADE"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # erasure | rectification
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set once the buyer's people were mailed (the webhook is a delivery of its own).
    mailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SuppressionEntry(db.Model):
    """A person never to be sold again (objection or erasure): their e-mail hash and,
    in rows of its own, their phone hash (the column's name is older than that)."""

    __tablename__ = "suppression_list"

    email_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEvent(db.Model):
    """Append-only: who saw or exported personal data, admin decisions, GDPR actions."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_subject", "subject_type", "subject_id"),
        # The console's searches, newest first (marketplace.governance.audit_trail).
        Index("ix_audit_events_action", "action", "id"),
        Index("ix_audit_events_actor_user", "actor_user_id", "id"),
        Index("ix_audit_events_actor_organization", "actor_organization_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    action: Mapped[str] = mapped_column(String(60))
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[int | None]
    details: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class OutboxMail(db.Model):
    """Every e-mail we send: sent through SMTP when configured, else kept here to read.

    The recipient is personal data: GDPR erasure blanks it.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    # What the mail is about, for the person's access request and for support.
    topic: Mapped[str] = mapped_column(String(40))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
