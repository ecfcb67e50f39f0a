"""A buyer's billing details, its Stripe customer and its payment method."""

from __future__ import annotations

import logging

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as StdnumError

from billing import stripe_gateway
from billing.stripe_gateway import BillingDetails, StripeUnavailable
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.models import BillingStatus, Invoice, Organization
from marketplace.validation import (
    FieldInvalid,
    clean_text,
    normalise_country,
    normalise_email,
    normalise_postcode,
)

log = logging.getLogger(__name__)


class NotABuyer(Exception):
    pass


def _buyer(organization_id: int) -> Organization:
    organization = db.session.get(Organization, organization_id)
    if organization is None or not organization.is_buyer:
        raise NotABuyer()
    return organization


def details_of(organization: Organization) -> BillingDetails | None:
    """What a Stripe customer is made from; None until the buyer has given it."""
    if not organization.billing_email:
        return None
    return BillingDetails(
        organization_id=organization.id,
        name=organization.name,
        email=organization.billing_email,
        address=dict(organization.billing_address or {}),
        vat_number=organization.vat_number,
    )


def validated(
    *, company_name: str, email: str, address: dict, vat_number: str | None
) -> tuple[str, str, dict, str | None]:
    """The details normalised, or ValidationFailed naming each bad field."""
    fields, clean = {}, {}
    checks = {
        "company_name": lambda: clean_text(company_name, max_length=200, required=True),
        "email": lambda: normalise_email(email),
        "line1": lambda: clean_text(address.get("line1"), max_length=200, required=True),
        "city": lambda: clean_text(address.get("city"), max_length=100, required=True),
        "country": lambda: normalise_country(address.get("country")),
        "vat_number": lambda: _vat(vat_number),
    }
    for name, check in checks.items():
        try:
            clean[name] = check()
        except FieldInvalid as error:
            fields[name] = str(error.message)
    if "country" in clean:
        try:
            clean["postal_code"] = normalise_postcode(address.get("postal_code"), clean["country"])
        except FieldInvalid as error:
            fields["postal_code"] = str(error.message)
    if fields:
        raise ValidationFailed(fields=fields)
    return (
        clean["company_name"],
        clean["email"],
        {key: clean[key] for key in ("line1", "postal_code", "city", "country")},
        clean["vat_number"],
    )


def _vat(value: str | None) -> str | None:
    if not value:
        return None
    # stdnum raises its own errors for what is not a VAT number at all (an unknown
    # country prefix, say): every one of them is the same answer at the field.
    try:
        value = eu_vat.compact(value)
        valid = bool(value) and eu_vat.is_valid(value)
    except StdnumError:
        valid = False
    if not value:
        return None
    if not valid:
        raise FieldInvalid(_l("Enter a valid EU VAT number, like FR40303265045."))
    return value


def save_billing_details(
    organization_id: int,
    *,
    company_name: str,
    email: str,
    address: dict,
    vat_number: str | None,
) -> Organization:
    """Validate and store the details (committed first: they are ours), then mirror
    them to Stripe when it is configured; if Stripe is down the mirror job makes the
    customer later."""
    company_name, email, address, vat_number = validated(
        company_name=company_name, email=email, address=address, vat_number=vat_number
    )
    organization = _buyer(organization_id)
    organization.name = company_name
    organization.billing_email = email
    organization.billing_address = address
    organization.vat_number = vat_number
    db.session.commit()
    if stripe_gateway.configured():
        try:
            ensure_customer(organization_id)
        except StripeUnavailable as error:
            log.warning("buyer %s: Stripe customer not saved yet: %s", organization_id, error)
    return organization


def ensure_customer(organization_id: int) -> str | None:
    """The buyer's Stripe customer id, created (or updated) from its details; None
    while the buyer has given no billing details."""
    organization = _buyer(organization_id)
    details = details_of(organization)
    if details is None:
        return None
    if organization.stripe_customer_id:
        stripe_gateway.update_customer(organization.stripe_customer_id, details)
        return organization.stripe_customer_id
    customer_id = stripe_gateway.create_customer(details)
    organization.stripe_customer_id = customer_id
    db.session.commit()
    return customer_id


def add_payment_method(organization_id: int, payment_method_id: str) -> str:
    """Attach a payment method (a card or a SEPA mandate collected by Stripe.js, or a
    test method) as the buyer's default; a buyer held only for lack of one is good
    again. Raises StripeRefused, StripeUnavailable, or ValueError without details."""
    customer_id = ensure_customer(organization_id)
    if customer_id is None:
        raise ValueError("billing details come first")
    attached = stripe_gateway.attach_payment_method(customer_id, payment_method_id)
    payment_method_set(organization_id, attached)
    db.session.commit()
    return attached


def start_payment_method_setup(organization_id: int, success_url: str, cancel_url: str) -> str:
    """The address of Stripe's page where the buyer sets up its payment method."""
    customer_id = ensure_customer(organization_id)
    if customer_id is None:
        raise ValidationFailed(fields={"billing": str(_l("Enter your billing details first."))})
    return stripe_gateway.start_payment_method_setup(customer_id, success_url, cancel_url)


def use_payment_method(organization_id: int, payment_method_id: str) -> str:
    """A method set up on Stripe's side (Checkout, a webhook) becomes the default for
    the buyer's invoices there and here. No commit: the caller's transaction."""
    organization = db.session.get(Organization, organization_id)
    if organization.stripe_customer_id:
        try:
            stripe_gateway.set_default_payment_method(
                organization.stripe_customer_id, payment_method_id
            )
        except stripe_gateway.StripeRefused as refusal:
            return f"buyer {organization_id}: Stripe refused {payment_method_id}: {refusal}"
    return payment_method_set(organization_id, payment_method_id)


def payment_method_set(organization_id: int, payment_method_id: str) -> str:
    """Record the default payment method (no commit: the caller's transaction)."""
    organization = db.session.get(Organization, organization_id, with_for_update=True)
    organization.stripe_payment_method_id = payment_method_id
    # An invoice whose charge failed is charged again, on the new method, at the next run.
    db.session.execute(
        update(Invoice)
        .where(
            Invoice.buyer_id == organization_id,
            Invoice.status == "open",
            Invoice.payment_error.is_not(None),
        )
        .values(payment_error=None)
    )
    if organization.billing_status is BillingStatus.NO_PAYMENT_METHOD:
        organization.billing_status = BillingStatus.GOOD
        return f"buyer {organization_id}: payment method set, in good standing"
    return f"buyer {organization_id}: payment method set"


def buyer_of_customer(customer_id: str | None) -> Organization | None:
    if not customer_id:
        return None
    return db.session.scalar(
        select(Organization).where(Organization.stripe_customer_id == customer_id)
    )
