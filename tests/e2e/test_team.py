"""An owner builds a team in the browser: invites a colleague, who follows the link of
the mail, chooses a password and lands in the portal as a member; the member finds the
billing details read-only and no way to change the team."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import OutboxMail
from tests import factories
from tests.e2e.test_walking_skeleton import sign_in

pytestmark = pytest.mark.browser


def test_an_owner_invites_a_colleague_who_joins_as_a_member(live_server, new_page, artifacts):
    owner = factories.buyer_user()
    page = new_page()
    sign_in(page, live_server, owner)
    page.get_by_role("link", name="Team").click()
    page.get_by_label("Their work e-mail").fill("lea.moreau@example.com")
    page.get_by_role("radio", name=re.compile("^Member")).check()
    page.get_by_role("button", name="Send the invitation").click()
    page.get_by_text("The invitation is on its way to lea.moreau@example.com").wait_for()
    page.screenshot(path=str(artifacts / "1-invited.png"), full_page=True)

    db.session.expire_all()
    mail = db.session.scalar(
        select(OutboxMail).where(OutboxMail.to_address == "lea.moreau@example.com")
    )
    link = re.search(r"https?://\S+/team/join/\S+", mail.body_text).group(0)

    colleague = new_page()
    colleague.goto(link)
    colleague.get_by_label("Your name").fill("Léa Moreau")
    colleague.get_by_label("Password", exact=True).fill("a-long-enough-password")
    colleague.get_by_label("Password again").fill("a-long-enough-password")
    colleague.screenshot(path=str(artifacts / "2-join.png"), full_page=True)
    colleague.get_by_role("button", name="Join the team").click()
    colleague.get_by_text(f"Welcome to {owner.organization.name}!").wait_for()
    colleague.screenshot(path=str(artifacts / "3-joined.png"), full_page=True)

    colleague.get_by_role("link", name="Billing").click()
    colleague.locator("#owner-only").wait_for()
    assert colleague.get_by_role("button", name="Save billing details").count() == 0
    colleague.screenshot(path=str(artifacts / "4-member-billing.png"), full_page=True)
    colleague.get_by_role("link", name="Team").click()
    assert colleague.locator("#invite-form").count() == 0
    assert "Léa Moreau" in colleague.locator("#members").inner_text()

    page.reload()
    assert "Léa Moreau" in page.locator("#members").inner_text()
    page.screenshot(path=str(artifacts / "5-team.png"), full_page=True)
