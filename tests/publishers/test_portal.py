"""The publisher portal: magnets, their hosted page, their leads; scoped to the publisher."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import ConsentText, LeadMagnet, MagnetKind, MagnetStatus
from tests import factories


def test_a_publisher_creates_a_magnet_and_gets_its_hosted_page(login_as, submit_form, client):
    user = factories.publisher_user()
    http = login_as(user)
    software = factories.sector("it/software")

    response = submit_form(
        "/publishers/magnets/new",
        {
            "title": "Devis logiciel",
            "kind": "quote_request",
            "sector_id": software.id,
            "max_buyers": "3",
            "language": "fr",
            "consent_extra": "Offre valable en France.",
        },
        http=http,
    )

    assert response.status_code == 302
    magnet = db.session.scalar(select(LeadMagnet))
    assert (magnet.publisher_id, magnet.kind, magnet.status) == (
        user.organization_id,
        MagnetKind.QUOTE_REQUEST,
        MagnetStatus.LIVE,
    )
    text = db.session.scalar(select(ConsentText).where(ConsentText.magnet_id == magnet.id))
    assert text.version == 1
    assert "au plus 3 entreprises partenaires" in text.text
    assert text.text.endswith("Offre valable en France.")
    detail = http.get(response.headers["Location"]).get_data(as_text=True)
    assert f"/m/{magnet.key}" in detail
    assert client.get(f"/m/{magnet.key}").status_code == 200


def test_a_bad_magnet_form_names_its_fields(login_as, submit_form):
    http = login_as(factories.publisher_user())
    response = submit_form(
        "/publishers/magnets/new",
        {"title": "", "kind": "spam", "sector_id": "0", "max_buyers": "9", "language": "de"},
        http=http,
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for fragment in ("This field is required", "Not a valid choice", "between 1 and 5"):
        assert fragment in page
    assert db.session.scalar(select(LeadMagnet)) is None


def test_a_publisher_never_sees_another_publisher_s_magnet(login_as):
    theirs = factories.magnet(title="Their secret magnet")
    factories.lead(theirs)
    http = login_as(factories.publisher_user())

    assert http.get(f"/publishers/magnets/{theirs.id}").status_code == 404
    assert "Their secret magnet" not in http.get("/publishers/").get_data(as_text=True)


def test_the_publisher_sees_each_lead_with_its_certificate(login_as):
    user = factories.publisher_user()
    magnet = factories.magnet(user.organization)
    captured = factories.lead(magnet)
    page = login_as(user).get(f"/publishers/magnets/{magnet.id}").get_data(as_text=True)
    assert captured.certificate_id in page


def test_an_unknown_kind_in_the_new_magnet_address_starts_from_a_quote_request(login_as):
    http = login_as(factories.publisher_user())
    page = http.get("/publishers/magnets/new?kind=zz")
    assert page.status_code == 200
    assert "This kind of lead magnet does not exist" in page.get_data(as_text=True)
