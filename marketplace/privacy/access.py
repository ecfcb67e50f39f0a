"""The person's copy of their data (GDPR art. 15): every lead, its consent proof, where
it came from, and the companies that received it, with the dates."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from marketplace.extensions import db
from marketplace.models import GdprRequest, Lead, RecipientNotice, Sale
from marketplace.privacy.requests import person_leads

CONTACT_FIELDS = ("first_name", "last_name", "email", "phone", "job_title", "company")
ANSWER_FIELDS = (
    "siret",
    "company_size",
    "budget",
    "timeframe",
    "housing",
    "postcode",
    "country",
    "message",
)


def _iso(moment):
    return moment.isoformat() if moment else None


def export(request: GdprRequest) -> dict:
    """What we hold on the person, as JSON-ready data."""
    leads = person_leads(request)
    lead_ids = [lead.id for lead in leads]
    sales = db.session.scalars(
        select(Sale)
        .where(Sale.lead_id.in_(lead_ids))
        .options(joinedload(Sale.buyer))
        .order_by(Sale.created_at)
    ).all()
    notices = db.session.scalars(
        select(RecipientNotice).where(RecipientNotice.lead_id.in_(lead_ids))
    ).all()
    told = {(n.sale_id, n.kind): n.created_at for n in notices}
    by_lead: dict[int, list[Sale]] = {}
    for sale in sales:
        by_lead.setdefault(sale.lead_id, []).append(sale)
    return {
        "generated_for": "GDPR article 15 access request",
        "request_id": request.id,
        "leads": [_lead(lead, by_lead.get(lead.id, []), told) for lead in leads],
    }


def _lead(lead: Lead, sales: list[Sale], told: dict) -> dict:
    consent = lead.consent
    return {
        "id": lead.id,
        "received_at": _iso(lead.created_at),
        "status": lead.status.value,
        "contact": {name: getattr(lead, name) for name in CONTACT_FIELDS},
        "answers": {name: getattr(lead, name) for name in ANSWER_FIELDS},
        "source": {
            "form": lead.magnet.title,
            "publisher": lead.publisher.name,
            "page": lead.page_url,
        },
        "consent": None
        if consent is None
        else {
            "certificate_id": consent.certificate_id,
            "given_at": _iso(consent.consented_at),
            "text": consent.consent_text.text,
            "text_version": consent.consent_text.version,
            "text_sha256": consent.text_sha256,
            "checkboxes": consent.checkboxes,
            "partners_shown": [p.get("name") for p in consent.partner_list.partners or []],
            "page": consent.page_url,
            "ip": consent.ip,
        },
        "recipients": [
            {
                "company": sale.buyer.name,
                "received_at": _iso(sale.created_at),
                "told_of_erasure_at": _iso(told.get((sale.id, "erasure"))),
                "told_of_rectification_at": _iso(told.get((sale.id, "rectification"))),
            }
            for sale in sales
        ],
    }
