"""The buyer's dashboard: per week, campaign and sector, figures a person can trust
(rates are shares of the leads bought: never above 100 %), charts beside tables."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event, select

from buyers.dashboard import dashboard
from marketplace import disputes, quality
from marketplace.extensions import db
from marketplace.models import Sale
from tests import factories


@pytest.fixture
def buyer_with_results():
    user = factories.buyer_user()
    factories.campaign(user.organization, name="Software Lyon", price_cents=5000)
    for _ in range(4):
        factories.lead()
    sales = db.session.scalars(select(Sale).order_by(Sale.id)).all()
    buyer_id = user.organization_id
    quality.record_outcome(buyer_id, sales[0].id, status="won", amount_cents=300_000)
    quality.record_outcome(buyer_id, sales[1].id, status="contacted")
    quality.record_outcome(buyer_id, sales[2].id, status="lost", lost_reason="timing")
    disputes.open_dispute(buyer_id, sales[3].id, "fake", "Fake.")
    return user


def test_the_figures_are_shares_of_the_leads_bought(buyer_with_results):
    figures = dashboard(buyer_with_results.organization_id, weeks=4)
    total = figures.total
    assert (total.leads, total.spend_cents, total.cpl_cents) == (4, 20_000, 5_000)
    assert (total.contacted, total.won, total.disputes) == (3, 1, 1)
    assert total.contact_rate == 0.75 and total.won_rate == 0.25
    assert total.revenue_cents == 300_000
    assert total.roi == pytest.approx((300_000 - 20_000) / 20_000)
    [(name, campaign)] = figures.by_campaign
    assert (name, campaign.leads) == ("Software Lyon", 4)
    assert sum(week.leads for _, week in figures.weeks) == 4
    for _label, group in [*figures.weeks, *figures.by_campaign, *figures.by_sector]:
        for rate in (group.contact_rate, group.won_rate):
            assert rate is None or 0 <= rate <= 1


def test_the_page_shows_tables_and_charts_that_are_images(login_as, buyer_with_results):
    http = login_as(buyer_with_results)
    page = http.get("/buyers/dashboard?weeks=4")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Software Lyon" in text and "75%" in text and "25%" in text
    for chart in ("leads-per-week", "cost-per-lead"):
        assert f"/buyers/dashboard/{chart}.svg?weeks=4" in text
        svg = http.get(f"/buyers/dashboard/{chart}.svg?weeks=4")
        assert svg.mimetype == "image/svg+xml"
        assert svg.get_data(as_text=True).lstrip().startswith("<?xml")
        assert "script-src" not in svg.headers["Content-Security-Policy"]
    assert http.get("/buyers/dashboard?weeks=7").status_code == 422


def test_another_buyer_sees_none_of_it(login_as, buyer_with_results):
    stranger = login_as(factories.buyer_user())
    text = stranger.get("/buyers/dashboard").get_data(as_text=True)
    assert "Software Lyon" not in text
    assert dashboard(factories.BuyerFactory().id).total.leads == 0


def test_a_week_runs_from_monday_midnight_in_the_organizations_timezone(buyer_with_results):
    """Summer time ends on Sunday 25 October 2026 in Paris: the Monday before starts at
    22:00 UTC, the Monday after at 23:00 UTC."""
    sales = db.session.scalars(select(Sale).order_by(Sale.id)).all()
    bought_at = [
        datetime(2026, 10, 18, 21, 30, tzinfo=UTC),  # Sunday 18, 23:30 in Paris
        datetime(2026, 10, 18, 22, 30, tzinfo=UTC),  # Monday 19, 00:30
        datetime(2026, 10, 25, 22, 30, tzinfo=UTC),  # Sunday 25, 23:30 (winter time)
        datetime(2026, 10, 25, 23, 30, tzinfo=UTC),  # Monday 26, 00:30
    ]
    for sale, moment in zip(sales, bought_at, strict=True):
        sale.created_at = moment
    db.session.commit()
    figures = dashboard(
        buyer_with_results.organization_id, weeks=3, now=datetime(2026, 10, 28, tzinfo=UTC)
    )
    assert [(week, f.leads) for week, f in figures.weeks] == [
        (date(2026, 10, 12), 1),
        (date(2026, 10, 19), 2),
        (date(2026, 10, 26), 1),
    ]
    assert figures.since == datetime(2026, 10, 11, 22, 0, tzinfo=UTC)
    assert figures.total.leads == 4


def test_the_charts_draw_the_figures_read_for_their_page(
    app, login_as, buyer_with_results, monkeypatch
):
    """The page and its two images ask for the same figures: read once, for the page."""
    http = login_as(buyer_with_results)
    reads = []

    def count(conn, cursor, statement, *args):
        if "FROM purchase_weeks" in statement:
            reads.append(statement)

    monkeypatch.setitem(app.config, "SNAPSHOT_SECONDS", 10)
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert http.get("/buyers/dashboard?weeks=4").status_code == 200
        assert len(reads) == 1
        for chart in ("leads-per-week", "cost-per-lead"):
            assert http.get(f"/buyers/dashboard/{chart}.svg?weeks=4").status_code == 200
        assert len(reads) == 1
        http.get("/buyers/dashboard?weeks=12")  # another period: its own figures
        assert len(reads) == 2
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
