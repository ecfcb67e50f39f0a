"""The admins' billing console at /admin/billing: the last reconciliation report, a
run on demand, each buyer's standing and credit limit, and the publishers' payouts."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from billing import earnings, reconcile, standing, stripe_gateway
from billing.stripe_gateway import StripeUnavailable
from marketplace import audit
from marketplace.auth.decorators import admin_required
from marketplace.errors import NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.i18n import money
from marketplace.models import BillingStatus, Organization, OrganizationKind

blueprint = Blueprint("billing_admin", __name__)

MAX_LIMIT_EUROS = 10_000_000


@blueprint.route("/admin/billing")
@admin_required
def overview():
    buyers = db.session.scalars(
        select(Organization)
        .where(Organization.kind == OrganizationKind.BUYER)
        .order_by(Organization.billing_status != BillingStatus.GOOD, Organization.name)
        .limit(500)
    ).all()
    return render_template(
        "admin/billing.html",
        report=reconcile.last_report(),
        buyers=buyers,
        owed=standing.owed_by([buyer.id for buyer in buyers]),
        stripe_on=stripe_gateway.configured(),
    )


@blueprint.route("/admin/billing/reconcile", methods=["POST"])
@admin_required
def reconcile_now():
    if not stripe_gateway.configured():
        flash(_("Stripe is not configured: there is nothing to reconcile yet."), "info")
        return redirect(url_for("billing_admin.overview"))
    try:
        report = reconcile.reconcile()
    except StripeUnavailable:
        flash(_("Stripe cannot be reached right now. Please try again in a moment."), "danger")
    else:
        count = len(report["differences"])
        flash(
            _("Reconciled: %(n)d difference(s).", n=count),
            "success" if count == 0 else "warning",
        )
    return redirect(url_for("billing_admin.overview"))


@blueprint.route("/admin/billing/buyers/<int:buyer_id>/credit-limit", methods=["POST"])
@admin_required
def set_credit_limit(buyer_id: int):
    buyer = db.session.get(Organization, buyer_id, with_for_update=True)
    if buyer is None or not buyer.is_buyer:
        raise NotFound()
    raw = (request.form.get("credit_limit") or "").strip().replace(",", ".")
    try:
        euros = None if raw == "" else float(raw)
        if euros is not None and not 0 <= euros <= MAX_LIMIT_EUROS:
            raise ValueError
    except ValueError:
        db.session.rollback()
        flash(_("Enter a credit limit in euros (or nothing for none)."), "danger")
        return redirect(url_for("billing_admin.overview"))
    buyer.credit_limit_cents = None if euros is None else round(euros * 100)
    standing.apply_credit_limit(buyer)
    audit.record(
        "billing.credit_limit_set",
        "organization",
        buyer.id,
        actor_user_id=current_user.id,
        details={"credit_limit_cents": buyer.credit_limit_cents},
    )
    db.session.commit()
    flash(_("Credit limit saved."), "success")
    return redirect(url_for("billing_admin.overview"))


@blueprint.route("/admin/billing/payouts")
@admin_required
def payouts():
    publishers = db.session.scalars(
        select(Organization)
        .where(Organization.kind == OrganizationKind.PUBLISHER)
        .order_by(Organization.name)
        .limit(500)
    ).all()
    return render_template(
        "admin/payouts.html",
        publishers=publishers,
        payable={p.id: earnings.payable_cents(p.id) for p in publishers},
        held={p.id: earnings.held_cents(p.id) for p in publishers},
        stripe_on=stripe_gateway.configured(),
    )


@blueprint.route("/admin/billing/publishers/<int:publisher_id>/account", methods=["POST"])
@admin_required
def set_connected_account(publisher_id: int):
    try:
        earnings.set_connected_account(
            publisher_id, request.form.get("stripe_account_id"), current_user.id
        )
    except ValidationFailed as error:
        _flash_fields(error)
    else:
        flash(_("Connected account saved."), "success")
    return redirect(url_for("billing_admin.payouts"))


@blueprint.route("/admin/billing/publishers/<int:publisher_id>/payout", methods=["POST"])
@admin_required
def record_payout(publisher_id: int):
    try:
        if request.form.get("method") == "stripe":
            entry = earnings.pay_by_stripe(publisher_id, current_user.id)
        else:
            amount = _cents(request.form.get("amount"))
            entry = earnings.record_bank_payout(
                publisher_id, amount, request.form.get("reference", ""), current_user.id
            )
    except ValidationFailed as error:
        _flash_fields(error)
    except StripeUnavailable:
        flash(_("Stripe cannot be reached right now. Please try again in a moment."), "danger")
    else:
        flash(_("Payout of %(amount)s recorded.", amount=money(-entry.amount_cents)), "success")
    return redirect(url_for("billing_admin.payouts"))


def _cents(raw: str | None) -> int:
    try:
        return round(float((raw or "").strip().replace(",", ".")) * 100)
    except (ValueError, OverflowError):  # not a number, or NaN / Infinity
        return 0  # refused by the service with the field named


def _flash_fields(error: ValidationFailed) -> None:
    for message in error.fields.values() or [error.message]:
        flash(str(message), "danger")
