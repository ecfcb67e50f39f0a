"""The buyer's billing page, and disputes on its purchases (thin views over billing/
and marketplace.disputes)."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from billing import customers, standing, stripe_gateway
from billing.stripe_gateway import StripeRefused, StripeUnavailable
from buyers.blueprint import blueprint
from buyers.forms import BillingDetailsForm
from marketplace.auth.decorators import buyer_required, owner_required_to_change
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.forms import show_field_errors
from marketplace.labels import HELD_BECAUSE, country_choices
from marketplace.models import Invoice, Organization

ADDRESS_FIELDS = ("line1", "postal_code", "city", "country")


@blueprint.route("/billing", methods=["GET", "POST"])
@buyer_required
@owner_required_to_change
def billing():
    buyer = db.session.get(Organization, current_user.organization_id)
    form = BillingDetailsForm()
    form.country.choices = country_choices()
    if request.method == "GET":
        form.company_name.data = buyer.name
        form.email.data = buyer.billing_email
        form.vat_number.data = buyer.vat_number
        for name in ADDRESS_FIELDS:
            if (buyer.billing_address or {}).get(name):
                form[name].data = buyer.billing_address[name]
    elif form.validate_on_submit():
        try:
            customers.save_billing_details(
                buyer.id,
                company_name=form.company_name.data,
                email=form.email.data,
                address={name: form[name].data for name in ADDRESS_FIELDS},
                vat_number=form.vat_number.data,
            )
        except ValidationFailed as error:
            show_field_errors(form, error)
        else:
            flash(_("Your billing details are saved."), "success")
            return redirect(url_for("buyers.billing"))
    invoices = db.session.scalars(
        select(Invoice).where(Invoice.buyer_id == buyer.id).order_by(Invoice.id.desc())
    ).all()
    return render_template(
        "buyers/billing.html",
        form=form,
        buyer=buyer,
        held_because=HELD_BECAUSE.get(buyer.billing_status),
        owed_cents=standing.owed_cents(buyer.id),
        invoices=invoices,
        stripe_on=stripe_gateway.configured(),
    )


@blueprint.route("/billing/payment-method", methods=["POST"])
@buyer_required
@owner_required_to_change
def set_up_payment_method():
    """Off to Stripe's own page (Checkout, setup mode) to enter a card or a SEPA mandate."""
    if not stripe_gateway.configured():
        flash(_("Payments are not set up on this platform yet."), "warning")
        return redirect(url_for("buyers.billing"))
    back = url_for("buyers.billing", _external=True)
    try:
        address = customers.start_payment_method_setup(
            current_user.organization_id, f"{back}?payment_method=set", back
        )
    except ValidationFailed:
        flash(_("Enter your billing details first."), "warning")
        return redirect(url_for("buyers.billing"))
    except (StripeUnavailable, StripeRefused):
        current_app.logger.warning("payment-method set-up: Stripe unavailable")
        flash(_("Stripe cannot be reached right now. Please try again in a moment."), "danger")
        return redirect(url_for("buyers.billing"))
    return redirect(address, code=303)
