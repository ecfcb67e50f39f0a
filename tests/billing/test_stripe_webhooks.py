"""``POST /billing/stripe/webhook``: signature, once-only processing, buyer standing."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time

import stripe
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import (
    BillingStatus,
    LedgerEntry,
    LedgerKind,
    Organization,
    Sale,
    StripeEvent,
)
from tests import factories
from tests.conftest import STRIPE_WEBHOOK_SECRET

URL = "/billing/stripe/webhook"


def signed(event: dict, secret: str = STRIPE_WEBHOOK_SECRET) -> tuple[bytes, dict]:
    """The body and the Stripe-Signature header Stripe would send."""
    payload = json.dumps(event).encode()
    timestamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256)
    return payload, {
        "Stripe-Signature": f"t={timestamp},v1={digest.hexdigest()}",
        "Content-Type": "application/json",
    }


def event(event_id: str, kind: str, data: dict) -> dict:
    return {"id": event_id, "object": "event", "type": kind, "data": {"object": data}}


def buyer_with_customer(**kwargs) -> Organization:
    buyer = factories.BuyerFactory(stripe_customer_id=f"cus_test{secrets.token_hex(6)}", **kwargs)
    db.session.commit()
    return buyer


def test_a_bad_signature_is_a_400_and_changes_nothing(client, stripe_on):
    buyer = buyer_with_customer()
    payload, headers = signed(
        event(
            "evt_1", "invoice.payment_failed", {"id": "in_1", "customer": buyer.stripe_customer_id}
        ),
        secret="whsec_someone_else",
    )
    response = client.post(URL, data=payload, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_signature"
    assert client.post(URL, data=payload).status_code == 400  # no header at all
    assert db.session.get(Organization, buyer.id).billing_status is BillingStatus.GOOD
    assert db.session.scalar(select(func.count(StripeEvent.id))) == 0


def test_a_failed_payment_holds_the_buyer_and_a_paid_invoice_releases_it(client, stripe_on):
    buyer = buyer_with_customer()
    factories.campaign(buyer)
    failed = event(
        "evt_failed", "invoice.payment_failed", {"id": "in_9", "customer": buyer.stripe_customer_id}
    )
    response = client.post(URL, data=signed(failed)[0], headers=signed(failed)[1])
    assert response.status_code == 200 and response.get_json()["processed"] is True
    assert db.session.get(Organization, buyer.id).billing_status is BillingStatus.PAYMENT_FAILED

    factories.lead()  # the held buyer's campaign gets nothing
    assert db.session.scalar(select(func.count(Sale.id))) == 0

    paid = event(
        "evt_paid",
        "invoice.paid",
        {
            "id": "in_9",
            "customer": buyer.stripe_customer_id,
            "amount_paid": 6000,
            "currency": "eur",
        },
    )
    assert client.post(URL, data=signed(paid)[0], headers=signed(paid)[1]).status_code == 200
    assert db.session.get(Organization, buyer.id).billing_status is BillingStatus.GOOD
    payment = db.session.scalar(select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.PAYMENT))
    assert (payment.organization_id, payment.amount_cents, payment.currency) == (
        buyer.id,
        6000,
        "EUR",
    )


def test_the_same_event_twice_is_processed_once(client, stripe_on):
    buyer = buyer_with_customer()
    paid = event(
        "evt_twice",
        "invoice.paid",
        {
            "id": "in_2",
            "customer": buyer.stripe_customer_id,
            "amount_paid": 4500,
            "currency": "eur",
        },
    )
    first = client.post(URL, data=signed(paid)[0], headers=signed(paid)[1]).get_json()
    second = client.post(URL, data=signed(paid)[0], headers=signed(paid)[1]).get_json()
    assert (first["processed"], second["processed"]) == (True, False)
    # invoice.payment_succeeded for the same invoice books no second payment either.
    succeeded = event("evt_other", "invoice.payment_succeeded", paid["data"]["object"])
    client.post(URL, data=signed(succeeded)[0], headers=signed(succeeded)[1])
    payments = select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == LedgerKind.PAYMENT)
    assert db.session.scalar(payments) == 1
    assert db.session.scalar(select(func.count(StripeEvent.id))) == 2


def test_a_payment_method_set_up_in_stripe_releases_a_buyer_that_had_none(client, stripe_on):
    from billing import customers

    buyer = factories.BuyerFactory(billing_status=BillingStatus.NO_PAYMENT_METHOD)
    customers.save_billing_details(
        buyer.id,
        company_name="Acme",
        email="compta@example.fr",
        address={"line1": "1 rue A", "postal_code": "75001", "city": "Paris", "country": "FR"},
        vat_number=None,
    )
    customer_id = db.session.get(Organization, buyer.id).stripe_customer_id
    sdk = stripe.StripeClient("sk_test_marketplace", base_addresses={"api": stripe_on})
    method = sdk.v1.payment_methods.attach("pm_card_visa", params={"customer": customer_id})
    succeeded = event(
        "evt_si",
        "setup_intent.succeeded",
        {"id": "seti_1", "customer": customer_id, "payment_method": method.id},
    )
    assert (
        client.post(URL, data=signed(succeeded)[0], headers=signed(succeeded)[1]).status_code == 200
    )
    buyer = db.session.get(Organization, buyer.id)
    assert (buyer.billing_status, buyer.stripe_payment_method_id) == (BillingStatus.GOOD, method.id)
    customer = sdk.v1.customers.retrieve(customer_id)
    assert customer.invoice_settings.default_payment_method == method.id

    unknown = event(
        "evt_si_2",
        "setup_intent.succeeded",
        {"id": "seti_2", "customer": customer_id, "payment_method": "pm_nobody"},
    )
    answer = client.post(URL, data=signed(unknown)[0], headers=signed(unknown)[1])
    assert answer.status_code == 200 and "refused" in answer.get_json()["outcome"]
    assert db.session.get(Organization, buyer.id).stripe_payment_method_id == method.id


def test_events_we_do_not_act_on_and_unknown_customers_are_recorded_and_ignored(client, stripe_on):
    for kind, data in (
        ("charge.dispute.created", {"id": "dp_1"}),
        ("invoice.payment_failed", {"id": "in_x", "customer": "cus_nobody"}),
    ):
        body = event(f"evt_{kind}", kind, data)
        response = client.post(URL, data=signed(body)[0], headers=signed(body)[1])
        assert response.status_code == 200
        assert response.get_json()["outcome"].startswith("ignored")


def test_a_webhook_without_a_configured_secret_is_refused(client):
    body = event("evt_x", "invoice.paid", {"id": "in_1"})
    assert client.post(URL, data=signed(body)[0], headers=signed(body)[1]).status_code == 400


def test_invoice_finalized_and_charge_refunded_are_recorded(client, stripe_on):
    from marketplace.models import Invoice, VatTreatment

    buyer = buyer_with_customer()
    invoice = Invoice(
        buyer_id=buyer.id,
        run_key="month:2026-10",
        vat=VatTreatment.FRENCH_VAT,
        stripe_invoice_id="in_final",
        status="draft",
    )
    db.session.add(invoice)
    db.session.commit()
    finalized = event(
        "evt_fin",
        "invoice.finalized",
        {
            "id": "in_final",
            "customer": buyer.stripe_customer_id,
            "status": "open",
            "hosted_invoice_url": "https://invoice.stripe.test/i/in_final",
            "invoice_pdf": "https://invoice.stripe.test/i/in_final/pdf",
        },
    )
    assert (
        client.post(URL, data=signed(finalized)[0], headers=signed(finalized)[1]).status_code == 200
    )
    invoice = db.session.get(Invoice, invoice.id)
    assert (invoice.status, invoice.invoice_pdf) == (
        "open",
        "https://invoice.stripe.test/i/in_final/pdf",
    )
    refunded = event(
        "evt_ref",
        "charge.refunded",
        {"id": "ch_1", "customer": buyer.stripe_customer_id, "amount_refunded": 1200},
    )
    answer = client.post(URL, data=signed(refunded)[0], headers=signed(refunded)[1])
    assert "refunded 1200 cents" in answer.get_json()["outcome"]
    recorded = db.session.scalar(select(StripeEvent).where(StripeEvent.event_id == "evt_ref"))
    assert recorded.type == "charge.refunded"
