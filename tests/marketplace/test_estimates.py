"""The ping (POST /api/v1/leads/ping, marketplace/estimates.py) answers what distribution
then does with the same lead: as many buyers, the same prices, the same earnings, alone
or shared, whatever the campaigns (filters, floors, exclusive offers, a buyer with two
campaigns, hours) and the person's consent (max_buyers 1 to 3)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from marketplace import snapshots
from marketplace.api_keys import issue_api_key
from marketplace.capture import capture_target
from marketplace.estimates import estimate
from marketplace.extensions import db
from marketplace.matching import DAY_NAMES
from marketplace.models import Lead, LedgerEntry, LedgerKind, Sale, SourceQuality, utcnow
from marketplace.quality.sources import magnet_key
from tests import factories

ASKED = ("company", "postcode", "company_size", "budget", "timeframe", "job_title")


@st.composite
def campaigns(draw) -> dict:
    """A campaign's settings, and which of four buyers owns it (so some own two)."""
    slugs = draw(st.sampled_from([("it/software",), ("it",)]))
    # A campaign over the parent sector may pay less than the software floor (30 EUR).
    price = draw(st.sampled_from([3000, 4500, 6000] + ([2500] if slugs == ("it",) else [])))
    plan = {
        "buyer": draw(st.integers(0, 3)),
        "slugs": slugs,
        "price_cents": price,
        "departments": draw(st.sampled_from([None, ["69"], ["13", "75"]])),
        "company_sizes": draw(st.sampled_from([None, ["10_49", "50_249"]])),
        "min_score": draw(st.sampled_from([0, 50, 70])),
        "daily_cap": draw(st.sampled_from([None, 5])),
        "closed_now": draw(st.booleans()) and draw(st.booleans()),
    }
    if draw(st.booleans()):
        plan["wants_exclusive"] = True
        plan["exclusive_price_cents"] = price * draw(st.sampled_from([1, 2, 3, 5]))
    return plan


qualifications = st.fixed_dictionaries(
    {
        "company": st.just("Durand SA"),
        "postcode": st.sampled_from(["69003", "13001", "75011"]),
    },
    optional={
        "company_size": st.sampled_from(["1", "10_49", "250_999"]),
        "budget": st.sampled_from(["lt_1k", "20k_100k"]),
        "timeframe": st.sampled_from(["now", "later"]),
        "job_title": st.sampled_from(["Développeur", "Directeur général"]),
    },
)


def _closed_now() -> dict:
    """Opening hours that exclude this moment: one hour three days from now."""
    today = datetime.now(ZoneInfo("Europe/Paris")).weekday()
    return {DAY_NAMES[(today + 3) % 7]: [["09:00", "10:00"]]}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    plans=st.lists(campaigns(), max_size=8),
    max_buyers=st.sampled_from([1, 2, 3]),
    qualification=qualifications,
    share_bps=st.sampled_from([5000, 3333]),
    multiplier_bps=st.sampled_from([None, 8_000, 12_500]),
)
def test_the_ping_answers_what_distribution_then_sells(
    app, client, plans, max_buyers, qualification, share_bps, multiplier_bps
):
    from tests.conftest import _empty_tables

    try:
        publisher = factories.PublisherFactory(revenue_share_bps=share_bps)
        magnet = factories.magnet(
            publisher,
            max_buyers=max_buyers,
            fields=[{"name": name, "required": False} for name in ASKED],
        )
        if multiplier_bps is not None:  # a source buyers judged: its earnings move
            db.session.add(
                SourceQuality(
                    source_key=magnet_key(magnet.id),
                    publisher_id=publisher.id,
                    magnet_id=magnet.id,
                    score=60,
                    payout_multiplier_bps=multiplier_bps,
                    updated_at=utcnow(),
                )
            )
            db.session.commit()
        buyers = {}
        for n, plan in enumerate(plans):
            buyer = buyers.setdefault(plan.pop("buyer"), factories.BuyerFactory())
            closed = plan.pop("closed_now")
            factories.campaign(
                buyer, name=f"Campaign {n}", opening_hours=_closed_now() if closed else None, **plan
            )
        key = issue_api_key(publisher.id, "server")[1]

        answer = client.post(
            "/api/v1/leads/ping",
            json={"magnet": magnet.key, "qualification": qualification, "phone_given": True},
            headers={"Authorization": f"Bearer {key}"},
        ).get_json()
        expected = estimate(capture_target(magnet.key), qualification, utcnow(), phone_given=True)
        lead_id = factories.lead(magnet, **qualification).lead_id  # captured, distributed

        lead = db.session.get(Lead, lead_id)
        prices = db.session.scalars(select(Sale.price_cents).where(Sale.lead_id == lead_id)).all()
        earned = db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0))
            .join(Sale, Sale.id == LedgerEntry.sale_id)
            .where(Sale.lead_id == lead_id, LedgerEntry.kind == LedgerKind.PUBLISHER_EARNING)
        )
        assert (answer["eligible_buyers"], answer["estimated_payout_cents"]) == (
            len(prices),
            earned,
        ), lead.distribution_log
        assert (expected.buyers, expected.revenue_cents, expected.exclusive) == (
            len(prices),
            sum(prices),
            lead.sold_exclusively,
        ), lead.distribution_log
    finally:
        db.session.rollback()
        _empty_tables()
        snapshots.forget_all()
