"""Organizations (buyer companies and publishers), their users and API keys."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models.types import JSONType, UTCDateTime, str_enum, utcnow


class OrganizationKind(enum.StrEnum):
    BUYER = "buyer"
    PUBLISHER = "publisher"


class BillingStatus(enum.StrEnum):
    """Whether a buyer may receive leads (issue 6 drives it from Stripe)."""

    GOOD = "good"
    NO_PAYMENT_METHOD = "no_payment_method"
    PAYMENT_FAILED = "payment_failed"
    OVER_CREDIT_LIMIT = "over_credit_limit"
    SUSPENDED = "suspended"


class UserRole(enum.StrEnum):
    OWNER = "owner"
    MEMBER = "member"


class Organization(db.Model):
    __tablename__ = "organizations"
    __table_args__ = (
        CheckConstraint(
            "revenue_share_bps >= 0 AND revenue_share_bps <= 10000", name="revenue_share_range"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OrganizationKind] = mapped_column(str_enum(OrganizationKind, "org_kind"))
    name: Mapped[str] = mapped_column(String(200))
    # SIREN (9 digits) or SIRET (14), validated with python-stdnum where entered.
    legal_id: Mapped[str | None] = mapped_column(String(14))
    vat_number: Mapped[str | None] = mapped_column(String(20))
    billing_status: Mapped[BillingStatus] = mapped_column(
        str_enum(BillingStatus, "billing_status"), default=BillingStatus.GOOD
    )
    # A publisher's share of each sale, in basis points (5000 = 50 %).
    revenue_share_bps: Mapped[int] = mapped_column(default=5000)
    # Publishers are approved by an admin before their leads are sold (domain.md).
    approved: Mapped[bool] = mapped_column(default=True)
    stripe_customer_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    # A buyer's billing details (issue 6): what its invoices are addressed to.
    billing_email: Mapped[str | None] = mapped_column(String(254))
    billing_address: Mapped[dict] = mapped_column(JSONType, default=dict)
    stripe_payment_method_id: Mapped[str | None] = mapped_column(String(64))
    # Unbilled debits above this are invoiced at once, not at the month's end.
    invoice_threshold_cents: Mapped[int] = mapped_column(default=50_000)
    # Set by an admin: the buyer is held once its unpaid total passes it.
    credit_limit_cents: Mapped[int | None] = mapped_column()
    # A publisher's connected Stripe account (Connect), paid by transfers when set.
    stripe_account_id: Mapped[str | None] = mapped_column(String(64))
    # The IANA zone its people read times in (marketplace.team.settings checks it).
    timezone: Mapped[str] = mapped_column(
        String(64), default="Europe/Paris", server_default="Europe/Paris"
    )
    # Set by an admin: a suspended buyer receives no lead, a suspended publisher's leads
    # are kept but not sold (marketplace.governance). The reason is shown to its people,
    # also while a publisher awaits approval.
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    standing_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="organization")

    @property
    def is_buyer(self) -> bool:
        return self.kind is OrganizationKind.BUYER

    @property
    def is_publisher(self) -> bool:
        return self.kind is OrganizationKind.PUBLISHER


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        # A platform admin may stand outside every organization; anyone else belongs to one.
        CheckConstraint("is_platform_admin OR organization_id IS NOT NULL", name="member_or_admin"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    # Stored lower-cased by the account services, so unique means unique to a person.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[UserRole] = mapped_column(str_enum(UserRole, "user_role"), default=UserRole.OWNER)
    is_platform_admin: Mapped[bool] = mapped_column(default=False)
    is_active_account: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(5))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization | None] = relationship(back_populates="users")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.is_active_account

    @property
    def is_owner(self) -> bool:
        """May change billing, prices, API keys and the team of its organization."""
        return self.organization_id is not None and self.role is UserRole.OWNER

    @property
    def is_buyer(self) -> bool:
        return self.organization is not None and self.organization.is_buyer

    @property
    def is_publisher(self) -> bool:
        return self.organization is not None and self.organization.is_publisher


class Invitation(db.Model):
    """An owner's invitation to join its organization, sent as a signed link that
    expires; used once (accepted) or withdrawn (revoked)."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[UserRole] = mapped_column(str_enum(UserRole, "user_role"))
    invited_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization] = relationship()
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_user_id])

    def is_open(self, now: datetime) -> bool:
        return self.accepted_at is None and self.revoked_at is None and now < self.expires_at


class ApiKey(db.Model):
    """A bearer key scoped to one organization; only its SHA-256 is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    # The first characters, shown in the portal so a key can be recognised.
    prefix: Mapped[str] = mapped_column(String(12))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization] = relationship()
