"""An admin runs the marketplace in the browser: finds a publisher waiting for approval
and approves it (its waiting lead is then sold), suspends a buyer with a reason that the
buyer then reads, raises a sector's floor, and finds each decision in the audit trail."""

from __future__ import annotations

import re

import pytest

from marketplace.extensions import db
from marketplace.models import Lead, LeadStatus
from tests import factories
from tests.e2e.test_walking_skeleton import sign_in

pytestmark = pytest.mark.browser


def test_an_admin_approves_suspends_and_reads_the_audit_trail(
    live_server, new_page, artifacts, run_jobs
):
    campaign = factories.campaign()
    buyer_user = factories.UserFactory(organization=campaign.buyer)
    publisher = factories.PublisherFactory(name="Média en Attente", approved=False)
    captured = factories.lead(factories.magnet(publisher))
    assert db.session.get(Lead, captured.lead_id).held_for == "publisher_awaiting_approval"

    admin = new_page()
    sign_in(admin, live_server, factories.admin_user())
    admin.get_by_role("link", name="Organizations").click()
    admin.get_by_label("Standing").select_option(label="Awaiting approval")
    admin.get_by_role("button", name="Search").click()
    admin.get_by_role("link", name="Média en Attente").click()
    admin.screenshot(path=str(artifacts / "1-publisher-waiting.png"), full_page=True)
    admin.locator("#approve-reason").fill("SIRET and web site checked")
    admin.get_by_role("button", name="Approve this publisher").click()
    admin.get_by_text(re.compile("Approved: its leads are sold")).wait_for()
    run_jobs()  # with Redis, the lead offered again is a queued job
    db.session.expire_all()
    assert db.session.get(Lead, captured.lead_id).status is LeadStatus.DISTRIBUTED

    admin.goto(f"{live_server}/admin/organizations?q={campaign.buyer.name}")
    admin.get_by_role("link", name=campaign.buyer.name).first.click()
    admin.get_by_label("Why (the organization's people read it)").fill(
        "Invoices unpaid since March"
    )
    admin.get_by_role("button", name="Suspend").click()
    admin.get_by_text("Suspended. Its people see the reason on their pages.").wait_for()
    admin.screenshot(path=str(artifacts / "2-buyer-suspended.png"), full_page=True)

    buyer = new_page()
    sign_in(buyer, live_server, buyer_user)
    notice = buyer.locator("#standing-notice")
    assert "Invoices unpaid since March" in notice.inner_text()
    buyer.screenshot(path=str(artifacts / "3-buyer-reads-why.png"), full_page=True)

    sector = factories.sector()
    floor_before = sector.floor_price_cents
    try:
        admin.get_by_role("link", name="Sectors").click()
        admin.locator("#sectors").get_by_role(
            "link", name=re.compile(f"Edit {sector.name_en}$")
        ).click()
        admin.get_by_label("Floor price per lead (EUR)").fill("45.00")
        admin.get_by_label("Why (kept in the audit trail)").fill("Prices of the trade went up")
        admin.get_by_role("button", name="Save the sector").click()
        admin.get_by_text(re.compile("Sector saved")).wait_for()
    finally:
        db.session.expire_all()
        factories.sector().floor_price_cents = floor_before
        db.session.commit()

    admin.get_by_role("link", name="Audit trail").click()
    events = admin.locator("#audit-events").inner_text()
    for words in ("organization approved", "organization suspended", "sector changed"):
        assert words in events
    admin.get_by_label("Action").fill("organization.")
    admin.get_by_role("button", name="Search").click()
    admin.locator("#audit-events").get_by_text("organization suspended").wait_for()
    assert "sector changed" not in admin.locator("#audit-events").inner_text()
    admin.screenshot(path=str(artifacts / "4-audit-trail.png"), full_page=True)
