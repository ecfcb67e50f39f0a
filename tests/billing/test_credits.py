"""Accepted disputes: credits before and after invoicing, and refunds, on Stripe."""

from __future__ import annotations

from datetime import timedelta

import pytest
import stripe
from sqlalchemy import func, select

from billing.invoicing import run_invoicing
from billing.mirror import mirror_ledger
from marketplace import disputes
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.models import (
    DisputeStatus,
    Invoice,
    Lead,
    LedgerEntry,
    LedgerKind,
    OutboxMail,
    Sale,
    utcnow,
)
from tests import factories
from tests.billing.test_invoicing import paying_buyer


def stripe_client(url: str) -> stripe.StripeClient:
    return stripe.StripeClient("sk_test_marketplace", base_addresses={"api": url})


def one_sale(buyer, price_cents=5000) -> Sale:
    factories.campaign(buyer, price_cents=price_cents)
    captured = factories.lead()
    return db.session.scalar(select(Sale).where(Sale.lead_id == captured.lead_id))


def accepted(sale: Sale, *, refund=False):
    dispute = disputes.open_dispute(sale.buyer_id, sale.id, "invalid_contact", "Bounces.")
    admin = factories.admin_user()
    return disputes.resolve_dispute(dispute.id, admin_user_id=admin.id, accept=True, refund=refund)


def balance(organization_id: int) -> int:
    return db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
            LedgerEntry.organization_id == organization_id
        )
    )


def test_an_accepted_dispute_books_a_credit_and_reverses_the_earning_once(app):
    buyer = factories.buyer_user().organization
    sale = one_sale(buyer)
    dispute = accepted(sale)
    assert dispute.status is DisputeStatus.ACCEPTED
    credit = disputes.credit_of(sale.id)
    assert (credit.amount_cents, credit.organization_id) == (5000, buyer.id)
    assert balance(buyer.id) == 0
    publisher_id = db.session.get(Lead, sale.lead_id).publisher_id
    assert balance(publisher_id) == 0  # earning 2500, reversal -2500
    with pytest.raises(disputes.DisputeClosed):
        disputes.resolve_dispute(dispute.id, admin_user_id=1, accept=True)
    assert (
        db.session.scalar(select(func.count(OutboxMail.id)).where(OutboxMail.topic == "dispute"))
        == 1
    )


def test_a_dispute_needs_the_return_window_a_reason_and_its_own_sale(app):
    buyer = factories.BuyerFactory()
    sale = one_sale(buyer)
    with pytest.raises(disputes.DisputeRefused):
        disputes.open_dispute(
            buyer.id, sale.id, "duplicate", None, now=utcnow() + timedelta(days=8)
        )
    with pytest.raises(ValidationFailed) as vague:
        disputes.open_dispute(buyer.id, sale.id, "other", "  ")
    assert "comment" in vague.value.fields
    with pytest.raises(ValidationFailed) as unknown:
        disputes.open_dispute(buyer.id, sale.id, "because", None)
    assert "reason" in unknown.value.fields
    from marketplace.errors import NotFound

    with pytest.raises(NotFound):
        disputes.open_dispute(factories.BuyerFactory().id, sale.id, "duplicate", None)


def test_a_credit_before_invoicing_offsets_the_sale_on_the_next_invoice(stripe_on):
    buyer = paying_buyer(invoice_threshold_cents=1)
    disputed = one_sale(buyer, 5000)
    accepted(disputed)
    factories.lead()  # a second sale of the same campaign, 5000
    mirror_ledger()
    assert run_invoicing() == 1
    invoice = db.session.scalar(select(Invoice))
    assert (invoice.subtotal_cents, invoice.total_cents) == (5000, 6000)  # 5000 + 5000 - 5000
    lines = stripe_client(stripe_on).v1.invoices.line_items.list(
        invoice.stripe_invoice_id, params={"limit": 100}
    )
    assert sorted(line.amount for line in lines.auto_paging_iter()) == [-5000, 5000, 5000]


def test_a_credit_after_invoicing_lowers_the_next_invoice(stripe_on):
    buyer = paying_buyer(invoice_threshold_cents=1)
    sale = one_sale(buyer, 5000)
    mirror_ledger()
    assert run_invoicing() == 1  # the sale is invoiced and paid
    accepted(sale)
    mirror_ledger()
    assert run_invoicing() == 0  # a credit alone is carried, not invoiced
    factories.lead()
    factories.lead()
    mirror_ledger()
    assert run_invoicing() == 1
    second = db.session.scalars(select(Invoice).order_by(Invoice.id)).all()[1]
    assert second.subtotal_cents == 5000  # two sales of 5000, less the credit of 5000
    lines = stripe_client(stripe_on).v1.invoices.line_items.list(
        second.stripe_invoice_id, params={"limit": 100}
    )
    assert sorted(line.amount for line in lines.auto_paging_iter()) == [-5000, 5000, 5000]
    assert balance(buyer.id) == 0


def test_a_refund_chosen_by_the_admin_pays_back_the_price_and_its_vat(stripe_on):
    buyer = paying_buyer(invoice_threshold_cents=1)
    sale = one_sale(buyer, 5000)
    mirror_ledger()
    assert run_invoicing() == 1
    dispute = accepted(sale, refund=True)
    assert mirror_ledger() == 1
    dispute = db.session.get(type(dispute), dispute.id)
    refund = stripe_client(stripe_on).v1.refunds.retrieve(dispute.stripe_refund_id)
    assert refund.amount == 6000  # 5000 and its 20 % VAT
    refunds = select(LedgerEntry).where(LedgerEntry.entry_key == f"dispute:{dispute.id}:refund")
    assert db.session.scalar(refunds).amount_cents == -5000
    assert balance(buyer.id) == 0
    assert mirror_ledger() == 0  # refunded once
    pending = stripe_client(stripe_on).v1.invoice_items.list(
        params={"customer": buyer.stripe_customer_id}
    )
    assert pending.data == []  # no credit item: the refund settled it
    assert (
        db.session.scalar(
            select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == LedgerKind.DISPUTE_CREDIT)
        )
        == 1
    )
