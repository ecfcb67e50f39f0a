"""A buyer sets up campaigns: what, where, how many, when, delivery; pause and resume."""

from __future__ import annotations

import re

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


# Members and owners: a member may change a campaign's targeting and pause or resume it,
# but may neither create a campaign nor change what it spends.


def member_of(organization):
    from marketplace.models import UserRole

    return factories.UserFactory(organization=organization, role=UserRole.MEMBER)


def edit_form(campaign, **overrides):
    """The edit form as the page shows it for ``campaign``, with ``overrides``."""
    form = campaign_form(
        name=campaign.name,
        sector_ids=[sector.id for sector in campaign.sectors],
        price=f"{campaign.price_cents / 100:.2f}",
    )
    if campaign.wants_exclusive:
        form.update(
            wants_exclusive="y", exclusive_price=f"{campaign.exclusive_price_cents / 100:.2f}"
        )
    if campaign.monthly_budget_cents:
        form["monthly_budget"] = f"{campaign.monthly_budget_cents / 100:.2f}"
    form.update(overrides)
    return form


def test_a_member_is_refused_creating_a_campaign(login_as, submit_form):
    owner = factories.buyer_user()
    http = login_as(member_of(owner.organization))

    listing = http.get("/buyers/campaigns").get_data(as_text=True)
    assert "/buyers/campaigns/new" not in listing
    assert "Only an owner of your organization can create a campaign" in listing
    page = http.get("/buyers/campaigns/new")
    assert page.status_code == 403
    assert "Only an owner of your organization can create a campaign." in page.get_data(True)
    refused = submit_form(
        "/buyers/campaigns/new", campaign_form(), page_url="/buyers/campaigns", http=http
    )
    assert refused.status_code == 403
    assert db.session.scalar(select(Campaign)) is None


def test_the_use_case_refuses_a_member_a_new_campaign():
    from marketplace import campaigns
    from marketplace.errors import NotAllowed

    buyer = factories.BuyerFactory()
    with pytest.raises(NotAllowed):
        campaigns.create_campaign(
            buyer.id,
            may_set_prices=False,
            name="Not mine to make",
            sector_ids=[factories.sector().id],
            price_cents=5000,
        )
    assert db.session.scalar(select(Campaign)) is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"price": "60.00"}, "price"),
        ({"monthly_budget": "500.00"}, "monthly_budget"),
        ({"wants_exclusive": "y", "exclusive_price": "90.00"}, "wants_exclusive"),
        ({"exclusive_price": "95.00"}, "exclusive_price"),
    ],
)
def test_a_member_is_refused_changing_a_price_and_the_price_stays(
    login_as, submit_form, change, field
):
    owner = factories.buyer_user()
    campaign = factories.campaign(owner.organization, price_cents=5000)
    if field == "exclusive_price":
        campaign = factories.campaign(
            owner.organization, price_cents=5000, wants_exclusive=True, exclusive_price_cents=8000
        )
    stored = (
        campaign.price_cents,
        campaign.wants_exclusive,
        campaign.exclusive_price_cents,
        campaign.monthly_budget_cents,
    )
    http = login_as(member_of(owner.organization))

    response = submit_form(
        f"/buyers/campaigns/{campaign.id}", edit_form(campaign, **change), http=http
    )

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f'<div class="invalid-feedback d-block" id="{field}-error">' in page
    assert "Only an owner of your organization can change this." in page
    db.session.expire_all()
    campaign = db.session.get(Campaign, campaign.id)
    assert (
        campaign.price_cents,
        campaign.wants_exclusive,
        campaign.exclusive_price_cents,
        campaign.monthly_budget_cents,
    ) == stored


def test_a_member_sees_the_money_fields_read_only(login_as):
    owner = factories.buyer_user()
    campaign = factories.campaign(owner.organization, monthly_budget_cents=100_000)
    page = login_as(member_of(owner.organization)).get(f"/buyers/campaigns/{campaign.id}")
    html = page.get_data(as_text=True)
    assert "Only an owner of your organization can change the prices and the budget" in html
    for field in ("price", "monthly_budget", "exclusive_price"):
        tag = re.search(rf'<input[^>]*\bid="{field}"[^>]*>', html).group(0)
        assert " readonly" in tag and "money-note" in tag, tag
    exclusive = re.search(r'<input[^>]*\bid="wants_exclusive"[^>]*>', html).group(0)
    assert " disabled" in exclusive and "money-note" in exclusive, exclusive
    owner_page = login_as(owner).get(f"/buyers/campaigns/{campaign.id}").get_data(as_text=True)
    assert "readonly" not in owner_page and "money-note" not in owner_page


def test_the_use_case_refuses_a_member_a_changed_price_at_its_field():
    from marketplace import campaigns
    from marketplace.errors import ValidationFailed

    campaign = factories.campaign(price_cents=5000)
    settings = {"name": campaign.name, "sector_ids": [s.id for s in campaign.sectors]}
    with pytest.raises(ValidationFailed) as refused:
        campaigns.update_campaign(
            campaign.buyer_id,
            campaign.id,
            may_set_prices=False,
            price_cents=7000,
            monthly_budget_cents=90_000,
            **settings,
        )
    assert set(refused.value.fields) == {"price", "monthly_budget_cents"}
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).price_cents == 5000

    # The owner may.
    campaigns.update_campaign(
        campaign.buyer_id, campaign.id, may_set_prices=True, price_cents=7000, **settings
    )
    assert db.session.get(Campaign, campaign.id).price_cents == 7000


def test_a_member_changes_the_targeting_and_pauses_and_resumes(login_as, submit_form):
    owner = factories.buyer_user()
    campaign = factories.campaign(
        owner.organization, price_cents=5000, wants_exclusive=True, exclusive_price_cents=8000
    )
    http = login_as(member_of(owner.organization))
    hardware = factories.sector("it/hardware")

    saved = submit_form(
        f"/buyers/campaigns/{campaign.id}",
        edit_form(
            campaign,
            name="Software and hardware, Lyon",
            sector_ids=[*[s.id for s in campaign.sectors], hardware.id],
            departments=["69", "38"],
            company_sizes=["10_49"],
            daily_cap="3",
        ),
        http=http,
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)
    db.session.expire_all()
    changed = db.session.get(Campaign, campaign.id)
    assert changed.name == "Software and hardware, Lyon"
    assert sorted(s.slug for s in changed.sectors) == ["it/hardware", "it/software"]
    assert (changed.departments, changed.company_sizes, changed.daily_cap) == (
        ["69", "38"],
        ["10_49"],
        3,
    )
    assert (changed.price_cents, changed.exclusive_price_cents) == (5000, 8000)

    for status in (CampaignStatus.PAUSED, CampaignStatus.ACTIVE):
        submit_form(
            f"/buyers/campaigns/{campaign.id}/status",
            {"status": status.value},
            page_url="/buyers/campaigns",
            http=http,
        )
        db.session.expire_all()
        assert db.session.get(Campaign, campaign.id).status is status


def test_a_member_is_told_to_ask_an_owner_when_the_sectors_floor_is_above_the_price(
    login_as, submit_form
):
    owner = factories.buyer_user()
    campaign = factories.campaign(owner.organization, price_cents=3000)
    http = login_as(member_of(owner.organization))
    solar = factories.sector("energy/solar")
    response = submit_form(
        f"/buyers/campaigns/{campaign.id}", edit_form(campaign, sector_ids=[solar.id]), http=http
    )
    assert "is 45.00 EUR: ask an owner of your organization to raise the price." in (
        response.get_data(as_text=True)
    )


def test_every_error_is_named_after_one_submit_beside_its_field_and_in_a_summary(
    login_as, submit_form
):
    """The form's own checks (a missing name, a cap out of range, a time) and the use
    case's (the floor price, the exclusive price, the webhook, a department) in one round."""
    http = login_as(factories.buyer_user())
    response = submit_form(
        "/buyers/campaigns/new",
        campaign_form(
            name="",
            price="10",
            wants_exclusive="y",
            exclusive_price="5",
            daily_cap="0",
            open_days=["mon"],
            open_from="25:00",
            webhook_url="http://acme.fr/hook",
            departments=["69", "99"],
        ),
        http=http,
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    summary = page.split('id="error-summary"')[1].split("</div>")[0]
    expected = {
        "name": "This field is required.",
        "price": "The floor price of these sectors is 30.00 EUR.",
        "exclusive_price": "An exclusive lead costs at least the shared price.",
        "daily_cap": "Number must be between 1 and 100000.",
        "open_from": "Write the time as HH:MM, like 09:00.",
        "webhook_url": "The webhook address must start with https://",
        "departments": "Use department numbers like 69, 2A or 974.",
    }
    assert "7 settings to fix" in summary
    for field, message in expected.items():
        anchor = f"{field}-fieldset" if field == "departments" else field
        assert f'href="#{anchor}"' in summary and message in summary
        assert f'id="{field}-error">{message}</div>' in page
    assert page.count('aria-invalid="true"') == 6  # the inputs; departments is a fieldset
    assert 'aria-describedby="departments-help departments-chosen departments-error"' in page
    assert db.session.scalar(select(Campaign)) is None


def test_the_editor_shows_each_sector_s_floor_price_and_the_highest_chosen(login_as):
    user = factories.buyer_user()
    campaign = factories.campaign(user.organization, slugs=("it/software", "energy/solar"))
    page = login_as(user).get(f"/buyers/campaigns/{campaign.id}").get_data(as_text=True)
    solar = factories.sector("energy/solar")
    assert f'id="sector_ids-{solar.id}" value="{solar.id}" checked data-floor="4500"' in page
    assert "from €45.00" in page and "from €30.00" in page
    assert "The highest floor price of the sectors you chose is €45.00." in page


def test_the_regions_hold_every_department_once():
    from marketplace.campaigns import DEPARTMENT_REGIONS, DEPARTMENTS

    codes = [code for _region, departments in DEPARTMENT_REGIONS for code, _name in departments]
    assert len(codes) == len(set(codes)) == 101
    # The metropolitan departments (20 is split into 2A and 2B) and the five overseas ones.
    metropolitan = [f"{n:02d}" for n in range(1, 96) if n != 20]
    assert (
        set(codes) == DEPARTMENTS == {*metropolitan, "2A", "2B", "971", "972", "973", "974", "976"}
    )
