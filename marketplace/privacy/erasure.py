"""Erasure and objection: what they change, everywhere the person's data lives.

Erasure blanks the personal fields of every lead of the person and every copy of them:
the mails of the outbox that carried them, the consent records' network traces (the
hashes and the text's fingerprint stay: they prove consent existed), the buyers' free
text about the person (ratings' and disputes' comments), and the person's own privacy
requests. Purchases, deliveries and the ledger keep their non-personal trail, so money
still balances. The hashes go on the suppression list; every purchase of the person's
leads gets a notice (GDPR art. 19), told by mail and by a ``lead.erased`` webhook.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from marketplace import delivery
from marketplace.db_pool import on_postgresql
from marketplace.extensions import db
from marketplace.models import (
    ConsentRecord,
    Dispute,
    GdprRequest,
    Lead,
    LeadStatus,
    OutboxMail,
    RecipientNotice,
    Sale,
    SuppressionEntry,
    utcnow,
)

LEAD_ERASED = "lead.erased"
LEAD_RECTIFIED = "lead.rectified"
ERASED_TEXT = "(erased)"

# The lead's personal fields: blanked by erasure (qualification codes, the sector and
# the score are not about the person and stay, so sales and statistics still add up).
PERSONAL_LEAD_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "message",
    "company",
    "siret",
    "postcode",
    "page_url",
)


def _insert_ignoring_duplicates(model, rows: list[dict]):
    if not rows:
        return None
    dialect = postgresql if on_postgresql() else sqlite
    return db.session.execute(dialect.insert(model).values(rows).on_conflict_do_nothing())


def suppress(hashes: list[str | None], reason: str) -> None:
    """Never sell these people again: a later submission is stored, rejected."""
    _insert_ignoring_duplicates(
        SuppressionEntry,
        [{"email_hash": h, "reason": reason, "created_at": utcnow()} for h in hashes if h],
    )


def notify_holders(request: GdprRequest, lead_ids: list[int], kind: str) -> tuple[int, list[int]]:
    """A notice for each purchase of these leads (once per purchase and request), and the
    buyers' webhooks as deliveries, in the caller's transaction. Returns the number of
    notices and the delivery ids to send after the commit."""
    sales = db.session.execute(
        select(Sale.id, Sale.buyer_id, Sale.lead_id).where(Sale.lead_id.in_(lead_ids))
    ).all()
    now = utcnow()
    _insert_ignoring_duplicates(
        RecipientNotice,
        [
            {
                "request_id": request.id,
                "sale_id": sale_id,
                "buyer_id": buyer_id,
                "lead_id": lead_id,
                "kind": kind,
                "created_at": now,
            }
            for sale_id, buyer_id, lead_id in sales
        ],
    )
    event = LEAD_ERASED if kind == "erasure" else LEAD_RECTIFIED
    delivery_ids = delivery.create_deliveries(
        [sale_id for sale_id, _, _ in sales], event, now, occasion=f"privacy:{request.id}"
    )
    return len(sales), delivery_ids


def blank_leads(lead_ids: list[int]) -> None:
    """Blank these leads' personal data and every copy of it, in the caller's
    transaction: the leads, their consent records' traces, the mails about them, what
    buyers wrote about the person."""
    if not lead_ids:
        return
    db.session.execute(
        update(Lead)
        .where(Lead.id.in_(lead_ids))
        .values(status=LeadStatus.ERASED, utm={}, **dict.fromkeys(PERSONAL_LEAD_FIELDS))
    )
    db.session.execute(
        update(ConsentRecord)
        .where(ConsentRecord.lead_id.in_(lead_ids))
        .values(ip=None, user_agent=None, page_url=None, referrer=None, utm={})
    )
    db.session.execute(
        update(OutboxMail)
        .where(OutboxMail.lead_id.in_(lead_ids))
        .values(to_address=None, subject=ERASED_TEXT, body_text=ERASED_TEXT)
    )
    sale_ids = select(Sale.id).where(Sale.lead_id.in_(lead_ids)).scalar_subquery()
    db.session.execute(update(Sale).where(Sale.lead_id.in_(lead_ids)).values(rating_comment=None))
    db.session.execute(
        update(Dispute)
        .where(Dispute.sale_id.in_(sale_ids))
        .values(comment=None, resolution_note=None)
    )


def erase(request: GdprRequest, leads: list[Lead]) -> tuple[int, list[int]]:
    """Blank the person everywhere, in the caller's transaction. Returns the number of
    purchases whose buyer is told, and the deliveries to send after the commit."""
    lead_ids = [lead.id for lead in leads]
    hashes = {request.email_hash, request.phone_hash}
    hashes |= {lead.email_hash for lead in leads} | {lead.phone_hash for lead in leads}
    blank_leads(lead_ids)
    if request.email:
        db.session.execute(
            update(OutboxMail)
            .where(OutboxMail.to_address == request.email)
            .values(to_address=None, body_text=ERASED_TEXT)
        )
    # The person's own requests keep their kind, dates and decision, not the address.
    db.session.execute(
        update(GdprRequest)
        .where(GdprRequest.email_hash == request.email_hash)
        .values(email=None, details={})
    )
    suppress(sorted(h for h in hashes if h), "erasure")
    told, delivery_ids = notify_holders(request, lead_ids, "erasure")
    db.session.expire_all()
    return told, delivery_ids


def object_to_use(request: GdprRequest, leads: list[Lead]) -> int:
    """Objection: never sold again. The person's leads not yet sold leave the
    catalogue; a later submission is stored as rejected and never sold."""
    hashes = {request.email_hash, request.phone_hash}
    hashes |= {lead.email_hash for lead in leads} | {lead.phone_hash for lead in leads}
    suppress(sorted(h for h in hashes if h), "objection")
    withdrawn = db.session.execute(
        update(Lead)
        .where(
            Lead.id.in_([lead.id for lead in leads]),
            Lead.status.in_((LeadStatus.PENDING, LeadStatus.UNSOLD)),
        )
        .values(status=LeadStatus.REJECTED)
    ).rowcount
    return withdrawn


def holder_notices(buyer_id: int, sale_id: int) -> list[RecipientNotice]:
    """What the buyer was told about this purchase's person, oldest first: shown on the
    lead's page (a buyer sees only its own)."""
    return list(
        db.session.scalars(
            select(RecipientNotice)
            .where(RecipientNotice.sale_id == sale_id, RecipientNotice.buyer_id == buyer_id)
            .order_by(RecipientNotice.id)
        )
    )
