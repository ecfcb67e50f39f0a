"""The balances and purchase counts the database keeps (migration 0020) always equal
what the ledger and the sales add up to, whichever way the rows were written."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from billing import earnings
from billing.ledger import balances, summed_balances
from billing.standing import book_payment, owed_cents
from marketplace import disputes, lead_catalogue
from marketplace.extensions import db
from marketplace.models import Lead, LedgerBalance, PurchaseCount, Sale
from tests import factories
from tests.buyers.test_catalogue import partner_buyer_after, unsold_lead


def purchases_counted(buyer_id: int) -> int:
    return db.session.scalar(
        select(PurchaseCount.purchases).where(PurchaseCount.buyer_id == buyer_id)
    )


def test_kept_balances_and_counts_equal_the_ledger_after_every_kind_of_entry(app):
    # A catalogue purchase (its own statement on PostgreSQL).
    captured = unsold_lead(email="late@firm.fr")
    latecomer = partner_buyer_after(captured)
    lead_catalogue.buy(latecomer.id, captured.lead_id)
    first, second = factories.BuyerFactory(), factories.BuyerFactory()
    factories.campaign(first, price_cents=5000)
    factories.campaign(second, price_cents=4200)
    # Campaign sales: each lead to both buyers in one distribution round (one statement
    # on PostgreSQL, a statement per step on SQLite).
    leads = [factories.lead(email=f"person{n}@firm.fr") for n in range(3)]
    # A credit and the publisher's earning reversed.
    sale = db.session.scalar(
        select(Sale).where(Sale.lead_id == leads[0].lead_id, Sale.buyer_id == first.id)
    )
    dispute = disputes.open_dispute(first.id, sale.id, "invalid_contact", "Bounces.")
    disputes.resolve_dispute(dispute.id, admin_user_id=factories.admin_user().id, accept=True)
    # A payment (ORM, flushed in the caller's transaction) and a publisher's payout.
    assert book_payment(first, "in_test_1", 3000, "eur", "Invoice 1")
    db.session.commit()
    publisher_id = db.session.get(Lead, sale.lead_id).publisher_id
    for old in db.session.scalars(select(Sale)):  # past the return window: payable
        old.created_at -= timedelta(days=60)
    db.session.commit()
    earnings.record_bank_payout(publisher_id, 100, "VIR-1", factories.admin_user().id)

    organizations = [first.id, second.id, latecomer.id, publisher_id]
    for organization_id in organizations:
        assert balances(organization_id) == summed_balances(organization_id)
        assert balances(organization_id), organization_id  # each has entries
    assert balances(first.id) == {"EUR": -3 * 5000 + 5000 + 3000}
    assert owed_cents(first.id) == 3 * 5000 - 5000 - 3000
    for buyer in (first, second, latecomer):
        assert purchases_counted(buyer.id) == db.session.scalar(
            select(func.count()).select_from(Sale).where(Sale.buyer_id == buyer.id)
        )
    assert purchases_counted(first.id) == 3
    # Every sale carries its lead's sector.
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Sale)
            .join(Lead, Lead.id == Sale.lead_id)
            .where(Sale.sector_id != Lead.sector_id)
        )
        == 0
    )


def test_a_rolled_back_sale_leaves_no_total_behind(app):
    buyer = factories.BuyerFactory()
    captured = unsold_lead(email="undone@firm.fr")
    buyer = partner_buyer_after(captured)
    lead_catalogue.buy(buyer.id, captured.lead_id)
    before = (balances(buyer.id), purchases_counted(buyer.id))
    other = unsold_lead(email="other@firm.fr")
    factories.name_partner(other.lead_id, buyer)
    db.session.commit()
    db.session.add(
        Sale(lead_id=other.lead_id, buyer_id=buyer.id, source="catalogue", price_cents=700)
    )
    db.session.flush()
    assert purchases_counted(buyer.id) == before[1] + 1
    db.session.rollback()
    assert (balances(buyer.id), purchases_counted(buyer.id)) == before
    assert db.session.scalar(select(func.count()).select_from(LedgerBalance)) >= 1
