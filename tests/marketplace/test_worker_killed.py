"""A real worker process killed with SIGKILL in the middle of a burst of distributions,
then restarted: every lead ends distributed or deliberately unsold, none above its
places, every sale with its ledger rows and exactly one delivery, each webhook received
by a real local receiver."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select, text, update

from marketplace import delivery
from marketplace.capture import start_distribution, sweep_pending_leads
from marketplace.extensions import db
from marketplace.models import (
    Delivery,
    DeliveryStatus,
    Lead,
    LeadStatus,
    LedgerEntry,
    LedgerKind,
    Sale,
    utcnow,
)
from tests import factories

LEADS = 60
BUYERS = 5
MAX_BUYERS = 3


class EventReceiver:
    """The buyers' CRM: records each event id it is sent, answers 204."""

    def __init__(self):
        self.event_ids: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.event_ids.append(json.loads(body)["id"])
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/crm"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def start_worker(app) -> subprocess.Popen:
    """``marketplace worker`` as production runs it, on this run's database and queue."""
    environment = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"].replace("+psycopg", ""),
        "REDIS_URL": app.config["REDIS_URL"],
        "MARKETPLACE_QUEUE": app.config["RQ_QUEUE"],
        "SECRET_KEY": app.config["SECRET_KEY"],
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": "1",
        "MARKETPLACE_MATCHING_SNAPSHOT_SECONDS": "0",
    }
    return subprocess.Popen(
        [sys.executable, "-c", "from marketplace.cli import main; main()", "worker"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Its own process group: RQ's scheduler runs in a child process, which a kill
        # of the worker's whole group (as a container or systemd would) takes with it.
        start_new_session=True,
    )


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def count(statement) -> int:
    db.session.rollback()  # a fresh snapshot of what the worker committed
    return db.session.scalar(statement)


@pytest.mark.services
def test_a_worker_killed_mid_burst_loses_nothing_and_sells_nothing_twice(app):
    receiver = EventReceiver()
    for _ in range(BUYERS):
        factories.campaign(webhook_url=receiver.url)
    magnet = factories.magnet(max_buyers=MAX_BUYERS)
    lead_ids = [
        factories.lead(
            magnet,
            distribute=False,
            email=f"person{n}@example.fr",
            phone=f"06 55 {n // 100:02d} {n % 100:02d} 00",
        ).lead_id
        for n in range(LEADS)
    ]
    db.session.commit()

    worker = start_worker(app)
    try:
        for lead_id in lead_ids:
            start_distribution(lead_id)
        sold = select(func.count(Sale.id))
        wait_for(lambda: count(sold) >= 15, 60, "the worker's first sales")
        os.killpg(worker.pid, signal.SIGKILL)  # mid-burst: some leads sold, some not yet
        worker.wait(timeout=10)
        killed_at = count(sold)
        assert killed_at < LEADS * MAX_BUYERS, "the burst ended before the kill"
        time.sleep(0.5)  # a post the kill cut mid-answer reaches the receiver's list
        received_before_restart = set(receiver.event_ids)

        worker = start_worker(app)
        # The sweeps, as a minute passing would run them: the leads left pending (their
        # job died with the worker, or still waits in the queue: distributing twice is
        # harmless), then the deliveries whose job died (due once their grace is over).
        _forget_periodic_locks(app)
        sweep_pending_leads(older_than_seconds=0)
        pending = select(func.count(Lead.id)).where(Lead.status == LeadStatus.PENDING)
        wait_for(lambda: count(pending) == 0, 90, "every lead distributed")
        db.session.execute(
            update(Delivery)
            .where(Delivery.status == DeliveryStatus.PENDING, Delivery.attempts == 0)
            .values(next_attempt_at=utcnow())
        )
        db.session.commit()
        _forget_periodic_locks(app)
        delivery.send_due_deliveries()
        undelivered = select(func.count(Delivery.id)).where(
            Delivery.status != DeliveryStatus.DELIVERED
        )
        wait_for(lambda: count(undelivered) == 0, 90, "every delivery delivered")
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
        receiver.server.shutdown()

    db.session.rollback()
    statuses = Counter(db.session.scalars(select(Lead.status)))
    assert set(statuses) <= {LeadStatus.DISTRIBUTED, LeadStatus.UNSOLD}, statuses
    assert statuses[LeadStatus.DISTRIBUTED] == LEADS  # five buyers, three places each
    per_lead = db.session.execute(
        select(Sale.lead_id, func.count(Sale.id)).group_by(Sale.lead_id)
    ).all()
    assert max(n for _, n in per_lead) <= MAX_BUYERS
    assert all(
        lead.sales_count == dict(per_lead).get(lead.id, 0)
        for lead in db.session.scalars(select(Lead))
    )
    sales = db.session.scalar(select(func.count(Sale.id)))
    assert sales == LEADS * MAX_BUYERS
    for kind in (LedgerKind.SALE_DEBIT, LedgerKind.PUBLISHER_EARNING):
        with_entry = select(func.count(func.distinct(LedgerEntry.sale_id))).where(
            LedgerEntry.kind == kind
        )
        entries = select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == kind)
        assert db.session.scalar(with_entry) == db.session.scalar(entries) == sales, kind
    deliveries_per_sale = (
        db.session.execute(
            text(
                "SELECT count(*) FROM sales LEFT JOIN deliveries ON deliveries.sale_id = sales.id "
                "GROUP BY sales.id"
            )
        )
        .scalars()
        .all()
    )
    assert set(deliveries_per_sale) == {1}
    event_ids = {f"evt_{i}" for i in db.session.scalars(select(Delivery.id))}
    received = Counter(receiver.event_ids)
    assert set(received) == event_ids  # every webhook received
    # Each webhook is received once per attempt its delivery records, but for those the
    # killed worker posted and had not recorded yet (in a thread, or gathered for the
    # next record, delivery_threads.py): received once more, before the kill, then sent
    # again by the sweep under the same event id.
    attempts = {
        f"evt_{delivery_id}": recorded
        for delivery_id, recorded in db.session.execute(select(Delivery.id, Delivery.attempts))
    }
    unrecorded = {event for event in received if received[event] != attempts[event]}
    assert all(received[event] == attempts[event] + 1 for event in unrecorded), received
    assert unrecorded <= received_before_restart, unrecorded - received_before_restart


def _forget_periodic_locks(app):
    from marketplace import jobs

    for key in jobs.redis_connection().scan_iter(
        f"marketplace:periodic:{app.config['RQ_QUEUE']}:*"
    ):
        jobs.redis_connection().delete(key)
