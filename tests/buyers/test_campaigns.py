"""A buyer sets up campaigns: what, where, how many, when, delivery; pause and resume."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Campaign, CampaignStatus, Lead, LeadStatus, Sale
from tests import factories


def campaign_form(**overrides):
    form = {
        "name": "CRM leads Lyon",
        "sector_ids": [factories.sector("it/software").id],
        "price": "45.00",
        "timezone": "Europe/Paris",
        "min_score": "0",
    }
    form.update(overrides)
    return form


def test_a_buyer_sets_every_filter_of_a_campaign(login_as, submit_form):
    user = factories.buyer_user()
    http = login_as(user)
    response = submit_form(
        "/buyers/campaigns/new",
        campaign_form(
            departments="69, 2a",
            postcode_prefixes="690, 38",
            countries=["FR", "BE"],
            company_sizes=["10_49", "50_249"],
            magnet_kinds=["quote_request"],
            min_score="40",
            wants_exclusive="y",
            exclusive_price="120",
            daily_cap="5",
            monthly_cap="80",
            monthly_budget="3000",
            open_days=["mon", "tue"],
            open_from="08:30",
            open_until="17:00",
            email_recipients="Sales@Acme.fr, boss@acme.fr",
            webhook_url="https://acme.fr/hooks/leads",
        ),
        http=http,
    )

    assert response.status_code == 302, response.get_data(as_text=True)
    campaign = db.session.scalar(select(Campaign))
    assert campaign.buyer_id == user.organization_id
    assert (campaign.departments, campaign.postcode_prefixes) == (["69", "2A"], ["690", "38"])
    assert campaign.countries == ["FR", "BE"]
    assert (campaign.company_sizes, campaign.magnet_kinds) == (
        ["10_49", "50_249"],
        ["quote_request"],
    )
    assert (campaign.wants_exclusive, campaign.exclusive_price_cents) == (True, 12000)
    assert (campaign.daily_cap, campaign.monthly_cap, campaign.monthly_budget_cents) == (
        5,
        80,
        300000,
    )
    assert campaign.opening_hours == {"mon": [["08:30", "17:00"]], "tue": [["08:30", "17:00"]]}
    assert campaign.email_recipients == ["sales@acme.fr", "boss@acme.fr"]
    assert campaign.webhook_url == "https://acme.fr/hooks/leads"
    assert len(campaign.webhook_secret) >= 32
    page = http.get(f"/buyers/campaigns/{campaign.id}").get_data(as_text=True)
    assert campaign.webhook_secret in page and "would have matched" in page


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"departments": "99"}, "Use department numbers like 69, 2A or 974."),
        ({"postcode_prefixes": "75a"}, "Use the first 1 to 5 digits of postcodes"),
        ({"wants_exclusive": "y", "exclusive_price": "20"}, "at least the shared price"),
        ({"webhook_url": "http://acme.fr/hook"}, "must start with https://"),
        ({"open_days": ["mon"], "open_from": "25:00"}, "Write the time as HH:MM"),
        (
            {"open_days": ["mon"], "open_from": "18:00", "open_until": "09:00"},
            "the start before the end",
        ),
        ({"email_recipients": "not-an-address"}, "Enter a valid e-mail address"),
        ({"timezone": "Mars/Olympus"}, "Not a valid choice"),
        ({"price": "10"}, "The floor price of these sectors is 30.00 EUR."),
        ({"countries": ["XX"]}, "is not a valid choice"),
    ],
)
def test_bad_campaign_settings_are_named(login_as, submit_form, change, message):
    http = login_as(factories.buyer_user())
    response = submit_form("/buyers/campaigns/new", campaign_form(**change), http=http)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(Campaign)) is None


def test_the_preview_counts_recent_matches_without_saving(login_as, submit_form):
    magnet = factories.magnet()
    for postcode in ("69001", "69002", "75011"):
        factories.lead(magnet, postcode=postcode)
    http = login_as(factories.buyer_user())
    response = submit_form(
        "/buyers/campaigns/new", campaign_form(departments="69", preview="y"), http=http
    )
    page = response.get_data(as_text=True)
    assert "would have matched 2 leads, for €90.00" in page
    assert db.session.scalar(select(Campaign)) is None


def test_editing_a_campaign_changes_it_and_pausing_stops_its_leads(login_as, submit_form):
    user = factories.buyer_user()
    campaign = factories.campaign(user.organization, price_cents=5000)
    http = login_as(user)
    submit_form(f"/buyers/campaigns/{campaign.id}", campaign_form(price="60"), http=http)
    assert db.session.get(Campaign, campaign.id).price_cents == 6000

    submit_form(
        f"/buyers/campaigns/{campaign.id}/status",
        {"status": "paused"},
        page_url="/buyers/campaigns",
        http=http,
    )
    assert db.session.get(Campaign, campaign.id).status is CampaignStatus.PAUSED
    paused_lead = factories.lead()
    assert db.session.scalar(select(Sale).where(Sale.lead_id == paused_lead.lead_id)) is None

    submit_form(
        f"/buyers/campaigns/{campaign.id}/status",
        {"status": "active"},
        page_url="/buyers/campaigns",
        http=http,
    )
    active_lead = factories.lead()
    assert db.session.scalar(select(Sale).where(Sale.lead_id == active_lead.lead_id))


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/buyers/campaigns/{id}", None),
        (
            "post",
            "/buyers/campaigns/{id}",
            {"name": "Stolen", "price": "99", "timezone": "UTC", "sector_ids": "1"},
        ),
        ("post", "/buyers/campaigns/{id}/status", {"status": "paused"}),
        ("post", "/buyers/campaigns/{id}/webhook-secret", {}),
    ],
)
def test_no_buyer_reaches_another_buyer_s_campaign(login_as, method, path, data):
    theirs = factories.campaign()
    secret = theirs.webhook_secret
    http = login_as(factories.buyer_user())
    http.application.config["WTF_CSRF_ENABLED"] = False
    try:
        response = getattr(http, method)(path.format(id=theirs.id), data=data)
    finally:
        http.application.config["WTF_CSRF_ENABLED"] = True
    assert response.status_code == 404
    campaign = db.session.get(Campaign, theirs.id)
    assert (campaign.name, campaign.status, campaign.webhook_secret) == (
        theirs.name,
        CampaignStatus.ACTIVE,
        secret,
    )


def test_a_lead_waits_for_the_opening_hours_then_is_sold():
    from datetime import UTC, datetime

    from marketplace.capture import sweep_pending_leads
    from marketplace.distribution import distribute_lead

    campaign = factories.campaign(
        opening_hours={"mon": [["09:00", "18:00"]]}, timezone="Europe/Paris"
    )
    sunday_night = datetime(2026, 11, 22, 21, 0, tzinfo=UTC)  # 22:00 in Paris
    captured = factories.lead(now=sunday_night)

    lead = db.session.get(Lead, captured.lead_id)
    assert lead.status is LeadStatus.PENDING
    assert lead.distribute_after == datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # 09:00 Paris
    assert lead.distribution_log["verdicts"] == {"closed_now": [campaign.id]}
    assert distribute_lead(captured.lead_id, now=sunday_night) == []  # still waiting

    monday_morning = datetime(2026, 11, 23, 8, 5, tzinfo=UTC)
    sold = distribute_lead(captured.lead_id, now=monday_morning)
    assert len(sold) == 1
    lead = db.session.get(Lead, captured.lead_id)
    assert lead.status is LeadStatus.DISTRIBUTED and lead.distribute_after is None
    assert lead.distribution_log == {
        "at": monday_morning.isoformat(),
        "verdicts": {"sold": [campaign.id]},
    }
    assert sweep_pending_leads() == 0


def test_a_lead_that_would_wait_past_its_freshness_is_unsold():
    from datetime import UTC, datetime, timedelta

    from marketplace.distribution import distribute_lead

    factories.campaign(opening_hours={"mon": [["09:00", "18:00"]]})
    sunday_night = datetime(2026, 11, 22, 21, 0, tzinfo=UTC)
    # Captured 29 days 22 hours before: fresh for 2 more hours, and Monday 09:00 is 11 away.
    captured = factories.lead(distribute=False, now=sunday_night - timedelta(days=29, hours=22))
    assert distribute_lead(captured.lead_id, now=sunday_night) == []
    lead = db.session.get(Lead, captured.lead_id)
    assert lead.status is LeadStatus.UNSOLD and lead.distribute_after is None


def test_the_campaigns_page_says_why_a_held_buyer_gets_no_leads(login_as):
    from marketplace.models import BillingStatus

    user = factories.buyer_user()
    http = login_as(user)
    assert 'id="billing-hold"' not in http.get("/buyers/campaigns").get_data(as_text=True)

    user.organization.billing_status = BillingStatus.PAYMENT_FAILED
    db.session.commit()
    page = http.get("/buyers/campaigns").get_data(as_text=True)
    assert 'id="billing-hold"' in page
    assert "your last payment failed" in page
