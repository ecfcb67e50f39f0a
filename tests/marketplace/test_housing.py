"""Whether the person owns the home the works are for (#14): a closed answer a magnet may
ask, checked on the form and the API, stored, shown to the buyer in words, scored by the
consumers' model only, in the person's copy of their data."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace import snapshots
from marketplace.api_keys import issue_api_key
from marketplace.extensions import db
from marketplace.models import GdprRequest, GdprRequestKind, Lead, Sale, ScoringModel
from marketplace.privacy.access import export
from marketplace.validation import identity_hash
from tests import factories
from tests.marketplace.test_capture import fill, lead_count
from tests.publishers.test_api import headers, lead_body

ASKS_HOUSING = [{"name": "housing", "required": False}, {"name": "postcode", "required": True}]


@pytest.fixture
def consumers_sector():
    """it/software scored by the consumers' model (b2c) for the test, then b2b again."""
    sector = factories.sector()
    sector.audience = "b2c"
    db.session.commit()
    snapshots.forget_all()
    yield sector
    db.session.rollback()
    sector = factories.sector()
    sector.audience = "b2b"
    db.session.commit()
    snapshots.forget_all()


def _points(lead: Lead) -> dict[str, int]:
    return {part["reason"]: part["points"] for part in lead.score_explanation}


def test_the_form_offers_the_answers_in_words_and_refuses_another(client):
    magnet = factories.magnet(language="en", fields=ASKS_HOUSING)
    page = client.get(f"/m/{magnet.key}").get_data(as_text=True)
    assert 'name="housing"' in page and "The home the works are for (optional)" in page
    assert "I own the home" in page and "I rent it" in page
    french = factories.magnet(language="fr", fields=ASKS_HOUSING)
    assert "Je suis propriétaire du logement" in client.get(f"/m/{french.key}").get_data(
        as_text=True
    )
    refused = fill(client, magnet, housing="landlord")
    assert refused.status_code == 422
    assert "Choose an answer from the list." in refused.get_data(as_text=True)
    assert lead_count() == 0
    assert fill(client, magnet, housing="tenant").status_code == 200
    assert db.session.scalar(select(Lead.housing)) == "tenant"


def test_a_magnet_not_asking_it_keeps_no_answer(client):
    magnet = factories.magnet(language="en", fields=[{"name": "postcode", "required": True}])
    assert 'name="housing"' not in client.get(f"/m/{magnet.key}").get_data(as_text=True)
    assert fill(client, magnet, housing="owner").status_code == 200
    assert db.session.scalar(select(Lead.housing)) is None


def test_the_api_takes_the_answer_and_refuses_a_bad_one_with_a_field_error(client, run_jobs):
    publisher = factories.PublisherFactory()
    key = issue_api_key(publisher.id, "server")[1]
    magnet = factories.magnet(publisher, language="en", fields=ASKS_HOUSING)
    bad = client.post(
        "/api/v1/leads",
        json=lead_body(magnet, **{"qualification.housing": "landlord"}),
        headers=headers(key),
    )
    assert bad.status_code == 422
    fields = bad.get_json()["error"]["fields"]
    assert "Choose an answer from the list." in fields["qualification.housing"]
    assert lead_count() == 0
    good = client.post(
        "/api/v1/leads",
        json=lead_body(magnet, **{"qualification.housing": "owner"}),
        headers=headers(key),
    )
    assert good.status_code == 201, good.get_json()
    run_jobs()
    assert db.session.get(Lead, good.get_json()["id"]).housing == "owner"


def test_the_openapi_description_lists_the_answers(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for body in ("LeadIn.Qualification", "PingIn.Qualification"):
        housing = spec["components"]["schemas"][body]["properties"]["housing"]
        assert ["owner", "tenant", "other"] in [branch.get("enum") for branch in housing["anyOf"]]
        assert "owns the home" in housing["description"]


def test_the_consumers_model_scores_an_owner_above_a_tenant(consumers_sector):
    magnet = factories.magnet(fields=ASKS_HOUSING)
    owner = db.session.get(Lead, factories.lead(magnet, housing="owner").lead_id)
    tenant = db.session.get(Lead, factories.lead(magnet, housing="tenant").lead_id)
    other = db.session.get(Lead, factories.lead(magnet, housing="other").lead_id)
    nothing = db.session.get(Lead, factories.lead(magnet).lead_id)
    assert _points(owner)["housing:owner"] == 10
    assert _points(tenant)["housing:tenant"] == 3
    assert "housing:other" not in _points(other)  # no points: not in the explanation
    assert owner.score == nothing.score + 10 and tenant.score == nothing.score + 3
    assert other.score == nothing.score


def test_the_companies_model_gives_it_nothing():
    b2b = db.session.scalar(select(ScoringModel).where(ScoringModel.scope == "b2b"))
    b2c = db.session.scalar(select(ScoringModel).where(ScoringModel.scope == "b2c"))
    assert [b2b.points[f"housing:{h}"] for h in ("other", "tenant", "owner")] == [0, 0, 0]
    assert [b2c.points[f"housing:{h}"] for h in ("other", "tenant", "owner")] == [0, 3, 10]
    magnet = factories.magnet(fields=ASKS_HOUSING)
    owner = db.session.get(Lead, factories.lead(magnet, housing="owner").lead_id)
    nothing = db.session.get(Lead, factories.lead(magnet).lead_id)
    assert "housing:owner" not in _points(owner) and owner.score == nothing.score


def test_the_buyer_reads_the_answer_in_words(client, login_as):
    campaign = factories.campaign()
    captured = factories.lead(factories.magnet(fields=ASKS_HOUSING), housing="owner")
    sale = db.session.scalar(select(Sale).where(Sale.lead_id == captured.lead_id))
    http = login_as(factories.UserFactory(organization=campaign.buyer))
    page = http.get(f"/buyers/purchases/{sale.id}").get_data(as_text=True)
    assert 'id="lead-housing">owner<' in page
    assert "home: owner +" not in page  # the companies' model gives it no points
    french = http.get(f"/buyers/purchases/{sale.id}?lang=fr").get_data(as_text=True)
    assert 'id="lead-housing">propriétaire<' in french
    key = issue_api_key(campaign.buyer_id, "k")[1]
    purchase = client.get(
        f"/api/v1/purchases/{sale.id}", headers={"Authorization": f"Bearer {key}"}
    ).get_json()
    assert purchase["qualification"]["housing"] == "owner"


def test_the_persons_copy_of_their_data_has_the_answer(app):
    email = "proprietaire@exemple.fr"
    factories.lead(factories.magnet(fields=ASKS_HOUSING), email=email, housing="other")
    request = GdprRequest(kind=GdprRequestKind.ACCESS, email_hash=identity_hash(email))
    [lead] = export(request)["leads"]
    assert lead["answers"]["housing"] == "other"
