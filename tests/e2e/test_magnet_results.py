"""A publisher reads a magnet's results in the browser: from the magnet's page to its
results, a period of its choice, the A/B test's verdict, charts beside tables; on a
phone too. A screenshot at each step."""

from __future__ import annotations

import pytest

from tests.e2e.test_walking_skeleton import sign_in
from tests.publishers.test_magnet_results import make_known_magnet

pytestmark = pytest.mark.browser


def test_a_publisher_reads_its_magnets_results(live_server, new_page, browser, artifacts):
    known_magnet = make_known_magnet()
    page = new_page()
    sign_in(page, live_server, known_magnet["publisher"])
    page.goto(f"{live_server}/publishers/magnets/{known_magnet['magnet'].id}")
    page.locator("#results-link").click()
    page.get_by_label("From").fill("2026-03-27")
    page.get_by_label("To").fill("2026-03-31")
    page.get_by_role("button", name="Show").click()
    page.locator("#ab-verdict").wait_for()
    assert "Not enough data yet" in page.locator("#ab-verdict").inner_text()
    assert "75.0%" in page.locator("#line-a").inner_text()
    for image in page.locator("figure img").all():
        assert image.evaluate("img => img.complete && img.naturalWidth > 0")
    page.screenshot(path=str(artifacts / "1-results.png"), full_page=True)

    page.get_by_label("To").fill("2026-03-01")
    page.get_by_role("button", name="Show").click()
    page.locator("#error-summary").wait_for()
    page.screenshot(path=str(artifacts / "2-bad-period.png"), full_page=True)

    phone = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})
    try:
        small = phone.new_page()
        sign_in(small, live_server, known_magnet["publisher"])
        small.goto(
            f"{live_server}/publishers/magnets/{known_magnet['magnet'].id}/results"
            "?from=2026-03-27&to=2026-03-31"
        )
        small.screenshot(path=str(artifacts / "3-phone.png"), full_page=True)
    finally:
        phone.close()
