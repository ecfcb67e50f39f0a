"""Campaigns: a buyer's standing order for leads, and what each has consumed."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.extensions import db
from marketplace.models.catalogue import Sector
from marketplace.models.organizations import Organization
from marketplace.models.types import JSONType, UTCDateTime, str_enum, utcnow

campaign_sectors = Table(
    "campaign_sectors",
    db.metadata,
    Column("campaign_id", ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("sector_id", ForeignKey("sectors.id", ondelete="RESTRICT"), primary_key=True),
    # Matching starts from the lead's sector: find campaigns by sector fast.
    Index("ix_campaign_sectors_sector_id", "sector_id"),
)


class CampaignStatus(enum.StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    ARCHIVED = "archived"


class Campaign(db.Model):
    __tablename__ = "campaigns"
    __table_args__ = (
        CheckConstraint("price_cents > 0", name="price_positive"),
        CheckConstraint(
            "exclusive_price_cents IS NULL OR exclusive_price_cents > 0",
            name="exclusive_price_positive",
        ),
        CheckConstraint("daily_cap IS NULL OR daily_cap > 0", name="daily_cap_positive"),
        CheckConstraint("monthly_cap IS NULL OR monthly_cap > 0", name="monthly_cap_positive"),
        CheckConstraint(
            "monthly_budget_cents IS NULL OR monthly_budget_cents > 0", name="budget_positive"
        ),
        CheckConstraint("min_score BETWEEN 0 AND 100", name="min_score_range"),
        CheckConstraint("min_source_quality BETWEEN 0 AND 100", name="min_source_quality_range"),
        Index("ix_campaigns_buyer_id_status", "buyer_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(120))
    status: Mapped[CampaignStatus] = mapped_column(
        str_enum(CampaignStatus, "campaign_status"), default=CampaignStatus.ACTIVE
    )
    # Geography; an empty list means "anywhere" for that dimension.
    countries: Mapped[list] = mapped_column(JSONType, default=lambda: ["FR"])
    departments: Mapped[list] = mapped_column(JSONType, default=list)
    postcode_prefixes: Mapped[list] = mapped_column(JSONType, default=list)
    company_sizes: Mapped[list] = mapped_column(JSONType, default=list)
    magnet_kinds: Mapped[list] = mapped_column(JSONType, default=list)
    min_score: Mapped[int] = mapped_column(default=0)
    # The lowest source quality score (0-100) of the leads it takes; 0 takes any source.
    min_source_quality: Mapped[int] = mapped_column(default=0, server_default="0")
    price_cents: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    wants_exclusive: Mapped[bool] = mapped_column(default=False)
    exclusive_price_cents: Mapped[int | None]
    daily_cap: Mapped[int | None]
    monthly_cap: Mapped[int | None]
    monthly_budget_cents: Mapped[int | None]
    # {"mon": [["09:00", "18:00"]], ...}; empty means always open.
    opening_hours: Mapped[dict] = mapped_column(JSONType, default=dict)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    email_recipients: Mapped[list] = mapped_column(JSONType, default=list)
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret: Mapped[str | None] = mapped_column(String(128))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    buyer: Mapped[Organization] = relationship()
    sectors: Mapped[list[Sector]] = relationship(secondary=campaign_sectors)


class UsagePeriod(enum.StrEnum):
    DAY = "day"
    MONTH = "month"


class CampaignUsage(db.Model):
    """Leads and money a campaign consumed in one day or month.

    Counters are consumed with a conditional UPDATE (``... WHERE leads < cap``)
    so two workers selling at once can never pass a cap or a budget.
    """

    __tablename__ = "campaign_usage"
    __table_args__ = (
        CheckConstraint("leads >= 0", name="leads_positive"),
        CheckConstraint("spent_cents >= 0", name="spent_positive"),
    )

    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True
    )
    period: Mapped[UsagePeriod] = mapped_column(
        str_enum(UsagePeriod, "usage_period"), primary_key=True
    )
    # The day, or the first day of the month, in the campaign's timezone.
    period_start: Mapped[date] = mapped_column(primary_key=True)
    leads: Mapped[int] = mapped_column(default=0)
    spent_cents: Mapped[int] = mapped_column(default=0)
