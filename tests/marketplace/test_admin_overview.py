"""The admins' overview: per day in the reader's zone (summer time included), figures a
person can trust (rates never above 100 %), charts beside tables; closed to every
other role."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from marketplace import disputes
from marketplace.extensions import db
from marketplace.governance.overview import Period, overview
from marketplace.models import (
    GdprRequest,
    GdprRequestKind,
    GdprRequestStatus,
    Lead,
    Sale,
    SuppressionEntry,
    utcnow,
)
from marketplace.reporting import bucket_of, day_starts
from marketplace.validation import identity_hash, normalise_email
from tests import factories

PARIS = ZoneInfo("Europe/Paris")
# Summer time starts in Paris on Sunday 29 March 2026 at 02:00 (01:00 UTC): that day
# has 23 hours. The period around it:
FIRST, LAST = date(2026, 3, 27), date(2026, 3, 31)
PERIOD = Period(FIRST, LAST)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _sale_of(lead_id: int) -> Sale:
    return db.session.scalar(select(Sale).where(Sale.lead_id == lead_id))


@pytest.fixture
def known_days():
    """Seven leads in the period and two just outside it, four sales at 50 EUR (the
    publisher earns half), one of them disputed and accepted, two privacy requests open,
    one overdue."""
    buyer = factories.BuyerFactory()
    factories.campaign(buyer, price_cents=5000)
    publisher = factories.PublisherFactory()  # revenue share 50 %
    software = factories.magnet(publisher)
    hardware = factories.magnet(publisher, slug="it/hardware")  # no campaign: unsold
    at = {
        # 23:59 on Thursday 26 (UTC+1): the day before the period.
        "before": utc("2026-03-26T22:59:00"),
        # 23:59 on Saturday 28 (UTC+1).
        "sat_late": utc("2026-03-28T22:59:00"),
        # 00:30 on Sunday 29 (UTC+1): the 28th in UTC.
        "sun_early": utc("2026-03-28T23:30:00"),
        # 23:59 on Sunday 29 (UTC+2 since 03:00).
        "sun_late": utc("2026-03-29T21:59:00"),
        # 00:30 on Monday 30 (UTC+2): the 29th in UTC, and at UTC+1 too.
        "mon_early": utc("2026-03-29T22:30:00"),
        # 00:00 on Wednesday 1 April (UTC+2): the day after the period.
        "after": utc("2026-03-31T22:00:00"),
    }
    leads = {
        name: factories.lead(software, now=moment, email=f"{name}@example.com").lead_id
        for name, moment in at.items()
    }
    monday = utc("2026-03-30T08:00:00")
    factories.lead(software, now=monday, email="sat_late@example.com")  # a duplicate
    factories.lead(hardware, now=monday + timedelta(hours=1))  # unsold
    db.session.add(
        SuppressionEntry(
            email_hash=identity_hash(normalise_email("objected@example.com")), reason="objection"
        )
    )
    db.session.commit()
    factories.lead(software, now=monday + timedelta(hours=2), email="objected@example.com")
    # The lead of Sunday 00:30 is disputed on Monday and accepted on Tuesday.
    sale = _sale_of(leads["sun_early"])
    dispute = disputes.open_dispute(
        buyer.id, sale.id, "fake", "Fake.", now=utc("2026-03-30T10:00:00")
    )
    admin = factories.admin_user()
    disputes.resolve_dispute(
        dispute.id, admin_user_id=admin.id, accept=True, now=utc("2026-03-31T10:00:00")
    )
    now = utcnow()
    for status, due_in in (
        (GdprRequestStatus.OPEN, timedelta(days=-1)),  # overdue
        (GdprRequestStatus.OPEN, timedelta(days=20)),
        (GdprRequestStatus.UNVERIFIED, timedelta(days=-5)),  # not confirmed: not counted
        (GdprRequestStatus.COMPLETED, timedelta(days=-5)),  # answered
    ):
        db.session.add(
            GdprRequest(
                kind=GdprRequestKind.ACCESS,
                status=status,
                email="person@example.test",
                email_hash=identity_hash("person@example.test"),
                due_at=now + due_in,
            )
        )
    db.session.commit()
    return {"admin": admin, "leads": leads}


def test_day_starts_follow_summer_time():
    starts = day_starts(date(2026, 3, 28), date(2026, 3, 30), PARIS)
    assert starts == [
        utc("2026-03-27T23:00:00"),
        utc("2026-03-28T23:00:00"),
        utc("2026-03-29T22:00:00"),
    ]
    autumn = day_starts(date(2026, 10, 25), date(2026, 10, 26), PARIS)
    assert autumn[1] - autumn[0] == timedelta(hours=25)


def test_bucket_of_is_a_binary_search_in_sql():
    starts = day_starts(date(2026, 3, 1), date(2026, 3, 31), PARIS)
    factories.lead(now=utc("2026-03-29T21:59:00"), distribute=False)
    found = db.session.scalar(select(bucket_of(Lead.created_at, starts)))
    assert found == 28  # Sunday 29 March, the 29th day


def test_the_figures_per_day_follow_paris_days(known_days):
    figures = overview(PERIOD, PARIS)
    days = dict(figures.days)
    assert list(days) == [FIRST + timedelta(days=n) for n in range(5)]
    captured = {day.day: f.leads.captured for day, f in days.items()}
    assert captured == {27: 0, 28: 1, 29: 2, 30: 4, 31: 0}
    sold = {day.day: f.leads.sold for day, f in days.items()}
    assert sold == {27: 0, 28: 1, 29: 2, 30: 1, 31: 0}
    monday = days[date(2026, 3, 30)].leads
    assert (monday.duplicate, monday.rejected, monday.unsold, monday.waiting) == (1, 1, 1, 0)
    assert monday.offered == 2 and monday.sold_rate == 0.5

    total = figures.total
    assert (total.leads.captured, total.leads.sold, total.leads.offered) == (7, 4, 5)
    assert total.leads.sold_rate == pytest.approx(0.8)
    assert total.sales == 4
    eur = total.in_currency("EUR")
    assert (eur.revenue_cents, eur.earnings_cents, eur.credits_cents) == (20_000, 7_500, 5_000)
    assert eur.margin_cents == 20_000 - 7_500 - 5_000
    tuesday = days[date(2026, 3, 31)].in_currency("EUR")
    # The decision's day: the credit and the earning's reversal, no sale.
    assert (tuesday.revenue_cents, tuesday.earnings_cents, tuesday.credits_cents) == (
        0,
        -2_500,
        5_000,
    )
    assert tuesday.margin_cents == -2_500
    assert days[date(2026, 3, 29)].in_currency("EUR").margin_cents == 5_000
    assert (total.disputes_opened, total.disputes_accepted, total.disputed_sales) == (1, 1, 1)
    assert days[date(2026, 3, 30)].disputes_opened == 1
    assert days[date(2026, 3, 31)].disputes_accepted == 1
    assert total.dispute_rate == 0.25
    assert days[date(2026, 3, 29)].dispute_rate == 0.5  # the disputed sale's day
    assert days[date(2026, 3, 27)].dispute_rate is None  # no sale: no rate
    assert (figures.privacy_open, figures.privacy_overdue) == (2, 1)
    assert figures.currencies == ["EUR"] and figures.zone == "Europe/Paris"


def test_rates_stay_within_100_percent(known_days):
    # Tuesday alone: a dispute accepted, no sale; Monday alone: a dispute opened on a
    # sale of Sunday. Neither day's rate can pass 100 %.
    for first, last in ((LAST, LAST), (date(2026, 3, 30), date(2026, 3, 30)), (FIRST, LAST)):
        figures = overview(Period(first, last), PARIS)
        for _day, day_figures in [*figures.days, (None, figures.total)]:
            for rate in (day_figures.leads.sold_rate, day_figures.dispute_rate):
                assert rate is None or 0 <= rate <= 1
    monday = overview(Period(date(2026, 3, 30), date(2026, 3, 30)), PARIS).total
    assert monday.disputes_opened == 1 and monday.sales == 1 and monday.dispute_rate == 0


def test_the_sums_are_a_few_queries_whatever_the_number_of_days(known_days, app):
    statements = []

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        overview(Period(date(2025, 4, 1), date(2026, 3, 31)), PARIS)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) <= 8


def test_the_page_shows_the_figures_tables_and_charts(login_as, known_days):
    http = login_as(known_days["admin"])
    page = http.get("/admin/overview?from=2026-03-27&to=2026-03-31")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Europe/Paris" in text and "March 27, 2026" in text
    assert "80.0%" in text and "25.0%" in text and "50.0%" in text
    assert "€200.00" in text and "€75.00" in text and "-€25.00" in text
    assert 'href="/admin/privacy"' in text
    assert "2 open, 1 overdue" in text
    assert "<caption>" in text and 'scope="row"' in text and 'scope="col"' in text
    assert "duplicates and rejected leads are never offered" in text.lower()
    for chart in ("leads", "revenue"):
        assert f"/admin/overview/{chart}.svg?" in text
        svg = http.get(f"/admin/overview/{chart}.svg?from=2026-03-27&to=2026-03-31")
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
        assert svg.get_data(as_text=True).lstrip().startswith("<?xml")
        assert "script-src" not in svg.headers["Content-Security-Policy"]


@pytest.mark.parametrize("days", ["7", "30", "90"])
def test_the_periods_in_one_click(login_as, days):
    http = login_as(factories.admin_user())
    page = http.get(f"/admin/overview?days={days}")
    assert page.status_code == 200
    assert f"({days} days)" in page.get_data(as_text=True)
    assert http.get(f"/admin/overview/revenue.svg?days={days}").mimetype == "image/svg+xml"


def test_the_default_period_is_the_last_30_days(login_as):
    text = login_as(factories.admin_user()).get("/admin/overview").get_data(as_text=True)
    assert "(30 days)" in text and 'aria-current="page"' in text


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("from=2026-03-31&to=2026-03-01", "to", "The end must be on or after the start."),
        ("from=2025-01-01&to=2026-03-01", "to", "Choose at most 366 days."),
        ("from=2026-03-01", "to", "Give both dates, or neither."),
        ("to=2026-03-01", "from", "Give both dates, or neither."),
        ("from=yesterday&to=2026-03-01", "from", "Not a valid date value."),
        ("from=0001-01-01&to=2026-03-01", "from", "Give a date between 2000 and 2100."),
        ("days=5", "days", "Not a valid choice"),
        ("days=99999999999999999999", "days", "Not a valid choice"),
    ],
)
def test_a_bad_period_is_said_at_its_field(login_as, query, field, message):
    http = login_as(factories.admin_user())
    page = http.get(f"/admin/overview?{query}")
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert message in text
    assert f'id="{field}-error"' in text and 'id="error-summary"' in text
    if field != "days":  # the days are links, not an input
        assert 'aria-invalid="true"' in text
    for chart in ("leads", "revenue"):
        assert http.get(f"/admin/overview/{chart}.svg?{query}").status_code == 400


def test_a_year_is_allowed_a_leap_one_too(login_as):
    http = login_as(factories.admin_user())
    assert http.get("/admin/overview?from=2027-03-01&to=2028-02-29").status_code == 200


@pytest.mark.parametrize(
    "path", ["/admin/overview", "/admin/overview/leads.svg", "/admin/overview/revenue.svg"]
)
def test_only_admins_see_the_overview(client, login_as, path):
    anonymous = client.get(path)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    for user in (factories.buyer_user(), factories.publisher_user()):
        assert login_as(user).get(path).status_code == 403
