"""A worker sends the deliveries of what it sold at once, from its threads: the buyers'
webhooks in parallel, a slow endpoint holding up neither the others nor the next lead,
each delivery sent once (issue 15)."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import delete, select

from marketplace import delivery, delivery_threads, jobs
from marketplace.extensions import db
from marketplace.models import Delivery, DeliveryAttempt, DeliveryStatus, Sale
from tests import factories


class Endpoint:
    """A local buyer endpoint that answers after ``delay`` seconds, noting when each
    call arrived."""

    def __init__(self, delay: float = 0.0, status: int = 200):
        self.arrivals: list[float] = []
        self.bodies: list[bytes] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                endpoint.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
                endpoint.arrivals.append(time.monotonic())
                time.sleep(delay)
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/crm"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def endpoints():
    made = []

    def make(delay: float = 0.0, status: int = 200) -> Endpoint:
        made.append(Endpoint(delay, status))
        return made[-1]

    yield make
    for endpoint in made:
        endpoint.server.shutdown()


@pytest.fixture
def in_a_worker(monkeypatch, app):
    monkeypatch.setattr(jobs, "_in_worker", True)
    monkeypatch.setitem(app.config, "DELIVERY_THREADS", 4)
    yield
    assert delivery_threads.wait_until_idle(15)


def test_a_worker_sends_its_sales_webhooks_at_once_and_a_slow_buyer_delays_no_one(
    in_a_worker, endpoints
):
    slow, fast = endpoints(delay=2.0), endpoints()
    factories.campaign(webhook_url=slow.url, price_cents=9000)
    factories.campaign(webhook_url=fast.url, price_cents=8000)
    sold_at = time.monotonic()
    first = factories.lead()
    second = factories.lead()
    # Both leads sold and the fast buyer told of both while the slow one still answers.
    deadline = time.monotonic() + 1.5
    while len(fast.arrivals) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(fast.arrivals) == 2
    assert max(fast.arrivals) - sold_at < 1.5
    assert delivery_threads.wait_until_idle(15)
    db.session.expire_all()
    hooks = db.session.scalars(
        select(Delivery)
        .join(Sale, Sale.id == Delivery.sale_id)
        .where(Sale.lead_id.in_([first.lead_id, second.lead_id]))
    ).all()
    assert len(hooks) == 4
    assert {hook.status for hook in hooks} == {DeliveryStatus.DELIVERED}
    assert {hook.attempts for hook in hooks} == {1}
    assert (len(slow.arrivals), len(fast.arrivals)) == (2, 2)


def test_a_delivery_sent_by_the_threads_is_not_sent_again_by_a_job_or_the_sweep(
    in_a_worker, endpoints
):
    endpoint = endpoints()
    factories.campaign(webhook_url=endpoint.url)
    factories.lead()
    assert delivery_threads.wait_until_idle(15)
    hook = db.session.scalar(select(Delivery))
    delivery.send_delivery(hook.id)  # a queued job arriving late
    delivery.send_due_deliveries()
    assert delivery_threads.wait_until_idle(15)
    assert len(endpoint.arrivals) == 1


def test_with_no_room_left_the_deliveries_go_to_the_queue(in_a_worker, app, monkeypatch, endpoints):
    endpoint = endpoints()
    monkeypatch.setitem(app.config, "DELIVERY_THREAD_BACKLOG", 0)
    queued = []
    monkeypatch.setattr(jobs, "enqueue", lambda func, *args, **kw: queued.append(args))
    factories.campaign(webhook_url=endpoint.url)
    factories.lead()
    assert len(queued) == 1 and endpoint.arrivals == []


@pytest.mark.parametrize("exclusive", [False, True])
def test_the_worker_posts_the_body_it_read_with_the_sale_and_records_the_attempt(
    in_a_worker, endpoints, monkeypatch, exclusive
):
    import json

    from marketplace import representations

    read_again = []
    monkeypatch.setattr(delivery, "send_delivery", lambda *args: read_again.append(args))
    endpoint = endpoints()
    offer = {"wants_exclusive": True, "exclusive_price_cents": 20_000} if exclusive else {}
    factories.campaign(webhook_url=endpoint.url, **offer)
    captured = factories.lead(email="ready.body@firm.fr", siret="73282932000074")
    assert delivery_threads.wait_until_idle(15)
    assert read_again == []  # the ready body went out: no second read of the delivery
    hook = db.session.scalar(select(Delivery))
    assert (hook.status, hook.attempts) == (DeliveryStatus.DELIVERED, 1)
    assert [attempt.status_code for attempt in hook.attempt_log] == [200]
    [body] = endpoint.bodies
    event = json.loads(body)
    assert event["id"] == f"evt_{hook.id}" and event["type"] == "purchase.created"
    sale = db.session.scalar(select(Sale).where(Sale.lead_id == captured.lead_id))
    row = db.session.execute(
        representations.purchase_query().where(Sale.__table__.c.id == sale.id)
    ).one()
    expected = json.loads(json.dumps(representations.purchase_json(row._mapping), default=str))
    assert event["data"] == expected and expected["contact"]["email"] == "ready.body@firm.fr"
    assert (expected["exclusive"], expected["price_cents"]) == (
        (True, 20_000) if exclusive else (False, 5000)
    )


def test_a_ready_webhook_refused_by_its_endpoint_waits_for_its_retry(in_a_worker, endpoints):
    endpoint = endpoints(status=503)
    factories.campaign(webhook_url=endpoint.url)
    factories.lead()
    assert delivery_threads.wait_until_idle(15)
    hook = db.session.scalar(select(Delivery))
    assert (hook.status, hook.attempts) == (DeliveryStatus.PENDING, 1)
    assert [attempt.status_code for attempt in hook.attempt_log] == [503]
    wait = (hook.next_attempt_at - hook.created_at).total_seconds()
    assert 55 <= wait <= 65  # the first retry, a minute later
    delivery.send_delivery(hook.id)  # a job arriving early changes nothing
    assert len(endpoint.arrivals) == 1


def test_a_ready_webhook_that_waited_too_long_is_sent_the_locked_way_once(
    in_a_worker, endpoints, monkeypatch
):
    monkeypatch.setattr(delivery, "READY_WEBHOOK_SECONDS", -1)
    endpoint = endpoints()
    factories.campaign(webhook_url=endpoint.url)
    factories.lead()
    assert delivery_threads.wait_until_idle(15)
    delivery.send_due_deliveries()
    assert delivery_threads.wait_until_idle(15)
    hook = db.session.scalar(select(Delivery))
    assert (hook.status, hook.attempts, len(endpoint.arrivals)) == (DeliveryStatus.DELIVERED, 1, 1)


def test_a_ready_webhook_recorded_after_a_redelivery_only_counts_its_attempt(
    app, endpoints, run_jobs
):
    import time as clock

    endpoint = endpoints(status=503)
    factories.campaign(webhook_url=endpoint.url)
    factories.lead()
    run_jobs()
    hook = db.session.scalar(select(Delivery))
    hook.attempts, hook.status = 0, DeliveryStatus.DELIVERED  # a redelivery got there first
    hook.next_attempt_at = None
    db.session.commit()
    ready = delivery.ReadyWebhook(hook.id, endpoint.url, "secret", {"type": "t"}, clock.monotonic())
    attempt = delivery.post_ready_webhook(ready)
    assert delivery.record_first_attempts([attempt]) == [DeliveryStatus.DELIVERED]
    db.session.expire_all()
    hook = db.session.get(Delivery, hook.id)
    assert (hook.status, hook.attempts, hook.next_attempt_at) == (DeliveryStatus.DELIVERED, 1, None)
    assert [attempt.status_code for attempt in hook.attempt_log][-1] == 503


def test_a_leads_first_attempts_are_recorded_together(in_a_worker, endpoints, monkeypatch):
    monkeypatch.setattr(delivery_threads, "RECORD_GATHER_SECONDS", 1.0)  # a slow CI box
    batches = []
    record = delivery.record_first_attempts

    def noted(attempts):
        batches.append(sorted(attempt.delivery_id for attempt in attempts))
        return record(attempts)

    monkeypatch.setattr(delivery, "record_first_attempts", noted)
    refused = endpoints(status=503)
    for endpoint, price in ((endpoints(), 9000), (endpoints(), 8000), (refused, 7000)):
        factories.campaign(webhook_url=endpoint.url, price_cents=price)
    factories.lead()
    assert delivery_threads.wait_until_idle(15)
    db.session.expire_all()
    hooks = db.session.scalars(select(Delivery).order_by(Delivery.id)).all()
    assert batches == [[hook.id for hook in hooks]]  # three posts, one record
    assert [(hook.status, hook.attempts) for hook in hooks] == [
        (DeliveryStatus.DELIVERED, 1),
        (DeliveryStatus.DELIVERED, 1),
        (DeliveryStatus.PENDING, 1),
    ]
    assert [[a.status_code for a in hook.attempt_log] for hook in hooks] == [[200], [200], [503]]
    assert hooks[2].next_attempt_at is not None and hooks[0].delivered_at is not None


def test_a_batch_that_fails_is_recorded_attempt_by_attempt(app, endpoints, run_jobs):
    """One delivery gone before its record (deleted by hand, say) fails the batch's
    statement; the others are still recorded, each alone."""
    import time as clock

    endpoint = endpoints()
    for price in (9000, 8000):
        factories.campaign(webhook_url=endpoints().url, price_cents=price)
    factories.lead()
    run_jobs()
    kept, gone = db.session.scalars(select(Delivery).order_by(Delivery.id)).all()
    kept.attempts, kept.status, kept.delivered_at = 0, DeliveryStatus.PENDING, None
    gone_id = gone.id
    db.session.execute(delete(DeliveryAttempt).where(DeliveryAttempt.delivery_id == gone_id))
    db.session.execute(delete(Delivery).where(Delivery.id == gone_id))
    db.session.commit()
    attempts = [
        delivery.post_ready_webhook(
            delivery.ReadyWebhook(hook_id, endpoint.url, "secret", {"t": 1}, clock.monotonic())
        )
        for hook_id in (kept.id, gone_id)
    ]
    delivery_threads._waiting += 2  # as handed to the threads
    delivery_threads._record_batch(attempts)
    assert delivery_threads.wait_until_idle(1)
    db.session.expire_all()
    kept = db.session.get(Delivery, kept.id)
    assert (kept.status, kept.attempts) == (DeliveryStatus.DELIVERED, 1)
    assert [attempt.status_code for attempt in kept.attempt_log][-1] == 200


@pytest.mark.services
def test_postgresql_reads_a_batchs_deliveries_by_their_key_on_a_table_of_thousands(
    app, endpoints, run_jobs
):
    """A set-returning function counts for 100 rows: the record joined 100 attempts by
    a sequential scan of the deliveries up to some 20,000 of them. Told how many rows
    the batch holds, it reads each by its key; and it is planned at each execution,
    never kept prepared (a plan kept from a small table scanned every delivery for as
    long as it lasted)."""
    import psycopg
    from psycopg.rows import tuple_row

    from marketplace.db_pool import autocommit_connection

    factories.campaign(webhook_url=endpoints().url)
    factories.lead()
    run_jobs()
    hook = db.session.scalars(select(Delivery)).one()
    with autocommit_connection() as connection:
        connection.execute(
            "INSERT INTO deliveries (sale_id, channel, event, occasion, target, status, "
            "attempts, created_at) SELECT sale_id, channel, event, occasion || n, target, "
            "'pending', 0, created_at FROM deliveries, generate_series(1, 4000) n "
            "WHERE id = %s",
            (hook.id,),
        )
        connection.execute("ANALYZE deliveries")
        attempt = delivery.post_ready_webhook(
            delivery.ReadyWebhook(hook.id, endpoints().url, "secret", {"t": 1}, time.monotonic())
        )
        with connection.cursor(row_factory=tuple_row) as cursor:
            plan = "\n".join(
                row[0]
                for row in cursor.execute(
                    psycopg.sql.SQL("EXPLAIN ") + psycopg.sql.SQL(delivery._FIRST_ATTEMPTS_SQL),
                    delivery.first_attempts_params([attempt]),
                )
            )
    assert "Index Scan using pk_deliveries on deliveries" in plan, plan
    assert "Seq Scan on deliveries" not in plan, plan
    for _ in range(6):  # psycopg prepares a statement at its fifth execution
        delivery.record_first_attempts([attempt])
    with autocommit_connection() as connection:
        prepared = connection.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ("%delivery_attempts%",),
        ).fetchone()[0]
    assert prepared == 0
