"""The platform's overview for admins: leads, sales, money and disputes per day over a
chosen period, and the privacy requests waiting now (docs/admin.md, "Overview").

Days are the reader's (midnight to midnight in their timezone, summer time included).
Every figure family is summed by the database in one GROUP BY over a day bucket
(``marketplace.reporting.bucket_of``), whatever the number of days: six small queries
for a page.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, literal, select

from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.models import (
    Dispute,
    DisputeStatus,
    Lead,
    LeadStatus,
    LedgerEntry,
    LedgerKind,
    Sale,
    utcnow,
)
from marketplace.privacy import requests as privacy_requests
from marketplace.reporting import bucket_of, day_start, day_starts, for_large_reads

# The periods offered in one click, in days; the default one.
PERIODS_IN_DAYS = (7, 30, 90)
DEFAULT_DAYS = 30
# A chosen range: a year, a leap year included.
MAX_DAYS = 366
# Shown when no money moved in the period.
DEFAULT_CURRENCY = "EUR"


@dataclass(frozen=True)
class Period:
    """The days from ``first_day`` to ``last_day``, both included, in the reader's zone."""

    first_day: date
    last_day: date

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @classmethod
    def last(cls, days: int, today: date) -> Period:
        """The ``days`` days ending with ``today``."""
        return cls(today - timedelta(days=days - 1), today)


def check_period(first_day: date, last_day: date) -> Period:
    """A chosen range, or ValidationFailed naming the field at fault (``to``)."""
    if last_day < first_day:
        raise ValidationFailed(fields={"to": str(_l("The end must be on or after the start."))})
    period = Period(first_day, last_day)
    if period.days > MAX_DAYS:
        raise ValidationFailed(fields={"to": str(_l("Choose at most %(n)d days.", n=MAX_DAYS))})
    return period


@dataclass
class LeadFigures:
    """Leads captured, by what became of them. ``sold``: at least one sale, whatever
    the status since (an erased lead that was sold stays sold); ``rejected``: refused at
    capture or suppressed (the person objected); ``waiting``: pending distribution;
    ``unsold``: the rest (offered, nobody bought it; also erased before any sale)."""

    captured: int = 0
    sold: int = 0
    unsold: int = 0
    duplicate: int = 0
    rejected: int = 0
    waiting: int = 0

    @property
    def offered(self) -> int:
        """The leads that could be sold: duplicates and rejected ones never are."""
        return self.captured - self.duplicate - self.rejected

    @property
    def sold_rate(self) -> float | None:
        """Sold / offered; None when nothing was offered."""
        return self.sold / self.offered if self.offered else None

    def add(self, other: LeadFigures) -> None:
        for name in ("captured", "sold", "unsold", "duplicate", "rejected", "waiting"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class MoneyFigures:
    """Integer cents in one currency, net of VAT (the ledger is)."""

    revenue_cents: int = 0  # the prices of the sales made
    earnings_cents: int = 0  # publishers' earnings booked, less their reversals
    credits_cents: int = 0  # buyers' credits for accepted disputes

    @property
    def margin_cents(self) -> int:
        return self.revenue_cents - self.earnings_cents - self.credits_cents

    def add(self, other: MoneyFigures) -> None:
        self.revenue_cents += other.revenue_cents
        self.earnings_cents += other.earnings_cents
        self.credits_cents += other.credits_cents


@dataclass
class Figures:
    """One day's figures, or the whole period's."""

    leads: LeadFigures = field(default_factory=LeadFigures)
    sales: int = 0
    # Of those sales, how many a buyer disputed (so far): the dispute rate's numerator.
    disputed_sales: int = 0
    disputes_opened: int = 0  # dated by the day the buyer opened them
    disputes_accepted: int = 0  # dated by the day an admin accepted them
    money: dict[str, MoneyFigures] = field(default_factory=lambda: defaultdict(MoneyFigures))

    @property
    def dispute_rate(self) -> float | None:
        """Disputed sales / sales: never above 100 % (one dispute per sale at most)."""
        return self.disputed_sales / self.sales if self.sales else None

    def in_currency(self, currency: str) -> MoneyFigures:
        return self.money.get(currency) or MoneyFigures()

    def add(self, other: Figures) -> None:
        self.leads.add(other.leads)
        self.sales += other.sales
        self.disputed_sales += other.disputed_sales
        self.disputes_opened += other.disputes_opened
        self.disputes_accepted += other.disputes_accepted
        for currency, money in other.money.items():
            self.money[currency].add(money)


@dataclass
class Overview:
    period: Period
    zone: str
    days: list[tuple[date, Figures]]
    total: Figures
    # The currencies money moved in over the period (the default one when none did).
    currencies: list[str]
    privacy_open: int
    privacy_overdue: int
    as_of: datetime


def _lead_outcome():
    """What became of a lead, as the overview counts it (LeadFigures)."""
    return case(
        (Lead.sales_count > 0, literal("sold")),
        (Lead.status == LeadStatus.DUPLICATE, literal("duplicate")),
        (Lead.status == LeadStatus.REJECTED, literal("rejected")),
        (Lead.status == LeadStatus.PENDING, literal("waiting")),
        else_=literal("unsold"),
    )


def overview(period: Period, zone: ZoneInfo, now: datetime | None = None) -> Overview:
    """The platform's figures per day of ``period`` (days of ``zone``) and in total, and
    the privacy requests open and overdue at ``now``."""
    now = now or utcnow()
    starts = day_starts(period.first_day, period.last_day, zone)
    since, end = starts[0], day_start(period.last_day + timedelta(days=1), zone)
    per_day = [Figures() for _ in starts]

    for_large_reads(in_memory=True)
    # Leads, by the day they were captured and what became of them.
    leads = (
        select(bucket_of(Lead.created_at, starts).label("day"), _lead_outcome().label("outcome"))
        .where(
            # Every status, named: PostgreSQL then reads the period from the index on
            # (status, created_at), one range per status, instead of every lead.
            Lead.status.in_(list(LeadStatus)),
            Lead.created_at >= since,
            Lead.created_at < end,
        )
        .subquery()
    )
    for day, outcome, count in db.session.execute(
        select(leads.c.day, leads.c.outcome, func.count()).group_by(leads.c.day, leads.c.outcome)
    ):
        figures = per_day[day].leads
        setattr(figures, outcome, getattr(figures, outcome) + count)
        figures.captured += count

    # Sales, by the day they were made: how many, their prices, how many were disputed.
    sales = (
        select(
            bucket_of(Sale.created_at, starts).label("day"),
            Sale.currency,
            Sale.price_cents,
            Dispute.id.label("dispute_id"),
        )
        .outerjoin(Dispute, Dispute.sale_id == Sale.id)
        .where(Sale.created_at >= since, Sale.created_at < end)
        .subquery()
    )
    for day, currency, count, revenue, disputed in db.session.execute(
        select(
            sales.c.day,
            sales.c.currency,
            func.count(),
            func.sum(sales.c.price_cents),
            func.count(sales.c.dispute_id),
        ).group_by(sales.c.day, sales.c.currency)
    ):
        per_day[day].sales += count
        per_day[day].disputed_sales += disputed
        per_day[day].money[currency].revenue_cents += int(revenue or 0)

    # The ledger, by the day each entry was booked: earnings (positive) and their
    # reversals (negative) net out; an accepted dispute's credit is the sale's price.
    entries = (
        select(
            bucket_of(LedgerEntry.created_at, starts).label("day"),
            LedgerEntry.currency,
            LedgerEntry.kind,
            LedgerEntry.amount_cents,
        )
        .where(
            LedgerEntry.kind.in_(
                (
                    LedgerKind.PUBLISHER_EARNING,
                    LedgerKind.EARNING_REVERSAL,
                    LedgerKind.DISPUTE_CREDIT,
                )
            ),
            LedgerEntry.created_at >= since,
            LedgerEntry.created_at < end,
        )
        .subquery()
    )
    for day, currency, kind, amount in db.session.execute(
        select(
            entries.c.day, entries.c.currency, entries.c.kind, func.sum(entries.c.amount_cents)
        ).group_by(entries.c.day, entries.c.currency, entries.c.kind)
    ):
        money = per_day[day].money[currency]
        if kind == LedgerKind.DISPUTE_CREDIT:
            money.credits_cents += int(amount or 0)
        else:
            money.earnings_cents += int(amount or 0)

    # Disputes opened, by the day they were opened; accepted, by the day of the decision.
    for moment, condition, attribute in (
        (Dispute.created_at, Dispute.created_at.is_not(None), "disputes_opened"),
        (Dispute.resolved_at, Dispute.status == DisputeStatus.ACCEPTED, "disputes_accepted"),
    ):
        disputes = (
            select(bucket_of(moment, starts).label("day"))
            .where(condition, moment >= since, moment < end)
            .subquery()
        )
        for day, count in db.session.execute(
            select(disputes.c.day, func.count()).group_by(disputes.c.day)
        ):
            setattr(per_day[day], attribute, getattr(per_day[day], attribute) + count)

    total = Figures()
    for figures in per_day:
        total.add(figures)
    currencies = sorted(total.money, key=lambda code: (code != DEFAULT_CURRENCY, code))
    privacy_open, privacy_overdue = privacy_requests.open_counts(now)
    return Overview(
        period=period,
        zone=zone.key,
        days=[(period.first_day + timedelta(days=n), figures) for n, figures in enumerate(per_day)],
        total=total,
        currencies=currencies or [DEFAULT_CURRENCY],
        privacy_open=privacy_open,
        privacy_overdue=privacy_overdue,
        as_of=now,
    )
