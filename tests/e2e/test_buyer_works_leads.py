"""A buyer works its leads in the browser: filters and searches the inbox, rates a lead,
marks it won with the deal's amount, rates another in one click from the inbox, disputes
a third, and exports the filtered set as CSV (the file's rows match the filter)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest

from tests import factories
from tests.e2e.test_walking_skeleton import sign_in

pytestmark = pytest.mark.browser


def test_a_buyer_filters_rates_wins_disputes_and_exports(live_server, new_page, artifacts):
    user = factories.buyer_user()
    factories.campaign(user.organization)
    for company in ("Zorvaqx SA", "Quellbrix SARL", "Petit et fils"):
        factories.lead(company=company)
    page = new_page()
    sign_in(page, live_server, user)
    page.get_by_text("3 purchases match.").wait_for()
    page.screenshot(path=str(artifacts / "1-inbox.png"), full_page=True)

    page.get_by_label("Search").fill("zorvaqx")
    page.get_by_role("button", name="Apply the filters").click()
    page.get_by_text("1 purchase matches.").wait_for()
    assert "q=zorvaqx" in page.url  # the view can be bookmarked
    page.screenshot(path=str(artifacts / "2-searched.png"), full_page=True)

    page.get_by_role("link", name=re.compile("Open")).click()
    verdict = page.get_by_role("region", name="Your verdict")
    verdict.locator("label[for=stars-4]").click()
    verdict.get_by_label("Reachable").check()
    verdict.get_by_role("button", name="Save the rating").click()
    page.get_by_text("Rating saved: 4 stars.").wait_for()
    page.get_by_label("Where the deal stands").select_option(label="Won")
    page.get_by_label("Amount of the deal (EUR)").fill("12500")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_text("Saved: Won.").wait_for()
    assert "€12,500.00" in page.locator("#outcome-summary").inner_text()
    page.screenshot(path=str(artifacts / "3-rated-and-won.png"), full_page=True)

    page.get_by_role("link", name="Inbox").first.click()
    row = page.locator("tbody tr").filter(has_text="Quellbrix SARL")
    row.get_by_role("button", name="2 stars out of 5").click()
    page.get_by_text("Rating saved: 2 stars.").wait_for()
    page.screenshot(path=str(artifacts / "4-rated-in-one-click.png"), full_page=True)

    page.locator("tbody tr").filter(has_text="Petit et fils").get_by_role(
        "link", name=re.compile("Open")
    ).click()
    page.get_by_label("Reason").select_option(label="Fake or test submission")
    page.get_by_role("button", name="Dispute this lead").click()
    page.get_by_text("Your dispute is recorded").wait_for()
    page.screenshot(path=str(artifacts / "5-disputed.png"), full_page=True)

    page.get_by_role("link", name="Inbox").first.click()
    page.get_by_label("Rating", exact=True).select_option(label="★★★★")
    page.get_by_role("button", name="Apply the filters").click()
    page.get_by_text("1 purchase matches.").wait_for()
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV", exact=True).click()
    text = Path(download.value.path()).read_text(encoding="utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 1 and "Zorvaqx SA" in rows[0]
    assert rows[0][header.index("Rating")] == "4"
    assert rows[0][header.index("Deal")] == "Won"
    page.screenshot(path=str(artifacts / "6-filtered-for-export.png"), full_page=True)

    page.get_by_role("link", name="Dashboard").click()
    page.get_by_text("All your leads in the period").wait_for()
    totals = page.locator("#totals tbody tr").inner_text()
    assert "3" in totals and "33%" in totals  # one won deal in three leads
    page.screenshot(path=str(artifacts / "7-dashboard.png"), full_page=True)


def test_on_a_phone_the_menu_folds_behind_one_button(live_server, browser, artifacts):
    user = factories.buyer_user()
    factories.campaign(user.organization)
    factories.lead(company="Mobile SA")
    context = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        sign_in(page, live_server, user)
        page.get_by_text("1 purchase matches.").wait_for()
        assert not page.get_by_role("link", name="Campaigns").is_visible()
        page.screenshot(path=str(artifacts / "phone-inbox.png"), full_page=True)
        page.get_by_role("button", name="Menu").click()
        page.get_by_role("link", name="Campaigns").wait_for(state="visible")
        page.screenshot(path=str(artifacts / "phone-menu.png"))
    finally:
        context.close()
