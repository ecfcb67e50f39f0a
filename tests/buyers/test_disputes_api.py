"""Disputes through the buyer API, and the credit told to the buyer's webhook."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from marketplace import disputes
from marketplace.api_keys import issue_api_key
from marketplace.extensions import db
from marketplace.models import Delivery, DeliveryChannel, Sale
from tests import factories
from tests.buyers.test_delivery import Receiver


def bought(buyer, **campaign):
    factories.campaign(buyer, price_cents=4800, **campaign)
    captured = factories.lead()
    return db.session.scalar(select(Sale).where(Sale.lead_id == captured.lead_id))


def auth_for(buyer) -> dict:
    return {"Authorization": f"Bearer {issue_api_key(buyer.id, 'k')[1]}"}


def test_a_buyer_disputes_a_purchase_through_the_api(client):
    buyer = factories.BuyerFactory()
    sale = bought(buyer)
    auth = auth_for(buyer)
    url = f"/api/v1/purchases/{sale.id}/dispute"

    bad = client.post(url, json={"reason": "because"}, headers=auth)
    assert bad.status_code == 422 and "reason" in bad.get_json()["error"]["fields"]
    vague = client.post(url, json={"reason": "other"}, headers=auth)
    assert vague.status_code == 422 and "comment" in vague.get_json()["error"]["fields"]

    made = client.post(url, json={"reason": "invalid_contact", "comment": "Bounces."}, headers=auth)
    assert made.status_code == 201
    dispute = made.get_json()["dispute"]
    assert (dispute["status"], dispute["reason"], dispute["credit_cents"]) == (
        "open",
        "invalid_contact",
        0,
    )
    again = client.post(url, json={"reason": "duplicate"}, headers=auth)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "dispute_refused"

    disputes.resolve_dispute(dispute["id"], admin_user_id=factories.admin_user().id, accept=True)
    pulled = client.get(f"/api/v1/purchases/{sale.id}", headers=auth).get_json()
    assert (pulled["dispute"]["status"], pulled["dispute"]["credit_cents"]) == ("accepted", 4800)


def test_no_dispute_outside_the_window_nor_on_another_buyers_purchase(client):
    buyer = factories.BuyerFactory()
    sale = bought(buyer)
    other = client.post(
        f"/api/v1/purchases/{sale.id}/dispute",
        json={"reason": "duplicate"},
        headers=auth_for(factories.BuyerFactory()),
    )
    assert other.status_code == 404
    sale.created_at = sale.created_at - timedelta(days=8)
    db.session.commit()
    late = client.post(
        f"/api/v1/purchases/{sale.id}/dispute",
        json={"reason": "duplicate"},
        headers=auth_for(buyer),
    )
    assert late.status_code == 409 and "return window" in late.get_json()["error"]["message"]


def test_an_accepted_dispute_is_sent_to_the_buyers_webhook_as_purchase_credited(run_jobs):
    receiver = Receiver(failures=0)
    try:
        buyer = factories.BuyerFactory()
        sale = bought(buyer, webhook_url=receiver.url)
        run_jobs()
        dispute = disputes.open_dispute(buyer.id, sale.id, "fake", None)
        disputes.resolve_dispute(dispute.id, admin_user_id=factories.admin_user().id, accept=True)
        run_jobs()
        events = [json.loads(body) for _headers, body in receiver.calls]
        assert [event["type"] for event in events] == ["purchase.created", "purchase.credited"]
        assert events[1]["data"]["dispute"]["credit_cents"] == 4800
        hooks = db.session.scalars(
            select(Delivery.event).where(Delivery.channel == DeliveryChannel.WEBHOOK)
        ).all()
        assert sorted(hooks) == ["purchase.created", "purchase.credited"]
    finally:
        receiver.server.shutdown()
