"""The admin console: every lead, its consent proof and its sales."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from marketplace import audit
from marketplace.auth.decorators import admin_required
from marketplace.distribution import logged_verdicts
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.lifecycle import person_history
from marketplace.matching import candidate_campaigns, judge
from marketplace.models import Campaign, Lead, LeadStatus, OutboxMail, Sale, utcnow

blueprint = Blueprint("admin", __name__)

PAGE_SIZE = 100


@blueprint.route("/")
@admin_required
def leads():
    status = request.args.get("status")
    query = select(Lead).options(
        joinedload(Lead.publisher), joinedload(Lead.sector), joinedload(Lead.magnet)
    )
    if status in {s.value for s in LeadStatus}:
        query = query.where(Lead.status == LeadStatus(status))
    rows = db.session.scalars(query.order_by(Lead.id.desc()).limit(PAGE_SIZE))
    totals = dict(
        db.session.execute(select(Lead.status, func.count(Lead.id)).group_by(Lead.status)).all()
    )
    return render_template(
        "admin/leads.html", leads=list(rows), totals=totals, status=status, statuses=LeadStatus
    )


def _logged_at(lead: Lead) -> datetime | None:
    """When distribution last decided, as the log stores it (ISO 8601, UTC)."""
    logged = (lead.distribution_log or {}).get("at")
    try:
        return datetime.fromisoformat(logged) if logged else None
    except (TypeError, ValueError):
        return None


@blueprint.route("/leads/<int:lead_id>")
@admin_required
def lead(lead_id: int):
    found = db.session.scalar(
        select(Lead)
        .where(Lead.id == lead_id)
        .options(joinedload(Lead.consent), joinedload(Lead.recycled_from))
    )
    if found is None:
        raise NotFound()
    sales = list(
        db.session.scalars(
            select(Sale)
            .where(Sale.lead_id == lead_id)
            .options(joinedload(Sale.buyer), joinedload(Sale.campaign))
            .order_by(Sale.id)
        )
    )
    campaigns = candidate_campaigns(found)
    verdicts = judge(found, campaigns, utcnow())
    by_id = {c.id: c for c in campaigns}
    audit.record(
        "lead.contact_viewed",
        "lead",
        lead_id,
        actor_user_id=current_user.id,
        details={"by": "admin"},
    )
    db.session.commit()
    return render_template(
        "admin/lead.html",
        lead=found,
        sales=sales,
        verdicts=[(by_id[v.campaign_id], v) for v in verdicts],
        logged_verdicts=logged_verdicts(found),
        decided_at=_logged_at(found),
        campaigns_by_id=by_id,
        Campaign=Campaign,
        history=person_history(found),
    )


@blueprint.route("/outbox")
@admin_required
def outbox():
    """Every mail the platform sent or kept (without SMTP_URL, the outbox is the delivery)."""
    mails = db.session.scalars(select(OutboxMail).order_by(OutboxMail.id.desc()).limit(PAGE_SIZE))
    return render_template("admin/outbox.html", mails=list(mails))


# The dispute queue adds its routes to this blueprint.
from marketplace.admin import disputes as _dispute_pages  # noqa: E402, F401
