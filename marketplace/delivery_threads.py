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
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from flask import Flask, current_app

from marketplace.extensions import db

log = logging.getLogger(__name__)

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_waiting = 0  # deliveries handed to the pool and not finished yet


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

    try:
        with app.app_context():
            try:
                if ready is None:
                    delivery.send_delivery(delivery_id)
                else:
                    delivery.send_ready_webhook(ready)
            except Exception:
                db.session.rollback()
                log.exception("delivery %s: the send failed, the sweep will retry it", delivery_id)
    finally:
        with _lock:
            _waiting -= 1


def wait_until_idle(timeout: float = 10.0) -> bool:
    """Block until every handed delivery was attempted (tests, a worker's shutdown)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with _lock:
            if _waiting == 0:
                return True
        time.sleep(0.01)
    return False
