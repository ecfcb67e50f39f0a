"""A visitor fills a magnet's hosted form: the lead and its consent proof are stored."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import (
    ConsentRecord,
    Lead,
    LeadMagnet,
    LeadStatus,
    MagnetStatus,
    Sale,
    SuppressionEntry,
    utcnow,
)
from tests import factories


def form_fields(html: str) -> dict:
    return dict(
        re.findall(r'name="(consent_text_id|form_token)" type="hidden" value="([^"]*)"', html)
    )


def fill(client, magnet, **overrides):
    page = client.get(f"/m/{magnet.key}")
    assert page.status_code == 200
    data = {**factories.submission(), "consent": "y", **form_fields(page.get_data(as_text=True))}
    data.update(overrides)
    return client.post(
        f"/m/{magnet.key}?utm_source=newsletter",
        data=data,
        headers={"Referer": "https://publisher.example/devis"},
    )


def lead_count() -> int:
    return db.session.scalar(select(func.count(Lead.id)))


def test_a_valid_submission_stores_the_lead_with_its_consent_proof(client, run_jobs):
    buyer_campaign = factories.campaign()
    magnet = factories.magnet(max_buyers=3, language="en")

    response = fill(client, magnet, email="Marie.Curie@Example.FR", phone="06 12 34 56 78")

    assert response.status_code == 200
    certificate = re.search(r'id="certificate-id"[^>]*>([^<]+)<', response.get_data(as_text=True))[
        1
    ]
    lead = db.session.scalar(select(Lead))
    assert lead.email == "marie.curie@example.fr"
    assert lead.phone == "+33612345678"
    assert lead.email_hash == hashlib.sha256(b"marie.curie@example.fr").hexdigest()
    record = db.session.scalar(select(ConsentRecord).where(ConsentRecord.lead_id == lead.id))
    assert record.certificate_id == certificate
    assert record.text_sha256 == hashlib.sha256(record.consent_text.text.encode()).hexdigest()
    assert "at most 3 partner companies" in record.consent_text.text
    assert record.partners == [{"id": buyer_campaign.buyer_id, "name": buyer_campaign.buyer.name}]
    assert record.ip == "127.0.0.1"
    assert record.referrer == "https://publisher.example/devis"
    assert record.utm == {"utm_source": "newsletter"}
    assert record.consented_at.tzinfo is not None
    run_jobs()
    db.session.expire_all()
    assert db.session.get(Lead, lead.id).status is LeadStatus.DISTRIBUTED
    magnet = db.session.get(LeadMagnet, magnet.id)
    assert (magnet.views_a, magnet.views_b, lead.variant) == (1, 0, "a")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-email", "Enter a valid e-mail address"),
        ("email", "", "Enter your e-mail address."),
        ("email", "a" * 250 + "@x.fr", "This e-mail address is too long."),
        ("phone", "12", "Enter a valid phone number"),
        ("phone", "", "Enter your phone number."),
        ("postcode", "7501", "Enter a French postcode of 5 digits"),
        ("postcode", "00100", "Enter a French postcode of 5 digits"),
        ("first_name", "", "This field is required."),
        ("last_name", "x" * 101, "At most 100 characters."),
        ("company", "", "This field is required."),
        ("message", "m" * 2001, "At most 2000 characters."),
        ("consent", "", "Tick the box to agree"),
    ],
)
def test_an_invalid_field_is_named_and_nothing_is_stored(client, field, value, message):
    magnet = factories.magnet(language="en")
    response = fill(client, magnet, **{field: value})

    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert message in page
    assert "Please correct the fields marked below." in page
    assert lead_count() == 0


def test_the_visitor_reads_the_errors_in_the_magnet_language(client):
    magnet = factories.magnet(language="fr")
    response = fill(client, magnet, email="pas-une-adresse")

    assert response.status_code == 422
    assert "Saisissez une adresse e-mail valide" in response.get_data(as_text=True)


@pytest.mark.parametrize("token", ["", "forged.token.value"])
def test_a_missing_or_forged_form_token_is_refused_without_losing_the_input(client, token):
    magnet = factories.magnet(language="en")
    response = fill(client, magnet, form_token=token, company="Kept Company")

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "This form expired" in page
    assert 'value="Kept Company"' in page
    assert lead_count() == 0


def test_a_consent_text_of_another_magnet_is_refused(client):
    other = factories.magnet()
    magnet = factories.magnet(language="en")
    from marketplace.consent import current_consent_text

    response = fill(client, magnet, consent_text_id=str(current_consent_text(other.id).id))
    assert response.status_code == 422
    assert "This form is out of date" in response.get_data(as_text=True)
    assert lead_count() == 0


@pytest.mark.parametrize("status", [MagnetStatus.DRAFT, MagnetStatus.PAUSED])
def test_a_magnet_that_is_not_live_has_no_page(client, status):
    magnet = factories.magnet(status=status)
    assert client.get(f"/m/{magnet.key}").status_code == 404
    assert client.post(f"/m/{magnet.key}", data={}).status_code == 404
    assert client.get("/m/no-such-key").status_code == 404


def test_the_same_person_in_the_same_sector_within_30_days_is_a_duplicate_not_resold():
    factories.campaign()
    magnet = factories.magnet()
    factories.lead(magnet, email="same@person.fr", now=utcnow() - timedelta(days=10))
    again = factories.lead(magnet, email="SAME@person.fr")
    later = factories.lead(magnet, email="other@person.fr")

    assert again.status is LeadStatus.DUPLICATE
    assert later.status is LeadStatus.PENDING
    assert db.session.scalar(select(func.count(Sale.id)).where(Sale.lead_id == again.lead_id)) == 0


def test_the_same_person_after_the_dedupe_window_is_a_new_lead():
    magnet = factories.magnet()
    factories.lead(magnet, email="back@person.fr", now=utcnow() - timedelta(days=31))
    assert factories.lead(magnet, email="back@person.fr").status is LeadStatus.PENDING


def test_a_suppressed_e_mail_is_stored_as_not_saleable():
    factories.campaign()
    db.session.add(
        SuppressionEntry(
            email_hash=hashlib.sha256(b"gone@person.fr").hexdigest(), reason="objection"
        )
    )
    db.session.commit()
    captured = factories.lead(email="gone@person.fr")
    assert captured.status is LeadStatus.REJECTED
    assert db.session.scalar(select(func.count(Sale.id))) == 0


def test_the_partner_list_page_names_the_buyers_of_the_sector(client):
    first = factories.campaign()
    factories.campaign(slugs=("energy/solar",), price_cents=6000)
    magnet = factories.magnet()
    page = client.get(f"/m/{magnet.key}/partners").get_data(as_text=True)
    assert first.buyer.name in page
    assert "Buyer" in page and page.count("<li>") == 1


def test_the_hosted_page_may_be_framed_but_the_portals_may_not(client):
    magnet = factories.magnet()
    assert (
        "frame-ancestors 'self' *"
        in client.get(f"/m/{magnet.key}").headers["Content-Security-Policy"]
    )
    landing = client.get("/")
    assert "frame-ancestors 'none'" in landing.headers["Content-Security-Policy"]
    assert landing.headers["X-Frame-Options"] == "DENY"


@pytest.mark.services
def test_postgresql_looks_up_the_returning_person_by_index_whatever_its_statistics(monkeypatch):
    """The capture's statement is prepared once per connection and its generic plan kept:
    made on a table without statistics (a new deployment, autovacuum late or off), it
    must still read the person's leads through their indexes, not every lead."""
    from marketplace.capture import store

    shapes = []
    compile_once = store._one_statement_sql

    def recording(*columns):
        shapes.append(columns)
        return compile_once(*columns)

    monkeypatch.setattr(store, "_one_statement_sql", recording)
    factories.lead(factories.magnet(), phone="06 12 34 56 78")
    statement, reads = compile_once(*shapes[-1])
    with db.engine.connect() as connection:
        driver = connection.connection.dbapi_connection
        driver.execute("SET plan_cache_mode = force_generic_plan")
        driver.execute(b"PREPARE capture AS " + statement)
        nulls = ", ".join(["NULL"] * len(reads))
        plan = "\n".join(row[0] for row in driver.execute(f"EXPLAIN EXECUTE capture({nulls})"))
        driver.execute("DEALLOCATE capture")
        connection.rollback()
    assert "Seq Scan on leads" not in plan, plan
    assert "ix_leads_phone_hash_sector" in plan, plan
