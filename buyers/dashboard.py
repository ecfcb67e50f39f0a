"""What a buyer's leads bring: for the organization, and per week, campaign and sector,
over a chosen number of weeks.

Every rate is a share of the leads bought in the period, so none can pass 100 %:
contacted (the deal moved past "new"), won; the CPL is the spend per lead; the ROI
compares the won deals' amounts with the spend; credits are the prices of accepted
disputes. One read of the period's purchases feeds every breakdown.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import get_timezone
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import (
    Campaign,
    Dispute,
    DisputeStatus,
    Lead,
    Outcome,
    Sale,
    Sector,
    utcnow,
)

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

    def add(self, price: int, outcome, amount: int | None, dispute) -> None:
        self.leads += 1
        self.spend_cents += price
        if outcome is not None:
            self.contacted += 1
        if outcome is Outcome.WON:
            self.won += 1
            self.revenue_cents += amount or 0
        if dispute is not None:
            self.disputes += 1
            if dispute is DisputeStatus.ACCEPTED:
                self.credits_cents += price

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


@dataclass
class Dashboard:
    since: datetime
    weeks: list[tuple[date, Figures]]
    total: Figures = field(default_factory=Figures)
    by_campaign: list[tuple[str, Figures]] = field(default_factory=list)
    by_sector: list[tuple[Sector, Figures]] = field(default_factory=list)


def _zone() -> ZoneInfo:
    return ZoneInfo(str(get_timezone()))


def _week_start(moment: datetime) -> date:
    local = moment.astimezone(_zone()).date()
    return local - timedelta(days=local.weekday())


def dashboard(buyer_id: int, weeks: int = 12, now: datetime | None = None) -> Dashboard:
    """The buyer's figures over the last ``weeks`` weeks (Monday to Sunday, Paris time)."""
    now = now or utcnow()
    first_week = _week_start(now) - timedelta(weeks=weeks - 1)
    since = datetime.combine(first_week, time.min, tzinfo=_zone())
    rows = db.session.execute(
        select(
            Sale.created_at,
            Sale.price_cents,
            Sale.outcome,
            Sale.outcome_amount_cents,
            Sale.campaign_id,
            Lead.sector_id,
            Dispute.status,
        )
        .join(Lead, Lead.id == Sale.lead_id)
        .outerjoin(Dispute, Dispute.sale_id == Sale.id)
        .where(Sale.buyer_id == buyer_id, Sale.created_at >= since)
        .execution_options(yield_per=5000)
    )
    total = Figures()
    by_week: dict[date, Figures] = {
        first_week + timedelta(weeks=n): Figures() for n in range(weeks)
    }
    by_campaign: dict[int | None, Figures] = defaultdict(Figures)
    by_sector: dict[int, Figures] = defaultdict(Figures)
    for created_at, price, outcome, amount, campaign_id, sector_id, dispute in rows:
        facts = (price, outcome, amount, dispute)
        total.add(*facts)
        by_week.setdefault(_week_start(created_at), Figures()).add(*facts)
        by_campaign[campaign_id].add(*facts)
        by_sector[sector_id].add(*facts)
    names = dict(
        db.session.execute(
            select(Campaign.id, Campaign.name).where(Campaign.id.in_(list(by_campaign)))
        ).all()
    )
    sectors = {
        sector.id: sector
        for sector in db.session.scalars(select(Sector).where(Sector.id.in_(list(by_sector))))
    }
    return Dashboard(
        since=since,
        weeks=sorted(by_week.items()),
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
