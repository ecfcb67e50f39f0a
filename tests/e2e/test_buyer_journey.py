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
    page.get_by_label("Sectors").select_option(label="IT and telecoms > Software")
    page.get_by_label("Price per lead (EUR)", exact=True).fill("55")
    page.get_by_label("French departments, comma separated (empty: all)").fill("69")
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
