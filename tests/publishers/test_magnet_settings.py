"""A publisher sets up a magnet: fields asked, wording, variants, domains, file, keys."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import ApiKey, ConsentText, LeadMagnet, MagnetAsset, MagnetKind
from tests import factories
from tests.publishers.test_capture_page import PDF


def magnet_form(**overrides):
    form = {
        "title": "Devis logiciel",
        "kind": "quote_request",
        "sector_id": factories.sector("it/software").id,
        "max_buyers": "3",
        "language": "fr",
        "status": "live",
        "ask_company": "required",
        "ask_budget": "optional",
        "ask_postcode": "required",
    }
    form.update(overrides)
    return form


def test_the_publisher_chooses_the_fields_the_wording_and_the_variants(login_as, submit_form):
    user = factories.publisher_user()
    http = login_as(user)
    response = submit_form(
        "/publishers/magnets/new",
        magnet_form(
            cta_a="Recevoir mes devis",
            title_b="Trois devis en 48 h",
            cta_b="Comparer",
            allowed_domains="www.monsite.fr\nblog.monsite.fr",
            thank_you_message="Merci, un expert vous rappelle sous 24 h.",
        ),
        http=http,
    )
    assert response.status_code == 302
    magnet = db.session.scalar(select(LeadMagnet))
    assert magnet.fields == [
        {"name": "company", "required": True},
        {"name": "budget", "required": False},
        {"name": "postcode", "required": True},
    ]
    assert (magnet.cta_a, magnet.title_b, magnet.cta_b) == (
        "Recevoir mes devis",
        "Trois devis en 48 h",
        "Comparer",
    )
    assert magnet.allowed_domains == ["blog.monsite.fr", "www.monsite.fr"]
    page = http.get(f"/publishers/magnets/{magnet.id}").get_data(as_text=True)
    assert f"/embed/{magnet.key}.js" in page
    assert f"/m/{magnet.key}" in page
    assert "www.monsite.fr" in page
    assert "Consent text, version 1" in page and "au plus 3 entreprises partenaires" in page


def test_changing_the_wording_makes_a_new_consent_version_and_keeps_the_old(login_as, submit_form):
    user = factories.publisher_user()
    magnet = factories.magnet(user.organization)
    captured = factories.lead(magnet, distribute=False)
    http = login_as(user)
    url = f"/publishers/magnets/{magnet.id}/edit"

    submit_form(url, magnet_form(max_buyers="2", consent_extra="Sans engagement."), http=http)
    submit_form(url, magnet_form(max_buyers="2", consent_extra="Sans engagement."), http=http)

    versions = list(
        db.session.scalars(
            select(ConsentText)
            .where(ConsentText.magnet_id == magnet.id)
            .order_by(ConsentText.version)
        )
    )
    assert [v.version for v in versions] == [1, 2]  # the second save changed nothing
    assert "au plus 3 entreprises" in versions[0].text
    assert "au plus 2 entreprises" in versions[1].text and versions[1].text.endswith(
        "Sans engagement."
    )
    from marketplace.models import ConsentRecord

    record = db.session.scalar(
        select(ConsentRecord).where(ConsentRecord.lead_id == captured.lead_id)
    )
    assert record.consent_text_id == versions[0].id


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"allowed_domains": "not a domain!"}, "is not a domain name"),
        ({"redirect_url": "javascript:alert(1)"}, "Enter a full address starting with https://"),
        ({"max_buyers": "0"}, "Number must be between 1 and 5."),
        ({"ask_company": "sometimes"}, "Not a valid choice"),
        ({"title": ""}, "This field is required."),
    ],
)
def test_bad_settings_are_named_and_nothing_changes(login_as, submit_form, change, message):
    user = factories.publisher_user()
    magnet = factories.magnet(user.organization, title="Before")
    http = login_as(user)
    response = submit_form(
        f"/publishers/magnets/{magnet.id}/edit", magnet_form(**change), http=http
    )
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.get(LeadMagnet, magnet.id).title == "Before"


def test_a_paused_magnet_closes_its_form_and_its_preview_still_works(login_as, submit_form, client):
    user = factories.publisher_user()
    magnet = factories.magnet(user.organization)
    http = login_as(user)
    submit_form(f"/publishers/magnets/{magnet.id}/edit", magnet_form(status="paused"), http=http)
    assert client.get(f"/m/{magnet.key}").status_code == 404
    preview = http.get(f"/publishers/magnets/{magnet.id}/preview")
    assert preview.status_code == 200
    assert "disabled" in preview.get_data(as_text=True)


def test_a_whitepaper_takes_a_pdf_and_refuses_anything_else(login_as, submit_form):
    user = factories.publisher_user()
    magnet = factories.magnet(user.organization, kind=MagnetKind.WHITEPAPER)
    http = login_as(user)
    url = f"/publishers/magnets/{magnet.id}/asset"
    page = f"/publishers/magnets/{magnet.id}"

    refused = submit_form(
        url,
        {"asset": (io.BytesIO(b"MZ\x90 not a pdf"), "guide.pdf")},
        page_url=page,
        http=http,
        follow_redirects=True,
    )
    assert "Upload a PDF file." in refused.get_data(as_text=True)
    assert db.session.scalar(select(MagnetAsset)) is None

    accepted = submit_form(
        url,
        {"asset": (io.BytesIO(PDF), "Guide.pdf")},
        page_url=page,
        http=http,
        follow_redirects=True,
    )
    assert "Guide.pdf" in accepted.get_data(as_text=True)
    assert db.session.scalar(select(MagnetAsset)).size_bytes == len(PDF)


def test_a_publisher_creates_a_key_sees_it_once_and_revokes_it(login_as, submit_form):
    user = factories.publisher_user()
    http = login_as(user)
    created = submit_form("/publishers/api-keys", {"name": "Site server"}, http=http)
    import re

    raw = re.search(r'id="new-api-key"[^>]*>([^<]+)<', created.get_data(as_text=True))[1]
    key = db.session.scalar(select(ApiKey))
    assert key.key_hash != raw and raw.startswith(key.prefix)
    assert raw not in http.get("/publishers/api-keys").get_data(as_text=True)

    submit_form(
        f"/publishers/api-keys/{key.id}/revoke", {}, page_url="/publishers/api-keys", http=http
    )
    assert db.session.get(ApiKey, key.id).revoked_at is not None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/publishers/magnets/{magnet}"),
        ("get", "/publishers/magnets/{magnet}/edit"),
        ("get", "/publishers/magnets/{magnet}/preview"),
        ("post", "/publishers/magnets/{magnet}/edit"),
        ("post", "/publishers/magnets/{magnet}/asset"),
        ("post", "/publishers/api-keys/{key}/revoke"),
    ],
)
def test_no_publisher_reaches_another_publisher_s_magnet_or_key(login_as, method, path):
    owner = factories.publisher_user()
    magnet = factories.magnet(owner.organization)
    from marketplace.api_keys import issue_api_key

    key, _ = issue_api_key(owner.organization_id, "theirs")
    http = login_as(factories.publisher_user())
    http.application.config["WTF_CSRF_ENABLED"] = False
    try:
        response = getattr(http, method)(
            path.format(magnet=magnet.id, key=key.id), data=magnet_form()
        )
    finally:
        http.application.config["WTF_CSRF_ENABLED"] = True
    assert response.status_code == 404
    assert db.session.get(ApiKey, key.id).revoked_at is None
    assert db.session.get(LeadMagnet, magnet.id).title == "Compare software quotes"
