"""Publishers' earnings: held, then payable; statements in HTML and CSV; payouts."""

from __future__ import annotations

import csv
import io
import json
import urllib.request
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from billing import earnings
from marketplace import disputes
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.models import LedgerEntry, LedgerKind, Organization, Sale, utcnow
from tests import factories


def publisher_with_sales(count: int, price_cents: int = 6000, max_buyers: int = 1):
    """A publisher (50 % share) whose magnet sold ``count`` leads."""
    user = factories.publisher_user()
    magnet = factories.magnet(publisher=user.organization, max_buyers=max_buyers)
    factories.campaign(price_cents=price_cents)
    for _ in range(count):
        factories.lead(magnet)
    return user


def age_sales(days: int) -> None:
    for sale in db.session.scalars(select(Sale)):
        sale.created_at = sale.created_at - timedelta(days=days)
    db.session.commit()


def test_earnings_are_held_for_the_return_window_then_payable(app):
    user = publisher_with_sales(2)
    publisher_id = user.organization_id
    assert (earnings.held_cents(publisher_id), earnings.payable_cents(publisher_id)) == (6000, 0)
    age_sales(8)
    assert (earnings.held_cents(publisher_id), earnings.payable_cents(publisher_id)) == (0, 6000)


def test_an_open_dispute_holds_the_earning_and_an_accepted_one_reverses_it(app):
    user = publisher_with_sales(2)
    sale = db.session.scalars(select(Sale).order_by(Sale.id)).first()
    dispute = disputes.open_dispute(sale.buyer_id, sale.id, "duplicate", None)
    age_sales(8)
    assert earnings.payable_cents(user.organization_id) == 3000  # one held by the dispute
    disputes.resolve_dispute(dispute.id, admin_user_id=factories.admin_user().id, accept=True)
    assert earnings.payable_cents(user.organization_id) == 3000  # 3000 + 3000 - 3000
    assert earnings.held_cents(user.organization_id) == 0


def test_the_statement_lists_each_earning_in_html_and_csv(login_as):
    user = publisher_with_sales(2)
    sale = db.session.scalars(select(Sale).order_by(Sale.id)).first()
    dispute = disputes.open_dispute(sale.buyer_id, sale.id, "duplicate", None)
    disputes.resolve_dispute(dispute.id, admin_user_id=factories.admin_user().id, accept=True)
    month = utcnow().strftime("%Y-%m")
    http = login_as(user)
    listing = http.get("/publishers/statements").get_data(as_text=True)
    assert f"/publishers/statements/{month}" in listing
    page = http.get(f"/publishers/statements/{month}").get_data(as_text=True)
    totals = dict(
        (part.split("</dt>")[0], part.split('<dd class="col-sm-8">')[1].split("</dd>")[0])
        for part in page.split('id="totals"')[1]
        .split("</dl>")[0]
        .split('<dt class="col-sm-4">')[1:]
    )
    assert totals["Earned"] == "€60.00"
    assert "30.00" in totals["Reversed after accepted disputes"]
    assert totals["Net"] == "<strong>€30.00</strong>"
    assert totals["Held"] == "€30.00"  # the reversed one is no longer held
    answer = http.get(f"/publishers/statements/{month}.csv")
    assert answer.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    assert sorted(int(row["amount_cents"]) for row in rows) == [-3000, 3000, 3000]
    assert sorted(row["status"] for row in rows) == ["held", "reversal", "reversed"]
    assert http.get("/publishers/statements/2026-13").status_code == 404
    assert http.get("/publishers/statements/nonsense.csv").status_code == 404


def test_a_publisher_sees_only_its_own_statement(login_as):
    publisher_with_sales(1)
    month = utcnow().strftime("%Y-%m")
    other = login_as(factories.publisher_user())
    page = other.get(f"/publishers/statements/{month}").get_data(as_text=True)
    assert "Nothing this month." in page
    buyer = login_as(factories.buyer_user())
    assert buyer.get(f"/publishers/statements/{month}").status_code == 403


def test_an_admin_records_a_bank_transfer_up_to_the_payable_amount(login_as, submit_form):
    user = publisher_with_sales(2)
    age_sales(8)
    publisher_id = user.organization_id
    admin = factories.admin_user()
    with pytest.raises(ValidationFailed) as too_much:
        earnings.record_bank_payout(publisher_id, 6001, "VIR-1", admin.id)
    assert "amount" in too_much.value.fields
    http = login_as(admin)
    response = submit_form(
        f"/admin/billing/publishers/{publisher_id}/payout",
        {"method": "bank", "amount": "60,00", "reference": "VIR-2026-11-01"},
        page_url="/admin/billing/payouts",
        http=http,
        follow_redirects=True,
    )
    assert "Payout of" in response.get_data(as_text=True)
    payout = db.session.scalar(select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.PAYOUT))
    assert (payout.amount_cents, payout.description) == (-6000, "Bank transfer VIR-2026-11-01")
    assert earnings.payable_cents(publisher_id) == 0


def test_a_connected_publisher_is_paid_by_a_stripe_transfer_once(login_as, submit_form, stripe_on):
    user = publisher_with_sales(1)
    age_sales(8)
    publisher_id = user.organization_id
    http = login_as(factories.admin_user())
    submit_form(
        f"/admin/billing/publishers/{publisher_id}/account",
        {"stripe_account_id": "acct_1PublisherOk"},
        page_url="/admin/billing/payouts",
        http=http,
    )
    assert db.session.get(Organization, publisher_id).stripe_account_id == "acct_1PublisherOk"
    submit_form(
        f"/admin/billing/publishers/{publisher_id}/payout",
        {"method": "stripe"},
        page_url="/admin/billing/payouts",
        http=http,
    )
    payout = db.session.scalar(select(LedgerEntry).where(LedgerEntry.kind == LedgerKind.PAYOUT))
    assert payout.amount_cents == -3000 and payout.stripe_object_id.startswith("tr_")
    with urllib.request.urlopen(f"{stripe_on}/_config/recorded", timeout=5) as answer:
        [transfer] = [r for r in json.load(answer) if r["path"] == "/v1/transfers"]
    assert transfer["data"]["destination"] == "acct_1PublisherOk"
    assert transfer["idempotency_key"] == f"ledger:{payout.entry_key}"
    again = submit_form(
        f"/admin/billing/publishers/{publisher_id}/payout",
        {"method": "stripe"},
        page_url="/admin/billing/payouts",
        http=http,
        follow_redirects=True,
    )
    assert "Nothing to transfer" in again.get_data(as_text=True)


def test_a_refused_transfer_is_undone_and_leaves_the_bank_transfer(stripe_on):
    user = publisher_with_sales(1)
    age_sales(8)
    admin = factories.admin_user()
    earnings.set_connected_account(user.organization_id, "acct_refuses123", admin.id)
    with pytest.raises(ValidationFailed):
        earnings.pay_by_stripe(user.organization_id, admin.id)
    assert earnings.payable_cents(user.organization_id) == 3000
    payouts = select(func.sum(LedgerEntry.amount_cents)).where(
        LedgerEntry.kind == LedgerKind.PAYOUT
    )
    assert db.session.scalar(payouts) == 0
    with pytest.raises(ValidationFailed):
        earnings.set_connected_account(user.organization_id, "not-an-account", admin.id)
