"""A magnet's results over a period: exact figures per variant and per day in the
reader's zone, the A/B test's verdict, charts beside tables; another publisher's magnet
is a 404 and a bad period is said at its field."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from marketplace import disputes, magnets
from marketplace.analytics.ab_test import Verdict
from marketplace.analytics.magnet_results import magnet_results
from marketplace.capture import CaptureContext, capture_lead, capture_target, validate_submission
from marketplace.distribution import distribute_lead
from marketplace.extensions import db
from marketplace.governance.overview import Period
from marketplace.models import MagnetViews, Sale, SuppressionEntry
from marketplace.validation import identity_hash, normalise_email
from tests import factories

PARIS = ZoneInfo("Europe/Paris")
# Summer time starts in Paris on Sunday 29 March 2026: that day has 23 hours.
PERIOD = Period(date(2026, 3, 27), date(2026, 3, 31))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def capture(magnet, when: str, email: str, *, variant="a", channel="form") -> int:
    """A lead of the variant (or the API), captured and distributed at ``when``."""
    now = utc(when)
    cleaned = validate_submission(magnet, factories.submission(email=email), consent_given=True)
    target = capture_target(magnet.key)
    captured = capture_lead(
        target,
        cleaned,
        consent_text=target.consent_texts[-1],
        consent_given=True,
        context=CaptureContext(
            ip="203.0.113.7", page_url="https://pub.example/", variant=variant, channel=channel
        ),
        now=now,
        enqueue_distribution=False,
    )
    distribute_lead(captured.lead_id, now=now)
    return captured.lead_id


def sales_of(lead_id: int) -> dict[int, Sale]:
    """The lead's sales by buyer id."""
    return {s.buyer_id: s for s in db.session.scalars(select(Sale).where(Sale.lead_id == lead_id))}


@pytest.fixture
def known_magnet():
    return make_known_magnet()


def make_known_magnet() -> dict:
    """A magnet with a variant B, two buyers (50 and 40 EUR: a lead sells for 90 EUR, the
    publisher earns half), views and leads around the Paris days of the period."""
    first, second = factories.BuyerFactory(), factories.BuyerFactory()
    factories.campaign(first, price_cents=5000)
    factories.campaign(second, price_cents=4000)
    publisher = factories.publisher_user()
    magnet = factories.magnet(publisher.organization, language="en", title_b="Quotes in 24 h")
    for moment, variant in [
        ("2026-03-26T22:59:00", "a"),  # 23:59 on Thursday 26 in Paris: before the period
        ("2026-03-28T10:00:00", "a"),
        ("2026-03-28T10:20:00", "a"),  # the same hour: one row, 2 views
        ("2026-03-28T11:00:00", "a"),
        ("2026-03-28T23:30:00", "a"),  # 00:30 on Sunday 29 in Paris
        ("2026-03-30T08:00:00", "b"),
        ("2026-03-30T08:05:00", "b"),
    ]:
        magnets.record_view(magnet.id, variant, now=utc(moment))
    capture(magnet, "2026-03-26T22:59:00", "before@example.com")  # outside
    a1 = capture(magnet, "2026-03-28T10:05:00", "a1@example.com")
    a2 = capture(magnet, "2026-03-28T23:35:00", "a2@example.com")  # Sunday 29 in Paris
    capture(magnet, "2026-03-30T08:30:00", "a1@example.com")  # a duplicate
    b1 = capture(magnet, "2026-03-30T08:10:00", "b1@example.com", variant="b")
    db.session.add(
        SuppressionEntry(
            email_hash=identity_hash(normalise_email("objected@example.com")), reason="objection"
        )
    )
    db.session.commit()
    capture(magnet, "2026-03-30T09:30:00", "objected@example.com", variant="b")  # rejected
    capture(magnet, "2026-03-30T09:00:00", "api1@example.com", variant=None, channel="api")
    other = factories.magnet(publisher.organization, language="en")  # not counted
    capture(other, "2026-03-30T09:00:00", "other@example.com")
    # Ratings: A's two sales rated 4 and 5; B's sale to the second buyer rated 2.
    sales_of(a1)[first.id].rating_stars = 4
    sales_of(a2)[second.id].rating_stars = 5
    sales_of(b1)[second.id].rating_stars = 2
    db.session.commit()
    # The first buyer disputes B's lead; an admin accepts: its earning is reversed.
    dispute = disputes.open_dispute(
        first.id, sales_of(b1)[first.id].id, "fake", "Fake.", now=utc("2026-03-30T10:00:00")
    )
    disputes.resolve_dispute(
        dispute.id,
        admin_user_id=factories.admin_user().id,
        accept=True,
        now=utc("2026-03-31T10:00:00"),
    )
    return {"publisher": publisher, "magnet": magnet}


def test_views_are_counted_per_hour_beside_the_totals(known_magnet):
    magnet = known_magnet["magnet"]
    rows = db.session.execute(
        select(MagnetViews.hour, MagnetViews.variant, MagnetViews.views)
        .where(MagnetViews.magnet_id == magnet.id)
        .order_by(MagnetViews.hour)
    ).all()
    assert [(hour.isoformat(), variant, views) for hour, variant, views in rows] == [
        ("2026-03-26T22:00:00+00:00", "a", 1),
        ("2026-03-28T10:00:00+00:00", "a", 2),
        ("2026-03-28T11:00:00+00:00", "a", 1),
        ("2026-03-28T23:00:00+00:00", "a", 1),
        ("2026-03-30T08:00:00+00:00", "b", 2),
    ]
    db.session.refresh(magnet)
    assert (magnet.views_a, magnet.views_b) == (5, 2)


def test_the_figures_per_variant(known_magnet):
    results = magnet_results(
        known_magnet["publisher"].organization_id, known_magnet["magnet"].id, PERIOD, PARIS
    )
    assert list(results.lines) == ["a", "b", "api"]
    a, b, api = results.lines["a"], results.lines["b"], results.lines["api"]
    assert (a.views, a.submissions, a.conversion) == (4, 3, 0.75)
    assert (a.duplicates, a.duplicate_rate, a.rejected_rate) == (1, 1 / 3, 0)
    assert (a.sold, a.sales, a.buyers_per_sold_lead) == (2, 4, 2)
    assert (dict(a.revenue_cents), dict(a.earnings_cents)) == ({"EUR": 18_000}, {"EUR": 9_000})
    assert (a.ratings, a.average_rating, a.dispute_rate) == (2, 4.5, 0)

    assert (b.views, b.submissions, b.conversion) == (2, 2, 1.0)
    assert (b.duplicate_rate, b.rejected_rate) == (0, 0.5)
    assert (b.sold, b.sales, b.buyers_per_sold_lead) == (1, 2, 2)
    # 90 EUR sold; 45 earned, less the 25 reversed by the accepted dispute.
    assert (dict(b.revenue_cents), dict(b.earnings_cents)) == ({"EUR": 9_000}, {"EUR": 2_000})
    assert (b.ratings, b.average_rating, b.dispute_rate) == (1, 2, 0.5)

    # The API's lead: no view, no conversion, counted apart.
    assert (api.views, api.submissions, api.form_submissions, api.conversion) == (0, 1, 0, None)
    assert (api.sold, api.sales, dict(api.earnings_cents)) == (1, 2, {"EUR": 4_500})

    total = results.total
    assert (total.views, total.submissions, total.form_submissions) == (6, 6, 5)
    assert total.conversion == pytest.approx(5 / 6)
    assert (dict(total.revenue_cents), dict(total.earnings_cents)) == (
        {"EUR": 36_000},
        {"EUR": 15_500},
    )
    assert total.dispute_rate == 1 / 8 and total.average_rating == pytest.approx(11 / 3)
    assert results.zone == "Europe/Paris" and results.currencies == ["EUR"]


def test_the_figures_per_day_follow_paris_days(known_magnet):
    results = magnet_results(
        known_magnet["publisher"].organization_id, known_magnet["magnet"].id, PERIOD, PARIS
    )
    assert [day.day for day, _lines in results.days] == [27, 28, 29, 30, 31]
    per_day = {
        day.day: {line: (f.views, f.submissions) for line, f in lines.items()}
        for day, lines in results.days
    }
    assert per_day[28] == {"a": (3, 1), "b": (0, 0), "api": (0, 0)}
    assert per_day[29] == {"a": (1, 1), "b": (0, 0), "api": (0, 0)}
    assert per_day[30] == {"a": (0, 1), "b": (2, 2), "api": (0, 1)}
    monday = dict(results.days)[date(2026, 3, 30)]
    # A submission on a day without views: no rate, never one above 100 %.
    assert monday["a"].conversion is None and monday["b"].conversion == 1.0
    assert results.comparison.verdict == Verdict.NOT_ENOUGH_DATA


def test_the_sums_are_a_few_queries_whatever_the_number_of_days(known_magnet, app):
    publisher_id = known_magnet["publisher"].organization_id
    magnet_id = known_magnet["magnet"].id
    statements = []

    def count(_connection, _cursor, statement, *_args):
        statements.append(statement[:60])

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        magnet_results(publisher_id, magnet_id, Period(date(2025, 4, 1), date(2026, 3, 31)), PARIS)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    # The magnet, (PostgreSQL) no JIT, then views, leads, sales, earnings.
    assert len(statements) <= 6, statements


def test_the_page_shows_the_figures_the_verdict_tables_and_charts(login_as, known_magnet):
    http = login_as(known_magnet["publisher"])
    magnet_id = known_magnet["magnet"].id
    assert f"/publishers/magnets/{magnet_id}/results" in http.get(
        f"/publishers/magnets/{magnet_id}"
    ).get_data(as_text=True)
    page = http.get(f"/publishers/magnets/{magnet_id}/results?from=2026-03-27&to=2026-03-31")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Europe/Paris" in text and "March 27, 2026" in text
    assert "75.0%" in text and "33.3%" in text and "83.3%" in text and "—" in text
    assert "€180.00" in text and "€90.00" in text and "€20.00" in text and "€155.00" in text
    assert "4.5 / 5 (2 ratings)" in text and "12.5%" in text
    assert "Posted through the API" in text
    assert "Not enough data yet: about" in text and "more views needed." in text
    assert "<caption>" in text and 'scope="row"' in text
    for variant in ("a", "b"):
        url = f"/publishers/magnets/{magnet_id}/results/chart.svg?variant={variant}&amp;from="
        assert url in text
        svg = http.get(
            f"/publishers/magnets/{magnet_id}/results/chart.svg"
            f"?variant={variant}&from=2026-03-27&to=2026-03-31"
        )
        assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
        assert "script-src" not in svg.headers["Content-Security-Policy"]


@pytest.mark.parametrize("days", ["7", "30", "90"])
def test_the_periods_in_one_click(login_as, days):
    publisher = factories.publisher_user()
    magnet = factories.magnet(publisher.organization, language="en")
    http = login_as(publisher)
    page = http.get(f"/publishers/magnets/{magnet.id}/results?days={days}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f"({days} days)" in text and 'id="empty-period"' in text
    assert 'id="ab-test"' not in text  # no variant B: no test
    chart = http.get(f"/publishers/magnets/{magnet.id}/results/chart.svg?days={days}")
    assert chart.mimetype == "image/svg+xml"


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("from=2026-03-31&to=2026-03-01", "to", "The end must be on or after the start."),
        ("from=2025-01-01&to=2026-03-01", "to", "Choose at most 366 days."),
        ("from=2026-03-01", "to", "Give both dates, or neither."),
        ("from=yesterday&to=2026-03-01", "from", "Not a valid date value."),
        ("days=5", "days", "Not a valid choice"),
    ],
)
def test_a_bad_period_is_said_at_its_field(login_as, query, field, message):
    publisher = factories.publisher_user()
    magnet = factories.magnet(publisher.organization, language="en")
    http = login_as(publisher)
    page = http.get(f"/publishers/magnets/{magnet.id}/results?{query}")
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert message in text and f'id="{field}-error"' in text and 'id="error-summary"' in text
    assert http.get(f"/publishers/magnets/{magnet.id}/results/chart.svg?{query}").status_code == 400


def test_another_publishers_magnet_is_not_found(login_as, known_magnet):
    http = login_as(factories.publisher_user())
    magnet_id = known_magnet["magnet"].id
    assert http.get(f"/publishers/magnets/{magnet_id}/results").status_code == 404
    assert http.get(f"/publishers/magnets/{magnet_id}/results/chart.svg").status_code == 404
