"""An admin reads the platform report in the browser: from the menu, the default
period, then another dimension and period, charts beside tables, the CSV downloaded and
equal to the table; a bad period said at its field. The publisher's dashboard of the
same data, too. A screenshot at each step."""

from __future__ import annotations

import csv
import io

import pytest

from tests import factories
from tests.e2e.test_walking_skeleton import sign_in
from tests.marketplace.test_platform_reports import make_known_set

pytestmark = pytest.mark.browser


def test_an_admin_reads_the_platform_report(live_server, new_page, artifacts):
    known_set = make_known_set()
    page = new_page()
    sign_in(page, live_server, known_set["admin"])
    page.get_by_role("link", name="Reports").click()
    page.locator("#report-table").wait_for()
    assert "(30 days)" in page.locator("#period").inner_text()
    page.screenshot(path=str(artifacts / "1-default-period.png"), full_page=True)

    page.get_by_label("From", exact=True).fill("2026-03-23")
    page.get_by_label("To", exact=True).fill("2026-03-31")
    page.get_by_label("Group by").select_option(label="Source / medium (UTM)")
    page.get_by_label("Figure per week").select_option(label="Dispute rate")
    page.get_by_role("button", name="Show").click()
    page.locator("#report-table tfoot").wait_for()
    table = page.locator("#report-table")
    assert "google / cpc" in table.inner_text() and "(none) / email" in table.inner_text()
    total = table.locator("tfoot td")
    assert total.nth(0).inner_text() == "5" and total.nth(3).inner_text() == "€320.00"
    for image in page.locator("figure img").all():
        image.scroll_into_view_if_needed()
        assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    page.screenshot(path=str(artifacts / "2-per-utm-source-medium.png"), full_page=True)

    with page.expect_download() as download_info:
        page.locator("#csv-link").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8-sig") as saved:
        content = saved.read()
    rows = list(csv.reader(io.StringIO(content)))
    shown = [
        [cell.inner_text().strip() for cell in row.locator("th, td").all()]
        for row in table.locator("tbody tr, tfoot tr").all()
    ]
    assert [row[0] for row in rows[1:]] == [row[0] for row in shown]
    assert rows[-1][1:4] == ["5", "4", "6"] and rows[-1][4] == "320.00"
    (artifacts / "3-report.csv").write_text(content, encoding="utf-8")

    page.get_by_label("To", exact=True).fill("2026-03-01")
    page.get_by_role("button", name="Show").click()
    page.locator("#error-summary").wait_for()
    assert "The end must be on or after the start." in page.locator("#to-error").inner_text()
    page.screenshot(path=str(artifacts / "4-bad-period.png"), full_page=True)

    publisher = new_page()
    sign_in(publisher, live_server, factories.UserFactory(organization=known_set["p1"]))
    publisher.goto(f"{live_server}/publishers/")
    publisher.screenshot(path=str(artifacts / "5-publisher-dashboard.png"), full_page=True)
