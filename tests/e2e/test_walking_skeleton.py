"""The foundation's five steps, in a real browser, through the three roles."""

from __future__ import annotations

import re

import pytest

from tests import factories

pytestmark = pytest.mark.browser


def sign_in(page, base, user):
    page.goto(f"{base}/login")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_publisher_magnet_to_visitor_lead_to_buyer_inbox_to_admin(
    live_server, new_page, run_jobs, tmp_path
):
    publisher = factories.publisher_user()
    buyers = [factories.campaign(price_cents=price) for price in (4000, 6000, 5000, 3500)]
    buyer_user = factories.UserFactory(organization=buyers[1].buyer)  # the best price
    admin = factories.admin_user()

    # 2. The publisher creates a quote-request magnet in IT > software for 3 buyers.
    page = new_page()
    sign_in(page, live_server, publisher)
    page.get_by_role("link", name="New lead magnet").click()
    page.get_by_label("Title", exact=True).fill("Compare CRM quotes")
    page.get_by_label("Kind").select_option("quote_request")
    page.get_by_label("Sector").select_option(label="IT and telecoms > Software")
    page.get_by_label("Partners per lead (1 = exclusive)").fill("3")
    page.get_by_label("Form language").select_option("en")
    page.get_by_role("button", name="Save the lead magnet").click()
    page.get_by_text("Your lead magnet is saved.").wait_for()
    hosted = page.locator("#hosted-link").get_attribute("href")
    assert re.search(r"/m/[\w-]+$", hosted)

    # 3. A visitor fills the hosted form.
    visitor = new_page()
    visitor.goto(hosted)
    visitor.get_by_label("First name").fill("Marie")
    visitor.get_by_label("Last name").fill("Durand")
    visitor.get_by_label("Work e-mail").fill("marie.durand@exemple.fr")
    visitor.get_by_label("Phone").fill("06 12 34 56 78")
    visitor.get_by_label("Company", exact=True).fill("Durand Conseil")
    visitor.get_by_label("Postcode").fill("69003")
    visitor.get_by_role("button", name="Send").click()
    visitor.get_by_text("Tick the box to agree").wait_for()  # consent is required
    visitor.get_by_label("I agree, as written above.").check()
    visitor.get_by_role("button", name="Send").click()
    certificate = visitor.locator("#certificate-id").inner_text()
    assert len(certificate) >= 20
    visitor.screenshot(path=str(tmp_path / "thank-you.png"))
    run_jobs()

    # 4. The best-paying buyer sees the lead in its inbox and opens it.
    buyer_page = new_page()
    sign_in(buyer_page, live_server, buyer_user)
    buyer_page.get_by_role("cell", name="Durand Conseil").wait_for()
    buyer_page.get_by_role("link", name=re.compile("Open")).first.click()
    buyer_page.get_by_text("marie.durand@exemple.fr").wait_for()
    assert buyer_page.get_by_text("+33612345678").is_visible()
    assert buyer_page.get_by_text(certificate).is_visible()
    buyer_page.screenshot(path=str(tmp_path / "buyer-lead.png"))

    # 5. The admin sees the lead and its three sales, best prices first.
    admin_page = new_page()
    sign_in(admin_page, live_server, admin)
    admin_page.get_by_role("link", name=re.compile(r"^\d+$")).first.click()
    sales = admin_page.locator("#sales tbody tr")
    assert sales.count() == 3
    sold_to = sales.all_inner_texts()
    for campaign in (buyers[1], buyers[2], buyers[0]):
        assert any(campaign.buyer.name in row for row in sold_to)
    assert not any(buyers[3].buyer.name in row for row in sold_to)
    admin_page.screenshot(path=str(tmp_path / "admin-lead.png"), full_page=True)

    # The publisher sees the lead with its certificate.
    page.reload()
    page.get_by_text(certificate).wait_for()
