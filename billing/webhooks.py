"""``POST /billing/stripe/webhook``: Stripe's events, verified, each processed once.

The event row (unique Stripe event id) and what the event changes are committed in
one transaction: a repeated event finds its row and changes nothing; two deliveries
of one event at once meet on the unique index.
"""

from __future__ import annotations

import logging

from flask import Blueprint, jsonify, request
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from billing import customers, standing, stripe_gateway
from marketplace.extensions import db
from marketplace.guards import body_limit
from marketplace.models import Invoice, Organization, StripeEvent, utcnow

log = logging.getLogger(__name__)
blueprint = Blueprint("billing_webhooks", __name__)

MAX_PAYLOAD = 512 * 1024


@blueprint.route("/billing/stripe/webhook", methods=["POST"])
@body_limit(MAX_PAYLOAD)
def stripe_webhook():
    try:
        event = stripe_gateway.verified_event(
            request.get_data(), request.headers.get("Stripe-Signature")
        )
    except ValueError:
        return _error("bad_signature", "The Stripe-Signature header does not verify."), 400
    try:
        processed, outcome = process_event(event)
    except stripe_gateway.StripeUnavailable:
        db.session.rollback()  # not recorded: Stripe sends the event again
        return _error("stripe_unavailable", "Stripe could not be reached; retry later."), 503
    return jsonify({"received": True, "processed": processed, "outcome": outcome})


def _error(code: str, message: str):
    return jsonify({"error": {"code": code, "message": message, "fields": {}}})


def process_event(event: dict) -> tuple[bool, str]:
    """(True, what it did) the first time an event is seen; (False, ...) after."""
    event_id = str(event.get("id") or "")
    if not event_id:
        return False, "no event id"
    if db.session.scalar(select(StripeEvent.id).where(StripeEvent.event_id == event_id)):
        return False, "already processed"
    data = (event.get("data") or {}).get("object") or {}
    kind = str(event.get("type") or "")
    handler = HANDLERS.get(kind)
    outcome = handler(data) if handler else "ignored: not an event we act on"
    db.session.add(
        StripeEvent(
            event_id=event_id,
            type=kind[:100],
            object_id=str(data.get("id") or "")[:255] or None,
            outcome=outcome[:300],
        )
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()  # the same event, delivered twice at once: the other won
        return False, "already processed"
    log.info("stripe event %s (%s): %s", event_id, kind, outcome)
    return True, outcome


def _buyer_locked(customer_id) -> Organization | None:
    buyer = customers.buyer_of_customer(customer_id)
    if buyer is None:
        return None
    return db.session.get(Organization, buyer.id, with_for_update=True)


def _invoice_paid(invoice: dict) -> str:
    buyer = _buyer_locked(invoice.get("customer"))
    if buyer is None:
        return "ignored: unknown customer"
    tax = invoice.get("tax")
    if tax is None:
        tax = sum(part.get("amount", 0) for part in invoice.get("total_taxes") or [])
    # The ledger is net of VAT: the payment covers the debits, the VAT is the state's.
    paid = int(invoice.get("amount_paid") or invoice.get("total") or 0) - int(tax or 0)
    standing.book_payment(
        buyer,
        invoice["id"],
        paid,
        str(invoice.get("currency") or "eur"),
        f"Payment of invoice {invoice.get('number') or invoice['id']}",
    )
    _mark_invoice(invoice["id"], "paid")
    standing.payment_succeeded(buyer)
    return f"buyer {buyer.id}: paid {paid} cents, {buyer.billing_status.value}"


def _invoice_payment_failed(invoice: dict) -> str:
    buyer = _buyer_locked(invoice.get("customer"))
    if buyer is None:
        return "ignored: unknown customer"
    standing.payment_failed(buyer)
    return f"buyer {buyer.id}: payment failed, held"


def _mark_invoice(stripe_invoice_id: str, status: str) -> None:
    invoice = db.session.scalar(
        select(Invoice).where(Invoice.stripe_invoice_id == stripe_invoice_id)
    )
    if invoice is not None and invoice.status != "paid":
        invoice.status = status
        invoice.paid_at = utcnow() if status == "paid" else invoice.paid_at


def _payment_method_attached(method: dict) -> str:
    buyer = _buyer_locked(method.get("customer"))
    if buyer is None:
        return "ignored: unknown customer"
    return customers.payment_method_set(buyer.id, method["id"])


def _setup_intent_succeeded(intent: dict) -> str:
    buyer = _buyer_locked(intent.get("customer"))
    method = intent.get("payment_method")
    if buyer is None or not method:
        return "ignored: unknown customer or no payment method"
    return customers.use_payment_method(buyer.id, method)


def _checkout_completed(session: dict) -> str:
    """The buyer finished Stripe's payment-method page (setup mode)."""
    if session.get("mode") != "setup" or not session.get("setup_intent"):
        return "ignored: not a payment-method set-up"
    buyer = _buyer_locked(session.get("customer"))
    if buyer is None:
        return "ignored: unknown customer"
    method = stripe_gateway.setup_intent_payment_method(session["setup_intent"])
    if method is None:
        return f"buyer {buyer.id}: set-up without a payment method"
    return customers.use_payment_method(buyer.id, method)


def _customer_updated(customer: dict) -> str:
    buyer = _buyer_locked(customer.get("id"))
    if buyer is None:
        return "ignored: unknown customer"
    default = (customer.get("invoice_settings") or {}).get("default_payment_method")
    if default and default != buyer.stripe_payment_method_id:
        return customers.payment_method_set(buyer.id, default)
    return f"buyer {buyer.id}: nothing to change"


def _invoice_finalized(invoice: dict) -> str:
    """Keep our copy's status and document links as Stripe has them."""
    found = db.session.scalar(select(Invoice).where(Invoice.stripe_invoice_id == invoice.get("id")))
    if found is None:
        return "ignored: not an invoice of ours"
    if found.status in ("creating", "draft"):
        found.status = invoice.get("status") or "open"
    found.hosted_invoice_url = invoice.get("hosted_invoice_url") or found.hosted_invoice_url
    found.invoice_pdf = invoice.get("invoice_pdf") or found.invoice_pdf
    return f"invoice {found.id}: finalized"


def _charge_refunded(charge: dict) -> str:
    """Refunds we make are booked when made (billing/credits.py); one made elsewhere
    (the Stripe dashboard) is noted for the reconciliation and the admins."""
    buyer = customers.buyer_of_customer(charge.get("customer"))
    refunded = int(charge.get("amount_refunded") or 0)
    if buyer is None:
        return "ignored: unknown customer"
    return f"buyer {buyer.id}: charge {charge.get('id')} refunded {refunded} cents in all"


HANDLERS = {
    "invoice.paid": _invoice_paid,
    "invoice.payment_succeeded": _invoice_paid,
    "invoice.payment_failed": _invoice_payment_failed,
    "invoice.finalized": _invoice_finalized,
    "charge.refunded": _charge_refunded,
    "payment_method.attached": _payment_method_attached,
    "setup_intent.succeeded": _setup_intent_succeeded,
    "checkout.session.completed": _checkout_completed,
    "customer.updated": _customer_updated,
}
