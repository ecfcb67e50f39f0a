"""A magnet's results over a period, per variant of its form and for the leads posted
through the API (docs/capture.md, "A magnet's results").

Every figure is about the leads the magnet captured in the period (a cohort, dated by
the day each lead was captured) and what became of them since: their sales, whenever
made, their prices, the publisher's earnings on them (less reversals), their buyers'
ratings and disputes. Views are dated by the hour the form was shown (``magnet_views``).
Days are the reader's: each is summed by the database in one GROUP BY over a day bucket
(``marketplace.reporting.bucket_of``), four queries whatever the number of days.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, literal, select

from marketplace.analytics import ab_test
from marketplace.extensions import db
from marketplace.governance.overview import Period
from marketplace.magnets import own_magnet
from marketplace.models import (
    ConsentRecord,
    Dispute,
    Lead,
    LeadStatus,
    LedgerEntry,
    LedgerKind,
    MagnetViews,
    Sale,
)
from marketplace.reporting import bucket_of, day_start, day_starts, for_large_reads

# The lines of the results: the form's two variants, then the leads of the API.
VARIANTS = ("a", "b")
API = "api"
DEFAULT_CURRENCY = "EUR"


@dataclass
class LineFigures:
    """One line of the results (variant A, variant B, the API's leads, or all of them),
    for a day or the whole period. Rates are None when their denominator is 0."""

    views: int = 0  # form views (none for the API's leads)
    submissions: int = 0  # leads captured, whatever became of them
    form_submissions: int = 0  # of those, sent through the form: the conversion's numerator
    duplicates: int = 0
    rejected: int = 0  # refused at capture or suppressed later, never sold
    disqualified: int = 0  # unsold because no campaign at all targets them
    sold: int = 0  # leads with at least one sale
    sales: int = 0  # the sales of those leads (one per buyer)
    disputed_sales: int = 0
    ratings: int = 0  # sales their buyer rated
    rating_stars: int = 0  # the sum of those ratings
    revenue_cents: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    earnings_cents: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def conversion(self) -> float | None:
        """Form submissions / form views. None without views, and None rather than a
        rate above 100 % (a form shown before the period and sent in it, or before
        views were counted per hour)."""
        if not self.views or self.form_submissions > self.views:
            return None
        return self.form_submissions / self.views

    @property
    def duplicate_rate(self) -> float | None:
        return self.duplicates / self.submissions if self.submissions else None

    @property
    def rejected_rate(self) -> float | None:
        return self.rejected / self.submissions if self.submissions else None

    @property
    def disqualified_rate(self) -> float | None:
        return self.disqualified / self.submissions if self.submissions else None

    @property
    def buyers_per_sold_lead(self) -> float | None:
        return self.sales / self.sold if self.sold else None

    @property
    def average_rating(self) -> float | None:
        return self.rating_stars / self.ratings if self.ratings else None

    @property
    def dispute_rate(self) -> float | None:
        """Disputed sales / sales: at most 100 % (one dispute per sale)."""
        return self.disputed_sales / self.sales if self.sales else None

    def add(self, other: LineFigures) -> None:
        for name in (
            "views",
            "submissions",
            "form_submissions",
            "duplicates",
            "rejected",
            "disqualified",
            "sold",
            "sales",
            "disputed_sales",
            "ratings",
            "rating_stars",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for name in ("revenue_cents", "earnings_cents"):
            for currency, cents in getattr(other, name).items():
                getattr(self, name)[currency] += cents


@dataclass
class MagnetResults:
    magnet_id: int
    period: Period
    zone: str
    lines: dict[str, LineFigures]  # "a", "b" (when the magnet has or had one), "api" (if any)
    total: LineFigures
    days: list[tuple[date, dict[str, LineFigures]]]  # views and submissions per line
    currencies: list[str]  # money moved in (the default one when none did)
    # The A/B test over the period; None while the magnet has no variant B.
    comparison: ab_test.Comparison | None


def _line():
    """The line a lead counts on: the API's, else its form variant."""
    return case(
        (ConsentRecord.channel == API, literal(API)),
        (Lead.variant == "b", literal("b")),
        else_=literal("a"),
    )


def _cohort(query, magnet_id: int, since, end):
    """The query restricted to the magnet's leads captured in [since, end), with their
    consent record (a lead's channel)."""
    return query.outerjoin(ConsentRecord, ConsentRecord.lead_id == Lead.id).where(
        Lead.magnet_id == magnet_id, Lead.created_at >= since, Lead.created_at < end
    )


def magnet_results(
    publisher_id: int, magnet_id: int, period: Period, zone: ZoneInfo
) -> MagnetResults:
    """The publisher's magnet's figures over ``period`` (days of ``zone``), per line and
    per day; NotFound when the magnet is not the publisher's."""
    magnet = own_magnet(publisher_id, magnet_id)
    starts = day_starts(period.first_day, period.last_day, zone)
    since, end = starts[0], day_start(period.last_day + timedelta(days=1), zone)
    per_day: list[dict[str, LineFigures]] = [defaultdict(LineFigures) for _ in starts]
    lines: dict[str, LineFigures] = defaultdict(LineFigures)

    for_large_reads()
    # Views, by the day of the hour they were counted in.
    views = (
        select(
            bucket_of(MagnetViews.hour, starts).label("day"),
            MagnetViews.variant,
            MagnetViews.views,
        )
        .where(
            MagnetViews.magnet_id == magnet.id,
            MagnetViews.hour >= since,
            MagnetViews.hour < end,
        )
        .subquery()
    )
    for day, variant, count in db.session.execute(
        select(views.c.day, views.c.variant, func.sum(views.c.views)).group_by(
            views.c.day, views.c.variant
        )
    ):
        per_day[day][variant].views += int(count)

    # Leads, by the day they were captured and their line: what became of them.
    leads = _cohort(
        select(
            bucket_of(Lead.created_at, starts).label("day"),
            _line().label("line"),
            Lead.status,
            Lead.sales_count,
            Lead.disqualified_for,
        ),
        magnet.id,
        since,
        end,
    ).subquery()
    sold = leads.c.sales_count > 0
    disqualified = (leads.c.status == LeadStatus.UNSOLD) & leads.c.disqualified_for.is_not(None)
    for (
        day,
        line,
        count,
        duplicates,
        rejected,
        disqualified_count,
        sold_count,
    ) in db.session.execute(
        select(
            leads.c.day,
            leads.c.line,
            func.count(),
            func.sum(case((leads.c.status == LeadStatus.DUPLICATE, 1), else_=0)),
            func.sum(case((sold, 0), (leads.c.status == LeadStatus.REJECTED, 1), else_=0)),
            func.sum(case((disqualified, 1), else_=0)),
            func.sum(case((sold, 1), else_=0)),
        ).group_by(leads.c.day, leads.c.line)
    ):
        figures = per_day[day][line]
        figures.submissions += count
        figures.form_submissions += 0 if line == API else count
        figures.duplicates += int(duplicates or 0)
        figures.rejected += int(rejected or 0)
        figures.disqualified += int(disqualified_count or 0)
        figures.sold += int(sold_count or 0)
    for daily in per_day:
        for line, figures in daily.items():
            lines[line].add(figures)

    # The sales of those leads, whenever made: prices, ratings, disputes.
    sales = _cohort(
        select(
            _line().label("line"),
            Sale.currency,
            Sale.price_cents,
            Sale.rating_stars,
            Dispute.id.label("dispute_id"),
        )
        .select_from(Sale)
        .join(Lead, Lead.id == Sale.lead_id)
        .outerjoin(Dispute, Dispute.sale_id == Sale.id),
        magnet.id,
        since,
        end,
    ).subquery()
    for line, currency, count, revenue, disputed, ratings, stars in db.session.execute(
        select(
            sales.c.line,
            sales.c.currency,
            func.count(),
            func.sum(sales.c.price_cents),
            func.count(sales.c.dispute_id),
            func.count(sales.c.rating_stars),
            func.sum(sales.c.rating_stars),
        ).group_by(sales.c.line, sales.c.currency)
    ):
        figures = lines[line]
        figures.sales += count
        figures.disputed_sales += disputed
        figures.ratings += ratings
        figures.rating_stars += int(stars or 0)
        figures.revenue_cents[currency] += int(revenue or 0)

    # The publisher's earnings on those sales, less the reversals of accepted disputes.
    earnings = _cohort(
        select(_line().label("line"), LedgerEntry.currency, LedgerEntry.amount_cents)
        .select_from(LedgerEntry)
        .join(Sale, Sale.id == LedgerEntry.sale_id)
        .join(Lead, Lead.id == Sale.lead_id)
        .where(
            LedgerEntry.kind.in_((LedgerKind.PUBLISHER_EARNING, LedgerKind.EARNING_REVERSAL)),
            LedgerEntry.organization_id == publisher_id,
        ),
        magnet.id,
        since,
        end,
    ).subquery()
    for line, currency, amount in db.session.execute(
        select(earnings.c.line, earnings.c.currency, func.sum(earnings.c.amount_cents)).group_by(
            earnings.c.line, earnings.c.currency
        )
    ):
        lines[line].earnings_cents[currency] += int(amount or 0)

    has_b = magnet.has_variant_b or bool(lines.get("b"))
    shown = ["a", *(["b"] if has_b else []), *([API] if API in lines else [])]
    ordered = {line: lines.get(line) or LineFigures() for line in shown}
    total = LineFigures()
    for figures in ordered.values():
        total.add(figures)
    currencies = sorted(
        {*total.revenue_cents, *total.earnings_cents},
        key=lambda code: (code != DEFAULT_CURRENCY, code),
    )
    comparison = None
    if has_b:
        a, b = ordered["a"], ordered["b"]
        comparison = ab_test.compare(a.views, a.form_submissions, b.views, b.form_submissions)
    return MagnetResults(
        magnet_id=magnet.id,
        period=period,
        zone=zone.key,
        lines=ordered,
        total=total,
        days=[
            (period.first_day + timedelta(days=n), {line: daily[line] for line in shown})
            for n, daily in enumerate(per_day)
        ],
        currencies=currencies or [DEFAULT_CURRENCY],
        comparison=comparison,
    )
