"""Reconciliation over a few hundred random sales, credits, outages and lost answers:
the ledger and Stripe agree to the cent, and a planted difference is reported."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime

import stripe
from sqlalchemy import func, select

from billing import reconcile as reconciliation
from billing.invoicing import run_invoicing
from billing.mirror import CLAIM_LEASE, MIRRORED_KINDS, mirror_ledger
from marketplace import disputes
from marketplace.extensions import db
from marketplace.models import Invoice, LedgerEntry, Sale, utcnow
from tests import factories
from tests.billing.test_invoicing import BERLIN, paying_buyer

NEXT_MONTH = datetime(2100, 1, 1, 1, tzinfo=UTC)


def stripe_amounts(url: str, buyer) -> int:
    """What Stripe bills the buyer in all: its pending items and its invoices' lines."""
    client = stripe.StripeClient("sk_test_marketplace", base_addresses={"api": url})
    pending = client.v1.invoice_items.list(params={"customer": buyer.stripe_customer_id})
    total = sum(item.amount for item in pending.auto_paging_iter())
    for invoice in db.session.scalars(select(Invoice).where(Invoice.buyer_id == buyer.id)):
        if invoice.stripe_invoice_id:
            lines = client.v1.invoices.line_items.list(
                invoice.stripe_invoice_id, params={"limit": 100}
            )
            total += sum(line.amount for line in lines.auto_paging_iter())
    return total


def ledger_amounts(buyer) -> int:
    """What the ledger says Stripe should bill: debits less credits not refunded."""
    entries = db.session.scalars(
        select(LedgerEntry).where(
            LedgerEntry.organization_id == buyer.id, LedgerEntry.kind.in_(MIRRORED_KINDS)
        )
    )
    return sum(-e.amount_cents for e in entries if not (e.stripe_object_id or "").startswith("re_"))


def test_ledger_and_stripe_agree_to_the_cent_after_random_sales_credits_and_retries(app, stripe_on):
    rng = random.Random(6)
    buyers = [
        paying_buyer(invoice_threshold_cents=20_000),
        paying_buyer(invoice_threshold_cents=15_000),
        paying_buyer(vat_number="DE136695976", address=BERLIN, invoice_threshold_cents=30_000),
        paying_buyer(invoice_threshold_cents=25_000),
    ]
    for buyer, price in zip(buyers, (4500, 5200, 6100, 3900), strict=True):
        factories.campaign(buyer, price_cents=price)
    magnet = factories.magnet(max_buyers=3)
    admin = factories.admin_user()
    disputed: set[int] = set()
    outages = lost_answers = credits = 0

    for _round in range(34):
        for _ in range(3):
            factories.lead(magnet)
        if rng.random() < 0.3:  # Stripe down for this mirror run
            outages += 1
            app.config["STRIPE_API_BASE"] = "http://127.0.0.1:9"
            mirror_ledger()
            app.config["STRIPE_API_BASE"] = stripe_on
        mirror_ledger()
        if rng.random() < 0.4:  # a worker lost Stripe's answer: the retry must adopt
            entry = db.session.scalar(
                select(LedgerEntry)
                .where(
                    LedgerEntry.kind.in_(MIRRORED_KINDS),
                    LedgerEntry.stripe_object_id.is_not(None),
                    LedgerEntry.invoice_id.is_(None),
                    LedgerEntry.stripe_object_id.not_like("re_%"),
                )
                .order_by(func.random())
            )
            if entry is not None:
                lost_answers += 1
                entry.stripe_object_id = None
                entry.mirror_started_at = utcnow() - CLAIM_LEASE
                db.session.commit()
        if rng.random() < 0.35:
            sale_ids = [
                sale_id
                for sale_id in db.session.scalars(select(Sale.id))
                if sale_id not in disputed
            ]
            sale = db.session.get(Sale, rng.choice(sale_ids))
            dispute = disputes.open_dispute(sale.buyer_id, sale.id, "duplicate", None)
            disputes.resolve_dispute(
                dispute.id, admin_user_id=admin.id, accept=True, refund=rng.random() < 0.5
            )
            disputed.add(sale.id)
            credits += 1
        if rng.random() < 0.5:
            run_invoicing()
    mirror_ledger()
    run_invoicing(now=NEXT_MONTH)
    mirror_ledger()

    sales = db.session.scalar(select(func.count(Sale.id)))
    assert sales >= 250 and credits >= 8 and outages >= 5 and lost_answers >= 8
    report = reconciliation.reconcile()
    assert report["differences"] == []
    assert report["checked_entries"] == sales + credits
    for buyer in buyers:
        assert stripe_amounts(stripe_on, buyer) == ledger_amounts(buyer)
    unmirrored = select(func.count(LedgerEntry.id)).where(
        LedgerEntry.kind.in_(MIRRORED_KINDS), LedgerEntry.stripe_object_id.is_(None)
    )
    assert db.session.scalar(unmirrored) == 0


def test_a_difference_is_reported(stripe_on):
    buyer = paying_buyer()
    factories.campaign(buyer, price_cents=5000)
    factories.lead()
    mirror_ledger()
    assert reconciliation.reconcile()["differences"] == []

    debit = db.session.scalar(select(LedgerEntry).where(LedgerEntry.organization_id == buyer.id))
    debit.amount_cents = -5100  # the ledger and Stripe no longer agree
    db.session.commit()
    report = reconciliation.reconcile()
    kinds = defaultdict(int)
    for difference in report["differences"]:
        kinds[difference["kind"]] += 1
    assert kinds == {"amount_differs": 1}
    assert reconciliation.last_report().details == report
