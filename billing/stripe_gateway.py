"""The only module that talks to Stripe, through the official SDK.

Everything else in billing/ calls these functions with plain values and gets plain
values back; a network failure or a Stripe outage becomes ``StripeUnavailable``, on
which the caller leaves the ledger entry for the next mirror run.

``STRIPE_API_BASE`` points the SDK at a local Stripe server (localstripe in the
tests). The SDK's own network retries are off: a retry is the mirror job's, keyed on
the ledger entry, never a second request the job does not know about.
"""

from __future__ import annotations

from dataclasses import dataclass

import stripe
from flask import current_app


class StripeUnavailable(Exception):
    """Stripe could not be reached or refused for a reason a later retry may fix."""


class StripeRefused(Exception):
    """Stripe refused the request itself (a declined card, an invalid parameter)."""


def configured() -> bool:
    return bool(current_app.config.get("STRIPE_API_KEY"))


def _client() -> stripe.StripeClient:
    base = current_app.config.get("STRIPE_API_BASE")
    return stripe.StripeClient(
        current_app.config["STRIPE_API_KEY"],
        base_addresses={"api": base} if base else {},
        max_network_retries=0,
    )


def _call(method, *args, **kwargs):
    try:
        return method(*args, **kwargs)
    except (stripe.APIConnectionError, stripe.RateLimitError) as error:
        raise StripeUnavailable(str(error)) from error
    except stripe.APIError as error:
        raise StripeUnavailable(str(error)) from error
    except (stripe.CardError, stripe.InvalidRequestError) as error:
        raise StripeRefused(error.user_message or str(error)) from error
    except stripe.StripeError as error:
        raise StripeUnavailable(str(error)) from error


@dataclass(frozen=True)
class BillingDetails:
    organization_id: int
    name: str
    email: str
    address: dict
    vat_number: str | None


def create_customer(details: BillingDetails) -> str:
    """A Stripe customer for a buyer organization (idempotent per organization)."""
    address = {key: value for key, value in details.address.items() if value}
    customer = _call(
        _client().v1.customers.create,
        params={
            "name": details.name,
            "email": details.email,
            "address": address,
            "metadata": {"organization_id": str(details.organization_id)},
        },
        options={"idempotency_key": f"customer:organization:{details.organization_id}"},
    )
    return customer.id


def update_customer(customer_id: str, details: BillingDetails) -> None:
    address = {key: value for key, value in details.address.items() if value}
    _call(
        _client().v1.customers.update,
        customer_id,
        params={"name": details.name, "email": details.email, "address": address},
    )


def attach_payment_method(customer_id: str, payment_method_id: str) -> str:
    """Attach a payment method and make it the customer's default for invoices;
    returns the attached method's id."""
    client = _client()
    method = _call(
        client.v1.payment_methods.attach, payment_method_id, params={"customer": customer_id}
    )
    _call(
        client.v1.customers.update,
        customer_id,
        params={"invoice_settings": {"default_payment_method": method.id}},
    )
    return method.id


def create_setup_intent(customer_id: str) -> str:
    """A SetupIntent's client secret, for Stripe.js to collect a card or SEPA mandate."""
    intent = _call(
        _client().v1.setup_intents.create,
        params={"customer": customer_id, "payment_method_types": ["card", "sepa_debit"]},
    )
    return intent.client_secret


@dataclass(frozen=True)
class InvoiceLine:
    entry_key: str
    customer_id: str
    amount_cents: int
    currency: str
    description: str
    metadata: dict


def create_invoice_item(line: InvoiceLine) -> str:
    """One invoice item, keyed on its ledger entry: Stripe replays the first answer to
    a repeated key (field-notes.md), and find_invoice_item covers servers that don't."""
    item = _call(
        _client().v1.invoice_items.create,
        params={
            "customer": line.customer_id,
            "amount": line.amount_cents,
            "currency": line.currency.lower(),
            "description": line.description,
            "metadata": {"entry_key": line.entry_key, **line.metadata},
        },
        options={"idempotency_key": f"ledger:{line.entry_key}"},
    )
    return item.id


def find_invoice_item(customer_id: str, entry_key: str) -> str | None:
    """The customer's invoice item already made for a ledger entry, if one was."""
    items = _call(_client().v1.invoice_items.list, params={"customer": customer_id, "limit": 100})
    for item in items.auto_paging_iter():
        metadata = item.metadata.to_dict() if item.metadata else {}
        if metadata.get("entry_key") == entry_key:
            return item.id
    return None


def verified_event(payload: bytes, signature: str | None) -> dict:
    """The webhook event, if its signature is ours; ValueError otherwise."""
    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        raise ValueError("no webhook secret is configured")
    try:
        event = stripe.Webhook.construct_event(payload, signature, secret)
    except stripe.SignatureVerificationError as error:
        raise ValueError("bad signature") from error
    return event.to_dict()
