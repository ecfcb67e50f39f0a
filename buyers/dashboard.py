"""What a buyer's leads bring: for the organization, and per week, campaign and sector,
over a chosen number of weeks.

Every rate is a share of the leads bought in the period, so none can pass 100 %:
contacted (the deal moved past "new"), won; the CPL is the spend per lead; the ROI
compares the won deals' amounts with the spend; credits are the prices of accepted
disputes. The breakdowns are folded from groups per week, campaign and sector.

The figures are read from ``purchase_weeks``, the purchases added up per UTC week
(from Monday 00:00 UTC), campaign and sector by the database at each sale, outcome,
dispute and decision (migration 0027's triggers, the rule of ``_sums`` written in SQL),
not from the sales: a year of a large buyer is a few thousand rows, not 240,000
purchases. A week here is the organization's (Monday 00:00 in its zone), which a UTC
week does not follow: each UTC week counts in the local week that holds its middle,
and the purchases of the few hours between a local week's first instant and the
nearest UTC Monday midnight (an hour or two in Paris, at most 14 anywhere) are read
from the sales and moved to their own week. Exact, summer time included, and nothing
to rebuild when the organization changes its zone.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask_babel import get_timezone
from sqlalchemy import (
    Boolean,
    Date,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal,
    select,
    union_all,
)
from sqlalchemy.orm import joinedload

from marketplace.extensions import db
from marketplace.models import (
    Campaign,
    Dispute,
    DisputeStatus,
    Outcome,
    PurchaseWeek,
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

    def add(self, other: Figures, sign: int = 1) -> None:
        """Count ``other``'s purchases in this group too (``sign`` -1: take them off)."""
        self.leads += sign * other.leads
        self.spend_cents += sign * other.spend_cents
        self.contacted += sign * other.contacted
        self.won += sign * other.won
        self.revenue_cents += sign * other.revenue_cents
        self.disputes += sign * other.disputes
        self.credits_cents += sign * other.credits_cents

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


def _utc_monday(moment: datetime) -> datetime:
    """The first instant of ``moment``'s UTC week: Monday 00:00 UTC."""
    day = moment.astimezone(UTC).date()
    return datetime.combine(day - timedelta(days=day.weekday()), time.min, tzinfo=UTC)


UTC_WEEK = timedelta(weeks=1)


def _first_weeks(starts: list[datetime]) -> list[date]:
    """For each instant, the first UTC week (its Monday) whose middle is at or after
    it: the UTC weeks counted in local week ``k`` are ``first_weeks[k]`` to
    ``first_weeks[k + 1]`` excluded."""
    weeks = []
    for start in starts:
        monday = _utc_monday(start)
        weeks.append((monday if start <= monday + UTC_WEEK / 2 else monday + UTC_WEEK).date())
    return weeks


def _slices(starts: list[datetime]) -> list[tuple[datetime, datetime, int, int]]:
    """The hours counted in the wrong week by ``_first_weeks``: for each local week's
    first instant (and the period's end), those between it and the nearest UTC Monday
    midnight, as (from, to, their week, the week their UTC week counts in). A week out
    of the period is -1 or ``len(starts) - 1``."""
    slices = []
    for k, start in enumerate(starts):
        monday = _utc_monday(start)
        if start == monday:
            continue  # the local week starts with a UTC week: nothing misplaced
        if start <= monday + UTC_WEEK / 2:
            # The UTC week counts in week k; its hours before the start are week k - 1's.
            slices.append((monday, start, k - 1, k))
        else:
            # The UTC week counts in week k - 1; its hours from the start are week k's.
            slices.append((start, monday + UTC_WEEK, k, k - 1))
    return slices


# The two statements are built once per number of weeks and of slices, with bound
# parameters, and reused: building and fingerprinting a union of 50 selects cost the
# request more Python time than the database spent on it.
@functools.cache
def _kept_query(weeks: int) -> Select:
    """The kept weeks' sums per local week, per campaign and per sector (the database
    folds them: a hundred rows, not the thousands of (week, campaign, sector) groups).
    Parameters: ``buyer``, ``w0`` to ``w{weeks}`` (``_first_weeks``)."""
    kept = PurchaseWeek.__table__
    first_weeks = [bindparam(f"w{n}", type_=Date) for n in range(weeks + 1)]
    kept_weeks = (
        select(
            bucket_of(kept.c.week, first_weeks[:-1]).label("local_week"),
            kept.c.campaign_id,
            kept.c.sector_id,
            *(kept.c[name] for name in KEPT),
        )
        .where(
            kept.c.buyer_id == bindparam("buyer", type_=Integer),
            kept.c.week >= first_weeks[0],
            kept.c.week < first_weeks[-1],
        )
        .cte("kept_weeks")
    )
    sums = [func.sum(kept_weeks.c[name]) for name in KEPT]
    return union_all(
        *(
            select(
                literal(breakdown).label("breakdown"), kept_weeks.c[column].label("key"), *sums
            ).group_by(kept_weeks.c[column])
            for breakdown, column in (
                ("week", "local_week"),
                ("campaign", "campaign_id"),
                ("sector", "sector_id"),
            )
        )
    )


@functools.cache
def _hours_query(count: int) -> Select:
    """The misplaced hours' purchases, summed per (their week, the week their UTC week
    counts in) and, for a slice at the period's ends (``edge``), per campaign and
    sector. Parameters: ``buyer``, and per slice ``b{n}``, ``e{n}`` (from, to), ``k{n}``
    (their week), ``c{n}`` (the counted week), ``x{n}`` (edge)."""
    sales, disputes = Sale.__table__, Dispute.__table__
    buyer = bindparam("buyer", type_=Integer)
    hours = union_all(
        *(
            select(
                bindparam(f"k{n}", type_=Integer).label("week"),
                bindparam(f"c{n}", type_=Integer).label("counted"),
                bindparam(f"x{n}", type_=Boolean).label("edge"),
                sales.c.id,
                sales.c.campaign_id,
                sales.c.sector_id,
                sales.c.price_cents,
                sales.c.outcome,
                sales.c.outcome_amount_cents,
            ).where(
                sales.c.buyer_id == buyer,
                sales.c.created_at >= bindparam(f"b{n}", type_=sales.c.created_at.type),
                sales.c.created_at < bindparam(f"e{n}", type_=sales.c.created_at.type),
            )
            for n in range(count)
        )
    ).subquery()
    purchases = (
        select(
            hours.c.week,
            hours.c.counted,
            case((hours.c.edge, hours.c.campaign_id)).label("campaign_id"),
            case((hours.c.edge, hours.c.sector_id)).label("sector_id"),
            hours.c.price_cents,
            hours.c.outcome,
            hours.c.outcome_amount_cents,
            disputes.c.id.label("dispute_id"),
            disputes.c.status.label("dispute_status"),
        )
        .outerjoin(disputes, and_(disputes.c.sale_id == hours.c.id, disputes.c.buyer_id == buyer))
        .subquery()
    )
    return select(
        purchases.c.week,
        purchases.c.counted,
        purchases.c.campaign_id,
        purchases.c.sector_id,
        *_sums(purchases),
    ).group_by(
        purchases.c.week, purchases.c.counted, purchases.c.campaign_id, purchases.c.sector_id
    )


def _groups(buyer_id: int, starts: list[datetime]) -> list[tuple[str, int | None, int, Figures]]:
    """(breakdown, key, sign, figures), the breakdown "week", "campaign" or "sector":
    the kept weeks' sums per local week, per campaign and per sector, and the misplaced
    hours' purchases, added to their week (+1) and taken off the week their UTC week
    counted in (-1). ``starts`` ends with the period's end."""
    weeks = len(starts) - 1
    first_weeks = _first_weeks(starts)
    kept = db.session.execute(
        _kept_query(weeks),
        {"buyer": buyer_id, **{f"w{n}": week for n, week in enumerate(first_weeks)}},
    )
    groups = [
        (
            breakdown,
            (key or None) if breakdown == "campaign" else key,
            1,
            Figures(*(int(value or 0) for value in figures)),
        )
        for breakdown, key, *figures in kept
    ]
    # A slice between two weeks of the period moves purchases from one week to the
    # other: the campaigns' and sectors' figures do not change. Only the two at the
    # period's ends (one side out of it) change those: their purchases are grouped by
    # campaign and sector, the others' by week alone (a few dozen rows in all).
    slices = [
        (begin, end, week, counted, not (0 <= week < weeks and 0 <= counted < weeks))
        for begin, end, week, counted in _slices(starts)
        if 0 <= week < weeks or 0 <= counted < weeks
    ]
    if not slices:
        return groups
    parameters = {"buyer": buyer_id}
    for n, (begin, end, week, counted, edge) in enumerate(slices):
        parameters |= {f"b{n}": begin, f"e{n}": end, f"k{n}": week, f"c{n}": counted}
        parameters[f"x{n}"] = edge
    for week, counted, campaign_id, sector_id, *figures in db.session.execute(
        _hours_query(len(slices)), parameters
    ):
        moved = Figures(*(int(value or 0) for value in figures))
        edge = not (0 <= week < weeks and 0 <= counted < weeks)
        for target, sign in ((week, 1), (counted, -1)):
            if 0 <= target < weeks:
                groups.append(("week", target, sign, moved))
                if edge:
                    groups.append(("campaign", campaign_id, sign, moved))
                    groups.append(("sector", sector_id, sign, moved))
    return groups


# purchase_weeks' figures, in Figures' order.
KEPT = (
    "purchases",
    "spend_cents",
    "contacted",
    "won",
    "revenue_cents",
    "disputes",
    "credits_cents",
)


def dashboard(buyer_id: int, weeks: int = 12, now: datetime | None = None) -> Dashboard:
    """The buyer's figures over the last ``weeks`` weeks (Monday to Sunday, in the
    organization's timezone)."""
    zone = _zone()
    now = now or utcnow()
    first_week = _week_start(now, zone) - timedelta(weeks=weeks - 1)
    mondays = [first_week + timedelta(weeks=n) for n in range(weeks)]
    starts = [datetime.combine(monday, time.min, tzinfo=zone) for monday in mondays]
    since, end = starts[0], starts[-1] + timedelta(weeks=1)
    for_large_reads(in_memory=True)
    by_week = [Figures() for _ in mondays]
    by_campaign: dict[int | None, Figures] = defaultdict(Figures)
    by_sector: dict[int, Figures] = defaultdict(Figures)
    for breakdown, key, sign, figures in _groups(buyer_id, [*starts, end]):
        if breakdown == "week":
            by_week[key].add(figures, sign)
        elif breakdown == "campaign":
            by_campaign[key].add(figures, sign)
        else:
            by_sector[key].add(figures, sign)
    total = Figures()
    for figures in by_week:
        total.add(figures)
    # A campaign or sector whose only purchases were moved to another week's hours
    # nets to nothing: not a line of the breakdown.
    by_campaign = {key: figures for key, figures in by_campaign.items() if figures.leads}
    by_sector = {key: figures for key, figures in by_sector.items() if figures.leads}
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
