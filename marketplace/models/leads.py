"""Leads and the consent records that prove each one may be shared."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models.catalogue import ConsentText, LeadMagnet, Sector
from marketplace.models.organizations import Organization
from marketplace.models.types import JSONType, UTCDateTime, str_enum, utcnow


class LeadStatus(enum.StrEnum):
    PENDING = "pending"
    DISTRIBUTED = "distributed"
    UNSOLD = "unsold"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    ERASED = "erased"


# The leads a buyer may buy from the catalogue, as the partial index on them
# (migration 0030) states it; marketplace/lead_catalogue.py's ``_on_sale`` says the same
# (tests/buyers/test_catalogue.py checks that the two agree).
ON_SALE_STATUSES = (LeadStatus.DISTRIBUTED, LeadStatus.UNSOLD)
LEADS_ON_SALE = (
    f"status IN ({', '.join(repr(status.value) for status in ON_SALE_STATUSES)}) "
    "AND sales_count < max_buyers AND sold_exclusively IS false"
)


class Temperature(enum.StrEnum):
    """How warm the lead's score is, by its scoring model's thresholds. Where the lead
    is in its life (disqualified, recycled) is told by columns of their own
    (``Lead.disqualified_for``, ``Lead.recycled_from_id``): a recycled lead is warm or
    cold as well (migration 0024)."""

    COLD = "cold"
    WARM = "warm"
    HOT = "hot"


class Lead(db.Model):
    __tablename__ = "leads"
    __table_args__ = (
        CheckConstraint("max_buyers BETWEEN 1 AND 5", name="max_buyers_range"),
        CheckConstraint("sales_count >= 0 AND sales_count <= max_buyers", name="sales_within_max"),
        CheckConstraint("score IS NULL OR score BETWEEN 0 AND 100", name="score_range"),
        # Dedupe (the same person in a sector, recently), buyer dedupe and GDPR look-ups.
        Index("ix_leads_email_hash_sector", "email_hash", "sector_id", "created_at"),
        # The same by phone: a capture's recycling look-up reads the sector's window
        # (migration 0029).
        Index("ix_leads_phone_hash_sector", "phone_hash", "sector_id", "created_at"),
        Index("ix_leads_status_created_at", "status", "created_at"),
        # The leads on sale in the catalogue, newest first: a page stops once full
        # (marketplace/lead_catalogue.py, ``_on_sale``, the same words; migration 0030,
        # which adds on PostgreSQL the same by score, NULLS LAST, for the score sort).
        Index(
            "ix_leads_on_sale_created_at_id",
            "created_at",
            "id",
            postgresql_where=text(LEADS_ON_SALE),
            sqlite_where=text(LEADS_ON_SALE),
        ),
        # A purchase's lead as the buyer's inbox filters and dashboard read it (sector,
        # temperature, score), from the index alone: a few hundred thousand look-ups
        # without reading the wide rows (PostgreSQL's INCLUDE; migration 0016).
        Index("ix_leads_id_facts", "id", postgresql_include=["sector_id", "temperature", "score"]),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    magnet_id: Mapped[int] = mapped_column(
        ForeignKey("lead_magnets.id", ondelete="RESTRICT"), index=True
    )
    publisher_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True
    )
    sector_id: Mapped[int] = mapped_column(ForeignKey("sectors.id", ondelete="RESTRICT"))
    status: Mapped[LeadStatus] = mapped_column(
        str_enum(LeadStatus, "lead_status"), default=LeadStatus.PENDING
    )
    # Copied from the magnet at capture: the number the person agreed to.
    max_buyers: Mapped[int]
    sales_count: Mapped[int] = mapped_column(default=0)
    # Sold to one buyer alone (it paid more than the shared sales would have): no more places.
    sold_exclusively: Mapped[bool] = mapped_column(default=False)

    # Personal data: nullable so that erasure blanks them and keeps the row.
    first_name: Mapped[str | None] = mapped_column(String(100))
    last_name: Mapped[str | None] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))  # E.164
    job_title: Mapped[str | None] = mapped_column(String(120))
    message: Mapped[str | None] = mapped_column(Text)
    # Hashes of the normalised e-mail and phone: dedupe and GDPR look-ups, kept after erasure.
    email_hash: Mapped[str] = mapped_column(String(64))
    phone_hash: Mapped[str | None] = mapped_column(String(64))

    # Qualification: about the company, not the person.
    company: Mapped[str | None] = mapped_column(String(200))
    siret: Mapped[str | None] = mapped_column(String(14))
    company_size: Mapped[str | None] = mapped_column(String(20))
    budget: Mapped[str | None] = mapped_column(String(20))
    timeframe: Mapped[str | None] = mapped_column(String(20))
    # owner, tenant or other (validation.HOUSINGS): whether the person owns the home
    housing: Mapped[str | None] = mapped_column(String(10))
    postcode: Mapped[str | None] = mapped_column(String(12))
    country: Mapped[str] = mapped_column(String(2), default="FR")

    # Source.
    page_url: Mapped[str | None] = mapped_column(String(2000))
    utm: Mapped[dict] = mapped_column(JSONType, default=dict)
    variant: Mapped[str | None] = mapped_column(String(8))

    # The leads the same person (e-mail hash) left on the platform, any sector, in the
    # EARLIER_VISITS_DAYS before this one: counted by the capture's statement, scored
    # as intent (docs/scoring.md).
    earlier_visits: Mapped[int] = mapped_column(default=0, server_default="0")
    # Recycled: the person's earlier lead in this sector, older than the dedupe window,
    # that went unsold or was returned (docs/capture.md, "Recycled leads").
    recycled_from_id: Mapped[int | None] = mapped_column(
        ForeignKey("leads.id", ondelete="SET NULL")
    )
    # Disqualified: no campaign at all could take it, for a reason of the lead itself
    # (sector, area, kind, size, score, price floor), never a cap, a budget or the hour;
    # the reason is the verdict most campaigns gave (docs/matching.md).
    disqualified_for: Mapped[str | None] = mapped_column(String(40))

    score: Mapped[int | None]
    score_explanation: Mapped[list] = mapped_column(JSONType, default=list)
    temperature: Mapped[Temperature | None] = mapped_column(str_enum(Temperature, "temperature"))

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    distributed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A lead that came when every campaign that wanted it was closed waits until then.
    distribute_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Each campaign considered at distribution and the verdict: sold, or why not.
    distribution_log: Mapped[list] = mapped_column(JSONType, default=list)
    # Why it was kept unsold for its publisher's standing (awaiting approval, suspended):
    # offered again when the publisher is approved or reinstated (marketplace.governance).
    held_for: Mapped[str | None] = mapped_column(String(40))
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    magnet: Mapped[LeadMagnet] = relationship()
    publisher: Mapped[Organization] = relationship()
    sector: Mapped[Sector] = relationship()
    consent: Mapped[ConsentRecord] = relationship(back_populates="lead", uselist=False)
    recycled_from: Mapped[Lead | None] = relationship(remote_side=[id])

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def places_left(self) -> int:
        return 0 if self.sold_exclusively else self.max_buyers - self.sales_count


class IdempotentRequest(db.Model):
    """A posting-API request remembered by its Idempotency-Key, per organization.

    A retried POST with the same key answers what the first one answered; the
    same key with another body is refused.
    """

    __tablename__ = "idempotent_requests"
    __table_args__ = (UniqueConstraint("organization_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(255))
    request_sha256: Mapped[str] = mapped_column(String(64))
    lead_id: Mapped[int | None] = mapped_column(ForeignKey("leads.id", ondelete="SET NULL"))
    status_code: Mapped[int]
    response: Mapped[dict] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PartnerList(db.Model):
    """A partner list as the forms showed it at some time: immutable, shared by every
    consent record given while it was current (one row, not a copy per lead)."""

    __tablename__ = "partner_lists"

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the canonical JSON: the same list is stored once.
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    partners: Mapped[list] = mapped_column(JSONType)  # [{"id": org id, "name": ...}]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsentRecord(db.Model):
    """The proof of consent (GDPR art. 7(1)), written with its lead and never updated."""

    __tablename__ = "consent_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="RESTRICT"), unique=True)
    # Public, unguessable: anyone holding the lead can verify the proof with it.
    certificate_id: Mapped[str] = mapped_column(String(40), unique=True)
    consent_text_id: Mapped[int] = mapped_column(ForeignKey("consent_texts.id"))
    text_sha256: Mapped[str] = mapped_column(String(64))
    checkboxes: Mapped[dict] = mapped_column(JSONType, default=dict)
    # The partners shown at that moment. A lead is only ever sold to a buyer in this list.
    partner_list_id: Mapped[int] = mapped_column(ForeignKey("partner_lists.id"), index=True)
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(500))
    page_url: Mapped[str | None] = mapped_column(String(2000))
    referrer: Mapped[str | None] = mapped_column(String(2000))
    utm: Mapped[dict] = mapped_column(JSONType, default=dict)
    form_variant: Mapped[str | None] = mapped_column(String(8))
    # How the lead came: the hosted or embedded form, or the publisher's server (API).
    channel: Mapped[str] = mapped_column(String(10), default="form")
    # The capture form token's nonce: a token is good for one lead (a replayed post
    # would bypass the minimum fill time), so the second insert with it fails.
    form_nonce: Mapped[str | None] = mapped_column(String(32), unique=True)

    lead: Mapped[Lead] = relationship(back_populates="consent")
    consent_text: Mapped[ConsentText] = relationship()
    partner_list: Mapped[PartnerList] = relationship()

    @property
    def partners(self) -> list[dict]:
        return self.partner_list.partners

    def covers(self, organization_id: int) -> bool:
        return any(partner.get("id") == organization_id for partner in self.partners)
