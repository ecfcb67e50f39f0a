"""How a purchase is shown outside the portal: the buyer API and the webhooks alike."""

from __future__ import annotations

from marketplace.models import DisputeStatus, Sale


def purchase_json(sale: Sale) -> dict:
    """A purchase as the buyer API gives it: the contact, the qualification, the proof."""
    lead = sale.lead
    return {
        "id": sale.id,
        "lead_id": lead.id,
        "created_at": sale.created_at,
        "source": sale.source.value,
        "campaign_id": sale.campaign_id,
        "exclusive": sale.exclusive,
        "price_cents": sale.price_cents,
        "currency": sale.currency,
        "sector": lead.sector.slug,
        "magnet_kind": lead.magnet.kind.value,
        "score": lead.score,
        "contact": {
            "first_name": lead.first_name,
            "last_name": lead.last_name,
            "email": lead.email,
            "phone": lead.phone,
            "job_title": lead.job_title,
        },
        "qualification": {
            "company": lead.company,
            "siret": lead.siret,
            "company_size": lead.company_size,
            "budget": lead.budget,
            "timeframe": lead.timeframe,
            "housing": lead.housing,
            "postcode": lead.postcode,
            "country": lead.country,
            "message": lead.message,
        },
        "consent_certificate_id": lead.consent.certificate_id if lead.consent else None,
        "rating": {
            "stars": sale.rating_stars,
            "reasons": sale.rating_reasons,
            "comment": sale.rating_comment,
            "rated_at": sale.rated_at,
        },
        "outcome": {
            "status": sale.outcome.value if sale.outcome else "new",
            "amount_cents": sale.outcome_amount_cents,
            "lost_reason": sale.outcome_lost_reason,
            "changed_at": sale.outcome_at,
        },
        "dispute": dispute_json(sale),
    }


def dispute_json(sale: Sale) -> dict | None:
    """The purchase's dispute, and what it was credited (an accepted dispute credits
    the price: on the next invoice, or refunded)."""
    dispute = sale.dispute
    if dispute is None:
        return None
    accepted = dispute.status is DisputeStatus.ACCEPTED
    return {
        "id": dispute.id,
        "status": dispute.status.value,
        "reason": dispute.reason.value,
        "comment": dispute.comment,
        "created_at": dispute.created_at,
        "resolved_at": dispute.resolved_at,
        "resolution_note": dispute.resolution_note,
        "credit_cents": sale.price_cents if accepted else 0,
        "refunded": bool(accepted and dispute.refund),
        "decided_by_rule": dispute.decided_by_rule,
    }
