"""The inbox: every purchase of the organization, newest first, filtered, searched,
counted, paged by keyset (no OFFSET: page 10,000 costs what page 1 costs) and exported.

One query builder serves the page, the count and the CSV export, so that the three
always agree on what "the filtered set" is. No filter reads the leads, and only the
"pending" delivery filter reads the deliveries, the few pending ones (what they filter
on is kept on the sale, or beside it for the search): a count reads the buyer's own
rows only. The export streams plain rows from a server-side cursor, never ORM objects.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    Text,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.expression import Grouping

from marketplace import audit, csv_files
from marketplace.extensions import db
from marketplace.guards import MAX_ID
from marketplace.models import (
    Campaign,
    Delivery,
    DeliveryStatus,
    Dispute,
    Lead,
    Outcome,
    PurchaseCount,
    PurchaseSearch,
    Sale,
    Sector,
)
from marketplace.reporting import for_large_reads

PAGE_SIZE = 50
EXPORT_BATCH = 2000  # rows per fetch of the export's server-side cursor


@dataclass(frozen=True)
class InboxFilters:
    """Checked values (the page's filter form checks them); None: no filter."""

    q: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    sector_id: int | None = None
    campaign_id: int | None = None
    temperature: str | None = None
    score_min: int | None = None
    score_max: int | None = None
    rating: str | None = None  # "1".."5" or "unrated"
    outcome: str | None = None  # "new", "contacted", ...
    disputed: bool | None = None
    delivery: str | None = None  # "delivered", "failed", "pending"


NO_FILTER = InboxFilters()


def _local_midnight(day: date) -> datetime:
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    return datetime.combine(day, time.min, tzinfo=zone)


# A sale's count of deliveries delivered and failed, kept on the sale (migrations 0027,
# 0032). Its pending ones are read from the deliveries (``_with_a_pending_delivery``).
DELIVERIES_IN = {
    DeliveryStatus.DELIVERED: Sale.deliveries_delivered,
    DeliveryStatus.FAILED: Sale.deliveries_failed,
}


def _with_a_pending_delivery() -> ColumnElement:
    """The sales with a delivery still pending: the few the platform is sending or
    retrying right now (a delivery's pending state lasts seconds, or a backoff's hours),
    read by the deliveries' status index, not counted on every sale (migration 0032)."""
    pending = select(Delivery.sale_id).where(Delivery.status == DeliveryStatus.PENDING)
    return Sale.id.in_(pending)


def _searched(buyer_id: int, q: str) -> ColumnElement:
    """The buyer's purchases whose searched words hold ``q`` (``purchase_search``):
    among the buyer's own (the GIN index's first column on PostgreSQL), not every lead
    of the platform whose words match. ``%`` and ``_`` are searched as themselves."""
    pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return and_(
        PurchaseSearch.buyer_id == buyer_id,
        PurchaseSearch.search_text.like(pattern, escape="\\"),
    )


def _search_only(filters: InboxFilters) -> bool:
    return bool(filters.q) and replace(filters, q=None) == NO_FILTER


def filtered(buyer_id: int, filters: InboxFilters, *, with_lead: bool = False) -> Select:
    """The organization's purchases matching ``filters``, joined to their lead when
    ``with_lead`` asks for it (the export). No filter reads the lead, and only the
    "pending" one the deliveries (the few pending ones): its sector, score, temperature
    and deliveries delivered and failed are kept on the sale, its searched words beside
    it (``purchase_search``, migration 0027), so that a count reads the buyer's own rows
    only."""
    query = select(Sale).where(Sale.buyer_id == buyer_id)
    if with_lead:
        query = query.join(Lead, Lead.id == Sale.lead_id)
    if filters.q:
        query = query.join(PurchaseSearch, PurchaseSearch.sale_id == Sale.id).where(
            _searched(buyer_id, filters.q)
        )
    if filters.date_from:
        query = query.where(Sale.created_at >= _local_midnight(filters.date_from))
    if filters.date_to:
        query = query.where(Sale.created_at < _local_midnight(filters.date_to + timedelta(days=1)))
    if filters.sector_id:
        # The sector and its children as a list of ids, not a subquery: PostgreSQL then
        # reads each one's range of the buyer's (buyer, sector, ...) index (migration
        # 0027), 80,000 entries of a large buyer's 306,000 for the bench's sector.
        children = db.session.scalars(
            select(Sector.id).where(Sector.parent_id == filters.sector_id)
        )
        query = query.where(Sale.sector_id.in_([filters.sector_id, *children]))
    if filters.campaign_id:
        query = query.where(Sale.campaign_id == filters.campaign_id)
    if filters.temperature:
        query = query.where(Sale.temperature == filters.temperature)
    if filters.score_min is not None:
        query = query.where(Sale.lead_score >= filters.score_min)
    if filters.score_max is not None:
        query = query.where(Sale.lead_score <= filters.score_max)
    if filters.rating == "unrated":
        query = query.where(Sale.rating_stars.is_(None))
    elif filters.rating:
        query = query.where(Sale.rating_stars == int(filters.rating))
    if filters.outcome == "new":
        query = query.where(Sale.outcome.is_(None))
    elif filters.outcome:
        query = query.where(Sale.outcome == Outcome(filters.outcome))
    if filters.disputed is not None:
        # Among the buyer's own disputes (a dispute's buyer is its sale's): a few
        # thousand to look the purchases up in, not the platform's.
        disputed = exists().where(Dispute.sale_id == Sale.id, Dispute.buyer_id == buyer_id)
        query = query.where(disputed if filters.disputed else ~disputed)
    if filters.delivery == DeliveryStatus.PENDING:
        query = query.where(_with_a_pending_delivery())
    elif filters.delivery:
        query = query.where(DELIVERIES_IN[DeliveryStatus(filters.delivery)] > 0)
    return query


def page(
    buyer_id: int, filters: InboxFilters, after: tuple[datetime, int] | None = None
) -> tuple[list[Sale], tuple[datetime, int] | None, int]:
    """A page of the filtered purchases, newest first, after the keyset ``after``; the
    keyset of the next page (None on the last); and how many purchases match in all.

    A search's first page counts in the same query (``count(*) OVER ()``): it reads
    every match anyway (the buyer's purchases whose words match, sorted), and a count
    of its own read them all a second time."""
    counted = bool(filters.q) and after is None
    for_large_reads()
    if _search_only(filters):
        query = _search_page(buyer_id, filters.q, after)
    else:
        query = filtered(buyer_id, filters)
        if after is not None:
            query = query.where(tuple_(Sale.created_at, Sale.id) < tuple_(*after))
        if counted:
            query = query.add_columns(func.count().over().label("total"))
        query = query.limit(PAGE_SIZE + 1)
    rows = db.session.execute(
        query.options(
            # The sector with its parent: the page labels it "Parent > Child".
            joinedload(Sale.lead).joinedload(Lead.sector).joinedload(Sector.parent),
            joinedload(Sale.campaign),
        ).order_by(Sale.created_at.desc(), Sale.id.desc())
    ).all()
    sales = [row[0] for row in rows]
    more = len(sales) > PAGE_SIZE
    sales = sales[:PAGE_SIZE]
    next_keyset = (sales[-1].created_at, sales[-1].id) if more else None
    if not counted:
        return sales, next_keyset, count(buyer_id, filters)
    return sales, next_keyset, rows[0].total if rows else 0


def _search_page(buyer_id: int, q: str, after: tuple[datetime, int] | None) -> Select:
    """A search alone: the page's purchases found, ordered and counted among the
    buyer's searched words (which carry each purchase's time), and only those read
    from the sales: not the 2,000 matches of a common name (20 ms here)."""
    found = select(PurchaseSearch.sale_id).where(_searched(buyer_id, q))
    if after is not None:
        keyset = tuple_(PurchaseSearch.created_at, PurchaseSearch.sale_id)
        found = found.where(keyset < tuple_(*after))
    else:
        found = found.add_columns(func.count().over().label("total"))
    found = (
        found.order_by(PurchaseSearch.created_at.desc(), PurchaseSearch.sale_id.desc())
        .limit(PAGE_SIZE + 1)
        .subquery()
    )
    query = select(Sale).join(found, found.c.sale_id == Sale.id)
    return query if after is not None else query.add_columns(found.c.total)


def count(buyer_id: int, filters: InboxFilters) -> int:
    """How many purchases match (all of them, not a page): without a filter, the count
    the database keeps at each sale (``purchase_counts``); with one, count(*), which the
    indexes answer without reading the rows."""
    if filters == NO_FILTER:
        return (
            db.session.scalar(
                select(PurchaseCount.purchases).where(PurchaseCount.buyer_id == buyer_id)
            )
            or 0
        )
    for_large_reads()
    if _search_only(filters):
        return db.session.scalar(
            select(func.count()).select_from(PurchaseSearch).where(_searched(buyer_id, filters.q))
        )
    query = filtered(buyer_id, filters).with_only_columns(func.count())
    return db.session.scalar(query.order_by(None))


def cursor_text(keyset: tuple[datetime, int]) -> str:
    """A keyset as an opaque token of digits: microseconds since the epoch, then the id."""
    moment, sale_id = keyset
    return f"{int(moment.timestamp() * 1_000_000)}-{sale_id}"


def parse_cursor(text: str | None) -> tuple[datetime, int] | None:
    """The keyset of a cursor, or None when it is not one (the first page then)."""
    if not text:
        return None
    micros, _, sale_id = text.partition("-")
    if not (micros.isdigit() and sale_id.isdigit() and len(micros) <= 17):
        return None
    if not 0 < int(sale_id) <= MAX_ID:
        return None
    moment = datetime.fromtimestamp(int(micros) / 1_000_000, tz=UTC)
    return moment, int(sale_id)


# What the export reads of each purchase: plain columns, no ORM object per row (the
# CSV writer takes them in this order).
EXPORTED = (
    Sale.id,
    Sale.created_at,
    Sale.lead_id,
    Lead.first_name,
    Lead.last_name,
    Lead.email,
    Lead.phone,
    Lead.company,
    Lead.job_title,
    Lead.postcode,
    Lead.country,
    Lead.sector_id,
    Sale.campaign_id,
    Campaign.name.label("campaign_name"),
    Lead.score,
    Lead.temperature,
    Sale.price_cents,
    Sale.currency,
    Sale.rating_stars,
    # As its JSON text: most purchases have no reason ("[]"), and decoding every row's
    # list cost the export a fifth of its time.
    cast(Sale.rating_reasons, Text).label("rating_reasons"),
    Sale.outcome,
    Sale.outcome_amount_cents,
    Sale.outcome_lost_reason,
)


def export_query(buyer_id: int, filters: InboxFilters) -> Select:
    """The export's rows: ``EXPORTED``'s columns of the filtered purchases, newest first."""
    return (
        filtered(buyer_id, filters, with_lead=True)
        .outerjoin(Campaign, Campaign.id == Sale.campaign_id)
        .with_only_columns(*EXPORTED)
        .order_by(Sale.created_at.desc(), Sale.id.desc())
    )


def export_rows(buyer_id: int, filters: InboxFilters, *, user_id: int) -> Iterator[Row]:
    """Every filtered purchase, newest first, as rows of ``EXPORTED``'s columns, read in
    batches from a server-side cursor (constant memory, whatever the number of rows);
    the export is written to the audit trail with the number of rows, even when the
    download stops half-way."""
    query = export_query(buyer_id, filters).execution_options(yield_per=EXPORT_BATCH)
    rows = 0
    try:
        for_large_reads()
        # Core rows from the session's connection: the ORM's result machinery cost more
        # per row than the CSV itself.
        for batch in db.session.connection().execute(query).partitions():
            for row in batch:
                rows += 1
                yield row
    finally:
        db.session.rollback()
        audit.record(
            "lead.contacts_exported",
            "organization",
            buyer_id,
            actor_user_id=user_id,
            actor_organization_id=buyer_id,
            details={"rows": rows, "filters": _filters_for_audit(filters)},
        )
        db.session.commit()


@dataclass(frozen=True)
class ExportWords:
    """What the export writes in words, translated once per file: the labels by their
    key, the catalogue's name for a purchase without a campaign."""

    sectors: dict[int, str]
    temperatures: dict[str, str]
    outcomes: dict[str, str]  # "new" included
    reasons: dict[str, str]
    lost_reasons: dict[str, str]
    catalogue: str


# A value someone typed, as the export writes it (buyers/inbox_pages._cell is the same
# rule in Python): a formula's first character gets a "'" so that the spreadsheet keeps
# it as text, and a line break becomes a space (one line per purchase).
FORMULA_STARTS = csv_files.FORMULA_STARTS


FORMULA_CODES = tuple(ord(start) for start in FORMULA_STARTS)


def _typed_cell(typed) -> ColumnElement:
    # ascii() reads the first character's code without copying the text; translate()
    # only when there is a line break (several times cheaper per row than either alone).
    escaped = case((func.ascii(typed).in_(FORMULA_CODES), literal("'", Text) + typed), else_=typed)
    one_line = and_(func.strpos(typed, "\n") == 0, func.strpos(typed, "\r") == 0)
    # NULL, not '': COPY writes an empty text as "" and a NULL as nothing, as Python's
    # CSV writer writes an empty cell.
    return case(
        (one_line, func.nullif(escaped, "")),
        else_=func.nullif(func.translate(escaped, "\r\n", "  "), ""),
    )


def _word(value, labels: dict[str, str], otherwise=None) -> ColumnElement:
    """A key's label: a CASE over a handful of keys, cheaper per row than a join."""
    return case(
        {key: literal(label, Text) for key, label in labels.items()},
        value=value,
        else_=literal(otherwise, Text) if otherwise is not None else None,
    )


def _amount(cents, separator: str) -> ColumnElement:
    """Integer cents written as "12.50" (or "12,50"): integer arithmetic, no rounding."""
    return (
        cast(cents // 100, Text)
        + literal(separator, Text)
        + func.lpad(cast(cents % 100, Text), 2, "0")
    )


def export_copy_query(
    buyer_id: int, filters: InboxFilters, words: ExportWords, *, zone: str, decimal: str
) -> Select:
    """The export's lines as PostgreSQL writes them with COPY: the same cells as the
    Python writer of buyers/inbox_pages (dates in ``zone``, words, escaped typed values),
    computed by the database, which then writes the CSV itself (several times faster
    than rows read into Python and written again)."""
    # The sectors' labels as an array indexed by the sector's id (PostgreSQL's arrays
    # start at 1): one subscript per row.
    sector_labels = [words.sectors.get(n) for n in range(1, max(words.sectors, default=0) + 1)]
    sector = Grouping(cast(literal(sector_labels, ARRAY(Text)), ARRAY(Text)))[Sale.sector_id]
    # The reasons' labels, in the buyer's order, joined by ", ": each quoted key of the
    # list's JSON text (["reachable", "real_need"]) replaced by its label, the brackets
    # dropped. No subquery: a subquery per row kept the whole projection out of the
    # parallel workers.
    reasons_text = cast(Sale.rating_reasons, Text)
    for key, label in words.reasons.items():
        reasons_text = func.replace(reasons_text, f'"{key}"', label)
    reasons_text = func.substr(reasons_text, 2, func.length(reasons_text) - 2)
    outcomes = {key: label for key, label in words.outcomes.items() if key != "new"}
    return (
        filtered(buyer_id, filters, with_lead=True)
        .outerjoin(Campaign, Campaign.id == Sale.campaign_id)
        .with_only_columns(
            Sale.id,
            func.to_char(func.timezone(zone, Sale.created_at), "YYYY-MM-DD HH24:MI"),
            Sale.lead_id,
            *(
                _typed_cell(typed)
                for typed in (
                    Lead.first_name,
                    Lead.last_name,
                    Lead.email,
                    Lead.phone,
                    Lead.company,
                    Lead.job_title,
                    Lead.postcode,
                )
            ),
            func.nullif(Lead.country, ""),
            sector,
            case(
                (Sale.campaign_id.is_(None), literal(words.catalogue, Text)),
                else_=_typed_cell(Campaign.name),
            ),
            Lead.score,
            _word(cast(Lead.temperature, Text), words.temperatures),
            _amount(Sale.price_cents, decimal),
            Sale.currency,
            Sale.rating_stars,
            case((func.jsonb_array_length(Sale.rating_reasons) > 0, reasons_text)),
            _word(cast(Sale.outcome, Text), outcomes, otherwise=words.outcomes["new"]),
            _amount(Sale.outcome_amount_cents, decimal),
            _word(Sale.outcome_lost_reason, words.lost_reasons),
        )
        .order_by(Sale.created_at.desc(), Sale.id.desc())
    )


COPY_BUFFER = 256 * 1024  # bytes handed to the answer at a time


def export_copy(
    buyer_id: int,
    filters: InboxFilters,
    words: ExportWords,
    *,
    user_id: int,
    zone: str,
    delimiter: str,
    decimal: str,
) -> Iterator[bytes]:
    """PostgreSQL: the filtered purchases as CSV lines (no header), written by the
    database (``COPY (SELECT ...) TO STDOUT WITH (FORMAT csv)``) and streamed as it
    writes them, in constant memory; the export is audited with its number of rows,
    even when the download stops half-way, as ``export_rows`` does."""
    query = export_copy_query(buyer_id, filters, words, zone=zone, decimal=decimal)
    compiled = query.compile(
        dialect=db.session.get_bind().dialect, compile_kwargs={"render_postcompile": True}
    )
    statement = (
        f"COPY ({compiled}) TO STDOUT "
        f"WITH (FORMAT csv, DELIMITER '{';' if delimiter == ';' else ','}', ENCODING 'UTF8')"
    )
    rows = 0
    try:
        for_large_reads(in_memory=True)
        # The rows in the purchases' index order, each lead looked up by its key, as a
        # cursor's fast-start plan reads them: for all its rows at once, the planner
        # prefers hashing the whole of the leads' table (1,000,000 rows read for
        # 100,000: 2 to 3 s in bench/portal.py, against 1 s this way).
        for setting in ("enable_hashjoin", "enable_mergejoin", "enable_seqscan"):
            db.session.execute(text(f"SET LOCAL {setting} = off"))
        connection = db.session.connection().connection.dbapi_connection
        pending, size = [], 0
        with connection.cursor().copy(statement, compiled.params) as copy:
            for data in copy:  # a line at a time
                pending.append(data)
                size += len(data)
                if size >= COPY_BUFFER:
                    lines = b"".join(pending)
                    pending, size = [], 0
                    rows += lines.count(b"\n")
                    # Python's CSV writer ends its lines with CRLF; no cell holds a line
                    # break (they are written as spaces), so each LF ends a line.
                    yield lines.replace(b"\n", b"\r\n")
        lines = b"".join(pending)
        rows += lines.count(b"\n")
        yield lines.replace(b"\n", b"\r\n")
    finally:
        db.session.rollback()
        audit.record(
            "lead.contacts_exported",
            "organization",
            buyer_id,
            actor_user_id=user_id,
            actor_organization_id=buyer_id,
            details={"rows": rows, "filters": _filters_for_audit(filters)},
        )
        db.session.commit()


def _filters_for_audit(filters: InboxFilters) -> dict:
    """The filters of an export, without the search text (it may be a person's name)."""
    kept = {
        name: (value.isoformat() if isinstance(value, date) else value)
        for name, value in filters.__dict__.items()
        if value is not None and name != "q"
    }
    if filters.q:
        kept["search"] = True
    return kept
