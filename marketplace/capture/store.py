"""Writing a lead with its consent record (and its idempotency key) in one go.

On PostgreSQL it is one statement: the duplicate and suppression checks, the
lead, the consent record and the idempotency key are a single INSERT chain of
data-modifying CTEs, so a capture costs one round trip plus the commit
(field-notes.md: the floor is one insert per request). SQLite, the laptop
default, runs the same steps one after the other in the same transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, bindparam, case, cast, exists, func, insert, literal, select
from sqlalchemy.dialects.postgresql import JSONB

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
    """Insert the lead (its status decided here), its consent record and the key.

    ``lead`` and ``consent`` are column values (the consent without ``lead_id``);
    ``idempotency`` the idempotent_requests values without ``lead_id`` and
    ``response``. Returns the lead's id and status. The caller commits.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        return _in_one_statement(lead, consent, dedupe_since, idempotency)
    return _in_steps(lead, consent, dedupe_since, idempotency)


def _suppressed(email_hash: str):
    return exists().where(suppression.c.email_hash == email_hash)


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
    if session.scalar(select(_suppressed(lead["email_hash"]))):
        status = LeadStatus.REJECTED
    elif session.scalar(select(_seen_recently(lead["email_hash"], lead["sector_id"], since))):
        status = LeadStatus.DUPLICATE
    else:
        status = LeadStatus.PENDING
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
            insert(idempotent_requests).values(**idempotency, lead_id=lead_id, response=response)
        )
    return lead_id, status


def _in_one_statement(lead, consent, since, idempotency) -> tuple[int, LeadStatus]:
    status = case(
        (_suppressed(lead["email_hash"]), literal(LeadStatus.REJECTED.value, String)),
        (
            _seen_recently(lead["email_hash"], lead["sector_id"], since),
            literal(LeadStatus.DUPLICATE.value, String),
        ),
        else_=literal(LeadStatus.PENDING.value, String),
    )
    new_lead = (
        insert(leads)
        .values(**lead, status=status)
        .returning(leads.c.id, cast(leads.c.status, String).label("status"))
        .cte("new_lead")
    )
    new_consent = (
        insert(consents)
        .from_select(
            [*consent, "lead_id"],
            select(*_binds(consents, consent, "consent"), new_lead.c.id),
        )
        .cte("new_consent")
    )
    ctes = [new_consent]
    if idempotency is not None:
        public_status = case(
            (new_lead.c.status == LeadStatus.PENDING.value, literal("accepted", String)),
            else_=new_lead.c.status,
        )
        response = func.jsonb_build_object(
            "id",
            new_lead.c.id,
            "status",
            public_status,
            "certificate_id",
            literal(consent["certificate_id"], String),
        )
        ctes.append(
            insert(idempotent_requests)
            .from_select(
                [*idempotency, "lead_id", "response"],
                select(
                    *_binds(idempotent_requests, idempotency, "key"),
                    new_lead.c.id,
                    cast(response, JSONB),
                ),
            )
            .cte("new_key")
        )
    row = db.session.execute(select(new_lead.c.id, new_lead.c.status).add_cte(*ctes)).one()
    return row.id, LeadStatus(row.status)


def _binds(table, values: dict, prefix: str) -> list:
    """Bound values typed as their columns (JSON as JSONB, times as timestamptz)."""
    binds = []
    for name, value in values.items():
        column_type = table.c[name].type
        if isinstance(column_type, JSON | JSONB):
            column_type = JSONB()
        binds.append(bindparam(f"{prefix}_{name}", value, type_=column_type).label(name))
    return binds
