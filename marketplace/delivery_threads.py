"""Sending a sale's deliveries at once, from the worker that sold it (issue 15).

A queued job per delivery cost each lead three more trips through the queue, each
behind every other lead's work: the buyer heard of its lead seconds late under load.
In a worker process, the deliveries a distribution just committed are handed to a
small pool of threads instead, which send them in parallel, each with the webhook's
tight timeouts: a slow or dead endpoint holds one thread, never the next lead nor the
other buyers' deliveries.

Nothing is lost: each delivery row was committed with its sale (the outbox) with a
``next_attempt_at`` a few seconds ahead; a send that never happens (the worker
stopped mid-send) is made by the periodic sweep, and ``send_delivery``
locks the row and skips a delivered one, so a delivery is never sent twice.

The first attempts' records are gathered: the thread that finishes a post while no
other is recording waits RECORD_GATHER_SECONDS, then records every attempt finished
meanwhile, its own included, in one statement and one commit (on PostgreSQL), and goes
on while more arrive; the others hand theirs over and take the next delivery. A lead's
three webhooks, posted in parallel, are recorded in one commit instead of three. The
wait only delays the record: the buyer has its webhook already. A worker killed in it
leaves those deliveries pending, and the sweep sends them again, as a worker killed
between a post and its record always did; the gathering makes that window
RECORD_GATHER_SECONDS longer at most.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from flask import Flask, current_app

from marketplace.extensions import db

log = logging.getLogger(__name__)

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_waiting = 0  # deliveries handed to the pool and not finished (recorded) yet
# First attempts posted and not recorded yet, and whether a thread is recording them.
_unrecorded: list = []
_recording = False
# How long the recording thread waits for more attempts to finish before it records. A
# lead's webhooks finish within a millisecond or two of each other; at 150 leads/s a
# worker of two sells a lead every 13 ms or so, and this gathers about two leads'
# attempts (bench/first_attempts.py, PostgreSQL's and the worker's CPU per lead: 2.7 to
# 3.0 ms one attempt a statement, 1.3 to 1.5 three at a time, 0.9 to 1.1 six).
RECORD_GATHER_SECONDS = 0.015


def _executor(threads: int) -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="delivery")
        return _pool


def send_soon(delivery_ids: list[int], ready: list = ()) -> list[int]:
    """Hand the deliveries to the threads, the ``ready`` webhooks (delivery.ReadyWebhook)
    with the bodies already read; returns the ids the pool had no room for (the
    caller queues them)."""
    app = current_app._get_current_object()
    threads = app.config["DELIVERY_THREADS"]
    backlog = app.config["DELIVERY_THREAD_BACKLOG"]
    pool = _executor(threads)
    global _waiting
    ready_by_id = {webhook.delivery_id: webhook for webhook in ready}
    left = []
    for delivery_id in delivery_ids:
        with _lock:
            if _waiting >= backlog:
                left.append(delivery_id)
                continue
            _waiting += 1
        try:
            pool.submit(_send, app, delivery_id, ready_by_id.get(delivery_id))
        except BaseException:  # the job's timeout, say: this one was never handed over
            with _lock:
                _waiting -= 1
            raise
    return left


def _send(app: Flask, delivery_id: int, ready=None) -> None:
    global _waiting
    from marketplace import delivery

    finished = 1
    try:
        with app.app_context():
            try:
                if ready is None:
                    delivery.send_delivery(delivery_id)
                else:
                    attempt = delivery.post_ready_webhook(ready)
                    if attempt is not None:
                        finished = 0  # counted down once recorded
                        _record(attempt)
            except Exception:
                db.session.rollback()
                log.exception("delivery %s: the send failed, the sweep will retry it", delivery_id)
    finally:
        with _lock:
            _waiting -= finished


def _record(attempt) -> None:
    """Hand ``attempt`` over to the thread recording, or become it (in an app context)."""
    global _recording
    with _lock:
        _unrecorded.append(attempt)
        if _recording:
            return
        _recording = True
    try:
        while True:
            time.sleep(RECORD_GATHER_SECONDS)
            with _lock:
                batch = _unrecorded[:]
                del _unrecorded[:]
            _record_batch(batch)
            with _lock:
                if not _unrecorded:
                    _recording = False
                    return
    except BaseException:
        with _lock:
            _recording = False
        raise


def _record_batch(batch: list) -> None:
    """Record ``batch`` in one statement; if that fails, each attempt alone, so that one
    delivery's failure (deleted by hand since, say) stays its own."""
    global _waiting
    try:
        if not _recorded(batch) and len(batch) > 1:
            for attempt in batch:
                _recorded([attempt])
    finally:
        with _lock:
            _waiting -= len(batch)


def _recorded(attempts: list) -> bool:
    from marketplace import delivery

    try:
        delivery.record_first_attempts(attempts)
        return True
    except Exception:
        db.session.rollback()
        if len(attempts) == 1:
            log.exception(
                "delivery %s: its first attempt was not recorded, the sweep will send it again",
                attempts[0].delivery_id,
            )
        return False


def wait_until_idle(timeout: float = 10.0) -> bool:
    """Block until every handed delivery was attempted and its attempt recorded (tests,
    a worker's shutdown)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with _lock:
            if _waiting == 0:
                return True
        time.sleep(0.01)
    return False
