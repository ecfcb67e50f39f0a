"""The ledger's Stripe mirror, through the official SDK against localstripe."""

from __future__ import annotations

import stripe
from sqlalchemy import func, select

from billing import customers
from billing.mirror import CLAIM_LEASE, mirror_ledger
from marketplace.extensions import db
from marketplace.models import (
    BillingStatus,
    Lead,
    LedgerEntry,
    LedgerKind,
    Organization,
    Sale,
    utcnow,
)
from tests import factories

ADDRESS = {"line1": "12 rue de la Paix", "postal_code": "75002", "city": "Paris", "country": "FR"}


def stripe_client(url: str) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_marketplace", base_addresses={"api": url})


def billed_buyer(**kwargs) -> Organization:
    buyer = factories.BuyerFactory(**kwargs)
    customers.save_billing_details(
        buyer.id,
        company_name=buyer.name,
        email="compta@example.fr",
        address=ADDRESS,
        vat_number="FR40303265045",
    )
    return buyer


def invoice_items(url: str, customer_id: str) -> list:
    items = stripe_client(url).v1.invoice_items.list(params={"customer": customer_id})
    return list(items.auto_paging_iter())


def test_billing_details_make_a_customer_and_a_payment_method_puts_the_buyer_in_good_standing(
    stripe_on,
):
    buyer = billed_buyer(billing_status=BillingStatus.NO_PAYMENT_METHOD)
    assert buyer.stripe_customer_id.startswith("cus_")
    customer = stripe_client(stripe_on).v1.customers.retrieve(buyer.stripe_customer_id)
    assert (customer.email, customer.metadata["organization_id"]) == (
        "compta@example.fr",
        str(buyer.id),
    )

    method_id = customers.add_payment_method(buyer.id, "pm_card_visa")

    buyer = db.session.get(Organization, buyer.id)
    assert buyer.billing_status is BillingStatus.GOOD
    assert buyer.stripe_payment_method_id == method_id
    customer = stripe_client(stripe_on).v1.customers.retrieve(buyer.stripe_customer_id)
    assert customer.invoice_settings.default_payment_method == method_id


def test_a_buyer_without_a_payment_method_gets_no_leads(stripe_on):
    buyer = billed_buyer(billing_status=BillingStatus.NO_PAYMENT_METHOD)
    campaign = factories.campaign(buyer)
    captured = factories.lead()
    assert db.session.scalar(select(func.count(Sale.id))) == 0
    lead = db.session.get(Lead, captured.lead_id)
    assert lead.distribution_log["verdicts"] == {"buyer_billing_standing": [campaign.id]}


def test_each_sale_becomes_one_invoice_item_and_a_replay_adds_none(stripe_on):
    buyer = billed_buyer()
    customers.add_payment_method(buyer.id, "pm_card_visa")
    factories.campaign(buyer, price_cents=4500)
    captured = factories.lead()
    [sale] = db.session.scalars(select(Sale).where(Sale.lead_id == captured.lead_id))

    assert mirror_ledger() == 1
    debit = db.session.scalar(select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.SALE_DEBIT))
    [item] = invoice_items(stripe_on, buyer.stripe_customer_id)
    assert debit.stripe_object_id == item.id
    assert (item.amount, item.currency) == (4500, "eur")
    assert item.metadata["sale_id"] == str(sale.id)
    assert item.description == debit.description
    assert debit.description.startswith(f"Lead #{captured.lead_id} - it/software - ")

    assert mirror_ledger() == 0  # nothing left to mirror

    # The worker died after Stripe answered, before our commit: the retry finds the
    # item by its ledger key instead of making a second one.
    debit.stripe_object_id = None
    debit.mirror_started_at = utcnow() - CLAIM_LEASE
    db.session.commit()
    assert mirror_ledger() == 1
    assert [i.id for i in invoice_items(stripe_on, buyer.stripe_customer_id)] == [item.id]
    assert db.session.get(LedgerEntry, debit.id).stripe_object_id == item.id


def test_a_live_claim_by_another_worker_is_left_alone(stripe_on):
    buyer = billed_buyer()
    factories.campaign(buyer)
    factories.lead()
    debit = db.session.scalar(select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.SALE_DEBIT))
    debit.mirror_started_at = utcnow()
    db.session.commit()
    assert mirror_ledger() == 0
    assert invoice_items(stripe_on, buyer.stripe_customer_id) == []


def test_stripe_unreachable_the_sales_are_recorded_and_mirrored_later_once(app, stripe_on):
    buyer = billed_buyer()
    factories.campaign(buyer, price_cents=3000)
    for _ in range(3):
        factories.lead()
    assert db.session.scalar(select(func.count(Sale.id))) == 3

    app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"  # nothing listens there
    assert mirror_ledger() == 0
    unmirrored = select(func.count(LedgerEntry.id)).where(
        LedgerEntry.kind == LedgerKind.SALE_DEBIT, LedgerEntry.stripe_object_id.is_(None)
    )
    assert db.session.scalar(unmirrored) == 3

    app.config["STRIPE_API_BASE"] = stripe_on
    assert mirror_ledger() == 3
    assert db.session.scalar(unmirrored) == 0
    items = invoice_items(stripe_on, buyer.stripe_customer_id)
    assert sorted(item.amount for item in items) == [3000, 3000, 3000]
    assert mirror_ledger() == 0


def test_without_stripe_the_ledger_records_and_the_backlog_waits(app, localstripe_url):
    buyer = factories.BuyerFactory()
    customers.save_billing_details(
        buyer.id, company_name="Acme", email="a@example.fr", address=ADDRESS, vat_number=None
    )
    factories.campaign(buyer)
    factories.lead()
    assert mirror_ledger() == 0
    assert db.session.get(Organization, buyer.id).stripe_customer_id is None

    app.config.update(STRIPE_API_KEY="sk_test_marketplace", STRIPE_API_BASE=localstripe_url)
    try:
        assert mirror_ledger() == 1  # configuring Stripe mirrors the backlog
        assert db.session.get(Organization, buyer.id).stripe_customer_id.startswith("cus_")
    finally:
        app.config.update(STRIPE_API_KEY=None, STRIPE_API_BASE=None)


def test_a_buyer_without_billing_details_waits_without_blocking_the_others(stripe_on):
    silent = factories.BuyerFactory()
    billed = billed_buyer()
    factories.campaign(silent, price_cents=6000)
    factories.campaign(billed, price_cents=5000)
    factories.lead(factories.magnet(max_buyers=2))
    assert mirror_ledger() == 1
    assert len(invoice_items(stripe_on, billed.stripe_customer_id)) == 1
