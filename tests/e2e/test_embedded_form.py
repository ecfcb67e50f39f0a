"""A publisher's own site embeds the form with the snippet; a visitor fills it there."""

from __future__ import annotations

import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import Lead
from tests import factories
from tests.e2e.test_walking_skeleton import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def publisher_site(tmp_path):
    """Another local site (another port: another origin) that serves the publisher's page."""
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield tmp_path, f"127.0.0.1:{server.server_port}"
    server.shutdown()


def test_the_embedded_form_takes_a_lead_that_the_publisher_then_sees(
    live_server, publisher_site, new_page, run_jobs
):
    folder, site = publisher_site
    user = factories.publisher_user()
    factories.campaign()
    magnet = factories.magnet(user.organization, language="en", allowed_domains=(site,))

    page_html = f"""<!doctype html><html><head><title>Our CRM guide</title></head><body>
      <h1>Compare CRM offers</h1>
      <script src="{live_server}/embed/{magnet.key}.js"></script>
    </body></html>"""
    (folder / "devis.html").write_text(page_html)

    visitor = new_page()
    visitor.goto(f"http://{site}/devis.html?utm_source=newsletter&utm_campaign=nov")
    form = visitor.frame_locator("iframe")
    form.get_by_label("First name").fill("Paul")
    form.get_by_label("Last name").fill("Renard")
    form.get_by_label("Work e-mail").fill("paul.renard@exemple.fr")
    form.get_by_label("Phone").fill("06 98 76 54 32")
    form.get_by_label("Company", exact=True).fill("Renard & Fils")
    form.get_by_label("Postcode").fill("33000")
    form.get_by_label("I agree, as written above.").check()
    form.get_by_role("button", name="Send").click()
    certificate = form.locator("#certificate-id").inner_text()
    visitor.screenshot(path=str(folder / "embedded-thank-you.png"), full_page=True)
    # The iframe grew or shrank to its content: the embed script heard its height.
    height = visitor.locator("iframe").evaluate("frame => frame.style.height")
    assert height.endswith("px")
    run_jobs()

    lead = db.session.scalar(select(Lead))
    assert (
        lead.consent.page_url == f"http://{site}/devis.html?utm_source=newsletter&utm_campaign=nov"
    )
    assert lead.utm == {"utm_source": "newsletter", "utm_campaign": "nov"}

    portal = new_page()
    sign_in(portal, live_server, user)
    portal.goto(f"{live_server}/publishers/magnets/{magnet.id}")
    portal.get_by_role("link", name=certificate).click()
    portal.get_by_text("This page proves that a person agreed to be contacted.").wait_for()
    assert "paul.renard" not in portal.content()


def test_a_site_that_is_not_listed_cannot_show_the_form(live_server, publisher_site, new_page):
    folder, site = publisher_site
    magnet = factories.magnet(language="en", allowed_domains=("www.publisher.example",))
    (folder / "stolen.html").write_text(
        f'<html><body><script src="{live_server}/embed/{magnet.key}.js"></script></body></html>'
    )
    visitor = new_page()
    visitor.goto(f"http://{site}/stolen.html")
    frame = visitor.frame_locator("iframe")
    with pytest.raises(Exception, match="Timeout"):
        frame.get_by_label("First name").wait_for(timeout=2000)
