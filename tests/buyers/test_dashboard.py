"""The buyer's dashboard: per week, campaign and sector, figures a person can trust
(rates are shares of the leads bought: never above 100 %), charts beside tables."""

from __future__ import annotations

import pytest
from sqlalchemy import select

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
