"""Figures per day (or week) in the reader's timezone, summed by the database.

A day is the reader's day: midnight to midnight in their zone, 23 or 25 hours long
when summer time starts or ends. The database cannot be asked to convert zones the
same way on SQLite and PostgreSQL, so the days' first instants are computed here with
zoneinfo, and each row's bucket is found in SQL by a binary search over them
(``bucket_of``): log2(buckets) comparisons of the row's own UTC timestamp, one
GROUP BY, the same SQL on both databases.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, case, func, literal_column, text

from marketplace.db_pool import on_postgresql
from marketplace.extensions import db


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of ``day`` in ``zone``, in UTC. Where a zone skips midnight
    (summer time starting at 00:00), the wall time before the jump is read with the
    offset before it: the instant of the jump itself, the day's true first instant."""
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def day_starts(first_day: date, last_day: date, zone: ZoneInfo) -> list[datetime]:
    """The first instant (UTC) of each day from ``first_day`` to ``last_day`` included.
    The period ends at ``day_start(last_day + 1 day)``."""
    count = (last_day - first_day).days + 1
    return [day_start(first_day + timedelta(days=n), zone) for n in range(count)]


def bucket_of(moment: ColumnElement, starts: list[datetime], first: int = 0) -> ColumnElement:
    """The index in ``starts`` of the bucket ``moment`` falls in, given the buckets'
    first instants in ascending order: a binary search written as nested CASE, so each
    row costs the database log2(len(starts)) comparisons. A moment before ``starts[0]``
    falls in bucket 0 and one after the last start in the last bucket: the caller
    bounds the rows with WHERE.

    Group by it through a subquery (``select(bucket_of(...).label("day"), ...)
    .subquery()``, then GROUP BY its column): PostgreSQL does not see the same
    expression in SELECT and GROUP BY when each carries its own bound parameters."""
    if not starts:
        raise ValueError("bucket_of needs at least one bucket")
    if len(starts) == 1:
        return literal_column(str(first))
    middle = len(starts) // 2
    return case(
        (moment < starts[middle], bucket_of(moment, starts[:middle], first)),
        else_=bucket_of(moment, starts[middle:], first + middle),
    )


def for_large_reads(*, in_memory: bool = False) -> None:
    """Settings for the rest of this transaction (PostgreSQL) that reads hundreds of
    thousands of rows. No JIT compilation: the planner compiles a query to machine code
    once its estimated cost passes ``jit_above_cost``, which such queries do: the
    compilation took 130 to 240 ms (bench/portal.py) for queries that then ran in less.
    ``in_memory``: a larger ``work_mem`` for a query that groups or sorts them all (the
    dashboards' groups, the export's order), which the default 4 MB spilled to disk for
    64,000 purchases. Not for the inbox's counts: with more memory the planner hashed all
    the platform's deliveries (125 MB) for a delivery filter."""
    if on_postgresql():
        db.session.execute(text("SET LOCAL jit = off"))
        if in_memory:
            db.session.execute(text("SET LOCAL work_mem = '64MB'"))


def week_starts(first_day: date, last_day: date, zone: ZoneInfo) -> list[tuple[date, datetime]]:
    """The weeks from ``first_day`` to ``last_day``: each week's first day (within the
    period) and its first instant (UTC). Weeks start on Monday, as in France (ISO 8601);
    the first one starts with the period, whatever its weekday, so it may be short, as
    may the last."""
    days = [first_day] + [
        first_day + timedelta(days=n)
        for n in range(1, (last_day - first_day).days + 1)
        if (first_day + timedelta(days=n)).weekday() == 0
    ]
    return [(day, day_start(day, zone)) for day in days]


def json_text(column: ColumnElement, key: str) -> ColumnElement:
    """The text at ``key`` of a JSON column (``leads.utm``: ``{"utm_source": ...}``),
    trimmed; NULL when the key is missing, empty or blank. JSON_EXTRACT on SQLite,
    ``->>`` on PostgreSQL's JSONB: SQLAlchemy writes each. The key is a bound
    parameter: group by it through a subquery, as by ``bucket_of``."""
    return func.nullif(func.trim(column[key].as_string()), "")


def utm_source(utm: ColumnElement) -> ColumnElement:
    """A lead's acquisition source (``utm_source``, as sent), NULL when it came without."""
    return json_text(utm, "utm_source")


def utm_medium(utm: ColumnElement) -> ColumnElement:
    """A lead's acquisition medium (``utm_medium``, as sent), NULL when it came without."""
    return json_text(utm, "utm_medium")
