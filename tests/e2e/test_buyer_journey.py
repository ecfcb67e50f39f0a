"""A buyer in the browser: sets up a campaign, gets its leads, buys from the catalogue."""

from __future__ import annotations

import re

import pytest

from tests import factories
from tests.e2e.test_walking_skeleton import sign_in

pytestmark = pytest.mark.browser


def test_a_buyer_sets_up_a_campaign_receives_a_lead_and_buys_another(
    live_server, new_page, run_jobs
):
    user = factories.buyer_user()
    page = new_page()
    sign_in(page, live_server, user)

    page.get_by_role("link", name="Campaigns").click()
    page.get_by_role("link", name="New campaign").click()
    page.get_by_label("Campaign name").fill("Lyon software")
    page.get_by_role("group", name="Sectors", exact=True).get_by_label("Software").check()
    page.get_by_label("Price per lead (EUR)", exact=True).fill("55")
    page.get_by_label("Filter the departments").fill("69")
    page.get_by_label("69 Rhône").check()
    page.get_by_role("button", name="See what it would have matched").click()
    page.get_by_text("In the last 30 days this campaign would have matched 0 leads").wait_for()
    page.get_by_role("button", name="Save the campaign").click()
    page.get_by_text("Your campaign is saved.").wait_for()

    magnet = factories.magnet()
    factories.lead(magnet, company="Lyon Conseil", postcode="69002")
    # A lead of the same sector in Paris: not for this campaign, but in the catalogue
    # once the buyer is named among its partners.
    paris = factories.lead(magnet, company="Paris Conseil", postcode="75011")
    factories.name_partner(paris.lead_id, user.organization)
    run_jobs()

    page.get_by_role("link", name="Inbox").click()
    page.get_by_role("cell", name="Lyon Conseil").wait_for()
    page.get_by_role("link", name="Catalogue").click()
    row = page.locator("#offers tbody tr").filter(has_text="75")
    assert "Paris Conseil" not in page.content()
    row.get_by_role("button", name=re.compile("Buy")).click()
    page.get_by_text("The lead is yours.").wait_for()
    page.get_by_text("Paris Conseil").wait_for()


def test_a_buyer_disputes_a_lead_an_admin_accepts_and_the_buyer_sees_its_credit(
    live_server, new_page
):
    user = factories.buyer_user()
    factories.campaign(user.organization, price_cents=4200)
    factories.lead(company="Fausse Entreprise")
    page = new_page()
    sign_in(page, live_server, user)

    page.get_by_role("link", name="Billing").click()
    page.get_by_label("Billing e-mail").fill("compta@example.fr")
    page.get_by_label("Address").fill("5 quai Saint-Antoine")
    page.get_by_label("Postcode").fill("6900")
    page.get_by_label("City").fill("Lyon")
    page.get_by_role("button", name="Save billing details").click()
    page.get_by_text("Enter a French postcode of 5 digits").wait_for()  # said at the field
    page.get_by_label("Postcode").fill("69002")
    page.get_by_role("button", name="Save billing details").click()
    page.get_by_text("Your billing details are saved.").wait_for()

    page.get_by_role("link", name="Inbox").click()
    page.get_by_role("link", name=re.compile("^Open")).first.click()
    page.get_by_label("Reason").select_option(label="Fake or test submission")
    page.get_by_label("Comment").fill("Nobody by that name at this company.")
    page.get_by_role("button", name="Dispute this lead").click()
    page.get_by_text("Your dispute is recorded").wait_for()
    purchase_url = page.url

    admin_page = new_page()
    sign_in(admin_page, live_server, factories.admin_user())
    admin_page.get_by_role("link", name="Disputes").click()
    admin_page.get_by_text("Nobody by that name at this company.").wait_for()
    admin_page.get_by_label("Note to the buyer").fill("Confirmed.")
    admin_page.get_by_role("button", name=re.compile("^Accept")).click()
    admin_page.get_by_text(re.compile(r"Dispute #\d+ decided.")).wait_for()

    page.goto(purchase_url)
    page.locator("#credit").get_by_text("€42.00", exact=False).wait_for()
