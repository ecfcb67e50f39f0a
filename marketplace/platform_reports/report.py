"""The platform report: per sector, publisher, magnet kind or acquisition channel, the
leads captured in a period, the sales made in it and what became of those sales
(docs/admin.md, "Platform reports").

Two cohorts, each dated by its own event in the reader's timezone:

- leads: captured in the period (``leads.created_at``), and how many of them were
  sold at least once, whenever;
- sales: made in the period (``sales.created_at``), and what became of each since:
  its price, its buyer's dispute and its outcome, the publisher's earning and, for an
  accepted dispute, the buyer's credit and the earning's reversal, whenever booked.

Dating a dispute's money by its sale, not by the day it was booked (as the overview
does), keeps every rate a share of the period's sales: a dispute rate, a won rate and
a margin can never pass 100 % of what was sold. A period's money can still change
while its sales can be disputed.

Each family is summed by the database in one GROUP BY over (week, group): three
queries, whatever the period, the dimension or the number of groups.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, case, func, literal, select
from sqlalchemy.orm import joinedload

from marketplace.extensions import db
from marketplace.governance.overview import Period
from marketplace.labels import KIND_LABELS
from marketplace.models import (
    Dispute,
    DisputeStatus,
    Lead,
    LeadMagnet,
    LeadStatus,
    LedgerEntry,
    LedgerKind,
    MagnetKind,
    Organization,
    Outcome,
    Sale,
    Sector,
    utcnow,
)
from marketplace.reporting import (
    bucket_of,
    day_start,
    for_large_reads,
    utm_medium,
    utm_source,
    week_starts,
)

DEFAULT_DAYS = 30
# Shown when no money moved in the period; first among several.
DEFAULT_CURRENCY = "EUR"
# The groups a chart names; the rest are added up as "others" (a chart of 200
# publishers is unreadable; the table beside it lists every one).
CHART_GROUPS = 8


class Dimension(enum.StrEnum):
    SECTOR = "sector"
    TOP_SECTOR = "top_sector"
    PUBLISHER = "publisher"
    MAGNET_KIND = "magnet_kind"
    UTM_SOURCE = "utm_source"
    UTM_MEDIUM = "utm_medium"
    UTM_SOURCE_MEDIUM = "utm_source_medium"


DIMENSION_LABELS = {
    Dimension.SECTOR: _l("Sector"),
    Dimension.TOP_SECTOR: _l("Top-level sector"),
    Dimension.PUBLISHER: _l("Publisher"),
    Dimension.MAGNET_KIND: _l("Magnet kind"),
    Dimension.UTM_SOURCE: _l("Source (UTM)"),
    Dimension.UTM_MEDIUM: _l("Medium (UTM)"),
    Dimension.UTM_SOURCE_MEDIUM: _l("Source / medium (UTM)"),
}
# A lead that came without that UTM parameter (or was erased since: erasure blanks it).
NO_UTM = _l("(none)")
OTHERS = _l("Others")


@dataclass
class Money:
    """One currency's figures of a group, in integer cents net of VAT."""

    sales: int = 0  # the sales made in this currency: the CPL's denominator
    revenue_cents: int = 0  # their prices
    credits_cents: int = 0  # credited to buyers for accepted disputes on them
    earnings_cents: int = 0  # the publishers' earnings on them, less reversals

    @property
    def margin_cents(self) -> int:
        return self.revenue_cents - self.credits_cents - self.earnings_cents

    @property
    def margin_rate(self) -> float | None:
        """Margin / revenue. At most 100 %: credits and net earnings are never negative
        for a sale (a reversal only takes back its own sale's earning)."""
        return self.margin_cents / self.revenue_cents if self.revenue_cents else None

    @property
    def cpl_cents(self) -> int | None:
        """What buyers paid per lead: revenue / sales, to the nearest cent (half up)."""
        if not self.sales:
            return None
        return (2 * self.revenue_cents + self.sales) // (2 * self.sales)

    def add(self, other: Money) -> None:
        self.sales += other.sales
        self.revenue_cents += other.revenue_cents
        self.credits_cents += other.credits_cents
        self.earnings_cents += other.earnings_cents


@dataclass
class Figures:
    """A group's figures (for a week or the period). Every rate's numerator is a subset
    of its denominator; None when the denominator is 0."""

    captured: int = 0  # leads captured in the period
    sold: int = 0  # of those, sold at least once
    sales: int = 0  # sales made in the period, every currency
    disputed: int = 0  # of those, disputed by their buyer (one dispute per sale at most)
    accepted: int = 0  # of those, disputed and the dispute accepted
    won: int = 0  # of those, marked won by their buyer
    money: dict[str, Money] = field(default_factory=lambda: defaultdict(Money))

    @property
    def dispute_rate(self) -> float | None:
        return self.disputed / self.sales if self.sales else None

    @property
    def accepted_rate(self) -> float | None:
        return self.accepted / self.sales if self.sales else None

    @property
    def won_rate(self) -> float | None:
        return self.won / self.sales if self.sales else None

    def in_currency(self, currency: str) -> Money:
        return self.money.get(currency) or Money()

    def add(self, other: Figures) -> None:
        for name in ("captured", "sold", "sales", "disputed", "accepted", "won"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for currency, money in other.money.items():
            self.money[currency].add(money)


class Kind(enum.StrEnum):
    COUNT = "count"
    MONEY = "money"
    RATE = "rate"


@dataclass(frozen=True)
class Column:
    """One figure of the report's table, its CSV file and its weekly chart."""

    name: str
    label: object  # a lazy string
    kind: Kind
    value: Callable[[Figures, str], int | float | None]  # (figures, currency)


COLUMNS = (
    Column("captured", _l("Leads captured"), Kind.COUNT, lambda f, c: f.captured),
    Column("sold", _l("Leads sold"), Kind.COUNT, lambda f, c: f.sold),
    Column("sales", _l("Sales"), Kind.COUNT, lambda f, c: f.sales),
    Column("revenue", _l("Revenue"), Kind.MONEY, lambda f, c: f.in_currency(c).revenue_cents),
    Column("credits", _l("Credits"), Kind.MONEY, lambda f, c: f.in_currency(c).credits_cents),
    Column(
        "earnings",
        _l("Publishers’ net earnings"),  # noqa: RUF001 (the typographic apostrophe)
        Kind.MONEY,
        lambda f, c: f.in_currency(c).earnings_cents,
    ),
    Column("margin", _l("Platform margin"), Kind.MONEY, lambda f, c: f.in_currency(c).margin_cents),
    Column("margin_rate", _l("Margin %"), Kind.RATE, lambda f, c: f.in_currency(c).margin_rate),
    Column("cpl", _l("CPL"), Kind.MONEY, lambda f, c: f.in_currency(c).cpl_cents),
    Column("dispute_rate", _l("Dispute rate"), Kind.RATE, lambda f, c: f.dispute_rate),
    Column("accepted_rate", _l("Accepted-dispute rate"), Kind.RATE, lambda f, c: f.accepted_rate),
    Column("won_rate", _l("Won rate"), Kind.RATE, lambda f, c: f.won_rate),
)
COLUMNS_BY_NAME = {column.name: column for column in COLUMNS}
DEFAULT_WEEKLY = "revenue"


@dataclass
class Group:
    key: tuple  # the dimension's value(s): a sector's id, a UTM source (None: without)
    label: str
    figures: Figures


@dataclass
class Report:
    period: Period
    zone: str
    dimension: Dimension
    groups: list[Group]  # every group, the most revenue first
    total: Figures
    # Each week's first day (within the period) and its figures per group key.
    weeks: list[tuple[date, dict[tuple, Figures]]]
    currencies: list[str]  # those money moved in (the default one when none did)
    as_of: datetime

    def chart_groups(self, currency: str, limit: int = CHART_GROUPS) -> list[tuple[str, list]]:
        """The ``limit`` groups with the most revenue in ``currency`` by name, the rest
        added up as "others": (label, keys)."""
        ranked = sorted(
            self.groups,
            key=lambda g: (-g.figures.in_currency(currency).revenue_cents, -g.figures.captured),
        )
        named = [(group.label, [group.key]) for group in ranked[:limit]]
        if len(ranked) > limit:
            named.append((str(OTHERS), [group.key for group in ranked[limit:]]))
        return named

    def weekly(self, keys: list) -> list[Figures]:
        """The figures of ``keys`` added up, per week."""
        found = []
        for _day, per_group in self.weeks:
            figures = Figures()
            for key in keys:
                if key in per_group:
                    figures.add(per_group[key])
            found.append(figures)
        return found


def _keys(dimension: Dimension) -> list[ColumnElement]:
    """What a lead is grouped by, in SQL (the joins it needs: ``_joined``)."""
    return {
        Dimension.SECTOR: lambda: [Lead.sector_id],
        # A two-level taxonomy: a sub-sector's parent is the top level.
        Dimension.TOP_SECTOR: lambda: [func.coalesce(Sector.parent_id, Sector.id)],
        Dimension.PUBLISHER: lambda: [Lead.publisher_id],
        Dimension.MAGNET_KIND: lambda: [LeadMagnet.kind],
        Dimension.UTM_SOURCE: lambda: [utm_source(Lead.utm)],
        Dimension.UTM_MEDIUM: lambda: [utm_medium(Lead.utm)],
        Dimension.UTM_SOURCE_MEDIUM: lambda: [utm_source(Lead.utm), utm_medium(Lead.utm)],
    }[dimension]()


def _joined(query: Select, dimension: Dimension) -> Select:
    if dimension is Dimension.TOP_SECTOR:
        return query.join(Sector, Sector.id == Lead.sector_id)
    if dimension is Dimension.MAGNET_KIND:
        return query.join(LeadMagnet, LeadMagnet.id == Lead.magnet_id)
    return query


def _plain(key) -> tuple:
    return tuple(part.value if isinstance(part, enum.Enum) else part for part in key)


def report(
    period: Period,
    dimension: Dimension,
    zone: ZoneInfo,
    *,
    locale: str = "fr",
    now: datetime | None = None,
) -> Report:
    """The platform's figures over ``period`` (days of ``zone``) per group of
    ``dimension``, per week and in total; group names in ``locale``."""
    weeks = week_starts(period.first_day, period.last_day, zone)
    starts = [start for _day, start in weeks]
    since, end = starts[0], day_start(period.last_day + timedelta(days=1), zone)
    per_week: list[dict[tuple, Figures]] = [defaultdict(Figures) for _ in weeks]
    keys = _keys(dimension)
    labelled = [key.label(f"k{n}") for n, key in enumerate(keys)]

    for_large_reads(in_memory=True)
    # Leads captured in the period, and of those the ones sold at least once.
    leads = _joined(
        select(
            bucket_of(Lead.created_at, starts).label("week"),
            *labelled,
            case((Lead.sales_count > 0, 1), else_=0).label("sold"),
        ).select_from(Lead),
        dimension,
    ).where(
        # Every status, named: PostgreSQL then reads the period from the index on
        # (status, created_at) instead of every lead (as the overview does).
        Lead.status.in_(list(LeadStatus)),
        Lead.created_at >= since,
        Lead.created_at < end,
    )
    leads = leads.subquery()
    group_by = [leads.c[f"k{n}"] for n in range(len(keys))]
    for week, *key, captured, sold in db.session.execute(
        select(leads.c.week, *group_by, func.count(), func.sum(leads.c.sold)).group_by(
            leads.c.week, *group_by
        )
    ):
        figures = per_week[week][_plain(key)]
        figures.captured += captured
        figures.sold += int(sold or 0)

    # Sales made in the period: prices, disputes (accepted or not), won outcomes.
    sales = _joined(
        select(
            bucket_of(Sale.created_at, starts).label("week"),
            *labelled,
            Sale.currency,
            Sale.price_cents,
            Dispute.id.label("dispute_id"),
            case((Dispute.status == DisputeStatus.ACCEPTED, 1), else_=0).label("accepted"),
            case((Sale.outcome == Outcome.WON, 1), else_=0).label("won"),
        )
        .select_from(Sale)
        .join(Lead, Lead.id == Sale.lead_id)
        .outerjoin(Dispute, Dispute.sale_id == Sale.id),
        dimension,
    ).where(Sale.created_at >= since, Sale.created_at < end)
    sales = sales.subquery()
    group_by = [sales.c[f"k{n}"] for n in range(len(keys))]
    for week, *key, currency, count, revenue, disputed, accepted, won in db.session.execute(
        select(
            sales.c.week,
            *group_by,
            sales.c.currency,
            func.count(),
            func.sum(sales.c.price_cents),
            func.count(sales.c.dispute_id),
            func.sum(sales.c.accepted),
            func.sum(sales.c.won),
        ).group_by(sales.c.week, *group_by, sales.c.currency)
    ):
        figures = per_week[week][_plain(key)]
        figures.sales += count
        figures.disputed += disputed
        figures.accepted += int(accepted or 0)
        figures.won += int(won or 0)
        money = figures.money[currency]
        money.sales += count
        money.revenue_cents += int(revenue or 0)

    # The ledger's entries on those sales, whenever booked: the publishers' earnings
    # (positive) and their reversals (negative) net out; a credit is the sale's price.
    entries = _joined(
        select(
            bucket_of(Sale.created_at, starts).label("week"),
            *labelled,
            LedgerEntry.currency,
            case(
                (LedgerEntry.kind == LedgerKind.DISPUTE_CREDIT, literal("credit")),
                else_=literal("earning"),
            ).label("family"),
            LedgerEntry.amount_cents,
        )
        .select_from(LedgerEntry)
        .join(Sale, Sale.id == LedgerEntry.sale_id)
        .join(Lead, Lead.id == Sale.lead_id),
        dimension,
    ).where(
        LedgerEntry.kind.in_(
            (LedgerKind.PUBLISHER_EARNING, LedgerKind.EARNING_REVERSAL, LedgerKind.DISPUTE_CREDIT)
        ),
        Sale.created_at >= since,
        Sale.created_at < end,
    )
    entries = entries.subquery()
    group_by = [entries.c[f"k{n}"] for n in range(len(keys))]
    for week, *key, currency, family, amount in db.session.execute(
        select(
            entries.c.week,
            *group_by,
            entries.c.currency,
            entries.c.family,
            func.sum(entries.c.amount_cents),
        ).group_by(entries.c.week, *group_by, entries.c.currency, entries.c.family)
    ):
        money = per_week[week][_plain(key)].money[currency]
        if family == "credit":
            money.credits_cents += int(amount or 0)
        else:
            money.earnings_cents += int(amount or 0)

    per_group: dict[tuple, Figures] = defaultdict(Figures)
    for weekly in per_week:
        for key, figures in weekly.items():
            per_group[key].add(figures)
    total = Figures()
    for figures in per_group.values():
        total.add(figures)
    currencies = sorted(total.money, key=lambda code: (code != DEFAULT_CURRENCY, code))
    main = currencies[0] if currencies else DEFAULT_CURRENCY
    with force_locale(locale):
        names = _labels(dimension, list(per_group), locale)
    groups = sorted(
        (Group(key, names[key], figures) for key, figures in per_group.items()),
        key=lambda g: (
            -g.figures.in_currency(main).revenue_cents,
            -g.figures.captured,
            g.label.casefold(),
        ),
    )
    return Report(
        period=period,
        zone=zone.key,
        dimension=dimension,
        groups=groups,
        total=total,
        weeks=[(day, per_week[n]) for n, (day, _start) in enumerate(weeks)],
        currencies=currencies or [DEFAULT_CURRENCY],
        as_of=now or utcnow(),
    )


def _labels(dimension: Dimension, keys: list[tuple], locale: str) -> dict[tuple, str]:
    """Each group's name in words: a sector's or publisher's name, a magnet kind's
    label, a UTM value as sent (or "(none)")."""
    if dimension in (Dimension.SECTOR, Dimension.TOP_SECTOR):
        found = db.session.scalars(
            select(Sector)
            .where(Sector.id.in_([key[0] for key in keys]))
            .options(joinedload(Sector.parent))
        )
        name = Sector.label if dimension is Dimension.SECTOR else Sector.name
        names = {sector.id: name(sector, locale) for sector in found}
        return {key: names[key[0]] for key in keys}
    if dimension is Dimension.PUBLISHER:
        names = {
            organization_id: name
            for organization_id, name in db.session.execute(
                select(Organization.id, Organization.name).where(
                    Organization.id.in_([key[0] for key in keys])
                )
            )
        }
        return {key: names[key[0]] for key in keys}
    if dimension is Dimension.MAGNET_KIND:
        return {key: str(KIND_LABELS[MagnetKind(key[0])]) for key in keys}
    return {key: " / ".join(str(NO_UTM) if part is None else part for part in key) for key in keys}
