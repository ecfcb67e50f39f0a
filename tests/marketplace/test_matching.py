"""Distribution: the right buyers, in price order, never too many, never twice."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from psycopg.errors import DeadlockDetected
from sqlalchemy import func, select

from marketplace import distribution, snapshots
from marketplace.distribution import distribute_lead
from marketplace.extensions import db
from marketplace.models import (
    BillingStatus,
    Campaign,
    CampaignStatus,
    CampaignUsage,
    Lead,
    LeadStatus,
    LedgerEntry,
    LedgerKind,
    Sale,
    utcnow,
)
from tests import factories


def sales_of(lead_id: int) -> list[Sale]:
    return list(db.session.scalars(select(Sale).where(Sale.lead_id == lead_id).order_by(Sale.id)))


def test_a_lead_is_sold_to_the_best_paying_campaigns_up_to_its_max_buyers():
    cheap = factories.campaign(price_cents=3000)
    best = factories.campaign(price_cents=9000)
    middle = factories.campaign(price_cents=6000)
    factories.campaign(price_cents=6000, slugs=("energy/solar",))  # other sector
    publisher = factories.PublisherFactory(revenue_share_bps=4000)
    magnet = factories.magnet(publisher, max_buyers=2)

    captured = factories.lead(magnet)

    sales = sales_of(captured.lead_id)
    assert [s.campaign_id for s in sales] == [best.id, middle.id]
    assert cheap.id not in [s.campaign_id for s in sales]
    lead = db.session.get(Lead, captured.lead_id)
    assert (lead.status, lead.sales_count) == (LeadStatus.DISTRIBUTED, 2)
    assert lead.score is not None and lead.temperature is not None
    entries = list(db.session.scalars(select(LedgerEntry).order_by(LedgerEntry.id)))
    debits = [e for e in entries if e.kind is LedgerKind.SALE_DEBIT]
    earnings = [e for e in entries if e.kind is LedgerKind.PUBLISHER_EARNING]
    assert sorted(-e.amount_cents for e in debits) == [6000, 9000]
    assert {e.organization_id for e in debits} == {best.buyer_id, middle.buyer_id}
    assert sorted(e.amount_cents for e in earnings) == [2400, 3600]  # 40 % share
    assert {e.organization_id for e in earnings} == {publisher.id}
    assert all(e.description.startswith(f"Lead #{lead.id} - it/software - ") for e in entries)


def test_a_campaign_on_the_parent_sector_covers_its_sub_sectors():
    parent = factories.campaign(slugs=("it",), price_cents=4000)
    captured = factories.lead(factories.magnet(slug="it/software"))
    assert [s.campaign_id for s in sales_of(captured.lead_id)] == [parent.id]


def test_a_buyer_gets_a_lead_once_even_with_two_matching_campaigns():
    buyer = factories.BuyerFactory()
    factories.campaign(buyer, price_cents=5000)
    factories.campaign(buyer, price_cents=7000)
    captured = factories.lead()
    sales = sales_of(captured.lead_id)
    assert len(sales) == 1 and sales[0].price_cents == 7000


def test_equal_prices_go_first_to_the_campaign_served_least_recently():
    first = factories.campaign(price_cents=5000)
    second = factories.campaign(price_cents=5000)
    magnet = factories.magnet(max_buyers=1)
    winners = [sales_of(factories.lead(magnet).lead_id)[0].campaign_id for _ in range(4)]
    assert sorted(winners[:2]) == sorted([first.id, second.id])
    assert winners[2:] == winners[:2]


@pytest.mark.parametrize(
    "exclude",
    ["billing", "paused", "not_a_partner", "country", "department", "kind", "score", "daily_cap"],
)
def test_a_campaign_that_does_not_qualify_gets_nothing(exclude):
    magnet = factories.magnet()
    if exclude == "not_a_partner":
        # Created after the person consented: not in the partner list shown to them.
        captured = factories.lead(magnet, distribute=False)
        campaign = factories.campaign()
    else:
        campaign = factories.campaign()
        captured = factories.lead(magnet, distribute=False)
    if exclude == "billing":
        campaign.buyer.billing_status = BillingStatus.PAYMENT_FAILED
    elif exclude == "paused":
        campaign.status = CampaignStatus.PAUSED
    elif exclude == "country":
        campaign.countries = ["BE"]
    elif exclude == "department":
        campaign.departments = ["69", "13"]  # the lead is in Paris (75)
    elif exclude == "kind":
        campaign.magnet_kinds = ["webinar"]
    elif exclude == "score":
        campaign.min_score = 100
    elif exclude == "daily_cap":
        campaign.daily_cap = 1
        db.session.commit()
        factories.lead(magnet)  # takes the only lead of the day
        assert len(db.session.scalars(select(Sale)).all()) == 1
    db.session.commit()

    assert distribute_lead(captured.lead_id) == []
    assert db.session.get(Lead, captured.lead_id).status is LeadStatus.UNSOLD


def test_a_monthly_budget_is_never_passed():
    campaign = factories.campaign(price_cents=4000, monthly_budget_cents=10000)
    magnet = factories.magnet()
    sold = [bool(sales_of(factories.lead(magnet).lead_id)) for _ in range(4)]
    assert sold == [True, True, False, False]
    spent = -db.session.scalar(
        select(func.sum(LedgerEntry.amount_cents)).where(
            LedgerEntry.organization_id == campaign.buyer_id
        )
    )
    assert spent == 8000


def test_a_buyer_does_not_buy_the_same_person_twice_within_the_window():
    campaign = factories.campaign()
    factories.lead(factories.magnet(), email="jo@firm.fr", now=utcnow() - timedelta(days=3))
    # Same person in another sector the buyer also covers: not sold to it again.
    campaign.sectors.append(factories.sector("it/hardware"))
    db.session.commit()
    again = factories.lead(factories.magnet(slug="it/hardware"), email="jo@firm.fr")
    assert sales_of(again.lead_id) == []


def test_running_the_distribution_twice_sells_nothing_more():
    factories.campaign()
    factories.campaign()
    captured = factories.lead(distribute=False)

    first = distribute_lead(captured.lead_id)
    second = distribute_lead(captured.lead_id)

    assert len(first) == 2 and second == []
    assert len(sales_of(captured.lead_id)) == 2
    assert db.session.scalar(select(func.count(LedgerEntry.id))) == 4


def test_distributing_a_lead_that_does_not_exist_does_nothing():
    assert distribute_lead(999_999) == []


@pytest.mark.services
def test_many_workers_selling_the_same_leads_at_once_never_oversell(app):
    """Eight threads distribute the same 20 leads while 6 campaigns compete, on PostgreSQL."""
    campaigns = [factories.campaign(price_cents=3000 + 500 * i, daily_cap=9) for i in range(6)]
    magnet = factories.magnet(max_buyers=3)
    lead_ids = [factories.lead(magnet, distribute=False).lead_id for _ in range(20)]

    def work(lead_id):
        with app.app_context():
            return distribute_lead(lead_id)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(work, [lead_id for lead_id in lead_ids for _ in range(4)]))

    db.session.expire_all()
    per_lead = dict(
        db.session.execute(select(Sale.lead_id, func.count(Sale.id)).group_by(Sale.lead_id)).all()
    )
    assert all(count <= 3 for count in per_lead.values())
    for lead_id in lead_ids:
        assert db.session.get(Lead, lead_id).sales_count == per_lead.get(lead_id, 0)
    per_campaign = dict(
        db.session.execute(
            select(Sale.campaign_id, func.count(Sale.id)).group_by(Sale.campaign_id)
        ).all()
    )
    assert all(per_campaign.get(c.id, 0) <= 9 for c in campaigns)
    assert sum(per_lead.values()) == min(60, 6 * 9)
    debits = db.session.scalar(
        select(func.sum(LedgerEntry.amount_cents)).where(LedgerEntry.kind == LedgerKind.SALE_DEBIT)
    )
    assert -debits == db.session.scalar(select(func.sum(Sale.price_cents)))


def test_a_distribution_chosen_as_a_deadlock_victim_runs_again(monkeypatch):
    campaign = factories.campaign()
    captured = factories.lead(distribute=False)
    real_round = distribution.sell_offers
    calls = []

    def deadlocked_once(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            raise DeadlockDetected("deadlock detected")
        return real_round(*args, **kwargs)

    monkeypatch.setattr(distribution, "sell_offers", deadlocked_once)

    [sale_id] = distribute_lead(captured.lead_id)

    assert len(calls) == 2
    assert db.session.get(Sale, sale_id).campaign_id == campaign.id
    assert db.session.get(Lead, captured.lead_id).sales_count == 1


def test_any_other_failure_is_not_retried(monkeypatch):
    factories.campaign()
    captured = factories.lead(distribute=False)
    calls = []

    def failing(*args, **kwargs):
        calls.append(args)
        raise RuntimeError("boom")

    monkeypatch.setattr(distribution, "sell_offers", failing)
    with pytest.raises(RuntimeError):
        distribute_lead(captured.lead_id)
    assert len(calls) == 1
    assert db.session.get(Lead, captured.lead_id).status is LeadStatus.PENDING


@pytest.mark.services
def test_concurrent_distributions_share_a_cap_without_passing_it(app):
    campaign = factories.campaign(daily_cap=5)
    magnet = factories.magnet(max_buyers=1)
    lead_ids = [factories.lead(magnet, distribute=False).lead_id for _ in range(16)]

    def work(lead_id):
        with app.app_context():
            return len(distribute_lead(lead_id))

    with ThreadPoolExecutor(max_workers=8) as pool:
        sold = sum(pool.map(work, lead_ids))

    assert sold == 5
    assert (
        db.session.scalar(select(func.count(Sale.id)).where(Sale.campaign_id == campaign.id)) == 5
    )
    assert db.session.get(Campaign, campaign.id) is not None


def test_a_lead_for_one_partner_goes_to_the_best_single_offer():
    factories.campaign(price_cents=5000)
    exclusive = factories.campaign(
        price_cents=4000, wants_exclusive=True, exclusive_price_cents=7000
    )
    captured = factories.lead(factories.magnet(max_buyers=1))
    [sale] = sales_of(captured.lead_id)
    assert (sale.campaign_id, sale.price_cents, sale.exclusive) == (exclusive.id, 7000, True)
    assert db.session.get(Lead, captured.lead_id).sold_exclusively


def test_an_exclusive_offer_above_the_shared_total_takes_the_lead_alone():
    for price in (6000, 5000, 4000):
        factories.campaign(price_cents=price)
    rich = factories.campaign(price_cents=4500, wants_exclusive=True, exclusive_price_cents=20000)
    captured = factories.lead(factories.magnet(max_buyers=3))
    [sale] = sales_of(captured.lead_id)
    assert (sale.campaign_id, sale.price_cents, sale.exclusive) == (rich.id, 20000, True)
    lead = db.session.get(Lead, captured.lead_id)
    assert (lead.sales_count, lead.places_left) == (1, 0)
    assert (
        -db.session.scalar(
            select(func.sum(LedgerEntry.amount_cents)).where(
                LedgerEntry.kind == LedgerKind.SALE_DEBIT
            )
        )
        == 20000
    )
    assert lead.distribution_log["verdicts"]["sold_exclusive"] == [rich.id]


def test_an_exclusive_offer_below_the_shared_total_loses_to_shared_sales():
    for price in (6000, 5000, 4000):
        factories.campaign(price_cents=price)
    factories.campaign(price_cents=3500, wants_exclusive=True, exclusive_price_cents=12000)
    captured = factories.lead(factories.magnet(max_buyers=3))
    sales = sales_of(captured.lead_id)
    assert sorted(s.price_cents for s in sales) == [4000, 5000, 6000]
    assert not any(s.exclusive for s in sales)


@pytest.mark.services
def test_two_leads_of_one_person_distributed_at_once_reach_a_buyer_once(app):
    campaign = factories.campaign()
    first = factories.lead(factories.magnet(), email="same@person.fr", distribute=False)
    second = factories.lead(
        factories.magnet(slug="it/software"), email="same@person.fr", distribute=False
    )
    # The second is a duplicate for capture (same sector); make it a new pending lead in
    # another sector the campaign also covers, as two different forms would.
    campaign.sectors.append(factories.sector("it/hardware"))
    db.session.get(Lead, second.lead_id).status = LeadStatus.PENDING
    db.session.get(Lead, second.lead_id).sector_id = factories.sector("it/hardware").id
    db.session.commit()

    def work(lead_id):
        with app.app_context():
            return len(distribute_lead(lead_id))

    with ThreadPoolExecutor(max_workers=2) as pool:
        sold = list(pool.map(work, [first.lead_id, second.lead_id]))
    assert sorted(sold) == [0, 1]
    assert (
        db.session.scalar(select(func.count(Sale.id)).where(Sale.buyer_id == campaign.buyer_id))
        == 1
    )


def test_a_campaign_found_capped_when_selling_leaves_its_place_to_the_next():
    capped = factories.campaign(price_cents=9000, daily_cap=1)
    second = factories.campaign(price_cents=8000)
    third = factories.campaign(price_cents=7000)
    magnet = factories.magnet(max_buyers=2)
    assert {s.campaign_id for s in sales_of(factories.lead(magnet).lead_id)} == {
        capped.id,
        second.id,
    }

    captured = factories.lead(magnet)  # the capped campaign is offered, refused, replaced

    assert [s.campaign_id for s in sales_of(captured.lead_id)] == [second.id, third.id]
    lead = db.session.get(Lead, captured.lead_id)
    assert (lead.status, lead.sales_count) == (LeadStatus.DISTRIBUTED, 2)
    assert lead.distribution_log["verdicts"] == {
        "daily_cap_reached": [capped.id],
        "sold": [second.id, third.id],
    }
    usage = db.session.execute(
        select(CampaignUsage.period, CampaignUsage.leads).where(
            CampaignUsage.campaign_id == capped.id
        )
    ).all()
    assert sorted(usage) == [("day", 1), ("month", 1)]  # the refusal took nothing


def test_a_buyer_whose_best_campaign_is_capped_gets_the_lead_through_its_next():
    buyer = factories.BuyerFactory()
    capped = factories.campaign(buyer, price_cents=9000, monthly_budget_cents=9000)
    spare = factories.campaign(buyer, price_cents=6000)
    factories.campaign(price_cents=5000)
    magnet = factories.magnet(max_buyers=1)
    assert [s.campaign_id for s in sales_of(factories.lead(magnet).lead_id)] == [capped.id]

    captured = factories.lead(magnet, email="other@person.fr")

    assert [s.campaign_id for s in sales_of(captured.lead_id)] == [spare.id]
    assert db.session.get(Lead, captured.lead_id).distribution_log["verdicts"][
        "monthly_budget_reached"
    ] == [capped.id]


def test_a_refused_exclusive_offer_leaves_the_lead_to_shared_sales():
    for price in (6000, 5000):
        factories.campaign(price_cents=price)
    rich = factories.campaign(
        price_cents=4500, wants_exclusive=True, exclusive_price_cents=20000, daily_cap=1
    )
    magnet = factories.magnet(max_buyers=2)
    assert [s.campaign_id for s in sales_of(factories.lead(magnet).lead_id)] == [rich.id]

    captured = factories.lead(magnet, email="second@person.fr")

    sales = sales_of(captured.lead_id)
    assert sorted(s.price_cents for s in sales) == [5000, 6000]
    assert not any(s.exclusive for s in sales)
    lead = db.session.get(Lead, captured.lead_id)
    assert not lead.sold_exclusively
    assert lead.distribution_log["verdicts"]["daily_cap_reached"] == [rich.id]


def test_campaigns_ranked_below_the_places_are_counted_not_judged():
    sold = [factories.campaign(price_cents=9000 - 100 * n) for n in range(2)]
    below = [factories.campaign(price_cents=5000) for _ in range(4)]
    below[0].countries = ["BE"]  # would be excluded, but is never reached
    db.session.commit()

    captured = factories.lead(factories.magnet(max_buyers=2))

    lead = db.session.get(Lead, captured.lead_id)
    assert lead.distribution_log["verdicts"] == {"sold": [c.id for c in sold]}
    assert lead.distribution_log["not_reached"] == len(below)


def test_a_lead_nobody_can_buy_lists_every_campaign_with_its_reason():
    paused = factories.campaign(price_cents=9000)
    foreign = factories.campaign(price_cents=8000, countries=["BE"])
    paused.status = CampaignStatus.PAUSED
    db.session.commit()
    captured = factories.lead()
    lead = db.session.get(Lead, captured.lead_id)
    assert lead.status is LeadStatus.UNSOLD
    assert lead.distribution_log["verdicts"] == {"filter_country": [foreign.id]}
    assert "not_reached" not in lead.distribution_log


def test_a_cap_set_after_the_rules_were_copied_applies_at_once(app, monkeypatch):
    """Distribution reads campaigns from a copy kept a minute; the caps are the table's."""
    monkeypatch.setitem(app.config, "SNAPSHOT_SECONDS", 10)
    monkeypatch.setitem(app.config, "MATCHING_SNAPSHOT_SECONDS", 60)
    campaign = factories.campaign(price_cents=5000)
    magnet = factories.magnet(max_buyers=1)
    try:
        assert sales_of(factories.lead(magnet).lead_id)  # copies the rules: no cap
        campaign.daily_cap = 1
        db.session.commit()
        assert sales_of(factories.lead(magnet, email="b@person.fr").lead_id)
        assert sales_of(factories.lead(magnet, email="c@person.fr").lead_id) == []
    finally:
        snapshots.forget_all()
