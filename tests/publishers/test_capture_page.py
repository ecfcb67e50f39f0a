"""The hosted and embedded form: qualification fields, bot and abuse guards, variants,
what happens after the form (thank-you, redirect, download), the embed script."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import Lead, LeadMagnet, MagnetKind, OutboxMail
from publishers import magnet_pages
from tests import factories
from tests.marketplace.test_capture import fill, form_fields, lead_count

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def asking(*specs):
    return [{"name": name, "required": required} for name, required in specs]


@pytest.mark.parametrize(
    ("fields", "values", "field", "message"),
    [
        (
            asking(("siret", True)),
            {"siret": "732 829 320 00075"},
            "siret",
            "This SIRET does not exist",
        ),
        (asking(("siret", True)), {"siret": "123"}, "siret", "A SIRET has 14 digits."),
        (
            asking(("company_size", True)),
            {"company_size": "huge"},
            "company_size",
            "Choose an answer from the list.",
        ),
        (asking(("budget", True)), {"budget": ""}, "budget", "Choose an answer from the list."),
        (
            asking(("timeframe", False)),
            {"timeframe": "tomorrow"},
            "timeframe",
            "Choose an answer from the list.",
        ),
        (
            asking(("housing", True)),
            {"housing": "landlord"},
            "housing",
            "Choose an answer from the list.",
        ),
        (
            asking(("country", True), ("postcode", True)),
            {"country": "BE", "postcode": "75011"},
            "postcode",
            "Enter a valid postcode.",
        ),
        (
            asking(("country", True)),
            {"country": "XX"},
            "country",
            "Choose a country from the list.",
        ),
        (asking(("job_title", True)), {"job_title": ""}, "job_title", "This field is required."),
    ],
)
def test_qualification_fields_are_checked_with_a_message_each(
    client, fields, values, field, message
):
    magnet = factories.magnet(language="en", fields=fields)
    response = fill(client, magnet, **values)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert lead_count() == 0


def test_qualification_answers_are_stored_normalised(client):
    magnet = factories.magnet(
        language="en",
        fields=asking(
            ("siret", True),
            ("company_size", True),
            ("budget", False),
            ("timeframe", True),
            ("country", True),
            ("postcode", True),
        ),
    )
    response = fill(
        client,
        magnet,
        siret="732 829 320 00074",
        company_size="10_49",
        budget="",
        timeframe="3_months",
        country="BE",
        postcode="1000",
        phone="+32 470 12 34 56",
    )
    assert response.status_code == 200
    lead = db.session.scalar(select(Lead))
    assert (lead.siret, lead.company_size, lead.budget, lead.timeframe) == (
        "73282932000074",
        "10_49",
        None,
        "3_months",
    )
    assert (lead.country, lead.postcode, lead.phone) == ("BE", "1000", "+32470123456")


def test_optional_fields_are_marked_and_unasked_fields_are_absent(client):
    magnet = factories.magnet(language="en", fields=asking(("company", True), ("budget", False)))
    page = client.get(f"/m/{magnet.key}").get_data(as_text=True)
    assert "Budget (optional)" in page
    assert 'name="siret"' not in page and 'name="timeframe"' not in page


def test_a_filled_honeypot_looks_accepted_but_stores_nothing(client):
    magnet = factories.magnet(language="en")
    response = fill(client, magnet, website="http://spam.example")
    assert response.status_code == 200
    assert "Thank you!" in response.get_data(as_text=True)
    assert "certificate-id" not in response.get_data(as_text=True)
    assert lead_count() == 0


def test_a_form_sent_faster_than_a_person_can_is_refused(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "CAPTURE_MIN_FILL_SECONDS", 30)
    magnet = factories.magnet(language="en")
    response = fill(client, magnet)
    assert response.status_code == 422
    assert "That was very fast" in response.get_data(as_text=True)
    assert lead_count() == 0


def test_a_token_of_another_magnet_is_refused(client):
    first = factories.magnet(language="en")
    second = factories.magnet(language="en")
    token = form_fields(client.get(f"/m/{first.key}").get_data(as_text=True))["form_token"]
    response = fill(client, second, form_token=token)
    assert response.status_code == 400
    assert lead_count() == 0


def test_an_oversized_post_is_refused_before_anything_is_read(client):
    magnet = factories.magnet(language="en")
    response = fill(client, magnet, message="x" * 70_000)
    assert response.status_code == 413
    assert lead_count() == 0


def test_one_address_cannot_post_more_than_20_forms_a_minute(client):
    magnet = factories.magnet(language="en")
    answers = [fill(client, magnet, email=f"p{i}@example.fr").status_code for i in range(21)]
    assert answers[:20] == [200] * 20
    assert answers[20] == 429
    assert lead_count() == 20


def test_a_magnet_takes_a_bounded_number_of_forms_a_minute_whoever_sends_them(
    app, client, monkeypatch
):
    monkeypatch.setitem(app.config, "CAPTURE_MAGNET_RATE_LIMIT", "3 per minute")
    magnet = factories.magnet(language="en")
    answers = []
    for i in range(4):
        client.environ_base["REMOTE_ADDR"] = f"198.51.100.{i + 1}"  # a new address each time
        answers.append(fill(client, magnet, email=f"p{i}@example.fr").status_code)
    assert answers == [200, 200, 200, 429]
    other = factories.magnet(language="en")
    assert fill(client, other).status_code == 200  # another magnet has its own budget


def test_the_form_can_be_framed_only_by_the_listed_sites(client):
    magnet = factories.magnet(allowed_domains=("www.partner.example", "*.blog.example"))
    policy = client.get(f"/m/{magnet.key}").headers["Content-Security-Policy"]
    assert policy.endswith(
        "frame-ancestors 'self' https://*.blog.example http://*.blog.example "
        "https://www.partner.example http://www.partner.example"
    )
    assert " * " not in policy + " "


def test_variant_b_is_shown_and_counted_apart(client, monkeypatch):
    magnet = factories.magnet(language="en", title_b="Get three quotes today", cta_b="Compare")
    monkeypatch.setattr(magnet_pages.random, "choice", lambda options: "b")
    page = client.get(f"/m/{magnet.key}").get_data(as_text=True)
    assert "Get three quotes today" in page and ">Compare</button>" in page
    fill(client, magnet)  # the GET inside counts a second B view
    lead = db.session.scalar(select(Lead))
    assert lead.variant == "b" and lead.consent.form_variant == "b"
    magnet = db.session.get(LeadMagnet, magnet.id)
    assert (magnet.views_a, magnet.views_b) == (0, 2)


def test_after_the_form_the_person_is_sent_to_the_publisher_page(client):
    magnet = factories.magnet(language="en", redirect_url="https://publisher.example/merci")
    hosted = fill(client, magnet)
    assert hosted.status_code == 303
    assert hosted.headers["Location"] == "https://publisher.example/merci"

    page = client.get(f"/m/{magnet.key}?embed=1")
    data = {**factories.submission(), "consent": "y", **form_fields(page.get_data(as_text=True))}
    embedded = client.post(f"/m/{magnet.key}?embed=1", data=data)
    assert embedded.status_code == 200
    assert 'data-redirect="https://publisher.example/merci"' in embedded.get_data(as_text=True)


def test_a_whitepaper_gives_a_signed_download_link_on_the_page_and_by_mail(client):
    publisher = factories.publisher_user()
    magnet = factories.magnet(
        publisher.organization,
        language="en",
        kind=MagnetKind.WHITEPAPER,
        fields=asking(("company", True)),
    )
    from marketplace import magnets

    magnets.attach_asset(publisher.organization_id, magnet.id, "guide 2026.pdf", PDF)
    response = fill(client, magnet, email="reader@firm.fr")

    link = re.search(r'id="download-link" href="([^"]+)"', response.get_data(as_text=True))[1]
    download = client.get(link.replace("http://localhost", ""))
    assert download.status_code == 200
    assert download.data == PDF
    assert 'filename="guide-2026.pdf"' in download.headers["Content-Disposition"]
    mail = db.session.scalar(select(OutboxMail))
    assert mail.to_address == "reader@firm.fr"
    assert link in mail.body_text
    assert mail.topic == "asset_download"


def test_an_expired_or_forged_download_link_gives_no_file(app, client, monkeypatch):
    publisher = factories.publisher_user()
    magnet = factories.magnet(publisher.organization, language="en", kind=MagnetKind.WHITEPAPER)
    from marketplace import magnets

    magnets.attach_asset(publisher.organization_id, magnet.id, "g.pdf", PDF)
    with app.test_request_context():
        link = magnet_pages.download_link(magnet, 1).replace("http://localhost", "")
    monkeypatch.setattr(magnet_pages, "DOWNLOAD_LINK_MAX_AGE", -1)
    expired = client.get(link)
    assert expired.status_code == 410
    assert "This download link has expired" in expired.get_data(as_text=True)
    assert client.get(f"/m/{magnet.key}/download/forged").status_code == 404


def test_the_embed_script_inserts_the_form_and_listens_only_to_it(client):
    magnet = factories.magnet(title="Devis </script> CRM")
    response = client.get(f"/embed/{magnet.key}.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    script = response.get_data(as_text=True)
    assert f'"http://localhost/m/{magnet.key}"' in script
    assert "event.source !== frame.contentWindow" in script
    assert "</script>" not in script  # the title is escaped for JavaScript
    assert client.get("/embed/unknown.js").status_code == 404


def test_a_submission_is_counted_in_the_magnet_statistics(client):
    magnet = factories.magnet(language="en")
    fill(client, magnet)
    client.get(f"/m/{magnet.key}")
    from marketplace.magnets import magnet_stats

    [variant_a] = magnet_stats(db.session.get(LeadMagnet, magnet.id))
    assert (variant_a.views, variant_a.submissions, variant_a.conversion) == (2, 1, 0.5)
    assert db.session.scalar(select(func.count(Lead.id))) == 1


def test_a_form_token_makes_one_lead_and_a_replay_none(client):
    magnet = factories.magnet(language="en")
    page = client.get(f"/m/{magnet.key}")
    data = {**factories.submission(), "consent": "y", **form_fields(page.get_data(as_text=True))}
    assert client.post(f"/m/{magnet.key}", data=data).status_code == 200
    replay = client.post(f"/m/{magnet.key}", data={**data, "email": "other@example.fr"})
    assert replay.status_code == 409
    assert "This form was already sent" in replay.get_data(as_text=True)
    assert lead_count() == 1
    # The page it answers with carries a fresh token: the person may send another request.
    again = {**data, **form_fields(replay.get_data(as_text=True)), "email": "other@example.fr"}
    assert client.post(f"/m/{magnet.key}", data=again).status_code == 200
    assert lead_count() == 2
