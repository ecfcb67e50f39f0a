"""The invoice run, through the official SDK against localstripe plus the invoice
endpoints it lacks (tests/stripe_server.py records what the SDK sent)."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime

from sqlalchemy import func, select

from billing import customers
from billing.invoicing import run_invoicing
from billing.mirror import mirror_ledger
from billing.stripe_gateway import InvoiceRequest, create_invoice
from marketplace.extensions import db
from marketplace.models import (
    BillingStatus,
    Invoice,
    LedgerEntry,
    LedgerKind,
    Organization,
    Sale,
    VatTreatment,
)
from tests import factories

PARIS = {"line1": "1 rue de Rivoli", "postal_code": "75001", "city": "Paris", "country": "FR"}
BERLIN = {"line1": "Unter den Linden 1", "postal_code": "10117", "city": "Berlin", "country": "DE"}


def paying_buyer(card="pm_card_visa", *, vat_number="FR40303265045", address=PARIS, **kwargs):
    buyer = factories.BuyerFactory(**kwargs)
    customers.save_billing_details(
        buyer.id,
        company_name=buyer.name,
        email="compta@example.fr",
        address=address,
        vat_number=vat_number,
    )
    customers.add_payment_method(buyer.id, card)
    return db.session.get(Organization, buyer.id)


def sell_leads(buyer, count: int, price_cents: int) -> None:
    factories.campaign(buyer, price_cents=price_cents)
    for _ in range(count):
        factories.lead()
    mirror_ledger()


def invoice_requests(url: str) -> list[dict]:
    with urllib.request.urlopen(f"{url}/_config/recorded", timeout=5) as response:
        return json.load(response)


def test_passing_the_threshold_invoices_with_french_vat_and_charges_the_card(stripe_on):
    buyer = paying_buyer(invoice_threshold_cents=10_000)
    sell_leads(buyer, 2, 6000)

    assert run_invoicing() == 1

    invoice = db.session.scalar(select(Invoice).where(Invoice.buyer_id == buyer.id))
    assert (invoice.status, invoice.vat) == ("paid", VatTreatment.FRENCH_VAT)
    assert (invoice.subtotal_cents, invoice.tax_cents, invoice.total_cents) == (12000, 2400, 14400)
    debits = db.session.scalars(
        select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.SALE_DEBIT)
    ).all()
    assert {entry.invoice_id for entry in debits} == {invoice.id}
    payment = db.session.scalar(select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.PAYMENT))
    assert payment.amount_cents == 12000  # net of VAT, so the buyer's balance is zero
    assert sum(e.amount_cents for e in debits) + payment.amount_cents == 0

    sent = [
        r
        for r in invoice_requests(stripe_on)
        if invoice.stripe_invoice_id in r["path"]
        or (r["path"] == "/v1/invoices" and r["data"]["metadata"]["run_key"] == invoice.run_key)
    ]
    create, finalize, pay = sent
    assert create["idempotency_key"] == f"invoice:{buyer.id}:{invoice.run_key}"
    assert create["data"]["collection_method"] == "charge_automatically"
    assert len(create["data"]["default_tax_rates"]) == 1
    assert finalize["path"].endswith("/finalize") and pay["path"].endswith("/pay")

    assert run_invoicing() == 0  # nothing left to invoice


def test_below_the_threshold_the_month_end_invoices(stripe_on):
    buyer = paying_buyer()
    sell_leads(buyer, 1, 5000)
    assert run_invoicing() == 0
    assert db.session.scalar(select(func.count(Invoice.id))) == 0

    next_month = datetime(2100, 1, 1, 1, tzinfo=UTC)
    assert run_invoicing(now=next_month) == 1
    invoice = db.session.scalar(select(Invoice))
    assert invoice.run_key.startswith("month:") and invoice.total_cents == 6000


def test_an_eu_business_outside_france_is_invoiced_without_vat_under_reverse_charge(stripe_on):
    buyer = paying_buyer(vat_number="DE136695976", address=BERLIN, invoice_threshold_cents=1)
    sell_leads(buyer, 1, 5000)
    assert run_invoicing() == 1
    invoice = db.session.scalar(select(Invoice))
    assert (invoice.vat, invoice.tax_cents, invoice.total_cents) == (
        VatTreatment.REVERSE_CHARGE,
        0,
        5000,
    )
    [create] = [
        r
        for r in invoice_requests(stripe_on)
        if r["data"].get("metadata", {}).get("run_key") == invoice.run_key
        and r["path"] == "/v1/invoices"
    ]
    assert "default_tax_rates" not in create["data"]
    assert "reverse charge" in create["data"]["description"]


def test_a_failed_payment_holds_the_buyer_until_a_new_card_pays(stripe_on):
    buyer = paying_buyer("pm_card_chargeCustomerFail", invoice_threshold_cents=1)
    sell_leads(buyer, 1, 5000)

    assert run_invoicing() == 0
    invoice = db.session.scalar(select(Invoice))
    assert invoice.status == "open" and invoice.payment_error
    assert db.session.get(Organization, buyer.id).billing_status is BillingStatus.PAYMENT_FAILED
    factories.lead()  # held: its campaign gets nothing more
    assert db.session.scalar(select(func.count(Sale.id))) == 1

    customers.add_payment_method(buyer.id, "pm_card_visa")
    assert db.session.get(Organization, buyer.id).billing_status is BillingStatus.PAYMENT_FAILED
    assert run_invoicing() == 1
    assert db.session.get(Invoice, invoice.id).status == "paid"
    assert db.session.get(Organization, buyer.id).billing_status is BillingStatus.GOOD


def test_a_run_that_died_after_stripe_made_the_invoice_continues_it(stripe_on):
    buyer = paying_buyer(invoice_threshold_cents=1)
    sell_leads(buyer, 1, 5000)
    newest = db.session.scalar(select(func.max(LedgerEntry.id)))
    run_key = f"threshold:{newest}"
    # The run wrote its row and Stripe made the invoice; the answer was lost.
    db.session.add(Invoice(buyer_id=buyer.id, run_key=run_key, vat=VatTreatment.FRENCH_VAT))
    db.session.commit()
    made = create_invoice(InvoiceRequest(buyer.id, buyer.stripe_customer_id, run_key, (), "Leads"))

    assert run_invoicing() == 1
    invoice = db.session.scalar(select(Invoice))
    assert invoice.stripe_invoice_id == made.id and invoice.status == "paid"
    creates = [
        r
        for r in invoice_requests(stripe_on)
        if r["path"] == "/v1/invoices" and r["data"]["metadata"]["run_key"] == run_key
    ]
    assert len(creates) == 1  # found by its run key, not made again


def test_a_credit_limit_holds_a_buyer_that_owes_more(stripe_on):
    buyer = paying_buyer(credit_limit_cents=4000, invoice_threshold_cents=100_000)
    sell_leads(buyer, 1, 5000)
    run_invoicing()
    assert db.session.get(Organization, buyer.id).billing_status is BillingStatus.OVER_CREDIT_LIMIT
    buyer = db.session.get(Organization, buyer.id)
    buyer.credit_limit_cents = 10_000
    db.session.commit()
    run_invoicing()
    assert db.session.get(Organization, buyer.id).billing_status is BillingStatus.GOOD


def test_an_entry_of_a_past_month_mirrored_late_gets_its_own_invoice(app, stripe_on):
    buyer = paying_buyer()
    sell_leads(buyer, 1, 5000)
    next_month = datetime(2100, 1, 1, 1, tzinfo=UTC)
    assert run_invoicing(now=next_month) == 1
    # A sale of the same past month whose item reached Stripe only after that run.
    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"
    factories.lead()
    mirror_ledger()
    app.config["STRIPE_API_BASE"] = stripe_on
    mirror_ledger()
    assert run_invoicing(now=next_month) == 1
    assert db.session.scalar(select(func.count(Invoice.id))) == 2
    assert (
        db.session.scalar(
            select(func.count(LedgerEntry.id)).where(
                LedgerEntry.kind == LedgerKind.SALE_DEBIT, LedgerEntry.invoice_id.is_(None)
            )
        )
        == 0
    )
