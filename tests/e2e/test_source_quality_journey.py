"""Buyers' verdicts reach the publisher: a buyer rates leads, the publisher reads its
sources' quality with the reasons, and a demanding buyer sets a minimum source quality
in its campaign. A screenshot at each step."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Campaign, Lead, Sale
from marketplace.quality import rate_purchase
from tests import factories
from tests.e2e.test_walking_skeleton import sign_in

pytestmark = pytest.mark.browser


def test_verdicts_become_a_source_quality_the_publisher_reads(
    live_server, new_page, artifacts, run_jobs
):
    buyer = factories.BuyerFactory()
    factories.campaign(buyer)
    publisher = factories.publisher_user()
    good = factories.magnet(publisher.organization, title="CRM quote")
    poor = factories.magnet(publisher.organization, title="Free audit")
    for magnet, stars in ((good, 5), (poor, 1)):
        for _ in range(4):
            factories.lead(magnet)
        for sale in db.session.scalars(
            select(Sale).join(Lead, Lead.id == Sale.lead_id).where(Lead.magnet_id == magnet.id)
        ):
            rate_purchase(buyer.id, sale.id, stars=stars)
    run_jobs()

    page = new_page()
    sign_in(page, live_server, publisher)
    page.get_by_role("link", name="Quality").click()
    page.locator("#publisher-score").wait_for()
    reasons = page.locator("#publisher-reasons").inner_text()
    assert "8 ratings" in reasons
    rows = page.locator("#magnet-quality tbody tr")
    scores = {
        row.locator("th").inner_text(): int(row.locator("td").first.inner_text().split("/")[0])
        for row in rows.all()
    }
    assert scores["CRM quote"] > scores["Free audit"]
    page.screenshot(path=str(artifacts / "1-publisher-quality.png"), full_page=True)

    page.get_by_role("link", name="CRM quote").click()
    page.locator("#source-quality").wait_for()
    assert "Source quality" in page.locator("#source-quality").inner_text()
    page.screenshot(path=str(artifacts / "2-magnet-results.png"), full_page=True)

    demanding = factories.buyer_user()
    buyer_page = new_page()
    sign_in(buyer_page, live_server, demanding)
    buyer_page.goto(f"{live_server}/buyers/campaigns/new")
    buyer_page.get_by_label("Campaign name").fill("Only the good sources")
    buyer_page.get_by_role("group", name="Sectors", exact=True).get_by_label("Software").check()
    buyer_page.get_by_label("Price per lead (EUR)", exact=True).fill("60")
    buyer_page.get_by_label("Minimum source quality (0-100)").fill("70")
    buyer_page.screenshot(path=str(artifacts / "3-campaign-minimum.png"), full_page=True)
    buyer_page.get_by_role("button", name="Save the campaign").click()
    buyer_page.wait_for_load_state()
    db.session.expire_all()
    stored = db.session.scalar(
        select(Campaign).where(Campaign.buyer_id == demanding.organization_id)
    )
    assert stored is not None and stored.min_source_quality == 70
