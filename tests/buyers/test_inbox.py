"""The inbox: every purchase, newest first, filters that combine and stay in the address,
a search, the count, keyset pages, and the CSV export of exactly the filtered set."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from buyers import inbox
from marketplace import quality
from marketplace.extensions import db
from marketplace.models import AuditEvent, Sale, utcnow
from tests import factories


@pytest.fixture
def buyer_with_leads():
    user = factories.buyer_user()
    campaign = factories.campaign(user.organization, name="Main campaign")
    # Names of our own, not the faker's: a search must find only what the test expects.
    names = ["Zorvaqx SA", "Quellbrix SARL", "=HYPERLINK(evil)", "Petit et fils"]
    for n, company in enumerate(names):
        factories.lead(
            email=f"contact{n}@firm{n}.example",
            company=company,
            first_name="Alice",
            last_name=f"Lambda{n}",
        )
    sales = db.session.scalars(
        select(Sale).where(Sale.buyer_id == user.organization_id).order_by(Sale.id)
    ).all()
    for n, sale in enumerate(sales):  # one a day, the oldest first
        sale.created_at = utcnow() - timedelta(days=len(sales) - n)
    db.session.commit()
    quality.rate_purchase(
        user.organization_id, sales[0].id, stars=5, reasons=["reachable", "real_need"]
    )
    quality.record_outcome(user.organization_id, sales[1].id, status="won", amount_cents=90000)
    return user, campaign, sales


def rows_of(response) -> list[list[str]]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")  # Excel reads the accents
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";" if ";" in text[:200] else ","))


def test_the_inbox_lists_every_purchase_newest_first_with_the_count(login_as, buyer_with_leads):
    user, _campaign, sales = buyer_with_leads
    page = login_as(user).get("/buyers/").get_data(as_text=True)
    assert "4 purchases match." in page
    positions = [page.index(f'id="sale-{sale.id}"') for sale in reversed(sales)]
    assert positions == sorted(positions)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=quellbrix", [1]),
        ("q=FIRM3.EXAMPLE", [3]),
        ("rating=5", [0]),
        ("rating=unrated", [1, 2, 3]),
        ("outcome=won", [1]),
        ("outcome=new&rating=unrated", [2, 3]),
        ("disputed=no", [0, 1, 2, 3]),
        ("score_min=0&score_max=100&q=zorvaqx", [0]),
        ("q=%25", []),  # a search for "%" is a search for "%", not a wildcard
    ],
)
def test_filters_combine_and_the_export_has_exactly_the_filtered_rows(
    login_as, buyer_with_leads, query, expected
):
    user, _campaign, sales = buyer_with_leads
    http = login_as(user)
    page = http.get(f"/buyers/?{query}")
    assert page.status_code == 200
    shown = [n for n, sale in enumerate(sales) if f'id="sale-{sale.id}"' in page.get_data(True)]
    assert shown == expected
    exported = rows_of(http.get(f"/buyers/inbox.csv?{query}"))
    assert sorted(int(row[0]) for row in exported[1:]) == [sales[n].id for n in expected]


def test_a_date_range_reads_days_in_the_buyers_timezone(login_as, buyer_with_leads):
    user, _campaign, sales = buyer_with_leads
    day = sales[2].created_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Paris")).date()
    page = login_as(user).get(f"/buyers/?date_from={day}&date_to={day}").get_data(True)
    assert "1 purchase matches." in page and f'id="sale-{sales[2].id}"' in page


# A search's first page counts in its own query (count(*) OVER ()), the others apart.
@pytest.mark.parametrize("query", ["outcome=", "q=alice"])
def test_pages_follow_the_keyset_without_missing_or_repeating(
    login_as, buyer_with_leads, monkeypatch, query
):
    user, _campaign, sales = buyer_with_leads
    monkeypatch.setattr(inbox, "PAGE_SIZE", 3)
    http = login_as(user)
    first = http.get(f"/buyers/?{query}").get_data(as_text=True)
    assert "4 purchases match." in first
    assert [s.id for s in sales[1:] if f'id="sale-{s.id}"' in first] == [s.id for s in sales[1:]]
    next_url = first.split('id="next-page" href="')[1].split('"')[0].replace("&amp;", "&")
    assert "cursor=" in next_url
    second = http.get(next_url).get_data(as_text=True)
    assert f'id="sale-{sales[0].id}"' in second
    assert 'id="next-page"' not in second
    assert "4 purchases match." in second  # the count is the whole filtered set


@pytest.mark.parametrize(
    "query",
    [
        "rating=9",
        "outcome=signed",
        "score_min=500",
        "date_from=0001-01-01",
        "date_to=9999-12-31",
        "temperature=boiling",
        "sector=99999999999",
    ],
)
def test_a_filter_off_its_list_is_named_at_its_field(login_as, buyer_with_leads, query):
    user, _campaign, _sales = buyer_with_leads
    http = login_as(user)
    page = http.get(f"/buyers/?{query}")
    assert page.status_code == 422
    assert "is-invalid" in page.get_data(as_text=True)
    assert http.get(f"/buyers/inbox.csv?{query}").status_code == 422


def test_another_organizations_campaign_is_not_a_filter(login_as, buyer_with_leads):
    _user, campaign, _sales = buyer_with_leads
    stranger = factories.buyer_user()
    page = login_as(stranger).get(f"/buyers/?campaign={campaign.id}")
    assert page.status_code == 422
    assert "Zorvaqx SA" not in page.get_data(as_text=True)
    export = login_as(stranger).get("/buyers/inbox.csv")
    assert len(rows_of(export)) == 1  # the header only: none of the other buyer's leads


def test_the_export_is_audited_and_safe_to_open_in_a_spreadsheet(login_as, buyer_with_leads):
    user, _campaign, _sales = buyer_with_leads
    response = login_as(user).get("/buyers/inbox.csv?sep=semicolon&q=firm")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = rows_of(response)
    header, *lines = rows
    assert header[1] == "Bought at (Europe/Paris)"
    companies = {line[7] for line in lines}
    assert "'=HYPERLINK(evil)" in companies  # a formula stays text
    assert all(line[6].startswith("'+33") for line in lines)
    assert all("," in line[15] for line in lines)  # French decimals
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "lead.contacts_exported")
    )
    assert event.actor_user_id == user.id
    assert event.details["rows"] == 4
    assert event.details["filters"] == {"search": True}
    assert "firm" not in str(event.details)


def test_a_long_export_streams_every_row_once_newest_first(login_as, buyer_with_leads, monkeypatch):
    """Read from the database a batch at a time and sent a few rows at a time: the
    batches' edges lose and repeat nothing."""
    from buyers import inbox_pages

    user, _campaign, sales = buyer_with_leads
    monkeypatch.setattr(inbox, "EXPORT_BATCH", 3)
    monkeypatch.setattr(inbox_pages, "FLUSH_ROWS", 2)
    exported = rows_of(login_as(user).get("/buyers/inbox.csv"))
    assert [int(row[0]) for row in exported[1:]] == [sale.id for sale in reversed(sales)]
    assert {row[12] for row in exported[1:]} == {"Main campaign"}
    rated = exported[-1]  # the oldest
    assert (rated[17], rated[18]) == ("5", "Reachable, A real need")
    assert [row[19] for row in exported[1:]] == ["New", "New", "Won", "New"]
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "lead.contacts_exported")
    )
    assert event.details["rows"] == 4


@pytest.mark.services
def test_postgresql_searches_the_buyers_purchases_through_their_trigram_index():
    """The search reads the buyer's own purchases' words through the GIN index on
    (buyer, trigrams) of migration 0027, not every lead of the platform."""
    from sqlalchemy.dialects import postgresql

    from marketplace.models import PurchaseSearch

    def plan(statement) -> str:
        sql = str(
            statement.compile(
                dialect=postgresql.psycopg.dialect(), compile_kwargs={"literal_binds": True}
            )
        )
        with db.engine.connect() as connection:
            connection.exec_driver_sql("SET enable_seqscan = off")
            return "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + sql))

    words = plan(
        select(PurchaseSearch.sale_id).where(
            PurchaseSearch.buyer_id == 41, PurchaseSearch.search_text.like("%durand%")
        )
    )
    assert "ix_purchase_search_buyer_id_trgm" in words, words
    page = plan(inbox.filtered(41, inbox.InboxFilters(q="durand")).with_only_columns(Sale.id))
    assert "purchase_search" in page and "leads" not in page, page


@pytest.mark.services
@pytest.mark.parametrize("separator", ["", "sep=semicolon"])
def test_postgresql_writes_the_same_file_as_python(
    login_as, buyer_with_leads, monkeypatch, separator
):
    """PostgreSQL writes the export's lines itself (COPY); Python writes them on SQLite:
    the two files are the same, byte for byte, awkward values included."""
    from buyers import inbox_pages
    from marketplace import lead_catalogue

    user, campaign, sales = buyer_with_leads
    campaign.name = '@Spring; "big" sale,\nround 2'
    quality.rate_purchase(
        user.organization_id, sales[2].id, stars=2, reasons=["wrong_number", "fake_or_test"]
    )
    quality.record_outcome(user.organization_id, sales[3].id, status="lost", lost_reason="timing")
    captured = factories.lead(  # a sector no campaign of the buyer covers
        factories.magnet(slug="energy/solar", max_buyers=2),
        email="x@firm.example",
        company='Comma, "quotes" & co',
        first_name="-1+1",
    )
    db.session.commit()
    factories.name_partner(captured.lead_id, user.organization)
    lead_catalogue.buy(user.organization_id, captured.lead_id)
    http = login_as(user)
    url = f"/buyers/inbox.csv?{separator}"
    by_copy = http.get(url).get_data()
    monkeypatch.setattr(inbox_pages, "written_by_the_database", lambda: False)
    by_python = http.get(url).get_data()
    assert by_copy == by_python
    assert by_copy.count(b"\r\n") == 6  # the header and the five purchases
    assert b"'@Spring" in by_copy and b"Catalogue" in by_copy
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "lead.contacts_exported")
    ).all()
    assert [event.details["rows"] for event in events] == [5, 5]


@pytest.mark.services
def test_postgresql_counts_a_campaigns_purchases_from_the_campaigns_index():
    """The inbox filtered by campaign counts from the campaign's index with the filtered
    columns included (migration 0028), not from the buyer's whole period."""
    from sqlalchemy.dialects import postgresql

    filters = inbox.InboxFilters(
        campaign_id=7,
        date_from=date(2026, 6, 1),
        date_to=date(2026, 12, 1),
        temperature="hot",
        rating="unrated",
    )
    count = select(func.count()).select_from(inbox.filtered(41, filters).subquery())
    sql = str(
        count.compile(dialect=postgresql.psycopg.dialect(), compile_kwargs={"literal_binds": True})
    )
    with db.engine.connect() as connection:
        connection.exec_driver_sql("SET enable_seqscan = off")
        words = "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + sql))
    assert "Index Only Scan using ix_sales_campaign_id_created_at_id" in words, words
