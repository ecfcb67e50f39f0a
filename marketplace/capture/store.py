"""Writing a lead with its consent record (and its idempotency key) in one go.

On PostgreSQL it is one statement: the duplicate and suppression checks, the
person's earlier visits and the earlier lead a returning person recycles, the
lead, the consent record and the idempotency key are a single INSERT chain of
data-modifying CTEs run in autocommit, so a capture costs one round trip
(field-notes.md: the floor is one insert per request). SQLite, the laptop
default, runs the same steps one after the other in the same transaction.

The person's look-ups all start from an index: ``ix_leads_email_hash_sector``
(e-mail hash first) for the dedupe, the earlier visits and the recycling, and
``ix_leads_phone_hash_sector`` (phone hash first) for a recycling by phone.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import (
    JSON,
    DateTime,
    Integer,
    String,
    bindparam,
    case,
    cast,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.exc import IntegrityError

from marketplace.db_pool import kept_raw_cursor, on_postgresql
from marketplace.extensions import db
from marketplace.models import (
    ConsentRecord,
    Dispute,
    DisputeStatus,
    IdempotentRequest,
    Lead,
    LeadStatus,
    Sale,
    SuppressionEntry,
)
from marketplace.scoring.rules import EARLIER_VISITS

leads = Lead.__table__
consents = ConsentRecord.__table__
idempotent_requests = IdempotentRequest.__table__
suppression = SuppressionEntry.__table__
NOT_COUNTED_FOR_DEDUPE = [LeadStatus.REJECTED.value, LeadStatus.ERASED.value]
# A duplicate is the same visit sent twice, a rejected or erased lead a person who
# objected: none is an earlier visit.
NOT_A_VISIT = [*NOT_COUNTED_FOR_DEDUPE, LeadStatus.DUPLICATE.value]
# Visits are counted up to the highest degree the scoring models know ("3 or more"):
# an address that left thousands of leads costs no more than one that left three.
VISITS_COUNTED = len(EARLIER_VISITS)
# The earlier lead a returning person's new lead recycles: its latest in the sector,
# unless it is still on its way or was never a lead of its own.
NOT_RECYCLABLE = [*NOT_A_VISIT, LeadStatus.PENDING.value]


@dataclass(frozen=True)
class PersonWindows:
    """The capture's look-backs: the same person in the sector since ``dedupe_since``
    is a duplicate; earlier visits count, and an unsold or returned lead is recycled,
    since ``visits_since``."""

    dedupe_since: datetime
    visits_since: datetime


def insert_lead(
    lead: dict,
    consent: dict,
    *,
    windows: PersonWindows,
    idempotency: dict | None = None,
) -> tuple[int, LeadStatus]:
    """Insert and commit the lead (its status, earlier visits and the lead it recycles
    decided here), its consent record and key.

    ``lead`` and ``consent`` are column values (the consent without ``lead_id``);
    ``idempotency`` the idempotent_requests values without ``lead_id`` and
    ``response``. Returns the lead's id and status; raises IntegrityError, with
    nothing written, when the idempotency key is already taken.
    """
    if on_postgresql():
        return _in_one_statement(lead, consent, windows, idempotency)
    return _in_steps(lead, consent, windows, idempotency)


def _suppressed(email_hash, phone_hash):
    """The person objected or was erased: by e-mail, or by phone (the list holds both
    hashes of the person, in one column)."""
    return exists().where(suppression.c.email_hash.in_([email_hash, phone_hash]))


def _seen_recently(email_hash: str, sector_id: int, since: datetime):
    return exists().where(
        leads.c.email_hash == email_hash,
        leads.c.sector_id == sector_id,
        leads.c.created_at >= since,
        leads.c.status.notin_(NOT_COUNTED_FOR_DEDUPE),
    )


def _constants(values: list[str]) -> list:
    """Fixed words written into the SQL, not parameters: the one-statement SQL is
    compiled once and only the person's values travel (``_one_statement_sql``)."""
    return [literal_column(f"'{value}'") for value in values]


def _earlier_visits(email_hash, since):
    """How many leads the person left on the platform since ``since``, any sector (at
    most VISITS_COUNTED)."""
    visits = (
        select(literal_column("1"))
        .select_from(leads)
        .where(
            leads.c.email_hash == email_hash,
            leads.c.created_at >= since,
            leads.c.status.notin_(_constants(NOT_A_VISIT)),
        )
        .limit(literal_column(str(VISITS_COUNTED)))
        .subquery("visits")
    )
    return select(func.count()).select_from(visits).scalar_subquery()


def count_earlier_visits(email_hash: str, since: datetime) -> int:
    """The person's earlier visits as the capture counts them (the ping's estimate)."""
    return db.session.scalar(select(_earlier_visits(email_hash, since)))


def _recycled_lead(email_hash, phone_hash, sector_id, dedupe_since, visits_since):
    """The person's latest lead in the sector between the two windows' starts (e-mail or
    phone), if it went unsold (disqualified included) or a buyer returned it (an accepted
    dispute): the lead a new one recycles. None when it sold and stayed sold."""

    def latest_by(person_column, value):
        return (
            select(leads.c.id, leads.c.status, leads.c.created_at)
            .where(
                person_column == value,
                leads.c.sector_id == sector_id,
                leads.c.created_at < dedupe_since,
                leads.c.created_at >= visits_since,
                leads.c.status.notin_(_constants(NOT_RECYCLABLE)),
            )
            .order_by(leads.c.created_at.desc(), leads.c.id.desc())
            .limit(literal_column("1"))
            .subquery()
        )

    # One look-up per index, the later of the two kept, not one scan under an OR:
    # PostgreSQL keeps the plan it made for the first captures, and on a table it had
    # no statistics of yet it read every lead under the OR (docs/benchmarks.md,
    # "Capture": a sequential scan per capture for as long as the plan lasted).
    by_email = latest_by(leads.c.email_hash, email_hash)
    if phone_hash is None:
        candidates = by_email
    else:
        by_phone = latest_by(leads.c.phone_hash, phone_hash)
        candidates = union_all(select(by_email), select(by_phone)).subquery("candidates")
    latest = (
        select(candidates.c.id, candidates.c.status)
        .order_by(candidates.c.created_at.desc(), candidates.c.id.desc())
        .limit(literal_column("1"))
        .subquery("latest")
    )
    # Scalar sub-selects, not EXISTS under an OR: PostgreSQL then reads this one lead's
    # sales by their index, and each sale's dispute by its own, instead of hashing
    # every accepted dispute first.
    dispute_status = select(Dispute.status).where(Dispute.sale_id == Sale.id).scalar_subquery()
    returned = (
        select(literal_column("1"))
        .select_from(Sale)
        .where(
            Sale.lead_id == latest.c.id,
            dispute_status == literal_column(f"'{DisputeStatus.ACCEPTED.value}'"),
        )
        .limit(literal_column("1"))
        .scalar_subquery()
    )
    return (
        select(latest.c.id)
        .where(
            or_(
                latest.c.status == literal_column(f"'{LeadStatus.UNSOLD.value}'"),
                returned.is_not(None),
            )
        )
        .scalar_subquery()
    )


def _public_status(status: LeadStatus) -> str:
    return "accepted" if status is LeadStatus.PENDING else status.value


def _in_steps(lead, consent, windows: PersonWindows, idempotency) -> tuple[int, LeadStatus]:
    session = db.session
    email_hash, phone_hash = lead["email_hash"], lead.get("phone_hash")
    recycled_from_id = None
    if session.scalar(select(_suppressed(email_hash, phone_hash))):
        status = LeadStatus.REJECTED
    elif session.scalar(
        select(_seen_recently(email_hash, lead["sector_id"], windows.dedupe_since))
    ):
        status = LeadStatus.DUPLICATE
    else:
        status = LeadStatus.PENDING
        recycled_from_id = session.scalar(
            select(
                _recycled_lead(
                    email_hash,
                    phone_hash,
                    lead["sector_id"],
                    windows.dedupe_since,
                    windows.visits_since,
                )
            )
        )
    visits = session.scalar(select(_earlier_visits(email_hash, windows.visits_since)))
    try:
        lead_id = session.execute(
            insert(leads)
            .values(**lead, status=status, earlier_visits=visits, recycled_from_id=recycled_from_id)
            .returning(leads.c.id)
        ).scalar_one()
        session.execute(insert(consents).values(**consent, lead_id=lead_id))
        if idempotency is not None:
            response = {
                "id": lead_id,
                "status": _public_status(status),
                "certificate_id": consent["certificate_id"],
            }
            session.execute(
                insert(idempotent_requests).values(
                    **idempotency, lead_id=lead_id, response=response
                )
            )
        session.commit()
    except IntegrityError:
        session.rollback()
        raise
    return lead_id, status


def _in_one_statement(lead, consent, windows: PersonWindows, idempotency) -> tuple[int, LeadStatus]:
    sql, reads = _one_statement_sql(tuple(lead), tuple(consent), tuple(idempotency or ()))
    person = {
        "email_hash": lead["email_hash"],
        "phone_hash": lead.get("phone_hash"),
        "sector_id": lead["sector_id"],
        "dedupe_since": windows.dedupe_since,
        "visits_since": windows.visits_since,
    }
    sources = (person, lead, consent, idempotency)
    # Each parameter read where ``reads`` says, the JSON columns' wrapped, in the
    # statement's order: no name is built nor value inspected per capture.
    values = [
        _plain(sources[source][name]) if as_json is None else as_json(sources[source][name])
        for source, name, as_json in reads
    ]
    # The SQL is compiled once per shape (below); only the values travel each time. One
    # statement is atomic by itself: it runs in autocommit, one round trip in all.
    with kept_raw_cursor() as cursor:
        try:
            # PostgreSQL's own placeholders: psycopg parses a statement's %(name)s at
            # each execution when it is longer than 4 kB, as this one is (a twentieth of
            # a capture's CPU), and a $n statement not at all.
            lead_id, status = cursor.execute(sql, values).fetchone()
        except psycopg.IntegrityError as taken:  # the key (or the form's token) was used
            raise IntegrityError(sql.decode(), None, taken) from taken
    return lead_id, LeadStatus(status)


def _plain(value):
    return value.value if isinstance(value, enum.Enum) else value


@functools.cache
def _one_statement_sql(
    lead_columns: tuple, consent_columns: tuple, key_columns: tuple
) -> tuple[bytes, list[tuple[int, str, type[Jsonb] | None]]]:
    """The chain of INSERT CTEs for these columns, compiled for psycopg with PostgreSQL's
    own placeholders ($1, $2...), and where each parameter is read, in their order: the
    person's look-ups (0), the lead (1), its consent (2) or its key (3), by name, with
    ``Jsonb`` for a JSON column's value."""

    def params(table, prefix, columns):
        return {name: bindparam(f"{prefix}_{name}", type_=table.c[name].type) for name in columns}

    email_hash = bindparam("email_hash", type_=String)
    phone_hash = bindparam("phone_hash", type_=String)
    sector_id = bindparam("sector_id", type_=Integer)
    dedupe_since = bindparam("dedupe_since", type_=DateTime(timezone=True))
    visits_since = bindparam("visits_since", type_=DateTime(timezone=True))
    status = case(
        (_suppressed(email_hash, phone_hash), literal_column("'rejected'")),
        (
            exists().where(
                leads.c.email_hash == email_hash,
                leads.c.sector_id == sector_id,
                leads.c.created_at >= dedupe_since,
                text("leads.status NOT IN ('rejected', 'erased')"),
            ),
            literal_column("'duplicate'"),
        ),
        else_=literal_column("'pending'"),
    )
    # The person's checks, once: the status, the visits, then (only for a lead that
    # will be offered: CASE evaluates lazily) the earlier lead it recycles.
    person = select(
        status.label("status"),
        _earlier_visits(email_hash, visits_since).label("earlier_visits"),
    ).cte("person")
    recycled_from_id = case(
        (
            person.c.status == literal_column("'pending'"),
            _recycled_lead(email_hash, phone_hash, sector_id, dedupe_since, visits_since),
        ),
    )
    new_lead = (
        insert(leads)
        .values(
            **params(leads, "lead", lead_columns),
            status=select(person.c.status).scalar_subquery(),
            earlier_visits=select(person.c.earlier_visits).scalar_subquery(),
            recycled_from_id=select(recycled_from_id).select_from(person).scalar_subquery(),
        )
        .returning(leads.c.id, cast(leads.c.status, String).label("status"))
        .cte("new_lead")
    )
    consent_values = params(consents, "consent", consent_columns)
    ctes = [
        insert(consents)
        .from_select(
            [*consent_columns, "lead_id"],
            select(*(value.label(name) for name, value in consent_values.items()), new_lead.c.id),
        )
        .cte("new_consent")
    ]
    if key_columns:
        public_status = case(
            (new_lead.c.status == literal_column("'pending'"), literal_column("'accepted'")),
            else_=new_lead.c.status,
        )
        response = func.jsonb_build_object(
            literal_column("'id'"),
            new_lead.c.id,
            literal_column("'status'"),
            public_status,
            literal_column("'certificate_id'"),
            bindparam("consent_certificate_id", type_=String),
        )
        key_values = params(idempotent_requests, "key", key_columns)
        ctes.append(
            insert(idempotent_requests)
            .from_select(
                [*key_columns, "lead_id", "response"],
                select(*(v.label(n) for n, v in key_values.items()), new_lead.c.id, response),
            )
            .cte("new_key")
        )
    statement = select(new_lead.c.id, new_lead.c.status).add_cte(*ctes)
    compiled = statement.compile(dialect=psycopg_dialect(paramstyle="numeric_dollar"))
    # A column left out would get its Python default as an unnamed parameter that
    # nobody fills: every column with a default must be given by the caller.
    expected = {"email_hash", "phone_hash", "sector_id", "dedupe_since", "visits_since"} | {
        f"{prefix}_{name}"
        for prefix, columns in (
            ("lead", lead_columns),
            ("consent", consent_columns),
            ("key", key_columns),
        )
        for name in columns
    }
    unexpected = set(compiled.params) - expected
    if unexpected:
        raise ValueError(f"columns with defaults left out of the insert: {sorted(unexpected)}")
    tables = {"lead": (1, leads), "consent": (2, consents), "key": (3, idempotent_requests)}
    reads = []
    for name in compiled.positiontup:
        prefix, _, column = name.partition("_")
        if prefix in tables and column:
            source, table = tables[prefix]
            is_json = isinstance(table.c[column].type, JSON)
            reads.append((source, column, Jsonb if is_json else None))
        else:
            reads.append((0, name, None))
    # Bytes, the one object every capture passes: psycopg encodes a str statement at
    # each execution, and keys its prepared statements by the bytes (hashed once).
    return str(compiled).encode(), reads
