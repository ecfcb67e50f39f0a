"""The quality of sources: buyers' ratings, returns and won deals move a publisher's and
a magnet's score (from a prior, so that a few ratings do not make a star), which weighs
in matching (a campaign's minimum, the waiting leads' order) and in the payout."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from marketplace import disputes
from marketplace.capture.service import sweep_pending_leads
from marketplace.extensions import db
from marketplace.models import (
    AuditEvent,
    Lead,
    LedgerEntry,
    QualitySettings,
    Sale,
    SourceQuality,
    utcnow,
)
from marketplace.quality import rate_purchase, record_outcome
from marketplace.quality import sources as quality
from tests import factories

DEFAULTS = quality.Settings(3.5, 10, 9_000, 11_000)
PRIOR = quality.platform_priors(DEFAULTS)


def score(**evidence) -> int:
    return quality.assess(quality.Evidence(**evidence), PRIOR, DEFAULTS).score


def test_a_source_nobody_judged_scores_the_priors_and_earns_its_share_as_it_is():
    neutral = quality.neutral_score(DEFAULTS)
    assert score() == neutral
    assert quality.payout_multiplier_bps(neutral, DEFAULTS) == 10_000
    assert quality.payout_multiplier_bps(100, DEFAULTS) == 11_000
    assert quality.payout_multiplier_bps(0, DEFAULTS) == 9_000


def test_three_five_star_ratings_do_not_make_a_star_but_thirty_nearly_do():
    three = quality.estimate(quality.Evidence(sales=3, ratings=3, rating_sum=15), PRIOR, 10)
    thirty = quality.estimate(quality.Evidence(sales=30, ratings=30, rating_sum=150), PRIOR, 10)
    assert round(three.rating, 2) == 3.85  # (10 * 3.5 + 15) / 13
    assert round(thirty.rating, 2) == 4.62  # (10 * 3.5 + 150) / 40
    assert (
        score()
        < score(sales=3, ratings=3, rating_sum=15)
        < score(sales=30, ratings=30, rating_sum=150)
    )
    # And one bad rating among few weighs less than among none at all.
    assert score(sales=1, ratings=1, rating_sum=1) > score(sales=10, ratings=10, rating_sum=10)


def test_returns_lower_the_score_and_won_deals_raise_it():
    base = {"sales": 20, "ratings": 10, "rating_sum": 40}
    assert score(**base, accepted_returns=5) < score(**base, accepted_returns=1) < score(**base)
    assert score(**base, won=8) > score(**base, won=2) > score(**base)


evidence = st.builds(
    lambda sales, ratings, stars, returns, won: quality.Evidence(
        sales=sales,
        ratings=min(ratings, sales),
        rating_sum=min(ratings, sales) * stars,
        accepted_returns=min(returns, sales),
        won=min(won, sales),
    ),
    st.integers(0, 500),
    st.integers(0, 500),
    st.integers(1, 5),
    st.integers(0, 500),
    st.integers(0, 500),
)


@settings(max_examples=300, deadline=None)
@given(evidence, st.integers(1, 5))
def test_the_score_moves_the_right_way_whatever_the_evidence(found, stars):
    """A better rating never lowers it, an accepted return never raises it, a won deal
    (of a lead already sold) never lowers it; and it stays within 0 to 100."""
    now = quality.assess(found, PRIOR, DEFAULTS).score
    assert 0 <= now <= 100
    rated = quality.Evidence(
        found.sales + 1,
        found.ratings + 1,
        found.rating_sum + stars,
        found.accepted_returns,
        found.won,
    )
    better = quality.Evidence(
        found.sales + 1, found.ratings + 1, found.rating_sum + 5, found.accepted_returns, found.won
    )
    assert (
        quality.assess(better, PRIOR, DEFAULTS).score
        >= quality.assess(rated, PRIOR, DEFAULTS).score
    )
    if found.accepted_returns < found.sales:
        returned = quality.Evidence(
            found.sales, found.ratings, found.rating_sum, found.accepted_returns + 1, found.won
        )
        assert quality.assess(returned, PRIOR, DEFAULTS).score <= now
    if found.won < found.sales:
        won = quality.Evidence(
            found.sales, found.ratings, found.rating_sum, found.accepted_returns, found.won + 1
        )
        assert quality.assess(won, PRIOR, DEFAULTS).score >= now


# --- the loop, through the use cases -------------------------------------------------


def sold_leads(magnet, buyer, count: int) -> list[Sale]:
    for _ in range(count):
        factories.lead(magnet)
    return list(
        db.session.scalars(
            select(Sale)
            .join(Lead, Lead.id == Sale.lead_id)
            .where(Lead.magnet_id == magnet.id, Sale.buyer_id == buyer.id)
            .order_by(Sale.id)
        )
    )


def row(key: str) -> SourceQuality:
    db.session.expire_all()
    return db.session.get(SourceQuality, key)


def test_ratings_outcomes_and_accepted_returns_move_the_publishers_and_magnets_scores(run_jobs):
    buyer = factories.BuyerFactory()
    factories.campaign(buyer)
    publisher = factories.PublisherFactory()
    good, bad = factories.magnet(publisher), factories.magnet(publisher, title="Free audit")
    good_sales, bad_sales = sold_leads(good, buyer, 4), sold_leads(bad, buyer, 4)
    neutral = quality.neutral_score()

    for sale in good_sales:
        rate_purchase(buyer.id, sale.id, stars=5)
    record_outcome(buyer.id, good_sales[0].id, status="won", amount_cents=900_000)
    for sale in bad_sales:
        rate_purchase(buyer.id, sale.id, stars=1)
    run_jobs()
    good_row, bad_row = row(quality.magnet_key(good.id)), row(quality.magnet_key(bad.id))
    own = row(quality.publisher_key(publisher.id))
    assert (good_row.sales, good_row.ratings, good_row.rating_sum, good_row.won) == (4, 4, 20, 1)
    assert (bad_row.ratings, bad_row.rating_sum) == (4, 4)
    assert good_row.score > neutral > bad_row.score
    assert good_row.payout_multiplier_bps > 10_000 > bad_row.payout_multiplier_bps
    assert (own.sales, own.ratings, own.rating_sum) == (8, 8, 24)

    before = bad_row.score
    dispute = disputes.open_dispute(buyer.id, bad_sales[0].id, "fake", None)
    admin = factories.admin_user()
    disputes.resolve_dispute(dispute.id, admin_user_id=admin.id, accept=True)
    run_jobs()
    assert row(quality.magnet_key(bad.id)).accepted_returns == 1
    assert row(quality.magnet_key(bad.id)).score < before

    # Recomputed from the verdicts themselves: a second run changes nothing.
    snapshot = {c: getattr(row(quality.magnet_key(good.id)), c) for c in ("score", "sales")}
    quality.refresh_publishers([publisher.id])
    quality.refresh_all()
    again = row(quality.magnet_key(good.id))
    assert {c: getattr(again, c) for c in snapshot} == snapshot


def test_a_new_magnet_starts_from_its_publishers_record():
    buyer = factories.BuyerFactory()
    factories.campaign(buyer)
    publisher = factories.PublisherFactory()
    old = factories.magnet(publisher)
    for sale in sold_leads(old, buyer, 6):
        rate_purchase(buyer.id, sale.id, stars=1)
    new = factories.magnet(publisher, title="Brand new magnet")
    quality.refresh_publishers([publisher.id])
    assert row(quality.magnet_key(new.id)).sales == 0
    assert row(quality.magnet_key(new.id)).score < quality.neutral_score()


def test_a_campaign_with_a_minimum_source_quality_skips_the_poor_sources():
    publisher = factories.PublisherFactory()
    poor = factories.magnet(publisher)
    rater = factories.BuyerFactory()
    factories.campaign(rater)
    for sale in sold_leads(poor, rater, 6):
        rate_purchase(rater.id, sale.id, stars=1)
        disputes.resolve_dispute(
            disputes.open_dispute(rater.id, sale.id, "fake", None).id,
            admin_user_id=factories.admin_user().id,
            accept=True,
        )
    quality.refresh_publishers([publisher.id])
    poor_score = row(quality.magnet_key(poor.id)).score
    assert poor_score < 40

    demanding = factories.BuyerFactory()
    strict = factories.campaign(demanding, min_source_quality=50, price_cents=9000)
    tolerant = factories.BuyerFactory()
    factories.campaign(tolerant, min_source_quality=poor_score, price_cents=8000)
    captured = factories.lead(poor)
    buyers = set(db.session.scalars(select(Sale.buyer_id).where(Sale.lead_id == captured.lead_id)))
    assert demanding.id not in buyers and tolerant.id in buyers
    lead = db.session.get(Lead, captured.lead_id)
    assert strict.id in lead.distribution_log["verdicts"]["filter_source_quality"]


def test_the_payout_follows_the_magnets_multiplier_within_the_admins_bounds():
    publisher = factories.PublisherFactory()
    magnet = factories.magnet(publisher)
    buyer = factories.BuyerFactory()
    factories.campaign(buyer, price_cents=10_000)
    for sale in sold_leads(magnet, buyer, 12):
        rate_purchase(buyer.id, sale.id, stars=5)
        record_outcome(buyer.id, sale.id, status="won", amount_cents=100_000)
    quality.refresh_publishers([publisher.id])
    multiplier = row(quality.magnet_key(magnet.id)).payout_multiplier_bps
    assert 10_000 < multiplier <= 11_000

    other = factories.BuyerFactory()
    factories.campaign(other, price_cents=10_000)
    captured = factories.lead(magnet)
    sale = db.session.scalar(
        select(Sale).where(Sale.lead_id == captured.lead_id, Sale.buyer_id == other.id)
    )
    earning = db.session.scalar(
        select(LedgerEntry.amount_cents).where(LedgerEntry.entry_key == f"sale:{sale.id}:earning")
    )
    share = publisher.revenue_share_bps
    assert earning == 10_000 * min(10_000, share * multiplier // 10_000) // 10_000
    assert earning > 10_000 * share // 10_000


def test_waiting_leads_are_released_best_source_first(monkeypatch):
    publisher = factories.PublisherFactory()
    poor, fine = factories.magnet(publisher), factories.magnet(publisher, title="Fine")
    db.session.add_all(
        [
            SourceQuality(
                source_key=quality.magnet_key(poor.id),
                publisher_id=publisher.id,
                magnet_id=poor.id,
                score=20,
                payout_multiplier_bps=9_300,
                updated_at=utcnow(),
            ),
            SourceQuality(
                source_key=quality.magnet_key(fine.id),
                publisher_id=publisher.id,
                magnet_id=fine.id,
                score=90,
                payout_multiplier_bps=10_700,
                updated_at=utcnow(),
            ),
        ]
    )
    db.session.commit()
    past = utcnow() - timedelta(minutes=10)
    first = factories.lead(poor, distribute=False, now=past).lead_id
    second = factories.lead(fine, distribute=False, now=past).lead_id
    started = []
    monkeypatch.setattr(
        "marketplace.capture.service._redistribute", lambda lead_id: started.append(lead_id)
    )
    sweep_pending_leads()
    assert started.index(second) < started.index(first)


def test_admins_set_the_priors_and_bounds_with_field_errors_and_an_audit(login_as, submit_form):
    http = login_as(factories.admin_user())
    page = submit_form(
        "/admin/quality",
        {
            "prior_rating": "7",
            "prior_weight": "10",
            "payout_min": "1.2",
            "payout_max": "1.1",
            "reason": "x",
        },
        http=http,
    )
    assert page.status_code == 400
    text = page.get_data(as_text=True)
    assert text.count("invalid-feedback") >= 3
    answer = submit_form(
        "/admin/quality",
        {
            "prior_rating": "3.0",
            "prior_weight": "20",
            "payout_min": "0.80",
            "payout_max": "1.25",
            "reason": "Tighter payouts after the Q3 review",
        },
        http=http,
    )
    assert answer.status_code == 302
    db.session.expire_all()
    stored = db.session.get(QualitySettings, 1)
    assert (stored.prior_rating_tenths, stored.prior_weight) == (30, 20)
    assert (stored.payout_min_bps, stored.payout_max_bps) == (8_000, 12_500)
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "quality.settings_changed")
    )
    assert event.details["after"]["payout_max_bps"] == 12_500
    # Put the platform's settings back for the other tests.
    stored.prior_rating_tenths, stored.prior_weight = 35, 10
    stored.payout_min_bps, stored.payout_max_bps = 9_000, 11_000
    db.session.commit()


def test_the_publisher_sees_its_scores_with_reasons_and_no_one_elses(login_as, run_jobs):
    buyer = factories.BuyerFactory()
    factories.campaign(buyer)
    user = factories.publisher_user()
    magnet = factories.magnet(user.organization, title="Our CRM quote")
    for sale in sold_leads(magnet, buyer, 3):
        rate_purchase(buyer.id, sale.id, stars=5)
    someone_else = factories.magnet(factories.PublisherFactory(), title="Their secret magnet")
    run_jobs()
    http = login_as(user)
    page = http.get("/publishers/quality")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Our CRM quote" in text and "Their secret magnet" not in text
    assert "3 ratings" in text and "3.85" in text  # the prior weighs three ratings down
    assert someone_else.id  # (made so that the page had something to leak)
    assert login_as(factories.buyer_user()).get("/publishers/quality").status_code in (403, 404)
