"""Sales (a buyer's purchases), the ledger, and disputes."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models.campaigns import Campaign
from marketplace.models.leads import Lead, Temperature
from marketplace.models.organizations import Organization, User
from marketplace.models.types import JSONType, UTCDateTime, str_enum, utcnow


class SaleSource(enum.StrEnum):
    CAMPAIGN = "campaign"
    CATALOGUE = "catalogue"


class Outcome(enum.StrEnum):
    """Where the buyer stands with the person (no outcome yet: "new")."""

    CONTACTED = "contacted"
    MEETING = "meeting"
    WON = "won"
    LOST = "lost"


# Why a buyer rates a lead as it does: the reasons the trade gives (issue 12).
RATING_REASONS = (
    "reachable",
    "real_need",
    "right_budget",
    "wrong_number",
    "not_decision_maker",
    "already_equipped",
    "fake_or_test",
)
# Why a deal was lost.
LOST_REASONS = ("unreachable", "no_need", "no_budget", "competitor", "timing", "other")
# The pipeline as the portal and the API name it: "new" is a sale with no outcome yet.
OUTCOME_STEPS = ("new", *(step.value for step in Outcome))


def _lead_sector(context) -> int | None:
    """A sale's sector when its insert does not say it: its lead's (a statement that
    writes sales on the hot path names it in the same statement)."""
    lead_id = context.get_current_parameters().get("lead_id")
    if lead_id is None:
        return None
    return context.connection.scalar(select(Lead.sector_id).where(Lead.id == lead_id))


# What the inbox's filters read on a purchase beside its buyer, sector and campaign
# (buyers/inbox.py, ``filtered``): included in the sector's and the campaign's indexes so
# that a filtered count reads the index alone (migrations 0027, 0028).
INBOX_FILTERED_COLUMNS = (
    "lead_score",
    "temperature",
    "rating_stars",
    "outcome",
    "deliveries_delivered",
    "deliveries_failed",
)


class Sale(db.Model):
    """One lead sold to one buyer: a purchase, in the buyer's words."""

    __tablename__ = "sales"
    __table_args__ = (
        # A buyer never buys the same lead twice, whatever the concurrency.
        UniqueConstraint("lead_id", "buyer_id"),
        CheckConstraint("price_cents > 0", name="price_positive"),
        CheckConstraint(
            "rating_stars IS NULL OR rating_stars BETWEEN 1 AND 5", name="rating_range"
        ),
        CheckConstraint(
            "outcome_amount_cents IS NULL OR outcome_amount_cents >= 0", name="amount_positive"
        ),
        # A buyer's purchases newest first, in the inbox's keyset order, with what the
        # inbox's counts filter on and the dashboard sums: read from the index alone
        # (PostgreSQL's INCLUDE; key columns only on SQLite). Migrations 0016, 0020, 0027.
        Index(
            "ix_sales_buyer_id_created_at_id",
            "buyer_id",
            "created_at",
            "id",
            postgresql_include=[
                "lead_id",
                "campaign_id",
                "sector_id",
                "price_cents",
                "rating_stars",
                "outcome",
                "outcome_amount_cents",
                "lead_score",
                "temperature",
                "deliveries_delivered",
                "deliveries_failed",
            ],
        ),
        # The same per sector: a count filtered by sector reads the sector's range, not
        # every purchase of the buyer (migration 0027).
        Index(
            "ix_sales_buyer_id_sector_id_created_at_id",
            "buyer_id",
            "sector_id",
            "created_at",
            "id",
            postgresql_include=["campaign_id", *INBOX_FILTERED_COLUMNS],
        ),
        # A campaign's purchases by date: its last sale, and the inbox filtered by
        # campaign counted from the index alone (migration 0028).
        Index(
            "ix_sales_campaign_id_created_at_id",
            "campaign_id",
            "created_at",
            "id",
            postgresql_include=["buyer_id", "sector_id", *INBOX_FILTERED_COLUMNS],
        ),
        # The platform's sales of a period: the admins' overview and reports (0025).
        Index("ix_sales_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="RESTRICT"))
    buyer_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id", ondelete="SET NULL"))
    # The lead's sector, copied at the sale (a lead never changes sector): the inbox's
    # sector filter and the dashboard's sectors read the sales alone (migration 0020).
    sector_id: Mapped[int] = mapped_column(
        ForeignKey("sectors.id", ondelete="RESTRICT"), default=_lead_sector
    )
    # The lead's score and temperature, copied by the database at the sale and whenever
    # the lead's change (migration 0027's triggers): the inbox's score and temperature
    # filters read the sales alone. Read-only here.
    lead_score: Mapped[int | None] = mapped_column(SmallInteger)
    temperature: Mapped[Temperature | None] = mapped_column(
        Enum(
            Temperature,
            name="temperature",
            native_enum=False,
            length=32,
            values_callable=lambda members: [member.value for member in members],
        )
    )
    # How many of the sale's deliveries are delivered and failed, kept by the database at
    # each delivery's insert and change of state (migrations 0027, 0032): the inbox's
    # delivery filters read them instead of the deliveries. Pending ones are not counted
    # (a few among millions, read from the deliveries: a new delivery then leaves its
    # sale alone). Read-only here.
    deliveries_delivered: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    deliveries_failed: Mapped[int] = mapped_column(SmallInteger, server_default="0")
    source: Mapped[SaleSource] = mapped_column(str_enum(SaleSource, "sale_source"))
    exclusive: Mapped[bool] = mapped_column(default=False)
    price_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_viewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    rating_stars: Mapped[int | None]
    rating_reasons: Mapped[list] = mapped_column(JSONType, default=list)
    rating_comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # None when rated through the API (the key's organization rated it).
    rated_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    outcome: Mapped[Outcome | None] = mapped_column(str_enum(Outcome, "outcome"))
    outcome_amount_cents: Mapped[int | None]
    outcome_lost_reason: Mapped[str | None] = mapped_column(String(30))
    outcome_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lead: Mapped[Lead] = relationship()
    buyer: Mapped[Organization] = relationship()
    campaign: Mapped[Campaign | None] = relationship()
    rated_by: Mapped[User | None] = relationship()
    outcome_changes: Mapped[list[OutcomeChange]] = relationship(
        order_by="OutcomeChange.id", back_populates="sale", viewonly=True
    )
    dispute: Mapped[Dispute | None] = relationship(
        primaryjoin="Sale.id == foreign(Dispute.sale_id)", viewonly=True, uselist=False
    )


class LedgerKind(enum.StrEnum):
    SALE_DEBIT = "sale_debit"
    PUBLISHER_EARNING = "publisher_earning"
    DISPUTE_CREDIT = "dispute_credit"
    EARNING_REVERSAL = "earning_reversal"
    PAYMENT = "payment"
    TOP_UP = "top_up"
    PAYOUT = "payout"


UNMIRRORED = "stripe_object_id IS NULL AND kind IN ('sale_debit', 'dispute_credit')"


class LedgerEntry(db.Model):
    """An append-only money movement, in signed integer cents.

    The sign is from the organization's side: a buyer's debit is negative, a
    publisher's earning positive; a balance is the sum. ``entry_key`` names the
    business fact ("sale:42:debit") so the same fact can never be booked twice,
    and it is what the Stripe mirror derives its idempotency keys from.
    """

    __tablename__ = "ledger_entries"
    __table_args__ = (
        CheckConstraint("amount_cents <> 0", name="amount_not_zero"),
        # With the amounts: a balance is summed from the index alone (migration 0016).
        Index(
            "ix_ledger_entries_organization_id_created_at",
            "organization_id",
            "created_at",
            postgresql_include=["currency", "amount_cents"],
        ),
        # Most entries have no dispute and, until invoiced, no invoice: indexing only
        # those that do spares every sale two index entries per ledger row.
        *(
            Index(
                f"ix_ledger_entries_{column}",
                column,
                postgresql_where=text(f"{column} IS NOT NULL"),
                sqlite_where=text(f"{column} IS NOT NULL"),
            )
            for column in ("dispute_id", "invoice_id")
        ),
        # The Stripe mirror's backlog: the buyer entries not yet on Stripe.
        Index(
            "ix_ledger_entries_unmirrored",
            "organization_id",
            postgresql_where=text(UNMIRRORED),
            sqlite_where=text(UNMIRRORED),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_key: Mapped[str] = mapped_column(String(80), unique=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT")
    )
    kind: Mapped[LedgerKind] = mapped_column(str_enum(LedgerKind, "ledger_kind"))
    amount_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    sale_id: Mapped[int | None] = mapped_column(
        ForeignKey("sales.id", ondelete="RESTRICT"), index=True
    )
    dispute_id: Mapped[int | None] = mapped_column(ForeignKey("disputes.id", ondelete="RESTRICT"))
    description: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The Stripe object mirroring this entry, once mirrored (billing/).
    stripe_object_id: Mapped[str | None] = mapped_column(String(64))
    # Set before the Stripe call: an entry with it and no stripe_object_id may have
    # reached Stripe, so a retry looks for its object there before creating one.
    mirror_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mirrored_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The invoice that carried this entry's invoice item, once invoiced.
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id", ondelete="RESTRICT"))

    organization: Mapped[Organization] = relationship()
    sale: Mapped[Sale | None] = relationship()


class LedgerBalance(db.Model):
    """An organization's balance in one currency: the sum of its ledger entries, kept by
    the database itself (migration 0020's triggers on ``ledger_entries``, in the
    transaction of each insert, whichever code writes it), so that a page shows a
    balance without adding up a buyer's hundreds of thousands of entries. The ledger
    stays the truth (append-only); ``billing.ledger.summed_balances`` adds it up."""

    __tablename__ = "ledger_balances"

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), primary_key=True
    )
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    balance_cents: Mapped[int] = mapped_column(BigInteger, default=0)


class PurchaseCount(db.Model):
    """How many purchases (sales) a buyer has: kept by the database at each sale
    (migration 0020's trigger on ``sales``), for the inbox's unfiltered count."""

    __tablename__ = "purchase_counts"

    buyer_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), primary_key=True
    )
    purchases: Mapped[int] = mapped_column(BigInteger, default=0)


class PurchaseWeek(db.Model):
    """A buyer's purchases of one UTC week (``week``: its Monday), campaign (0: none, the
    catalogue) and sector, added up as the dashboard reads them (buyers/dashboard.py):
    kept by the database at each sale, outcome, dispute and decision (migration 0027's
    triggers), so that a year's dashboard adds up a few thousand rows instead of 240,000
    purchases. The sales stay the truth; a test compares the two after every kind of
    change."""

    __tablename__ = "purchase_weeks"

    buyer_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), primary_key=True
    )
    week: Mapped[date] = mapped_column(Date, primary_key=True)
    campaign_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    sector_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    purchases: Mapped[int]
    spend_cents: Mapped[int] = mapped_column(BigInteger)
    contacted: Mapped[int]
    won: Mapped[int]
    revenue_cents: Mapped[int] = mapped_column(BigInteger)
    disputes: Mapped[int]
    credits_cents: Mapped[int] = mapped_column(BigInteger)


class PurchaseSearch(db.Model):
    """A purchase's searched text (its lead's name, company, e-mail and phone, lowered)
    beside its buyer, kept by the database at each sale and each change of the lead
    (rectification, erasure: migration 0027's triggers). Under a GIN index on (buyer,
    trigrams) on PostgreSQL, a search reads the buyer's matching purchases only."""

    __tablename__ = "purchase_search"

    sale_id: Mapped[int] = mapped_column(
        ForeignKey("sales.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    buyer_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    search_text: Mapped[str] = mapped_column(Text)


class DisputeReason(enum.StrEnum):
    INVALID_CONTACT = "invalid_contact"
    DUPLICATE = "duplicate"
    OUT_OF_TARGET = "out_of_target"
    NO_CONSENT = "no_consent"
    FAKE = "fake"
    OTHER = "other"


class DisputeStatus(enum.StrEnum):
    OPEN = "open"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


# The rules that accept a dispute by themselves (marketplace.returns): each platform
# flag, and the buyer's monthly return cap.
DECIDING_RULES = (
    "duplicate_found_later",
    "suppressed_person",
    "erased_contact",
    "bounced_email",
    "return_cap",
)


class Dispute(db.Model):
    __tablename__ = "disputes"
    __table_args__ = (
        CheckConstraint(
            "decided_by_rule IS NULL OR decided_by_rule IN ("
            + ", ".join(f"'{rule}'" for rule in DECIDING_RULES)
            + ")",
            name="decided_by_rule_known",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # One dispute per sale.
    sale_id: Mapped[int] = mapped_column(ForeignKey("sales.id", ondelete="RESTRICT"), unique=True)
    buyer_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    reason: Mapped[DisputeReason] = mapped_column(str_enum(DisputeReason, "dispute_reason"))
    comment: Mapped[str | None] = mapped_column(Text)
    status: Mapped[DisputeStatus] = mapped_column(
        str_enum(DisputeStatus, "dispute_status"), default=DisputeStatus.OPEN, index=True
    )
    resolution_note: Mapped[str | None] = mapped_column(Text)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An accepted dispute is a credit on the next invoice, or (the admin's choice, for
    # a lead already invoiced and paid) a refund through Stripe.
    refund: Mapped[bool] = mapped_column(default=False)
    stripe_refund_id: Mapped[str | None] = mapped_column(String(64))
    # Accepted by a rule, with no admin (resolved_by_id is then empty): which one.
    decided_by_rule: Mapped[str | None] = mapped_column(String(32))

    sale: Mapped[Sale] = relationship()
    resolved_by: Mapped[User | None] = relationship()


class OutcomeChange(db.Model):
    """One move of a purchase in the buyer's pipeline: who, when, to what."""

    __tablename__ = "outcome_changes"
    __table_args__ = (
        CheckConstraint(
            "status IN ('new', 'contacted', 'meeting', 'won', 'lost')", name="status_known"
        ),
        CheckConstraint("amount_cents IS NULL OR amount_cents >= 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("sales.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    amount_cents: Mapped[int | None]
    lost_reason: Mapped[str | None] = mapped_column(String(30))
    changed_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    via: Mapped[str] = mapped_column(String(10))  # "portal" or "api"
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    sale: Mapped[Sale] = relationship(back_populates="outcome_changes")
    changed_by: Mapped[User | None] = relationship()


class DeliveryChannel(enum.StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"  # every retry used


class Delivery(db.Model):
    """One event of a sale to one channel of the buyer (the portal needs none)."""

    __tablename__ = "deliveries"
    __table_args__ = (
        # Created once per sale, channel, event and occasion, whatever the retries of
        # the job (the occasion tells apart two rectifications of one lead).
        UniqueConstraint("sale_id", "channel", "event", "occasion"),
        Index("ix_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sale_id: Mapped[int] = mapped_column(ForeignKey("sales.id", ondelete="CASCADE"))
    channel: Mapped[DeliveryChannel] = mapped_column(str_enum(DeliveryChannel, "channel"))
    event: Mapped[str] = mapped_column(String(40))
    # What caused an event that may recur ("privacy:<request id>"); empty for the others.
    occasion: Mapped[str] = mapped_column(String(40), default="", server_default="")
    target: Mapped[str] = mapped_column(String(500))
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus, "delivery_status"), default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    sale: Mapped[Sale] = relationship()
    attempt_log: Mapped[list[DeliveryAttempt]] = relationship(
        order_by="DeliveryAttempt.id", back_populates="delivery"
    )


class DeliveryAttempt(db.Model):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), index=True
    )
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status_code: Mapped[int | None]
    duration_ms: Mapped[int]
    error: Mapped[str | None] = mapped_column(String(500))
    manual: Mapped[bool] = mapped_column(default=False)

    delivery: Mapped[Delivery] = relationship(back_populates="attempt_log")
