"""A buyer sets up a campaign in the browser: ticks sectors (the floor price shows at
once), submits with several mistakes and reads them all after one submit, each beside
its field and listed at the top, fixes them and saves. A screenshot at each step."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Campaign, UserRole
from tests import factories
from tests.e2e.test_walking_skeleton import sign_in

pytestmark = pytest.mark.browser


def test_a_buyer_ticks_sectors_sees_the_floor_fixes_every_error_at_once_and_saves(
    live_server, new_page, artifacts
):
    user = factories.buyer_user()
    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, live_server, user)
    page.get_by_role("link", name="Campaigns").click()
    page.get_by_role("link", name="New campaign").click()
    page.screenshot(path=str(artifacts / "1-empty-form.png"), full_page=True)

    # Ticking sectors shows the highest of their floor prices at once.
    page.get_by_label("Campaign name").fill("Lyon software and solar")
    sectors = page.get_by_role("group", name="Sectors", exact=True)
    sectors.get_by_label("Software").check()
    floor = page.locator("#sector-floor")
    assert floor.inner_text() == "The highest floor price of the sectors you chose is €30.00."
    page.get_by_label("Filter the sectors").fill("solar")
    assert not sectors.get_by_label("Software").is_visible()  # the filter narrows the list
    sectors.get_by_label("Solar panels").check()
    assert floor.inner_text() == "The highest floor price of the sectors you chose is €45.00."
    page.get_by_label("Filter the sectors").fill("")
    assert sectors.get_by_label("Software").is_checked()  # still ticked, back in sight

    page.get_by_label("Price per lead (EUR)", exact=True).fill("30")
    page.locator("#price-floor").get_by_text("below the highest floor price").wait_for()

    departments = page.get_by_role("group", name="French departments (none: all)")
    page.get_by_label("Filter the departments").fill("rhone")
    departments.get_by_label("69 Rhône").check()
    page.get_by_label("Filter the departments").fill("")
    assert "Chosen: 69 Rhône" in page.locator("#departments-chosen").inner_text()
    page.screenshot(path=str(artifacts / "2-sectors-ticked-floor-shown.png"), full_page=True)
    sectors.screenshot(path=str(artifacts / "2a-sectors.png"))
    departments.screenshot(path=str(artifacts / "2b-departments.png"))

    # Mistakes the form catches and mistakes the use case catches, in one submit.
    page.get_by_label("Campaign name").fill("")
    page.get_by_label("I also want exclusive leads (sold to me alone)").check()
    page.get_by_label("Price per exclusive lead (EUR)").fill("20")
    page.get_by_label("Daily cap (leads)").fill("0")
    page.get_by_role("group", name="Open on (none: every day, at any hour)").get_by_label(
        "Monday"
    ).check()
    page.get_by_label("From", exact=True).fill("25:00")
    page.get_by_label("And post it to this webhook (https://, optional)").fill(
        "http://acme.example/hook"
    )
    page.get_by_role("button", name="Save the campaign").click()

    summary = page.locator("#error-summary")
    summary.wait_for()
    assert page.evaluate("document.activeElement.id") == "error-summary"
    expected = {
        "Campaign name": "This field is required.",
        "Price per lead (EUR)": "The floor price of these sectors is 45.00 EUR.",
        "Price per exclusive lead (EUR)": "An exclusive lead costs at least the shared price.",
        "Daily cap (leads)": "Number must be between 1 and 100000.",
        "From": "Write the time as HH:MM, like 09:00.",
        "And post it to this webhook (https://, optional)": "must start with https://",
    }
    assert summary.locator("li").count() == len(expected)
    for label, message in expected.items():
        assert message in summary.get_by_role("listitem").filter(has_text=label).inner_text()
        field = page.get_by_label(label, exact=True)
        assert field.get_attribute("aria-invalid") == "true"
        described = field.get_attribute("aria-describedby").split()
        assert message in page.locator(f"#{described[-1]}").inner_text()
    # What was ticked is still ticked.
    assert sectors.get_by_label("Solar panels").is_checked()
    assert departments.get_by_label("69 Rhône").is_checked()
    page.screenshot(path=str(artifacts / "3-every-error-at-once.png"), full_page=True)
    page.screenshot(path=str(artifacts / "3a-first-screen-after-submit.png"))

    # The summary links to the fields.
    summary.get_by_role("link", name="And post it to this webhook (https://, optional)").click()
    assert page.evaluate("document.activeElement.id") == "webhook_url"

    page.get_by_label("Campaign name").fill("Lyon software and solar")
    page.get_by_label("Price per lead (EUR)", exact=True).fill("50")
    assert page.locator("#price-floor").inner_text() == ""
    page.get_by_label("Price per exclusive lead (EUR)").fill("90")
    page.get_by_label("Daily cap (leads)").fill("5")
    page.get_by_label("From", exact=True).fill("09:00")
    page.get_by_label("And post it to this webhook (https://, optional)").fill(
        "https://acme.example/hook"
    )
    page.screenshot(path=str(artifacts / "4-fixed.png"), full_page=True)
    page.get_by_role("button", name="Save the campaign").click()
    page.get_by_text("Your campaign is saved.").wait_for()
    page.screenshot(path=str(artifacts / "5-saved.png"), full_page=True)

    campaign = db.session.scalar(select(Campaign).where(Campaign.buyer_id == user.organization_id))
    assert sorted(sector.slug for sector in campaign.sectors) == ["energy/solar", "it/software"]
    assert (campaign.price_cents, campaign.exclusive_price_cents) == (5000, 9000)
    assert (campaign.departments, campaign.daily_cap) == (["69"], 5)
    assert campaign.opening_hours == {"mon": [["09:00", "18:00"]]}


def test_a_member_sees_the_prices_read_only_and_may_change_the_targeting(
    live_server, new_page, artifacts
):
    owner = factories.buyer_user()
    campaign = factories.campaign(owner.organization, price_cents=5000, name="Software")
    member = factories.UserFactory(organization=owner.organization, role=UserRole.MEMBER)
    page = new_page()
    sign_in(page, live_server, member)
    page.get_by_role("link", name="Campaigns").click()
    assert page.get_by_role("link", name="New campaign").count() == 0
    page.get_by_role("link", name="Software").click()

    price = page.get_by_label("Price per lead (EUR)", exact=True)
    assert price.get_attribute("readonly") is not None
    page.get_by_text("Only an owner of your organization can change the prices").wait_for()
    page.get_by_role("group", name="Sectors", exact=True).get_by_label("Hardware").check()
    page.screenshot(path=str(artifacts / "member-editor.png"), full_page=True)
    page.get_by_role("button", name="Save the campaign").click()
    page.get_by_text("Your campaign is saved.").wait_for()

    db.session.expire_all()
    saved = db.session.get(Campaign, campaign.id)
    assert sorted(sector.slug for sector in saved.sectors) == ["it/hardware", "it/software"]
    assert saved.price_cents == 5000


def test_on_a_phone_the_editor_fits_the_screen(live_server, browser, artifacts):
    user = factories.buyer_user()
    context = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        sign_in(page, live_server, user)
        page.goto(f"{live_server}/buyers/campaigns/new")
        page.get_by_role("group", name="Sectors", exact=True).get_by_label("Cybersecurity").check()
        assert "€40.00" in page.locator("#sector-floor").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=str(artifacts / "phone-editor.png"), full_page=True)
    finally:
        context.close()
