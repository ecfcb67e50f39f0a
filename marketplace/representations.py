"""How a purchase is shown outside the portal: the buyer API and the webhooks alike.

One query reads a purchase's fields (``purchase_columns`` over ``purchases_from``),
one function writes them out (``purchase_json``): the API's pages, its answers about
one purchase and each webhook's body read the same columns in one round trip,
without loading the sale, its lead, consent, sector, magnet and dispute as objects.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Select, select

from marketplace.models import (
    ConsentRecord,
    Dispute,
    DisputeStatus,
    Lead,
    LeadMagnet,
    Sale,
    Sector,
)

_sales, _leads, _disputes = Sale.__table__, Lead.__table__, Dispute.__table__


def purchase_columns() -> list:
    """The columns ``purchase_json`` reads, each under its own name."""
    return [
        _sales.c.id,
        _sales.c.lead_id,
        _sales.c.created_at,
        _sales.c.source,
        _sales.c.campaign_id,
        _sales.c.exclusive,
        _sales.c.price_cents,
        _sales.c.currency,
        _sales.c.rating_stars,
        _sales.c.rating_reasons,
        _sales.c.rating_comment,
        _sales.c.rated_at,
        _sales.c.outcome,
        _sales.c.outcome_amount_cents,
        _sales.c.outcome_lost_reason,
        _sales.c.outcome_at,
        Sector.__table__.c.slug.label("sector"),
        LeadMagnet.__table__.c.kind.label("magnet_kind"),
        _leads.c.score,
        _leads.c.first_name,
        _leads.c.last_name,
        _leads.c.email,
        _leads.c.phone,
        _leads.c.job_title,
        _leads.c.company,
        _leads.c.siret,
        _leads.c.company_size,
        _leads.c.budget,
        _leads.c.timeframe,
        _leads.c.housing,
        _leads.c.postcode,
        _leads.c.country,
        _leads.c.message,
        ConsentRecord.__table__.c.certificate_id,
        _disputes.c.id.label("dispute_id"),
        _disputes.c.status.label("dispute_status"),
        _disputes.c.reason.label("dispute_reason"),
        _disputes.c.comment.label("dispute_comment"),
        _disputes.c.created_at.label("dispute_created_at"),
        _disputes.c.resolved_at.label("dispute_resolved_at"),
        _disputes.c.resolution_note.label("dispute_resolution_note"),
        _disputes.c.refund.label("dispute_refund"),
        _disputes.c.decided_by_rule.label("dispute_decided_by_rule"),
    ]


PURCHASE_FIELDS = frozenset(column.key for column in purchase_columns())
# The fields a purchase shows of its lead, under the lead's own column names.
PURCHASE_LEAD_FIELDS = tuple(column.key for column in purchase_columns() if column.table is _leads)
# What a purchase shows of the buyer's verdicts before there is any.
_NO_VERDICT_YET = {
    "rating_stars": None,
    "rating_reasons": [],
    "rating_comment": None,
    "rated_at": None,
    "outcome": None,
    "outcome_amount_cents": None,
    "outcome_lost_reason": None,
    "outcome_at": None,
    **{field: None for field in PURCHASE_FIELDS if field.startswith("dispute_")},
}


def new_purchase(**fields) -> dict:
    """A sale just made, as ``purchase_json`` reads it, from what its seller holds in
    memory (the sale and its lead), with no verdict yet: its webhook needs no query.
    Every other field must be given."""
    purchase = {**_NO_VERDICT_YET, **fields}
    if purchase.keys() != PURCHASE_FIELDS:
        raise TypeError(f"a purchase's fields differ: {sorted(purchase.keys() ^ PURCHASE_FIELDS)}")
    return purchase


def purchases_from(query: Select) -> Select:
    """``query`` (a select of ``purchase_columns`` and more) reading from the sales and
    what a purchase shows of its lead."""
    sectors, magnets = Sector.__table__, LeadMagnet.__table__
    consents = ConsentRecord.__table__
    return (
        query.join_from(_sales, _leads, _leads.c.id == _sales.c.lead_id)
        .join(sectors, sectors.c.id == _leads.c.sector_id)
        .join(magnets, magnets.c.id == _leads.c.magnet_id)
        .outerjoin(consents, consents.c.lead_id == _leads.c.id)
        .outerjoin(_disputes, _disputes.c.sale_id == _sales.c.id)
    )


def purchase_query() -> Select:
    """Every purchase, as ``purchase_json`` reads it: add the ``where`` and the order."""
    return purchases_from(select(*purchase_columns()))


def purchase_json(row: Mapping) -> dict:
    """A purchase as the buyer API gives it: the contact, the qualification, the proof.
    ``row``: a row of ``purchase_query`` (``row._mapping``)."""
    outcome = row["outcome"]
    return {
        "id": row["id"],
        "lead_id": row["lead_id"],
        "created_at": row["created_at"],
        "source": row["source"].value,
        "campaign_id": row["campaign_id"],
        "exclusive": row["exclusive"],
        "price_cents": row["price_cents"],
        "currency": row["currency"],
        "sector": row["sector"],
        "magnet_kind": row["magnet_kind"].value,
        "score": row["score"],
        "contact": {
            "first_name": row["first_name"],
            "last_name": row["last_name"],
            "email": row["email"],
            "phone": row["phone"],
            "job_title": row["job_title"],
        },
        "qualification": {
            "company": row["company"],
            "siret": row["siret"],
            "company_size": row["company_size"],
            "budget": row["budget"],
            "timeframe": row["timeframe"],
            "housing": row["housing"],
            "postcode": row["postcode"],
            "country": row["country"],
            "message": row["message"],
        },
        "consent_certificate_id": row["certificate_id"],
        "rating": {
            "stars": row["rating_stars"],
            "reasons": row["rating_reasons"],
            "comment": row["rating_comment"],
            "rated_at": row["rated_at"],
        },
        "outcome": {
            "status": outcome.value if outcome else "new",
            "amount_cents": row["outcome_amount_cents"],
            "lost_reason": row["outcome_lost_reason"],
            "changed_at": row["outcome_at"],
        },
        "dispute": _dispute_json(row),
    }


def _dispute_json(row: Mapping) -> dict | None:
    """The purchase's dispute, and what it was credited (an accepted dispute credits
    the price: on the next invoice, or refunded)."""
    if row["dispute_id"] is None:
        return None
    accepted = row["dispute_status"] is DisputeStatus.ACCEPTED
    return {
        "id": row["dispute_id"],
        "status": row["dispute_status"].value,
        "reason": row["dispute_reason"].value,
        "comment": row["dispute_comment"],
        "created_at": row["dispute_created_at"],
        "resolved_at": row["dispute_resolved_at"],
        "resolution_note": row["dispute_resolution_note"],
        "credit_cents": row["price_cents"] if accepted else 0,
        "refunded": bool(accepted and row["dispute_refund"]),
        "decided_by_rule": row["dispute_decided_by_rule"],
    }
