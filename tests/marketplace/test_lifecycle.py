"""A lead's life beyond its status: the job level and the person's earlier visits in its
score, a lead no campaign targets disqualified with its reason, a returning person's
unsold or returned lead recycled (and not offered again to the buyer that returned it),
the person's history on the admin's lead page, the publisher's view of all this."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from marketplace.analytics.magnet_results import magnet_results
from marketplace.api_keys import issue_api_key
from marketplace.disputes import open_dispute, resolve_dispute
from marketplace.extensions import db
from marketplace.governance.overview import Period
from marketplace.models import DisputeReason, Lead, LeadStatus, Sale, utcnow
from marketplace.scoring.job_level import job_level
from tests import factories
from tests.conftest import english_client


@pytest.mark.parametrize(
    ("title", "level"),
    [
        ("CEO", "executive"),
        ("Co-founder & CTO", "executive"),
        ("PDG", "executive"),
        ("Directeur Général Adjoint", "executive"),
        ("Gérante", "executive"),
        ("VP Sales", "executive"),
        ("Head of Marketing", "director"),
        ("Directrice commerciale", "director"),
        ("Sales director EMEA", "director"),
        ("Chef de service achats", "director"),
        ("Responsable des achats", "manager"),
        ("Product manager", "manager"),
        ("Chef de projet informatique", "manager"),
        ("Team leader", "manager"),
        ("Assistante de direction", "other"),
        ("Assistant to the CEO", "other"),
        ("Stagiaire marketing", "other"),
        ("Développeur", "other"),
        ("Product owner", "other"),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_the_job_level_is_read_from_the_title_in_english_and_french(title, level):
    assert job_level(title) == level


def _days_ago(days: int):
    return utcnow() - timedelta(days=days)


def _lead(captured) -> Lead:
    db.session.expire_all()
    return db.session.get(Lead, captured.lead_id)


def _points(lead: Lead) -> dict[str, int]:
    return {part["reason"]: part["points"] for part in lead.score_explanation}


def test_earlier_visits_count_the_persons_leads_in_any_sector_within_the_window():
    email = "marie@durand.example"
    factories.lead(factories.magnet(slug="energy/solar"), email=email, now=_days_ago(200))
    factories.lead(factories.magnet(slug="energy/solar"), email=email, now=_days_ago(100))
    factories.lead(factories.magnet(slug="it/hardware"), email=email, now=_days_ago(20))
    # The same visit sent twice is one visit: a duplicate does not count.
    factories.lead(factories.magnet(slug="it/hardware"), email=email, now=_days_ago(19))
    factories.lead(email="someone.else@example.org")

    asking_the_title = factories.magnet(
        fields=[{"name": name, "required": False} for name in ("company", "job_title")]
    )
    lead = _lead(factories.lead(asking_the_title, email=email, job_title="Directrice des achats"))

    assert lead.earlier_visits == 2  # not the one 200 days ago, nor the duplicate
    points = _points(lead)
    assert points["earlier_visits:2"] == 8 and points["job_level:director"] == 7
    first = _lead(
        factories.lead(asking_the_title, email="new.person@example.org", job_title="Stagiaire")
    )
    assert first.earlier_visits == 0
    assert not any(fact.startswith(("earlier_visits:", "job_level:")) for fact in _points(first))


def test_a_lead_no_campaign_targets_is_disqualified_with_the_reason():
    lonely = _lead(factories.lead(factories.magnet(slug="energy/solar")))
    assert lonely.status is LeadStatus.UNSOLD
    assert lonely.disqualified_for == "no_campaign_for_sector"

    factories.campaign(countries=["BE"], price_cents=7000)
    factories.campaign(countries=["BE"], price_cents=6000)
    factories.campaign(min_score=100, price_cents=8000)
    filtered = _lead(factories.lead())
    assert filtered.status is LeadStatus.UNSOLD
    assert filtered.disqualified_for == "filter_country"  # what most campaigns said


def test_a_lead_unsold_for_a_passing_reason_is_not_disqualified():
    factories.campaign(countries=["BE"])
    factories.campaign(daily_cap=1)
    sold = _lead(factories.lead())
    capped = _lead(factories.lead())
    assert sold.status is LeadStatus.DISTRIBUTED and sold.disqualified_for is None
    assert capped.status is LeadStatus.UNSOLD
    assert capped.disqualified_for is None  # the cap resets tomorrow


def test_a_returning_person_recycles_an_unsold_lead_after_the_dedupe_window():
    email, magnet = "paul@martin.example", factories.magnet()
    earlier = _lead(factories.lead(magnet, email=email, now=_days_ago(45)))
    assert earlier.status is LeadStatus.UNSOLD
    factories.campaign(min_score=55)  # intent 40, phone 10, company 10: 60 at least

    again = _lead(factories.lead(magnet, email=email))

    assert again.status is LeadStatus.DISTRIBUTED
    assert again.recycled_from_id == earlier.id
    assert again.earlier_visits == 1 and _points(again)["earlier_visits:1"] == 5


def test_within_the_dedupe_window_it_is_a_duplicate_not_a_recycled_lead():
    email, magnet = "paul@martin.example", factories.magnet()
    factories.lead(magnet, email=email, now=_days_ago(10))
    again = _lead(factories.lead(magnet, email=email))
    assert again.status is LeadStatus.DUPLICATE
    assert again.recycled_from_id is None


def test_a_lead_that_sold_and_stayed_sold_is_not_recycled():
    factories.campaign()
    email, magnet = "paul@martin.example", factories.magnet()
    factories.lead(magnet, email=email, now=_days_ago(45))
    again = _lead(factories.lead(magnet, email=email))
    assert again.status is LeadStatus.DISTRIBUTED and again.recycled_from_id is None


def _return(sale: Sale, now) -> None:
    dispute = open_dispute(
        sale.buyer_id, sale.id, DisputeReason.OUT_OF_TARGET.value, "Not our area", now=now
    )
    resolve_dispute(dispute.id, admin_user_id=factories.admin_user().id, accept=True, now=now)


def _returned_earlier_lead(phone="06 12 34 56 78"):
    """A person's lead sold 45 days ago to two buyers, the first of which returned it."""
    returning, keeping = factories.BuyerFactory(name="Returns SA"), factories.BuyerFactory()
    factories.campaign(returning, price_cents=6000)
    factories.campaign(keeping, price_cents=5000)
    magnet = factories.magnet()
    bought_at = _days_ago(45)
    earlier = _lead(factories.lead(magnet, email="ana@lopez.example", phone=phone, now=bought_at))
    sale = db.session.scalar(
        select(Sale).where(Sale.lead_id == earlier.id, Sale.buyer_id == returning.id)
    )
    _return(sale, bought_at + timedelta(days=1))
    return magnet, earlier, returning, keeping


def test_a_recycled_lead_is_not_offered_to_the_buyer_that_returned_the_earlier_one():
    magnet, earlier, returning, keeping = _returned_earlier_lead()
    # The same phone with another address is the same person.
    again = _lead(factories.lead(magnet, email="ana.lopez@other.example", phone="06 12 34 56 78"))

    assert again.recycled_from_id == earlier.id
    buyers = set(db.session.scalars(select(Sale.buyer_id).where(Sale.lead_id == again.id)))
    assert buyers == {keeping.id} and returning.id not in buyers
    verdicts = again.distribution_log["verdicts"]
    assert len(verdicts["buyer_returned_earlier_lead"]) == 1
    assert again.disqualified_for is None


def test_the_admin_reads_the_persons_history_on_the_lead_page(login_as):
    magnet, earlier, _returning, _keeping = _returned_earlier_lead()
    again = _lead(factories.lead(magnet, email="ana@lopez.example"))
    other_sector = _lead(
        factories.lead(factories.magnet(slug="energy/solar"), email="ana@lopez.example")
    )
    admin = login_as(factories.admin_user())

    page = admin.get(f"/admin/leads/{again.id}").get_data(as_text=True)

    history = page[page.index('id="person-history"') :]
    assert f'href="/admin/leads/{earlier.id}"' in history
    assert f'href="/admin/leads/{other_sector.id}"' in history
    assert "Returns SA" in history  # who returned it
    assert 'id="lifecycle"' in page and "Recycled" in page
    assert admin.get(f"/admin/leads/{again.id + 999}").status_code == 404


def test_the_admin_history_is_the_admins_only(login_as):
    lead = factories.lead()
    for user in (factories.buyer_user(), factories.publisher_user()):
        assert login_as(user).get(f"/admin/leads/{lead.lead_id}").status_code in (302, 403)


def test_the_publisher_sees_a_disqualified_lead_with_its_reason(app, login_as):
    publisher = factories.PublisherFactory()
    magnet = factories.magnet(publisher, slug="energy/solar")
    disqualified = factories.lead(magnet)
    key = issue_api_key(publisher.id, "server")[1]
    client = english_client(app)

    answer = client.get(
        f"/api/v1/leads/{disqualified.lead_id}", headers={"Authorization": f"Bearer {key}"}
    ).get_json()

    assert answer["status"] == "unsold"
    assert answer["disqualified"] == {
        "reason": "no_campaign_for_sector",
        "message": "no buyer buys leads of this sector at the moment",
    }
    owner = login_as(factories.UserFactory(organization=publisher))
    page = owner.get(f"/publishers/magnets/{magnet.id}").get_data(as_text=True)
    assert "Disqualified" in page and "no buyer buys leads of this sector" in page
    today = utcnow().astimezone(ZoneInfo("Europe/Paris")).date()
    figures = magnet_results(
        publisher.id, magnet.id, Period(today - timedelta(days=1), today), ZoneInfo("Europe/Paris")
    )
    assert figures.lines["a"].disqualified == 1
    dashboard = owner.get("/publishers/").get_data(as_text=True)
    assert "1 disqualified" in dashboard


def test_the_ping_counts_earlier_visits_only_with_the_persons_email(app):
    publisher = factories.PublisherFactory()
    magnet = factories.magnet(publisher, fields=[])
    factories.lead(
        factories.magnet(slug="energy/solar"), email="Back@Example.org", now=_days_ago(60)
    )
    # Intent 40 and a phone 10: 50; one earlier visit adds 5.
    factories.campaign(min_score=55, price_cents=9000)
    key = issue_api_key(publisher.id, "server")[1]
    client = english_client(app)
    auth = {"Authorization": f"Bearer {key}"}

    def ping(**extra):
        body = {"magnet": magnet.key, "phone_given": True, **extra}
        return client.post("/api/v1/leads/ping", json=body, headers=auth)

    assert ping().get_json()["eligible_buyers"] == 0  # a first visitor, as far as it knows
    assert ping(email="back@example.org").get_json()["eligible_buyers"] == 1
    assert ping(email="new@example.org").get_json()["eligible_buyers"] == 0
    refused = ping(email="not an address")
    assert refused.status_code == 422 and "email" in refused.get_json()["error"]["fields"]
    captured = _lead(factories.lead(magnet, email="back@example.org"))
    assert captured.earlier_visits == 1 and captured.sales_count == 1


def test_a_sold_lead_has_no_disqualification_and_others_leads_stay_hidden(app, login_as):
    factories.campaign()
    magnet, earlier, _returning, _keeping = _returned_earlier_lead()
    publisher = factories.PublisherFactory(name="Second Publisher")
    own_magnet = factories.magnet(publisher)
    recycled = factories.lead(own_magnet, email="ana@lopez.example")
    key = issue_api_key(publisher.id, "server")[1]
    client = english_client(app)
    auth = {"Authorization": f"Bearer {key}"}

    answer = client.get(f"/api/v1/leads/{recycled.lead_id}", headers=auth).get_json()
    assert answer["disqualified"] is None and answer["status"] == "distributed"
    assert "recycled_from" not in str(answer) and str(earlier.id) not in map(str, answer.values())
    # The earlier lead is another publisher's: not found, whatever the link.
    assert client.get(f"/api/v1/leads/{earlier.id}", headers=auth).status_code == 404
    owner = login_as(factories.UserFactory(organization=publisher))
    assert owner.get(f"/publishers/magnets/{magnet.id}").status_code == 404
    page = owner.get(f"/publishers/magnets/{own_magnet.id}").get_data(as_text=True)
    assert magnet.publisher.name not in page


def test_the_openapi_description_names_the_disqualification(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    assert "disqualified" in schemas["LeadOut"]["properties"]
    assert "filter_min_score" in str(schemas["LeadOut.Disqualification"])
    ping = schemas["PingIn"]["properties"]
    assert "email" in ping


def test_every_reason_to_disqualify_has_its_words_and_is_in_the_api_description(client):
    from marketplace.distribution import NO_CAMPAIGN
    from marketplace.labels import DISQUALIFIED_FOR_LABELS
    from marketplace.matching import STATIC_REASONS

    assert set(DISQUALIFIED_FOR_LABELS) == STATIC_REASONS | {NO_CAMPAIGN}
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert set(schemas["LeadOut.Disqualification"]["properties"]["reason"]["enum"]) == set(
        DISQUALIFIED_FOR_LABELS
    )
