"""Writing a lead with its consent record (and its idempotency key) in one go.

On PostgreSQL it is one statement: the duplicate and suppression checks, the
lead, the consent record and the idempotency key are a single INSERT chain of
data-modifying CTEs run in autocommit, so a capture costs one round trip
(field-notes.md: the floor is one insert per request). SQLite, the laptop
default, runs the same steps one after the other in the same transaction.
"""

from __future__ import annotations

import enum
import functools
from datetime import datetime

from psycopg.types.json import Jsonb
from sqlalchemy import (
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
    select,
    text,
)
from sqlalchemy.dialects.postgresql.psycopg import dialect as psycopg_dialect
from sqlalchemy.exc import IntegrityError

from marketplace.extensions import db
from marketplace.models import ConsentRecord, IdempotentRequest, Lead, LeadStatus, SuppressionEntry

leads = Lead.__table__
consents = ConsentRecord.__table__
idempotent_requests = IdempotentRequest.__table__
suppression = SuppressionEntry.__table__
NOT_COUNTED_FOR_DEDUPE = [LeadStatus.REJECTED.value, LeadStatus.ERASED.value]


def insert_lead(
    lead: dict,
    consent: dict,
    *,
    dedupe_since: datetime,
    idempotency: dict | None = None,
) -> tuple[int, LeadStatus]:
    """Insert and commit the lead (its status decided here), its consent record and key.

    ``lead`` and ``consent`` are column values (the consent without ``lead_id``);
    ``idempotency`` the idempotent_requests values without ``lead_id`` and
    ``response``. Returns the lead's id and status; raises IntegrityError, with
    nothing written, when the idempotency key is already taken.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        return _in_one_statement(lead, consent, dedupe_since, idempotency)
    return _in_steps(lead, consent, dedupe_since, idempotency)


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


def _public_status(status: LeadStatus) -> str:
    return "accepted" if status is LeadStatus.PENDING else status.value


def _in_steps(lead, consent, since, idempotency) -> tuple[int, LeadStatus]:
    session = db.session
    if session.scalar(select(_suppressed(lead["email_hash"], lead.get("phone_hash")))):
        status = LeadStatus.REJECTED
    elif session.scalar(select(_seen_recently(lead["email_hash"], lead["sector_id"], since))):
        status = LeadStatus.DUPLICATE
    else:
        status = LeadStatus.PENDING
    try:
        lead_id = session.execute(
            insert(leads).values(**lead, status=status).returning(leads.c.id)
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


def _in_one_statement(lead, consent, since, idempotency) -> tuple[int, LeadStatus]:
    sql = _one_statement_sql(tuple(lead), tuple(consent), tuple(idempotency or ()))
    params = {
        "email_hash": lead["email_hash"],
        "phone_hash": lead.get("phone_hash"),
        "sector_id": lead["sector_id"],
        "dedupe_since": since,
    }
    for prefix, values in (("lead", lead), ("consent", consent), ("key", idempotency or {})):
        for name, value in values.items():
            params[f"{prefix}_{name}"] = _driver_value(value)
    # The SQL is compiled once per shape (below); only the values travel each time. One
    # statement is atomic by itself: it runs in autocommit, one round trip in all.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        row = connection.exec_driver_sql(sql, params).one()
    return row.id, LeadStatus(row.status)


def _driver_value(value):
    if isinstance(value, dict | list):
        return Jsonb(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


@functools.cache
def _one_statement_sql(lead_columns: tuple, consent_columns: tuple, key_columns: tuple) -> str:
    """The chain of INSERT CTEs for these columns, compiled for psycopg, with named params."""

    def params(table, prefix, columns):
        return {name: bindparam(f"{prefix}_{name}", type_=table.c[name].type) for name in columns}

    email_hash = bindparam("email_hash", type_=String)
    status = case(
        (
            _suppressed(email_hash, bindparam("phone_hash", type_=String)),
            literal_column("'rejected'"),
        ),
        (
            exists().where(
                leads.c.email_hash == email_hash,
                leads.c.sector_id == bindparam("sector_id", type_=Integer),
                leads.c.created_at >= bindparam("dedupe_since", type_=DateTime(timezone=True)),
                text("leads.status NOT IN ('rejected', 'erased')"),
            ),
            literal_column("'duplicate'"),
        ),
        else_=literal_column("'pending'"),
    )
    new_lead = (
        insert(leads)
        .values(**params(leads, "lead", lead_columns), status=status)
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
    compiled = statement.compile(dialect=psycopg_dialect())
    # A column left out would get its Python default as an unnamed parameter that
    # nobody fills: every column with a default must be given by the caller.
    expected = {"email_hash", "phone_hash", "sector_id", "dedupe_since"} | {
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
    return str(compiled)
