"""The public consent certificate shows the proof and no personal data."""

from __future__ import annotations

import hashlib

from tests import factories


def test_the_certificate_proves_the_consent_without_personal_data(client):
    factories.campaign()
    magnet = factories.magnet(language="en", title="CRM quotes")
    captured = factories.lead(
        magnet,
        email="jeanne@firm.fr",
        phone="06 12 34 56 78",
        first_name="Jeanne",
        last_name="Martin",
    )

    page = client.get(f"/consent/{captured.certificate_id}")
    proof = client.get(
        f"/consent/{captured.certificate_id}", headers={"Accept": "application/json"}
    ).get_json()

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "at most 3 partner companies" in html  # the full text is shown
    assert proof["email_sha256"] == hashlib.sha256(b"jeanne@firm.fr").hexdigest()
    assert proof["consent_text"]["verified"] is True
    assert proof["consent_text"]["version"] == 1
    assert proof["magnet"] == {"title": "CRM quotes", "kind": "quote_request"}
    assert proof["partners_shown"] and proof["max_partners"] == 3
    assert proof["page_host"] == "pub.example"
    for personal in ("jeanne@firm.fr", "Jeanne", "Martin", "+33612345678", "203.0.113.7", "pytest"):
        assert personal not in html
        assert personal not in str(proof)


def test_an_unknown_certificate_is_a_404(client):
    assert client.get("/consent/nope").status_code == 404
    assert client.get("/consent/" + "x" * 300).status_code == 404
