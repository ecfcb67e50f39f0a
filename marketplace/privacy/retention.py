"""Retention: a lead's personal data is kept while it is of use, then blanked like an
erasure (without notices: nobody asked, the buyers' own retention is theirs).

A lead expires ``PRIVACY_RETENTION_MONTHS`` (36 by default, the CNIL's guidance for
prospects) after its last activity: its capture, its last sale, or the last move of a
buyer's pipeline on it."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select

from marketplace import audit, jobs
from marketplace.extensions import db
from marketplace.models import Lead, LeadStatus, OutcomeChange, Sale, utcnow
from marketplace.privacy.erasure import blank_leads

BATCH = 500


def cutoff(now: datetime, months: int) -> datetime:
    # A month of retention is 30.44 days: the cut-off need not fall on a calendar day.
    return now - timedelta(days=round(months * 30.44))


def expired_lead_ids(before: datetime, limit: int = BATCH) -> list[int]:
    last_sale = (
        select(Sale.lead_id, func.max(Sale.created_at).label("at"))
        .group_by(Sale.lead_id)
        .subquery()
    )
    last_move = (
        select(Sale.lead_id, func.max(OutcomeChange.changed_at).label("at"))
        .join(OutcomeChange, OutcomeChange.sale_id == Sale.id)
        .group_by(Sale.lead_id)
        .subquery()
    )
    return list(
        db.session.scalars(
            select(Lead.id)
            .outerjoin(last_sale, last_sale.c.lead_id == Lead.id)
            .outerjoin(last_move, last_move.c.lead_id == Lead.id)
            .where(
                Lead.status != LeadStatus.ERASED,
                Lead.created_at < before,
                (last_sale.c.at.is_(None)) | (last_sale.c.at < before),
                (last_move.c.at.is_(None)) | (last_move.c.at < before),
            )
            .order_by(Lead.id)
            .limit(limit)
        )
    )


def blank_expired_leads(now: datetime | None = None) -> int:
    """Periodic (daily): blank the leads past retention, a batch per transaction, and
    write to the audit trail how many and up to when."""
    if not jobs.run_once_per_period("blank_expired_leads", 3600):
        return 0
    now = now or utcnow()
    months = current_app.config["PRIVACY_RETENTION_MONTHS"]
    before = cutoff(now, months)
    total = 0
    while lead_ids := expired_lead_ids(before):
        blank_leads(lead_ids)
        audit.record(
            "privacy.retention_blanked",
            "lead",
            None,
            details={
                "leads": len(lead_ids),
                "first": lead_ids[0],
                "last": lead_ids[-1],
                "inactive_since_before": before.isoformat(),
                "months": months,
            },
        )
        db.session.commit()
        total += len(lead_ids)
    return total
