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


def _metadata(stripe_object) -> dict:
    """A Stripe object's metadata as a plain dict (empty when it has none)."""
    metadata = getattr(stripe_object, "metadata", None)
    return metadata.to_dict() if metadata else {}


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
        if _metadata(item).get("entry_key") == entry_key:
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


VAT_RATE_KEY = "FR-20"


def french_vat_rate() -> str:
    """The id of our 20 % French VAT tax rate, made once (found by its metadata)."""
    client = _client()
    rates = _call(client.v1.tax_rates.list, params={"limit": 100})
    for rate in rates.auto_paging_iter():
        if _metadata(rate).get("marketplace_vat") == VAT_RATE_KEY and rate.active:
            return rate.id
    rate = _call(
        client.v1.tax_rates.create,
        params={
            "display_name": "TVA",
            "description": "TVA France 20 %",
            "jurisdiction": "FR",
            "percentage": 20.0,
            "inclusive": False,
            "metadata": {"marketplace_vat": VAT_RATE_KEY},
        },
        options={"idempotency_key": f"tax-rate:{VAT_RATE_KEY}"},
    )
    return rate.id


@dataclass(frozen=True)
class StripeInvoice:
    id: str
    status: str
    currency: str
    subtotal_cents: int
    tax_cents: int
    total_cents: int
    amount_paid_cents: int
    hosted_invoice_url: str | None
    invoice_pdf: str | None
    payment_intent: str | None


def _invoice(invoice) -> StripeInvoice:
    data = invoice.to_dict()
    tax = data.get("tax")
    if tax is None:  # newer API versions: the sum of total_taxes
        tax = sum(part.get("amount", 0) for part in data.get("total_taxes") or [])
    intent = data.get("payment_intent")
    return StripeInvoice(
        id=data["id"],
        status=data.get("status") or "draft",
        currency=str(data.get("currency") or "eur").upper(),
        subtotal_cents=int(data.get("subtotal") or 0),
        tax_cents=int(tax or 0),
        total_cents=int(data.get("total") or 0),
        amount_paid_cents=int(data.get("amount_paid") or 0),
        hosted_invoice_url=data.get("hosted_invoice_url"),
        invoice_pdf=data.get("invoice_pdf"),
        payment_intent=intent if isinstance(intent, str) else (intent or {}).get("id"),
    )


@dataclass(frozen=True)
class InvoiceRequest:
    organization_id: int
    customer_id: str
    run_key: str
    tax_rate_ids: tuple[str, ...]
    description: str


def create_invoice(request: InvoiceRequest) -> StripeInvoice:
    """A draft invoice sweeping in the customer's pending invoice items; we finalise
    and charge it ourselves (no auto_advance), so a run knows each step's outcome."""
    params = {
        "customer": request.customer_id,
        "collection_method": "charge_automatically",
        "auto_advance": False,
        "pending_invoice_items_behavior": "include",
        "description": request.description,
        "metadata": {
            "run_key": request.run_key,
            "organization_id": str(request.organization_id),
        },
    }
    if request.tax_rate_ids:
        params["default_tax_rates"] = list(request.tax_rate_ids)
    invoice = _call(
        _client().v1.invoices.create,
        params=params,
        options={"idempotency_key": f"invoice:{request.organization_id}:{request.run_key}"},
    )
    return _invoice(invoice)


def find_invoice(customer_id: str, run_key: str) -> StripeInvoice | None:
    invoices = _call(_client().v1.invoices.list, params={"customer": customer_id, "limit": 100})
    for invoice in invoices.auto_paging_iter():
        if _metadata(invoice).get("run_key") == run_key:
            return _invoice(invoice)
    return None


def invoice_entry_keys(invoice_id: str) -> list[str]:
    """The ledger entry keys of the invoice items an invoice carries."""
    return [key for key, _amount in invoice_lines(invoice_id) if key]


def finalize_invoice(invoice_id: str) -> StripeInvoice:
    return _invoice(
        _call(
            _client().v1.invoices.finalize_invoice,
            invoice_id,
            params={"auto_advance": False},
        )
    )


def pay_invoice(invoice_id: str) -> StripeInvoice:
    """Charge the default payment method. A decline is StripeRefused (Stripe answers
    402), or an invoice still open (a server that records the failure instead)."""
    return _invoice(_call(_client().v1.invoices.pay, invoice_id))


def retrieve_invoice(invoice_id: str) -> StripeInvoice:
    return _invoice(_call(_client().v1.invoices.retrieve, invoice_id))


def invoice_items(customer_id: str) -> list[dict]:
    """Every invoice item of a customer: id, amount, currency, invoice, entry key."""
    items = _call(_client().v1.invoice_items.list, params={"customer": customer_id, "limit": 100})
    found = []
    for item in items.auto_paging_iter():
        data = item.to_dict()
        found.append(
            {
                "id": data["id"],
                "amount": int(data.get("amount") or 0),
                "currency": str(data.get("currency") or "").upper(),
                "invoice": data.get("invoice"),
                "entry_key": (data.get("metadata") or {}).get("entry_key"),
            }
        )
    return found


def refund(payment_intent_id: str, amount_cents: int, key: str) -> str:
    """A refund of part of an invoice's payment, once per ``key``."""
    made = _call(
        _client().v1.refunds.create,
        params={
            "payment_intent": payment_intent_id,
            "amount": amount_cents,
            "metadata": {"refund_key": key},
        },
        options={"idempotency_key": f"refund:{key}"},
    )
    return made.id


def find_refund(payment_intent_id: str, key: str) -> str | None:
    refunds = _call(
        _client().v1.refunds.list, params={"payment_intent": payment_intent_id, "limit": 100}
    )
    for made in refunds.auto_paging_iter():
        if _metadata(made).get("refund_key") == key:
            return made.id
    return None


def invoice_lines(invoice_id: str) -> list[tuple[str | None, int]]:
    """(ledger entry key, amount) of each line of an invoice."""
    return [(key, amount) for key, amount, _item in _lines(invoice_id)]


def invoice_item_on(invoice_id: str, entry_key: str) -> str | None:
    """The id of the invoice item an invoice carries for a ledger entry."""
    for key, _amount, item_id in _lines(invoice_id):
        if key == entry_key:
            return item_id
    return None


def _lines(invoice_id: str) -> list[tuple[str | None, int, str | None]]:
    lines = _call(_client().v1.invoices.line_items.list, invoice_id, params={"limit": 100})
    found = []
    for line in lines.auto_paging_iter():
        data = line.to_dict()
        parent = (data.get("parent") or {}).get("invoice_item_details") or {}
        item_id = data.get("invoice_item") or parent.get("invoice_item")
        found.append(((data.get("metadata") or {}).get("entry_key"), int(data["amount"]), item_id))
    return found


def start_payment_method_setup(customer_id: str, success_url: str, cancel_url: str) -> str:
    """A Stripe Checkout page (setup mode) where the buyer enters a card or a SEPA
    mandate on Stripe's own site; returns its address. Stripe then sends
    ``checkout.session.completed`` with the SetupIntent."""
    session = _call(
        _client().v1.checkout.sessions.create,
        params={
            "mode": "setup",
            "customer": customer_id,
            "currency": "eur",
            "payment_method_types": ["card", "sepa_debit"],
            "success_url": success_url,
            "cancel_url": cancel_url,
        },
    )
    return session.url


def setup_intent_payment_method(setup_intent_id: str) -> str | None:
    intent = _call(_client().v1.setup_intents.retrieve, setup_intent_id)
    method = intent.payment_method
    return method if isinstance(method, str) or method is None else method.id


def set_default_payment_method(customer_id: str, payment_method_id: str) -> None:
    _call(
        _client().v1.customers.update,
        customer_id,
        params={"invoice_settings": {"default_payment_method": payment_method_id}},
    )


def transfer(account_id: str, amount_cents: int, currency: str, key: str) -> str:
    """A Connect transfer to a publisher's account, once per ``key``."""
    made = _call(
        _client().v1.transfers.create,
        params={
            "amount": amount_cents,
            "currency": currency.lower(),
            "destination": account_id,
            "metadata": {"ledger_key": key},
        },
        options={"idempotency_key": f"ledger:{key}"},
    )
    return made.id
