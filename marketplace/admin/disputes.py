"""The admin's dispute queue: decide each open dispute, with its buyer's return rate
beside it (thin views over disputes.py and returns)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from marketplace import disputes, returns
from marketplace.admin.views import blueprint
from marketplace.auth.decorators import admin_required
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.labels import DISPUTE_REASON_LABELS
from marketplace.models import Dispute, DisputeStatus, Sale

NOTE_MAX = disputes.MAX_COMMENT


@blueprint.route("/disputes")
@admin_required
def dispute_queue():
    with_sale = (joinedload(Dispute.sale).joinedload(Sale.buyer),)
    waiting = db.session.scalars(
        select(Dispute)
        .where(Dispute.status == DisputeStatus.OPEN)
        .options(*with_sale)
        .order_by(Dispute.created_at)
        .limit(200)
    ).all()
    decided = db.session.scalars(
        select(Dispute)
        .where(Dispute.status != DisputeStatus.OPEN)
        .options(*with_sale)
        .order_by(Dispute.resolved_at.desc())
        .limit(50)
    ).all()
    return render_template(
        "admin/disputes.html",
        waiting=waiting,
        decided=decided,
        rates=returns.return_rates([dispute.buyer_id for dispute in waiting]),
        reason_labels=DISPUTE_REASON_LABELS,
        note_max=NOTE_MAX,
    )


@blueprint.route("/disputes/<int:dispute_id>", methods=["POST"])
@admin_required
def decide_dispute(dispute_id: int):
    decision = request.form.get("decision")
    note = request.form.get("note", "")
    if decision not in ("accept", "reject"):
        flash(_("Choose to accept or to reject the dispute."), "danger")
    elif len(note) > NOTE_MAX:
        flash(_("At most %(n)d characters.", n=NOTE_MAX), "danger")
    else:
        try:
            disputes.resolve_dispute(
                dispute_id,
                admin_user_id=current_user.id,
                accept=decision == "accept",
                note=note,
                refund=request.form.get("refund") == "on",
            )
        except DomainError as error:
            if error.status == 404:
                raise
            flash(error.message, "warning")
        else:
            flash(_("Dispute #%(id)d decided.", id=dispute_id), "success")
    return redirect(url_for("admin.dispute_queue"))
