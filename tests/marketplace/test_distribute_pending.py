"""Capture wakes the workers instead of queueing a job per lead: one run, coalesced,
distributes every fresh pending lead, each claimed with SKIP LOCKED in its own
transaction, so that several workers share the leads through PostgreSQL alone
(issue 15)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from marketplace import jobs
from marketplace.capture import start_distribution
from marketplace.distribution import distribute_pending
from marketplace.extensions import db
from marketplace.models import Lead, LeadStatus, LedgerEntry, LedgerKind, Sale
from tests import factories


@pytest.mark.services
def test_many_captures_wake_one_run_that_distributes_them_all(app, run_jobs):
    factories.campaign()
    magnet = factories.magnet()
    lead_ids = [factories.lead(magnet, distribute=False).lead_id for _ in range(5)]
    for lead_id in lead_ids:
        start_distribution(lead_id)
    assert jobs.queue().count == 1  # coalesced: one run for five leads
    run_jobs()
    db.session.expire_all()
    statuses = {db.session.get(Lead, lead_id).status for lead_id in lead_ids}
    assert statuses == {LeadStatus.DISTRIBUTED}
    start_distribution(lead_ids[0])  # the run cleared its wake-up: a new one queues again
    assert jobs.queue().count == 1
    run_jobs()


@pytest.mark.services
def test_workers_running_at_once_share_the_pending_leads_and_never_sell_one_twice(app):
    campaigns = [factories.campaign(price_cents=3000 + 500 * i) for i in range(4)]
    magnet = factories.magnet(max_buyers=3)
    lead_ids = [factories.lead(magnet, distribute=False).lead_id for _ in range(30)]

    def work(_):
        with app.app_context():
            return distribute_pending()

    with ThreadPoolExecutor(max_workers=4) as pool:
        taken = list(pool.map(work, range(4)))

    assert sum(taken) >= 30  # each lead taken once, or again after another sold it
    db.session.expire_all()
    per_lead = dict(
        db.session.execute(select(Sale.lead_id, func.count(Sale.id)).group_by(Sale.lead_id)).all()
    )
    assert set(per_lead) == set(lead_ids)
    assert all(count == 3 for count in per_lead.values())
    assert len(campaigns) == 4
    debits = db.session.scalar(
        select(func.sum(LedgerEntry.amount_cents)).where(LedgerEntry.kind == LedgerKind.SALE_DEBIT)
    )
    assert -debits == db.session.scalar(select(func.sum(Sale.price_cents)))


def test_a_lead_whose_distribution_fails_is_left_for_the_sweep_and_the_others_go_on(
    monkeypatch,
):
    factories.campaign()
    magnet = factories.magnet()
    broken, fine = (factories.lead(magnet, distribute=False).lead_id for _ in range(2))
    from marketplace import distribution

    real = distribution.distribute_lead

    def failing(lead_id, now=None):
        if lead_id == broken:
            raise RuntimeError("a bug in one lead's data")
        return real(lead_id, now)

    monkeypatch.setattr(distribution, "distribute_lead", failing)
    assert distribute_pending() == 2
    db.session.expire_all()
    assert db.session.get(Lead, broken).status is LeadStatus.PENDING
    assert db.session.get(Lead, broken).distribute_after is not None  # the sweep's, in a minute
    assert db.session.get(Lead, fine).status is LeadStatus.DISTRIBUTED
    assert distribute_pending() == 0  # the next run does not stumble on it first


def test_a_lead_waiting_for_opening_hours_is_the_sweeps_not_the_runs():
    factories.campaign()
    captured = factories.lead(distribute=False)
    lead = db.session.get(Lead, captured.lead_id)
    from marketplace.models import utcnow

    lead.distribute_after = utcnow()
    db.session.commit()
    assert distribute_pending() == 0
