"""The buyer's verdict on each lead: a rating (stars, reasons, comment) editable for 30
days, and where the deal stands, every move kept; in the portal and through the API,
never on another organization's purchase."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.api_keys import issue_api_key
from marketplace.extensions import db
from marketplace.models import Outcome, OutcomeChange, Sale
from tests import factories


def purchase_of(user) -> Sale:
    factories.campaign(user.organization)
    factories.lead()
    return db.session.scalar(select(Sale).where(Sale.buyer_id == user.organization_id))


def api(user):
    return {"Authorization": f"Bearer {issue_api_key(user.organization_id, 'crm')[1]}"}


def test_a_buyer_rates_a_lead_in_one_click_from_the_inbox(login_as):
    user = factories.buyer_user()
    sale = purchase_of(user)
    http = login_as(user)
    inbox = http.get("/buyers/").get_data(as_text=True)
    assert f'action="/buyers/purchases/{sale.id}/rating"' in inbox

    from tests.conftest import csrf_token_from

    token = csrf_token_from(inbox)
    answer = http.post(
        f"/buyers/purchases/{sale.id}/rating",
        data={"csrf_token": token, "quick": "1", "stars": "4"},
    )
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(f"/buyers/#sale-{sale.id}")
    db.session.expire_all()
    rated = db.session.get(Sale, sale.id)
    assert (rated.rating_stars, rated.rated_by_user_id) == (4, user.id)
    assert rated.rated_at is not None


def test_a_full_rating_on_the_lead_page_then_a_quick_one_keeps_its_reasons(login_as, submit_form):
    user = factories.buyer_user(full_name="Claire Martin")
    sale = purchase_of(user)
    http = login_as(user)
    page = f"/buyers/purchases/{sale.id}"
    answer = submit_form(
        f"{page}/rating",
        {
            "stars": "2",
            "reasons": ["wrong_number", "not_decision_maker"],
            "rating_comment": "Switchboard only.",
        },
        page_url=page,
        http=http,
    )
    assert answer.status_code == 302
    shown = http.get(page).get_data(as_text=True)
    assert "Wrong number" in shown and "Not the decision maker" in shown
    assert "rated by Claire Martin" in shown and "Switchboard only." in shown

    submit_form(f"{page}/rating", {"stars": "3", "quick": "1"}, page_url="/buyers/", http=http)
    db.session.expire_all()
    rated = db.session.get(Sale, sale.id)
    assert rated.rating_stars == 3
    assert rated.rating_reasons == ["wrong_number", "not_decision_maker"]
    assert rated.rating_comment == "Switchboard only."


def test_the_deal_moves_along_the_pipeline_and_every_move_is_kept(login_as, submit_form):
    user = factories.buyer_user(full_name="Paul Durand")
    sale = purchase_of(user)
    http = login_as(user)
    page = f"/buyers/purchases/{sale.id}"
    steps = [
        ({"status": "contacted"}, 302),
        ({"status": "won"}, 422),  # a won deal needs its amount
        ({"status": "won", "amount": "12500.50"}, 302),
    ]
    for data, status in steps:
        answer = submit_form(f"{page}/outcome", data, page_url=page, http=http)
        assert answer.status_code == status, data
    db.session.expire_all()
    won = db.session.get(Sale, sale.id)
    assert (won.outcome, won.outcome_amount_cents) == (Outcome.WON, 1_250_050)
    history = db.session.scalars(select(OutcomeChange).order_by(OutcomeChange.id)).all()
    assert [(c.status, c.amount_cents, c.changed_by_user_id) for c in history] == [
        ("contacted", None, user.id),
        ("won", 1_250_050, user.id),
    ]
    shown = http.get(page).get_data(as_text=True)
    assert "Paul Durand" in shown and "Contacted" in shown and "Won" in shown


def test_the_api_rates_and_records_the_outcome(client):
    user = factories.buyer_user()
    sale = purchase_of(user)
    headers = api(user)
    rated = client.post(
        f"/api/v1/purchases/{sale.id}/rating",
        json={"stars": 5, "reasons": ["real_need", "reachable"], "comment": "Signed."},
        headers=headers,
    )
    assert rated.status_code == 200, rated.get_json()
    rating = rated.get_json()["rating"]
    assert (rating["stars"], rating["reasons"]) == (5, ["reachable", "real_need"])
    lost = client.post(
        f"/api/v1/purchases/{sale.id}/outcome",
        json={"status": "lost", "lost_reason": "competitor"},
        headers=headers,
    )
    assert lost.status_code == 200
    assert lost.get_json()["outcome"]["status"] == "lost"
    listed = client.get("/api/v1/purchases", headers=headers).get_json()["items"][0]
    assert listed["rating"]["stars"] == 5
    assert listed["outcome"]["lost_reason"] == "competitor"
    change = db.session.scalar(select(OutcomeChange))
    assert (change.via, change.changed_by_user_id) == ("api", None)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("rating", {"stars": 6}, "stars"),
        ("rating", {"stars": 0}, "stars"),
        ("rating", {"stars": 3, "reasons": ["nice"]}, "reasons.0"),
        ("rating", {"stars": 3, "comment": "x" * 2001}, "comment"),
        ("outcome", {"status": "signed"}, "status"),
        ("outcome", {"status": "won"}, "amount_cents"),
        ("outcome", {"status": "won", "amount_cents": -1}, "amount_cents"),
        ("outcome", {"status": "won", "amount_cents": 2**31}, "amount_cents"),
        ("outcome", {"status": "lost"}, "lost_reason"),
        ("outcome", {"status": "lost", "lost_reason": "moon"}, "lost_reason"),
    ],
)
def test_a_bad_verdict_is_named_at_its_field(client, path, body, field):
    user = factories.buyer_user()
    sale = purchase_of(user)
    answer = client.post(f"/api/v1/purchases/{sale.id}/{path}", json=body, headers=api(user))
    assert answer.status_code == 422
    assert field in answer.get_json()["error"]["fields"]
    db.session.expire_all()
    untouched = db.session.get(Sale, sale.id)
    assert (untouched.rating_stars, untouched.outcome) == (None, None)


def test_a_rating_closes_30_days_after_the_sale(client):
    user = factories.buyer_user()
    sale = purchase_of(user)
    sale.created_at -= timedelta(days=31)
    db.session.commit()
    answer = client.post(
        f"/api/v1/purchases/{sale.id}/rating", json={"stars": 4}, headers=api(user)
    )
    assert answer.status_code == 409
    assert answer.get_json()["error"]["code"] == "rating_closed"


@pytest.mark.parametrize("path", ["rating", "outcome"])
def test_another_organizations_purchase_is_a_404(client, login_as, submit_form, path):
    owner = factories.buyer_user()
    sale = purchase_of(owner)
    stranger = factories.buyer_user()
    body = {"stars": 5} if path == "rating" else {"status": "contacted"}
    answer = client.post(f"/api/v1/purchases/{sale.id}/{path}", json=body, headers=api(stranger))
    assert answer.status_code == 404
    http = login_as(stranger)
    form = {"stars": "5"} if path == "rating" else {"status": "contacted"}
    page = submit_form(f"/buyers/purchases/{sale.id}/{path}", form, page_url="/buyers/", http=http)
    assert page.status_code == 404
    db.session.expire_all()
    untouched = db.session.get(Sale, sale.id)
    assert (untouched.rating_stars, untouched.outcome) == (None, None)
