"""The buyer portal: the inbox, a purchase, campaigns; one buyer never sees another's."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import AuditEvent, Campaign, Sale
from tests import factories


def test_the_inbox_lists_the_buyer_s_leads_and_opening_one_shows_the_contact(login_as):
    campaign = factories.campaign()
    captured = factories.lead(email="lead.person@firm.fr", company="Firm SAS")
    user = factories.UserFactory(organization=campaign.buyer)
    http = login_as(user)

    inbox = http.get("/buyers/").get_data(as_text=True)
    assert "Firm SAS" in inbox
    sale = db.session.scalar(select(Sale).where(Sale.lead_id == captured.lead_id))

    page = http.get(f"/buyers/purchases/{sale.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "lead.person@firm.fr" in html
    assert captured.certificate_id in html
    title = html.split("<title>")[1].split("</title>")[0]
    assert title.startswith(f"Lead #{captured.lead_id}") and "<" not in title
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.subject_id == captured.lead_id))
    assert (event.action, event.actor_user_id) == ("lead.contact_viewed", user.id)
    assert db.session.get(Sale, sale.id).first_viewed_at is not None


def test_a_buyer_never_sees_another_buyer_s_purchase(login_as):
    mine = factories.campaign(price_cents=5000)
    theirs = factories.campaign(price_cents=6000)
    factories.lead(factories.magnet(max_buyers=1), company="Only For Them")
    their_sale = db.session.scalar(select(Sale).where(Sale.buyer_id == theirs.buyer_id))
    http = login_as(factories.UserFactory(organization=mine.buyer))

    assert http.get(f"/buyers/purchases/{their_sale.id}").status_code == 404
    assert http.get("/buyers/purchases/999999").status_code == 404
    assert "Only For Them" not in http.get("/buyers/").get_data(as_text=True)


def test_a_buyer_creates_a_campaign_at_or_above_the_floor_price(login_as, submit_form):
    user = factories.buyer_user()
    http = login_as(user)
    software = factories.sector("it/software")
    form = {"name": "CRM leads", "sector_ids": [software.id], "price": "12.00"}

    below = submit_form("/buyers/campaigns/new", form, http=http)
    assert below.status_code == 200
    assert "The floor price of these sectors is 30.00 EUR." in below.get_data(as_text=True)

    accepted = submit_form(
        "/buyers/campaigns/new", {**form, "price": "45.50", "daily_cap": "10"}, http=http
    )
    assert accepted.status_code == 302
    campaign = db.session.scalar(select(Campaign).where(Campaign.buyer_id == user.organization_id))
    assert (campaign.price_cents, campaign.daily_cap) == (4550, 10)
    assert [s.slug for s in campaign.sectors] == ["it/software"]
    assert "CRM leads" in http.get("/buyers/campaigns").get_data(as_text=True)


def test_a_campaign_form_with_hostile_values_answers_with_field_errors(login_as, submit_form):
    http = login_as(factories.buyer_user())
    response = submit_form(
        "/buyers/campaigns/new",
        {"name": "x" * 500, "sector_ids": ["99999", "abc"], "price": "-3", "daily_cap": "many"},
        http=http,
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for message in (
        "Field cannot be longer than 120 characters.",
        "Choose at least one sector.",
        "Number must be between 1 and 10000.",
        "Not a valid integer value.",
    ):
        assert message in page
    assert db.session.scalar(select(Campaign)) is None


@pytest.mark.parametrize("value", ["sNaN", "NaN", "Infinity", "-Infinity", "1,5.2"])
def test_a_price_that_is_no_amount_is_refused_at_the_field(login_as, submit_form, value):
    http = login_as(factories.buyer_user())
    sector = factories.sector()
    response = submit_form(
        "/buyers/campaigns/new",
        {"name": "Odd prices", "sector_ids": [str(sector.id)], "price": value},
        http=http,
    )
    assert response.status_code == 200
    assert "Not a valid decimal value." in response.get_data(as_text=True)
    assert db.session.scalar(select(Campaign)) is None


def test_the_lead_page_explains_the_score_in_words_and_names_no_other_buyer(login_as):
    user = factories.buyer_user()
    factories.campaign(user.organization)
    other = factories.campaign()  # a second buyer of the same lead
    factories.lead(company="Words SA", budget="5k_20k")
    sale = db.session.scalar(select(Sale).where(Sale.buyer_id == user.organization_id))
    page = login_as(user).get(f"/buyers/purchases/{sale.id}").get_data(as_text=True)
    assert "Quote request +40" in page and "phone given +10" in page
    assert f"/consent/{sale.lead.consent.certificate_id}" in page
    assert "1 other company has it" in page
    assert other.buyer.name not in page
    assert "UTC+" in page  # times say their zone
    for code in (">hot<", "(hot)", ">webhook<", ">pending<", "quote_request"):
        assert code not in page
