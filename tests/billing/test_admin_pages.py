"""The admins' dispute queue and billing console, and who may reach them."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import (
    AuditEvent,
    BillingStatus,
    Dispute,
    DisputeStatus,
    LedgerEntry,
    LedgerKind,
    Organization,
    Sale,
)
from tests import factories

ADMIN_PAGES = ("/admin/disputes", "/admin/billing", "/admin/billing/payouts")


def disputed_sale():
    user = factories.buyer_user()
    factories.campaign(user.organization, price_cents=4000)
    captured = factories.lead()
    sale = db.session.scalar(select(Sale).where(Sale.lead_id == captured.lead_id))
    from marketplace import disputes

    return disputes.open_dispute(sale.buyer_id, sale.id, "fake", "A test submission.")


def test_an_admin_accepts_a_dispute_from_the_queue(login_as, submit_form):
    dispute = disputed_sale()
    http = login_as(factories.admin_user())
    page = http.get("/admin/disputes").get_data(as_text=True)
    assert f'id="dispute-{dispute.id}"' in page and "A test submission." in page
    response = submit_form(
        f"/admin/disputes/{dispute.id}",
        {"decision": "accept", "note": "Confirmed: test data."},
        page_url="/admin/disputes",
        http=http,
    )
    assert response.status_code == 302
    dispute = db.session.get(Dispute, dispute.id)
    assert (dispute.status, dispute.resolution_note) == (
        DisputeStatus.ACCEPTED,
        "Confirmed: test data.",
    )
    credit = db.session.scalar(
        select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.DISPUTE_CREDIT)
    )
    assert credit.amount_cents == 4000
    again = submit_form(
        f"/admin/disputes/{dispute.id}",
        {"decision": "reject"},
        page_url="/admin/disputes",
        http=http,
        follow_redirects=True,
    )
    assert "already been decided" in again.get_data(as_text=True)
    assert db.session.get(Dispute, dispute.id).status is DisputeStatus.ACCEPTED


def test_a_decision_needs_a_verdict_and_an_unknown_dispute_is_a_404(login_as, submit_form):
    dispute = disputed_sale()
    http = login_as(factories.admin_user())
    response = submit_form(
        f"/admin/disputes/{dispute.id}",
        {"decision": "maybe"},
        page_url="/admin/disputes",
        http=http,
        follow_redirects=True,
    )
    assert "accept or to reject" in response.get_data(as_text=True)
    assert db.session.get(Dispute, dispute.id).status is DisputeStatus.OPEN
    missing = submit_form(
        "/admin/disputes/999999", {"decision": "accept"}, page_url="/admin/disputes", http=http
    )
    assert missing.status_code == 404


def test_an_admin_sets_a_credit_limit_and_reconciles(login_as, submit_form):
    buyer = factories.BuyerFactory()
    factories.campaign(buyer, price_cents=5000)
    factories.lead()
    http = login_as(factories.admin_user())
    bad = submit_form(
        f"/admin/billing/buyers/{buyer.id}/credit-limit",
        {"credit_limit": "lots"},
        page_url="/admin/billing",
        http=http,
        follow_redirects=True,
    )
    assert "Enter a credit limit" in bad.get_data(as_text=True)
    submit_form(
        f"/admin/billing/buyers/{buyer.id}/credit-limit",
        {"credit_limit": "40,00"},
        page_url="/admin/billing",
        http=http,
    )
    buyer = db.session.get(Organization, buyer.id)
    assert buyer.credit_limit_cents == 4000
    assert buyer.billing_status is BillingStatus.OVER_CREDIT_LIMIT  # owes 50.00
    assert db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "billing.credit_limit_set")
    )
    page = http.get("/admin/billing").get_data(as_text=True)
    assert "Over its credit limit" in page  # words, not the code
    answer = submit_form(
        "/admin/billing/reconcile", {}, page_url="/admin/billing", http=http, follow_redirects=True
    )
    assert "nothing to reconcile yet" in answer.get_data(as_text=True)


def test_reconciling_from_the_console_with_stripe_shows_the_report(
    login_as, submit_form, stripe_on
):
    http = login_as(factories.admin_user())
    answer = submit_form(
        "/admin/billing/reconcile", {}, page_url="/admin/billing", http=http, follow_redirects=True
    )
    page = answer.get_data(as_text=True)
    assert "Reconciled: 0 difference(s)." in page and "The ledger and Stripe agree." in page


def test_only_admins_reach_the_dispute_queue_and_the_billing_console(login_as, client):
    dispute = disputed_sale()
    buyer = factories.BuyerFactory()
    for user in (factories.buyer_user(), factories.publisher_user()):
        http = login_as(user)
        for page in ADMIN_PAGES:
            assert http.get(page).status_code == 403
        publisher = factories.PublisherFactory()
        for url in (
            f"/admin/disputes/{dispute.id}",
            "/admin/billing/reconcile",
            f"/admin/billing/buyers/{buyer.id}/credit-limit",
            f"/admin/billing/publishers/{publisher.id}/account",
            f"/admin/billing/publishers/{publisher.id}/payout",
        ):
            assert http.post(url, data={"decision": "accept"}).status_code in (400, 403)
    for page in ADMIN_PAGES:
        assert client.get(page).status_code in (302, 401)
    assert db.session.get(Dispute, dispute.id).status is DisputeStatus.OPEN
