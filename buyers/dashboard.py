"""What a buyer's leads bring: for the organization, and per week, campaign and sector,
over a chosen number of weeks.

Every rate is a share of the leads bought in the period, so none can pass 100 %:
contacted (the deal moved past "new"), won; the CPL is the spend per lead; the ROI
compares the won deals' amounts with the spend; credits are the prices of accepted
disputes. The database adds the purchases up per week, campaign and sector together
(``_sums`` says what each figure counts) and the breakdowns are folded from those
groups: a period of 250,000 purchases comes back as a few thousand rows.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import get_timezone
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import joinedload

from marketplace.extensions import db
from marketplace.models import (
    Campaign,
    Dispute,
    DisputeStatus,
    Outcome,
    Sale,
    Sector,
    utcnow,
)
from marketplace.reporting import bucket_of, for_large_reads

PERIODS_IN_WEEKS = (4, 12, 26, 52)


@dataclass
class Figures:
    """The figures of one group of purchases (a week, a campaign, a sector, all)."""

    leads: int = 0
    spend_cents: int = 0
    contacted: int = 0
    won: int = 0
    revenue_cents: int = 0
    disputes: int = 0
    credits_cents: int = 0

    def add(self, other: Figures) -> None:
        """Count ``other``'s purchases in this group too."""
        self.leads += other.leads
        self.spend_cents += other.spend_cents
        self.contacted += other.contacted
        self.won += other.won
        self.revenue_cents += other.revenue_cents
        self.disputes += other.disputes
        self.credits_cents += other.credits_cents

    @property
    def cpl_cents(self) -> int | None:
        return round(self.spend_cents / self.leads) if self.leads else None

    @property
    def contact_rate(self) -> float | None:
        return self.contacted / self.leads if self.leads else None

    @property
    def won_rate(self) -> float | None:
        return self.won / self.leads if self.leads else None

    @property
    def roi(self) -> float | None:
        """(revenue - net spend) / net spend; none while nothing was spent."""
        spent = self.spend_cents - self.credits_cents
        return (self.revenue_cents - spent) / spent if spent > 0 else None


def _sums(purchases) -> tuple:
    """What each figure of a group of ``purchases`` sums, in Figures' order: a purchase is
    contacted once its deal moved past "new" (it has an outcome), won with its amount,
    disputed whatever the verdict, and credited its price when the dispute was accepted."""
    won = purchases.c.outcome == Outcome.WON
    accepted = purchases.c.dispute_status == DisputeStatus.ACCEPTED
    return (
        func.count(),
        func.sum(purchases.c.price_cents),
        func.count(purchases.c.outcome),
        func.sum(case((won, 1), else_=0)),
        func.sum(case((won, func.coalesce(purchases.c.outcome_amount_cents, 0)), else_=0)),
        func.count(purchases.c.dispute_id),
        func.sum(case((accepted, purchases.c.price_cents), else_=0)),
    )


@dataclass(frozen=True)
class SectorName:
    """A sector's label in each language: plain values, which outlive the session."""

    fr: str
    en: str

    def label(self, locale: str = "fr") -> str:
        return self.fr if locale == "fr" else self.en


@dataclass
class Dashboard:
    since: datetime
    weeks: list[tuple[date, Figures]]
    total: Figures = field(default_factory=Figures)
    by_campaign: list[tuple[str | None, Figures]] = field(default_factory=list)
    by_sector: list[tuple[SectorName, Figures]] = field(default_factory=list)


def _zone() -> ZoneInfo:
    return ZoneInfo(str(get_timezone()))


def _week_start(moment: datetime, zone: ZoneInfo) -> date:
    local = moment.astimezone(zone).date()
    return local - timedelta(days=local.weekday())


def dashboard(buyer_id: int, weeks: int = 12, now: datetime | None = None) -> Dashboard:
    """The buyer's figures over the last ``weeks`` weeks (Monday to Sunday, in the
    organization's timezone)."""
    zone = _zone()
    now = now or utcnow()
    first_week = _week_start(now, zone) - timedelta(weeks=weeks - 1)
    mondays = [first_week + timedelta(weeks=n) for n in range(weeks)]
    starts = [datetime.combine(monday, time.min, tzinfo=zone) for monday in mondays]
    since, end = starts[0], starts[-1] + timedelta(weeks=1)
    purchases = (
        select(
            bucket_of(Sale.created_at, starts).label("week"),
            Sale.campaign_id,
            Sale.sector_id,
            Sale.price_cents,
            Sale.outcome,
            Sale.outcome_amount_cents,
            Dispute.id.label("dispute_id"),
            Dispute.status.label("dispute_status"),
        )
        # The buyer's disputes only (a dispute is its sale's buyer's): a few thousand
        # rows to look the purchases up in, not the platform's.
        .outerjoin(Dispute, and_(Dispute.sale_id == Sale.id, Dispute.buyer_id == buyer_id))
        .where(Sale.buyer_id == buyer_id, Sale.created_at >= since, Sale.created_at < end)
        .subquery()
    )
    for_large_reads(in_memory=True)
    groups = db.session.execute(
        select(
            purchases.c.week, purchases.c.campaign_id, purchases.c.sector_id, *_sums(purchases)
        ).group_by(purchases.c.week, purchases.c.campaign_id, purchases.c.sector_id)
    ).all()
    total = Figures()
    by_week = [Figures() for _ in mondays]
    by_campaign: dict[int | None, Figures] = defaultdict(Figures)
    by_sector: dict[int, Figures] = defaultdict(Figures)
    for week, campaign_id, sector_id, *sums in groups:
        figures = Figures(*(int(value or 0) for value in sums))
        for group in (total, by_week[week], by_campaign[campaign_id], by_sector[sector_id]):
            group.add(figures)
    names = dict(
        db.session.execute(
            select(Campaign.id, Campaign.name).where(Campaign.id.in_(list(by_campaign)))
        ).all()
    )
    sectors = {
        sector.id: SectorName(fr=sector.label("fr"), en=sector.label("en"))
        for sector in db.session.scalars(
            select(Sector).options(joinedload(Sector.parent)).where(Sector.id.in_(list(by_sector)))
        )
    }
    return Dashboard(
        since=since,
        weeks=list(zip(mondays, by_week, strict=True)),
        total=total,
        by_campaign=sorted(
            ((names.get(key), figures) for key, figures in by_campaign.items()),
            key=lambda pair: -pair[1].leads,
        ),
        by_sector=sorted(
            ((sectors[key], figures) for key, figures in by_sector.items()),
            key=lambda pair: -pair[1].leads,
        ),
    )
