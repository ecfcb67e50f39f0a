"""The catalogue: leads still on sale to a buyer, previewed without personal data, bought
through the guarded path; and the buyer API that serves it and the purchases."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace import lead_catalogue
from marketplace.api_keys import issue_api_key
from marketplace.extensions import db
from marketplace.models import (
    BillingStatus,
    Lead,
    LeadStatus,
    LedgerEntry,
    Sale,
    SaleSource,
    utcnow,
)
from tests import factories
from tests.conftest import english_client


def unsold_lead(**values):
    """A lead no campaign took (the buyers joined after), with places left for them."""
    return factories.lead(factories.magnet(max_buyers=2), **values)


def partner_buyer_after(captured):
    """A buyer named in the lead's consent partner list."""
    buyer = factories.BuyerFactory()
    factories.name_partner(captured.lead_id, buyer)
    return buyer


def test_a_buyer_sees_an_anonymised_preview_and_buys_the_lead(login_as, submit_form):
    captured = unsold_lead(email="secret.person@firm.fr", company="Hidden SA", postcode="69003")
    buyer = partner_buyer_after(captured)
    user = factories.UserFactory(organization=buyer)
    http = login_as(user)

    page = http.get("/buyers/catalogue?department=69").get_data(as_text=True)
    assert "secret.person" not in page and "Hidden SA" not in page
    assert "€30.00" in page  # the software floor price: this buyer has no campaign for it
    offers = page.split('id="offers"')[1]
    assert "Quote request" in offers and "quote_request" not in offers  # words, not codes
    response = submit_form(
        f"/buyers/catalogue/{captured.lead_id}/buy", {}, page_url="/buyers/catalogue", http=http
    )

    sale = db.session.scalar(select(Sale).where(Sale.buyer_id == buyer.id))
    assert response.headers["Location"] == f"/buyers/purchases/{sale.id}"
    assert (sale.source, sale.price_cents, sale.campaign_id) == (SaleSource.CATALOGUE, 3000, None)
    lead = db.session.get(Lead, captured.lead_id)
    assert (lead.status, lead.sales_count) == (LeadStatus.DISTRIBUTED, 1)
    assert (
        db.session.scalar(select(func.count(LedgerEntry.id)).where(LedgerEntry.sale_id == sale.id))
        == 2
    )
    assert "secret.person@firm.fr" in http.get(f"/buyers/purchases/{sale.id}").get_data(
        as_text=True
    )
    assert "Hidden" not in http.get("/buyers/catalogue").get_data(as_text=True)


def test_the_buyer_pays_its_own_campaign_price_in_the_catalogue():
    captured = unsold_lead()
    buyer = partner_buyer_after(captured)
    campaign = factories.campaign(buyer, price_cents=6500)
    from marketplace.campaigns import set_status
    from marketplace.models import CampaignStatus

    [offer] = lead_catalogue.offers_for(buyer.id)
    assert offer.price_cents == 6500
    set_status(buyer.id, campaign.id, CampaignStatus.PAUSED)
    [offer] = lead_catalogue.offers_for(buyer.id)
    assert offer.price_cents == 3000


@pytest.mark.parametrize(
    "situation",
    [
        "not_a_partner",
        "sold_out",
        "stale",
        "bought_person",
        "billing",
        "already_bought",
        "duplicate",
    ],
)
def test_a_lead_not_on_sale_to_the_buyer_is_hidden_and_refused(situation):
    captured = unsold_lead(email="p@firm.fr")
    buyer = (
        factories.BuyerFactory() if situation == "not_a_partner" else partner_buyer_after(captured)
    )
    lead = db.session.get(Lead, captured.lead_id)
    if situation == "sold_out":
        lead.sales_count = lead.max_buyers
    elif situation == "stale":
        lead.created_at = utcnow() - timedelta(days=31)
    elif situation == "billing":
        buyer.billing_status = BillingStatus.PAYMENT_FAILED
    elif situation == "duplicate":
        lead.status = LeadStatus.DUPLICATE
    db.session.commit()
    if situation == "already_bought":
        lead_catalogue.buy(buyer.id, captured.lead_id)
    if situation == "bought_person":
        other = factories.lead(factories.magnet(slug="energy/solar"), email="p@firm.fr")
        factories.name_partner(other.lead_id, buyer)
        lead_catalogue.buy(buyer.id, other.lead_id)

    if situation != "billing":
        assert captured.lead_id not in [o.lead_id for o in lead_catalogue.offers_for(buyer.id)]
    with pytest.raises(lead_catalogue.NotForSale):
        lead_catalogue.buy(buyer.id, captured.lead_id)


@pytest.mark.services
def test_buyers_racing_for_the_last_place_get_one_sale_and_409s(app):
    captured = unsold_lead()  # two places
    buyers = [partner_buyer_after(captured) for _ in range(6)]
    keys = [issue_api_key(buyer.id, "k")[1] for buyer in buyers]

    def buy(key):
        return (
            english_client(app)
            .post(
                f"/api/v1/catalog/{captured.lead_id}/purchase",
                headers={"Authorization": f"Bearer {key}"},
            )
            .status_code
        )

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(buy, keys))
    assert sorted(answers) == [201, 201, 409, 409, 409, 409]
    lead = db.session.get(Lead, captured.lead_id)
    assert (
        lead.sales_count
        == 2
        == db.session.scalar(select(func.count(Sale.id)).where(Sale.lead_id == lead.id))
    )


def test_the_catalogue_api_previews_and_sells(client):
    captured = unsold_lead(email="api.person@firm.fr", postcode="33000")
    buyer = partner_buyer_after(captured)
    key = issue_api_key(buyer.id, "k")[1]
    auth = {"Authorization": f"Bearer {key}"}

    listing = client.get("/api/v1/catalog?sector=it/software&sort=score", headers=auth)
    assert listing.status_code == 200
    [item] = listing.get_json()["items"]
    assert item["lead_id"] == captured.lead_id and item["department"] == "33"
    assert "email" not in str(item) and "api.person" not in str(item)

    bought = client.post(f"/api/v1/catalog/{captured.lead_id}/purchase", headers=auth)
    assert bought.status_code == 201
    assert bought.get_json()["contact"]["email"] == "api.person@firm.fr"
    again = client.post(f"/api/v1/catalog/{captured.lead_id}/purchase", headers=auth)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "not_for_sale"
    bad = client.get("/api/v1/catalog?sector=nope&limit=0", headers=auth)
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) == {"limit"}


def test_purchases_are_pulled_in_pages_with_a_cursor(client):
    campaign = factories.campaign()
    magnet = factories.magnet()
    leads = [factories.lead(magnet) for _ in range(5)]
    key = issue_api_key(campaign.buyer_id, "k")[1]
    auth = {"Authorization": f"Bearer {key}"}

    first = client.get("/api/v1/purchases?limit=2", headers=auth).get_json()
    second = client.get(
        f"/api/v1/purchases?limit=2&cursor={first['next_cursor']}", headers=auth
    ).get_json()
    third = client.get(
        f"/api/v1/purchases?limit=2&cursor={second['next_cursor']}", headers=auth
    ).get_json()
    pulled = [p["lead_id"] for page in (first, second, third) for p in page["items"]]
    assert pulled == [c.lead_id for c in leads]
    assert third["next_cursor"] is None
    one = first["items"][0]
    assert one["contact"]["email"] and one["consent_certificate_id"] == leads[0].certificate_id
    assert client.get(f"/api/v1/purchases/{one['id']}", headers=auth).status_code == 200
    future = client.get("/api/v1/purchases?since=2999-01-01T00:00:00Z", headers=auth).get_json()
    assert future["items"] == []


def test_a_buyer_reads_only_its_own_purchases_and_a_publisher_key_cannot(client):
    theirs = factories.campaign()
    factories.lead()
    their_sale = db.session.scalar(select(Sale).where(Sale.buyer_id == theirs.buyer_id))
    mine = issue_api_key(factories.BuyerFactory().id, "k")[1]
    publisher_key = issue_api_key(factories.PublisherFactory().id, "p")[1]
    assert (
        client.get(
            f"/api/v1/purchases/{their_sale.id}", headers={"Authorization": f"Bearer {mine}"}
        ).status_code
        == 404
    )
    assert (
        client.get("/api/v1/purchases", headers={"Authorization": f"Bearer {mine}"}).get_json()[
            "items"
        ]
        == []
    )
    assert (
        client.get(
            "/api/v1/purchases", headers={"Authorization": f"Bearer {publisher_key}"}
        ).status_code
        == 403
    )


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("kind=x", "kind"),
        ("company_size=huge", "company_size"),
        ("sort=random", "sort"),
        ("min_score=1000", "min_score"),
    ],
)
def test_a_catalogue_filter_off_its_list_is_named_in_a_422(client, query, field):
    buyer = factories.BuyerFactory()
    key = issue_api_key(buyer.id, "k")[1]
    response = client.get(f"/api/v1/catalog?{query}", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("query", ["kind=zz", "company_size=huge", "sector=99999999999", "sort=x"])
def test_the_catalogue_page_says_which_filter_is_off_its_list(login_as, query):
    http = login_as(factories.buyer_user())
    response = http.get(f"/buyers/catalogue?{query}")
    assert response.status_code == 422
    assert "Choose a value from the list." in response.get_data(as_text=True)


@pytest.mark.parametrize("cursor", ["029670154547", "2147483648", "0"])
def test_a_purchases_cursor_beyond_any_id_is_a_422(client, cursor):
    buyer = factories.BuyerFactory()
    key = issue_api_key(buyer.id, "k")[1]
    response = client.get(
        f"/api/v1/purchases?cursor={cursor}", headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 422
    assert "cursor" in response.get_json()["error"]["fields"]


def test_a_person_the_buyer_has_by_phone_is_neither_listed_nor_sold_to_it():
    """The list and the purchase apply one rule: the same e-mail or the same phone."""
    first = unsold_lead(email="first.address@firm.fr", phone="06 44 55 66 77")
    again = unsold_lead(email="second.address@other.fr", phone="+33 6 44 55 66 77")
    buyer = partner_buyer_after(first)
    factories.name_partner(again.lead_id, buyer)
    listed = {offer.lead_id for offer in lead_catalogue.offers_for(buyer.id)}
    assert listed == {first.lead_id, again.lead_id}

    lead_catalogue.buy(buyer.id, first.lead_id)

    listed = {offer.lead_id for offer in lead_catalogue.offers_for(buyer.id)}
    assert again.lead_id not in listed
    with pytest.raises(lead_catalogue.NotForSale, match="30"):
        lead_catalogue.buy(buyer.id, again.lead_id)


def test_the_catalogue_and_its_index_agree_on_what_is_on_sale():
    """The catalogue's conditions (``_on_sale``) and the partial index's (migration 0030,
    ``LEADS_ON_SALE``) pick the same leads: the index is only used when they agree."""
    from itertools import product

    from sqlalchemy import text, update

    from marketplace.models.leads import LEADS_ON_SALE

    magnet = factories.magnet(max_buyers=2)
    for n, (status, sales_count, exclusive) in enumerate(
        product(LeadStatus, (0, 1, 2), (False, True))
    ):
        lead_id = factories.lead(magnet, distribute=False, email=f"p{n}@on-sale.example").lead_id
        db.session.execute(
            update(Lead)
            .where(Lead.id == lead_id)
            .values(status=status, sales_count=sales_count, sold_exclusively=exclusive)
        )
        db.session.commit()

    by_catalogue = set(
        db.session.scalars(select(Lead.id).where(*lead_catalogue._on_sale(utcnow())))
    )
    by_index = set(db.session.scalars(select(Lead.id).where(text(LEADS_ON_SALE))))
    assert by_catalogue == by_index
    assert len(by_catalogue) == 2 * 2  # distributed or unsold, 0 or 1 of 2 sold, shared


@pytest.mark.services
@pytest.mark.parametrize(
    ("sort", "index", "first_key"),
    [
        ("newest", "ix_leads_on_sale_created_at_id", "created_at DESC"),
        ("score", "ix_leads_on_sale_score", "score DESC NULLS LAST"),
    ],
)
def test_postgresql_reads_a_catalogue_page_in_its_order_from_the_leads_on_sale(
    sort, index, first_key
):
    """The newest and best-scored pages read the leads on sale from their partial index
    (migration 0030), in the index's order, and stop once full instead of sorting every
    fresh lead on sale. On this near-empty database PostgreSQL still sorts the few
    score rows itself, so the score page's order is checked against the index's."""
    from sqlalchemy import event

    buyer = factories.buyer_user().organization
    statements = []

    def keep(connection, cursor, statement, parameters, context, executemany):
        if "FROM leads JOIN lead_magnets" in statement:
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", keep)
    try:
        lead_catalogue.offers_for(buyer.id, sort=sort)
    finally:
        event.remove(db.engine, "before_cursor_execute", keep)
    statement, parameters = statements[-1]
    with db.engine.connect() as connection:
        connection.exec_driver_sql("SET enable_seqscan = off")
        plan = "\n".join(
            row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters)
        )
        definition = connection.exec_driver_sql(
            "SELECT indexdef FROM pg_indexes WHERE indexname = %(name)s", {"name": index}
        ).scalar_one()
    assert f"using {index} on leads" in plan, plan
    assert f"ORDER BY leads.{first_key}" in statement
    assert f"({first_key.removesuffix(' DESC')}" in definition, definition
    if sort == "newest":
        assert "Index Scan Backward" in plan and "Sort Key: leads.created_at" not in plan, plan
