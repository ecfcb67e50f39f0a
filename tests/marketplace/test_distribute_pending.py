"""Capture wakes the workers instead of queueing a job per lead: one run, coalesced,
distributes every fresh pending lead, each claimed with SKIP LOCKED in its own
transaction, so that several workers share the leads through PostgreSQL alone
(issue 15)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

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
    assert jobs.settle_wakes()  # sent by the process's waker thread, after the answers
    assert jobs.queue().count == 1  # coalesced: one run for five leads
    run_jobs()
    db.session.expire_all()
    statuses = {db.session.get(Lead, lead_id).status for lead_id in lead_ids}
    assert statuses == {LeadStatus.DISTRIBUTED}
    start_distribution(lead_ids[0])  # the run cleared its wake-up: a new one queues again
    assert jobs.settle_wakes()
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


@pytest.mark.services
def test_many_wake_ups_queue_one_run_and_leave_one_nudge(app):
    for _ in range(5):
        jobs.wake(distribute_pending)
    assert jobs.queue().count == 1
    nudges = jobs.redis_connection().lrange(
        jobs._nudge_key(jobs.job_name(distribute_pending)), 0, -1
    )
    assert nudges == [b"1"]  # however many captures: a waiting run needs one


@pytest.mark.services
def test_a_wake_up_says_the_runs_are_busy_while_the_last_nudge_is_unread(app):
    nudge = jobs._nudge_key(jobs.job_name(distribute_pending))
    assert jobs.wake(distribute_pending) is False  # it queued a run
    assert jobs.wake(distribute_pending) is True  # the first one's nudge is still there
    jobs.redis_connection().blpop([nudge], timeout=1)  # a run came back for more work
    assert jobs.wake(distribute_pending) is False
    assert jobs.wake(distribute_pending) is True


@pytest.mark.services
def test_a_workers_run_out_of_leads_waits_for_the_next_capture_then_ends(app, monkeypatch):
    """A steady stream of leads is one run, not a queued job per lead: the run that finds
    nothing waits for the next wake-up's nudge (the linger), takes that lead, and ends
    when a linger passes with nothing."""
    monkeypatch.setattr(jobs, "_long_running", True)
    monkeypatch.setitem(app.config, "DISTRIBUTION_LINGER_SECONDS", 1.0)
    factories.campaign()
    magnet = factories.magnet()
    waiting = threading.Event()
    real_await = jobs.await_nudge

    def await_and_say(func, until):
        waiting.set()
        return real_await(func, until)

    monkeypatch.setattr(jobs, "await_nudge", await_and_say)

    def run():
        with app.app_context():
            started = time.monotonic()
            return distribute_pending(), time.monotonic() - started

    with ThreadPoolExecutor(max_workers=1) as pool:
        running = pool.submit(run)
        assert waiting.wait(5)  # the run found no lead and waits
        captured = factories.lead(magnet, distribute=False)
        start_distribution(captured.lead_id)
        taken, seconds = running.result(timeout=10)
    assert taken == 1
    assert 1.0 <= seconds < 5  # one linger after the lead, then it ended
    db.session.expire_all()
    assert db.session.get(Lead, captured.lead_id).status is LeadStatus.DISTRIBUTED


@pytest.mark.services
def test_a_run_that_used_its_time_queues_the_next_one_behind_the_other_jobs(app, monkeypatch):
    monkeypatch.setattr(jobs, "_long_running", True)
    monkeypatch.setitem(app.config, "DISTRIBUTION_RUN_SECONDS", 0)
    factories.campaign()
    captured = factories.lead(factories.magnet(), distribute=False)
    jobs.queue().empty()
    assert distribute_pending() == 0
    assert jobs.queue().count == 1  # the next run, for the lead left pending
    assert db.session.get(Lead, captured.lead_id).status is LeadStatus.PENDING


def test_outside_a_long_running_worker_a_run_ends_as_soon_as_it_finds_nothing(app):
    started = time.monotonic()
    assert distribute_pending() == 0
    assert time.monotonic() - started < 0.5


@pytest.mark.services
def test_the_workers_look_up_of_the_buyers_who_bought_the_person_is_the_rules(app):
    """The distribution's pipelined SQL (open_lead, PostgreSQL) finds the same buyers as
    matching's rule (buyers_who_bought_person): the person by e-mail or by phone, in any
    sector, within the dedupe window."""
    from marketplace.distribution import open_lead
    from marketplace.matching import buyers_who_bought_person
    from marketplace.models import utcnow

    by_email, by_phone, _another_persons_buyer = (
        factories.campaign(slugs=(slug,)).buyer_id
        for slug in ("it/hardware", "it/cybersecurity", "it/telecom")
    )
    sold_by_email = factories.lead(
        factories.magnet(slug="it/hardware"), email="marie@example.fr", phone="06 11 11 11 11"
    )
    factories.lead(
        factories.magnet(slug="it/cybersecurity"),
        email="mdurand@example.org",
        phone="06 22 22 22 22",
    )
    factories.lead(factories.magnet(slug="it/telecom"))
    new = factories.lead(
        factories.magnet(slug="it/cloud-hosting"),
        distribute=False,
        email="marie@example.fr",
        phone="06 22 22 22 22",
    )
    now = utcnow()

    def both():
        lead = db.session.get(Lead, new.lead_id)
        by_rule = buyers_who_bought_person(lead, now)
        _lead, _facts, by_worker = open_lead(new.lead_id, now)
        db.session.rollback()
        return by_rule, by_worker

    assert both() == ({by_email, by_phone}, {by_email, by_phone})
    sale = db.session.scalars(select(Sale).where(Sale.lead_id == sold_by_email.lead_id)).one()
    sale.created_at = now - timedelta(days=app.config["DEDUPE_WINDOW_DAYS"] + 1)
    db.session.commit()
    assert both() == ({by_phone}, {by_phone})


@pytest.mark.services
def test_postgresql_reads_a_sales_campaigns_by_key_among_thousands(app, monkeypatch, run_jobs):
    """A set-returning function counts for 100 rows: the sale round joined its offers
    to the campaigns by a sequential scan of all of them (10,000 in bench/ping.py's
    platform) at every sale. Told how many offers it holds, it reads each offer's
    campaign by its key."""
    from marketplace import selling
    from marketplace.db_pool import autocommit_connection
    from marketplace.models import Campaign, Organization

    rounds = []
    real_connection = selling.driver_connection

    class Recording:
        def __init__(self, connection):
            self.connection = connection

        def execute(self, statement, params=None, **options):
            if statement is selling._ROUND:
                rounds.append(params)
            return self.connection.execute(statement, params, **options)

        def __getattr__(self, name):
            return getattr(self.connection, name)

    monkeypatch.setattr(selling, "driver_connection", lambda: Recording(real_connection()))
    sold_by = factories.campaign()
    # As bench/load.py's --campaigns: buyers of ten active campaigns each, in no sector.
    buyer_columns = ", ".join(
        column.name
        for column in Organization.__table__.columns
        if column.name not in ("id", "stripe_customer_id")
    )
    campaign_columns = ", ".join(
        column.name
        for column in Campaign.__table__.columns
        if column.name not in ("id", "buyer_id")
    )
    with autocommit_connection() as connection:
        connection.execute(
            f"WITH buyers AS (INSERT INTO organizations ({buyer_columns}) "
            f"SELECT {buyer_columns} FROM organizations, generate_series(1, 300) "
            "WHERE id = %s RETURNING id) "
            f"INSERT INTO campaigns (buyer_id, {campaign_columns}) "
            f"SELECT buyers.id, {campaign_columns} FROM buyers, campaigns, "
            "generate_series(1, 10) WHERE campaigns.id = %s",
            (sold_by.buyer_id, sold_by.id),
        )
        connection.execute("ANALYZE organizations")
        connection.execute("ANALYZE campaigns")
    factories.lead()
    run_jobs()
    assert rounds, "the lead was not offered"
    with autocommit_connection() as connection:
        plan = "\n".join(
            row[0] for row in connection.execute(b"EXPLAIN " + selling._ROUND.encode(), rounds[0])
        )
    assert "Seq Scan on campaigns" not in plan, plan
