"""The buyer's billing page and disputes from the purchase page."""

from __future__ import annotations

import json
import re
import urllib.request
from datetime import timedelta

import pytest
import stripe
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import (
    BillingStatus,
    Dispute,
    DisputeStatus,
    Organization,
    Sale,
)
from tests import factories
from tests.billing.test_stripe_webhooks import URL as WEBHOOK_URL
from tests.billing.test_stripe_webhooks import event, signed

DETAILS = {
    "company_name": "Acme Rénovation",
    "email": "Compta@Acme.fr",
    "line1": "3 rue des Lilas",
    "postal_code": "69003",
    "city": "Lyon",
    "country": "FR",
    "vat_number": "FR 40 303 265 045",
}


def test_a_buyer_saves_its_billing_details(login_as, submit_form):
    user = factories.buyer_user()
    http = login_as(user)
    response = submit_form("/buyers/billing", DETAILS, http=http)
    assert response.status_code == 302
    buyer = db.session.get(Organization, user.organization_id)
    assert (buyer.billing_email, buyer.vat_number) == ("compta@acme.fr", "FR40303265045")
    assert buyer.billing_address == {
        "line1": "3 rue des Lilas",
        "postal_code": "69003",
        "city": "Lyon",
        "country": "FR",
    }
    page = http.get("/buyers/billing").get_data(as_text=True)
    assert 'value="compta@acme.fr"' in page and "No invoice yet." in page


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not an e-mail"),
        ("postal_code", "ABC"),
        ("vat_number", "FR00000000000"),
        ("vat_number", "XX123"),  # no such country: stdnum raises, the page answers
        ("company_name", ""),
        ("city", "x" * 500),
        ("country", "XX"),
    ],
)
def test_bad_billing_details_are_named_field_by_field(login_as, submit_form, field, value):
    user = factories.buyer_user()
    http = login_as(user)
    response = submit_form("/buyers/billing", {**DETAILS, field: value}, http=http)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "invalid-feedback" in page
    assert db.session.get(Organization, user.organization_id).billing_email is None


def test_the_payment_method_is_set_up_on_stripes_page_and_comes_back_by_webhook(
    login_as, submit_form, client, stripe_on
):
    user = factories.buyer_user()
    buyer = user.organization
    buyer.billing_status = BillingStatus.NO_PAYMENT_METHOD
    db.session.commit()
    http = login_as(user)
    submit_form("/buyers/billing", DETAILS, http=http)
    customer_id = db.session.get(Organization, buyer.id).stripe_customer_id
    assert customer_id.startswith("cus_")

    page = http.get("/buyers/billing").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    response = http.post("/buyers/billing/payment-method", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("https://checkout.stripe.test/")
    with urllib.request.urlopen(f"{stripe_on}/_config/recorded", timeout=5) as answer:
        [checkout] = [r for r in json.load(answer) if r["path"] == "/v1/checkout/sessions"]
    assert (checkout["data"]["mode"], checkout["data"]["customer"]) == ("setup", customer_id)

    # On Stripe's page the buyer confirms a card; Stripe then calls our webhook.
    client_ = stripe.StripeClient("sk_test_marketplace", base_addresses={"api": stripe_on})
    intent = client_.v1.setup_intents.create(
        params={"customer": customer_id, "payment_method_types": ["card"]}
    )
    intent = client_.v1.setup_intents.confirm(intent.id, params={"payment_method": "pm_card_visa"})
    completed = event(
        "evt_checkout",
        "checkout.session.completed",
        {"id": "cs_1", "mode": "setup", "customer": customer_id, "setup_intent": intent.id},
    )
    body, headers = signed(completed)
    assert client.post(WEBHOOK_URL, data=body, headers=headers).status_code == 200
    buyer = db.session.get(Organization, buyer.id)
    assert buyer.billing_status is BillingStatus.GOOD
    customer = client_.v1.customers.retrieve(customer_id)
    assert customer.invoice_settings.default_payment_method == buyer.stripe_payment_method_id


def purchase_of(user) -> Sale:
    factories.campaign(user.organization)
    captured = factories.lead()
    return db.session.scalar(select(Sale).where(Sale.lead_id == captured.lead_id))


def test_a_buyer_disputes_a_lead_and_sees_the_credit_once_accepted(login_as, submit_form):
    from marketplace import disputes

    user = factories.buyer_user()
    sale = purchase_of(user)
    http = login_as(user)
    response = submit_form(
        f"/buyers/purchases/{sale.id}/dispute",
        {"reason": "invalid_contact", "comment": "The number does not exist."},
        page_url=f"/buyers/purchases/{sale.id}",
        http=http,
    )
    assert response.status_code == 302
    dispute = db.session.scalar(select(Dispute).where(Dispute.sale_id == sale.id))
    assert (dispute.status, dispute.comment) == (DisputeStatus.OPEN, "The number does not exist.")

    disputes.resolve_dispute(dispute.id, admin_user_id=factories.admin_user().id, accept=True)
    page = http.get(f"/buyers/purchases/{sale.id}").get_data(as_text=True)
    assert 'id="credit"' in page
    assert "50.00" in page.split('id="credit"')[1].split("</p>")[0]


def test_a_dispute_after_the_window_or_on_another_buyers_lead_is_refused(login_as, submit_form):
    owner = factories.buyer_user()
    sale = purchase_of(owner)
    intruder = login_as(factories.buyer_user())
    response = submit_form(
        f"/buyers/purchases/{sale.id}/dispute",
        {"reason": "duplicate"},
        page_url="/buyers/billing",
        http=intruder,
    )
    assert response.status_code == 404

    sale.created_at = sale.created_at - timedelta(days=8)
    db.session.commit()
    http = login_as(owner)
    page = http.get(f"/buyers/purchases/{sale.id}").get_data(as_text=True)
    assert "return window for this lead has closed" in page
    response = submit_form(
        f"/buyers/purchases/{sale.id}/dispute",
        {"reason": "duplicate"},
        page_url="/buyers/billing",
        http=http,
        follow_redirects=True,
    )
    assert "return window" in response.get_data(as_text=True)
    assert db.session.scalar(select(Dispute.id)) is None


def test_a_bad_dispute_is_answered_at_its_fields(login_as, submit_form):
    user = factories.buyer_user()
    sale = purchase_of(user)
    http = login_as(user)
    for data, field in (
        ({"reason": "other", "comment": " "}, "comment"),
        ({"reason": "because"}, "reason"),
        ({"reason": "duplicate", "comment": "x" * 3000}, "comment"),
    ):
        response = submit_form(
            f"/buyers/purchases/{sale.id}/dispute",
            data,
            page_url=f"/buyers/purchases/{sale.id}",
            http=http,
        )
        assert response.status_code == 422, data
        page = response.get_data(as_text=True)
        field_tag = re.search(rf'<(input|select|textarea)[^>]*id="{field}"[^>]*>', page)
        assert field_tag and "is-invalid" in field_tag.group(0), data
    assert db.session.scalar(select(Dispute.id)) is None
