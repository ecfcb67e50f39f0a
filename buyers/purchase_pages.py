"""One purchase: the lead with its contact, the buyer's verdict (rating and where the
deal stands), the dispute, the deliveries."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from buyers import purchases
from buyers.blueprint import blueprint
from buyers.forms import DisputeForm, OutcomeForm, RatingForm, cents
from marketplace import delivery, disputes, quality, returns
from marketplace.auth.decorators import buyer_required
from marketplace.errors import ValidationFailed
from marketplace.forms import show_field_errors
from marketplace.governance.sectors import return_window_days
from marketplace.labels import (
    DECIDING_RULE_LABELS,
    DISPUTE_REASON_LABELS,
    LOST_REASON_LABELS,
    OUTCOME_LABELS,
    RATING_REASON_LABELS,
    score_breakdown,
)
from marketplace.models import utcnow
from marketplace.privacy.erasure import holder_notices


@blueprint.route("/purchases/<int:sale_id>")
@buyer_required
def purchase(sale_id: int):
    return purchase_page(sale_id)


def dispute_form() -> DisputeForm:
    form = DisputeForm()
    form.reason.choices = list(DISPUTE_REASON_LABELS.items())
    return form


def rating_form(sale=None) -> RatingForm:
    # On a post the form reads what was sent only: a previous rating given as data
    # would keep reasons the buyer just unticked.
    form = RatingForm(
        data=None
        if sale is None or request.method == "POST"
        else {
            "stars": sale.rating_stars,
            "reasons": sale.rating_reasons,
            "rating_comment": sale.rating_comment,
        },
    )
    form.reasons.choices = list(RATING_REASON_LABELS.items())
    return form


def outcome_form(sale=None) -> OutcomeForm:
    data = None
    if sale is not None and request.method != "POST":
        amount = sale.outcome_amount_cents
        data = {
            "status": sale.outcome.value if sale.outcome else "new",
            "amount": Decimal(amount) / 100 if amount is not None else None,
            "lost_reason": sale.outcome_lost_reason or "",
        }
    form = OutcomeForm(data=data)
    form.status.choices = list(OUTCOME_LABELS.items())
    form.lost_reason.choices = [("", "—"), *LOST_REASON_LABELS.items()]
    return form


def purchase_page(sale_id: int, status: int = 200, **forms):
    """A purchase with its lead, the buyer's verdict, the dispute and the deliveries;
    ``forms`` that a refused post carries back with their errors."""
    sale = purchases.open_purchase(current_user.organization_id, sale_id, current_user.id)
    window = timedelta(days=return_window_days(sale.lead.sector))
    now = utcnow()
    page = render_template(
        "buyers/purchase.html",
        sale=sale,
        lead=sale.lead,
        deliveries=delivery.deliveries_of(sale.id),
        dispute=disputes.dispute_of(sale.id),
        credit=disputes.credit_of(sale.id),
        dispute_form=forms.get("dispute_form") or dispute_form(),
        rating_form=forms.get("rating_form") or rating_form(sale),
        outcome_form=forms.get("outcome_form") or outcome_form(sale),
        rating_until=quality.rating_open_until(sale),
        can_rate=now <= quality.rating_open_until(sale),
        dispute_until=sale.created_at + window,
        can_dispute=now <= sale.created_at + window,
        reason_labels=DISPUTE_REASON_LABELS,
        rating_reason_labels=RATING_REASON_LABELS,
        outcome_labels=OUTCOME_LABELS,
        lost_reason_labels=LOST_REASON_LABELS,
        score_parts=score_breakdown(sale.lead.score_explanation),
        privacy_notices=holder_notices(current_user.organization_id, sale.id),
    )
    return page, status


@blueprint.route("/purchases/<int:sale_id>/rating", methods=["POST"])
@buyer_required
def rate_purchase(sale_id: int):
    """Rate from the lead's page, or in one click from the inbox (``quick``: only the
    stars change)."""
    form = rating_form()
    quick = form.quick.data == "1"
    if not form.validate_on_submit():
        if quick:
            flash(_("Give 1 to 5 stars."), "danger")
            return redirect(url_for("buyers.inbox"))
        return purchase_page(sale_id, 422, rating_form=form)
    try:
        quality.rate_purchase(
            current_user.organization_id,
            sale_id,
            stars=form.stars.data,
            reasons=form.reasons.data or [],
            comment=form.rating_comment.data,
            keep_details=quick,
            user_id=current_user.id,
        )
    except ValidationFailed as error:
        show_field_errors(form, error, aliases={"comment": "rating_comment"})
        return purchase_page(sale_id, 422, rating_form=form)
    except quality.RatingClosed as closed:
        flash(closed.message, "danger")
        return redirect(url_for("buyers.purchase", sale_id=sale_id))
    flash(_("Rating saved: %(n)d stars.", n=form.stars.data), "success")
    if quick:
        return redirect(url_for("buyers.inbox", _anchor=f"sale-{sale_id}"))
    return redirect(url_for("buyers.purchase", sale_id=sale_id, _anchor="verdict"))


@blueprint.route("/purchases/<int:sale_id>/outcome", methods=["POST"])
@buyer_required
def record_outcome(sale_id: int):
    form = outcome_form()
    if not form.validate_on_submit():
        return purchase_page(sale_id, 422, outcome_form=form)
    amount = form.amount.data
    try:
        quality.record_outcome(
            current_user.organization_id,
            sale_id,
            status=form.status.data,
            amount_cents=cents(amount),
            lost_reason=form.lost_reason.data or None,
            user_id=current_user.id,
        )
    except ValidationFailed as error:
        show_field_errors(form, error, aliases={"amount_cents": "amount"})
        return purchase_page(sale_id, 422, outcome_form=form)
    flash(_("Saved: %(status)s.", status=OUTCOME_LABELS[form.status.data]), "success")
    return redirect(url_for("buyers.purchase", sale_id=sale_id, _anchor="verdict"))


@blueprint.route("/purchases/<int:sale_id>/dispute", methods=["POST"])
@buyer_required
def dispute_purchase(sale_id: int):
    """Open a dispute; a refused one shows the purchase again with the errors at the
    fields (a window that has closed, which no field holds, as a message)."""
    form = dispute_form()
    if not form.validate_on_submit():
        return purchase_page(sale_id, 422, dispute_form=form)
    try:
        dispute = returns.open_dispute_and_decide(
            current_user.organization_id, sale_id, form.reason.data, form.comment.data
        )
    except ValidationFailed as error:
        show_field_errors(form, error)
        return purchase_page(sale_id, 422, dispute_form=form)
    except disputes.DisputeRefused as refused:
        flash(refused.message, "danger")
        return purchase_page(sale_id, 409, dispute_form=form)
    if dispute.decided_by_rule:
        flash(
            _(
                "Your dispute is accepted automatically: %(rule)s. The price is credited to you.",
                rule=DECIDING_RULE_LABELS[dispute.decided_by_rule],
            ),
            "success",
        )
    else:
        flash(_("Your dispute is recorded: an administrator will decide on it."), "success")
    return redirect(url_for("buyers.purchase", sale_id=sale_id))


@blueprint.route("/deliveries/<int:delivery_id>/redeliver", methods=["POST"])
@buyer_required
def redeliver(delivery_id: int):
    delivery.redeliver(current_user.organization_id, delivery_id)
    flash(_("One more delivery attempt is on its way."), "success")
    return redirect(request.referrer or url_for("buyers.inbox"))
