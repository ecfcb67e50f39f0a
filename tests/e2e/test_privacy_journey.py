"""A person has their data erased, in the browser: asks at /privacy, confirms from the
link mailed to them, an admin completes the request in the console, and the buyer who
held the lead finds the notice on the lead's page and the contact details gone."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import OutboxMail, Sale
from tests import factories
from tests.e2e.test_walking_skeleton import sign_in

pytestmark = pytest.mark.browser

EMAIL = "heloise.vantorre@exemple.fr"


def test_a_person_has_their_data_erased_and_the_buyer_is_told(live_server, new_page, artifacts):
    campaign = factories.campaign()
    buyer_user = factories.UserFactory(organization=campaign.buyer)
    captured = factories.lead(first_name="Héloïse", last_name="Vantorre", email=EMAIL)
    sale = db.session.scalar(select(Sale).where(Sale.lead_id == captured.lead_id))

    person = new_page()
    person.goto(f"{live_server}/privacy")
    person.get_by_label(re.compile("^Erase my data")).check()
    person.get_by_label("The e-mail address you gave in the form").fill(EMAIL)
    person.get_by_role("button", name="Send my request").click()
    person.locator("#request-sent").wait_for()
    person.screenshot(path=str(artifacts / "1-asked.png"), full_page=True)

    db.session.expire_all()
    mail = db.session.scalar(
        select(OutboxMail).where(
            OutboxMail.to_address == EMAIL, OutboxMail.topic == "privacy.confirm"
        )
    )
    link = re.search(r"https?://\S+/privacy/requests/\S+", mail.body_text).group(0)
    person.goto(link)
    person.get_by_role("button", name="Yes, it is me: confirm my request").click()
    person.get_by_text("being handled").wait_for()
    person.screenshot(path=str(artifacts / "2-confirmed.png"), full_page=True)

    admin = new_page()
    sign_in(admin, live_server, factories.admin_user())
    admin.get_by_role("link", name="Privacy").click()
    admin.locator("#privacy-queue").get_by_role("link", name=re.compile("Open")).click()
    assert "Vantorre" in admin.locator("#person-leads").inner_text()
    admin.screenshot(path=str(artifacts / "3-admin-request.png"), full_page=True)
    admin.get_by_role("button", name="Complete the request").click()
    admin.get_by_text("The request is completed, and the person told.").wait_for()
    admin.screenshot(path=str(artifacts / "4-admin-done.png"), full_page=True)

    buyer = new_page()
    sign_in(buyer, live_server, buyer_user)
    buyer.goto(f"{live_server}/buyers/purchases/{sale.id}")
    buyer.locator("#privacy-notice-erasure").wait_for()
    body = buyer.locator("main").inner_text()
    assert "asked for the erasure of their data" in body
    assert "Vantorre" not in body and EMAIL not in body
    buyer.screenshot(path=str(artifacts / "5-buyer-notice.png"), full_page=True)

    person.goto(link)
    person.get_by_text("answered").first.wait_for()
    person.screenshot(path=str(artifacts / "6-answered.png"), full_page=True)
