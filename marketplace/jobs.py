"""Background jobs: RQ when REDIS_URL is set, inline otherwise.

``enqueue(distribute_lead, lead_id)`` is the one way to start work in the
background. Jobs are named by their dotted path, take ids, and must be
idempotent: RQ delivers at least once (field-notes.md).
"""

from __future__ import annotations

import atexit
import importlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_app_context
from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Retry

from marketplace.extensions import db
from marketplace.process import freeze_startup_heap

log = logging.getLogger(__name__)

# Retries spread over about an hour; the pending-lead sweeper catches anything later.
DEFAULT_RETRY = Retry(max=5, interval=[10, 30, 120, 600, 1800])

_worker_app: Flask | None = None
# True in a process that runs ``run_worker``: what it sold, it may deliver itself.
_in_worker = False
# True while ``run_worker`` works without ``burst``: its runs may wait for more work.
_long_running = False


def in_worker() -> bool:
    return _in_worker


# After Redis refused a job, this process stops asking it for a few seconds: a capture
# then costs its insert alone instead of a connection timeout, and the lead waits,
# pending, for the sweeper. Keyed by URL: each Redis is judged on its own.
REDIS_RETRY_AFTER_SECONDS = 5.0
_redis_down_until: dict[str, float] = {}


class EnqueueFailed(Exception):
    """Redis refused the job; the caller decides what stays pending."""


def job_name(func: Callable | str) -> str:
    if isinstance(func, str):
        return func
    return f"{func.__module__}:{func.__qualname__}"


def resolve(name: str) -> Callable:
    module_name, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def redis_connection() -> Redis:
    """One client per app: redis-py pools its connections itself."""
    connection = current_app.extensions.get("marketplace_redis")
    if connection is None:
        connection = Redis.from_url(
            current_app.config["REDIS_URL"], socket_timeout=5, socket_connect_timeout=2
        )
        current_app.extensions["marketplace_redis"] = connection
    return connection


def queue() -> Queue:
    return Queue(current_app.config["RQ_QUEUE"], connection=redis_connection())


def redis_reachable() -> bool:
    try:
        return bool(redis_connection().ping())
    except RedisError:
        return False


def enqueue(
    func: Callable | str, *args: Any, retry: Retry | None = DEFAULT_RETRY, keep_result: bool = True
) -> None:
    """Run ``func(*args)`` in the background, or right now without Redis.

    Inline, a failing job is logged and rolled back rather than failing the
    request that asked for it: the work it was given is already committed and
    stays pending for the sweeper, exactly as a failed RQ job would leave it.
    Tests set JOBS_RAISE_INLINE to see the error instead.
    """
    name = job_name(func)
    if not current_app.config["REDIS_URL"]:
        try:
            resolve(name)(*args)
        except Exception:
            db.session.rollback()
            if current_app.config.get("JOBS_RAISE_INLINE"):
                raise
            log.exception("inline job %s%r failed", name, args)
        return
    url = current_app.config["REDIS_URL"]
    if time.monotonic() < _redis_down_until.get(url, 0.0):
        raise EnqueueFailed("Redis was unreachable a moment ago")
    try:
        queue().enqueue(
            run_job,
            name,
            args,
            retry=retry,
            description=f"{name}{args!r}",
            # RQ stores each job's result for 500 s: a wake-up's is never read.
            result_ttl=None if keep_result else 0,
        )
    except RedisError as error:
        _redis_down_until[url] = time.monotonic() + REDIS_RETRY_AFTER_SECONDS
        log.warning("Redis refused job %s: %s", name, error)
        raise EnqueueFailed(str(error)) from error


# How long a wake-up stands for a run that no worker started (lost with a worker):
# after it, the next call queues a run again.
WAKE_SECONDS = 10
# A nudge outlives the runs that could wait for it by far; it only needs to expire.
NUDGE_SECONDS = 60
# The wake-up in one round trip: the flag that stands for a queued run (set only if no
# run is queued, with the answer whether this call set it), and the nudge that a
# running run waits for, kept to one element however many captures push it. The
# answer: 1 to queue a run; else 2 when the last nudge was still there (no run has
# waited since it was pushed: the runs are busy), 0 when not.
_WAKE_SCRIPT = """
local queue_a_run = redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1])
local nudges = redis.call('LPUSH', KEYS[2], '1')
redis.call('LTRIM', KEYS[2], 0, 0)
redis.call('EXPIRE', KEYS[2], ARGV[2])
if queue_a_run then return 1 end
if nudges > 1 then return 2 end
return 0
"""


def _wake_key(name: str) -> str:
    return f"marketplace:wake:{current_app.config['RQ_QUEUE']}:{name}"


def _nudge_key(name: str) -> str:
    return f"marketplace:nudge:{current_app.config['RQ_QUEUE']}:{name}"


def _wake_script():
    script = current_app.extensions.get("marketplace_wake_script")
    if script is None:
        script = redis_connection().register_script(_WAKE_SCRIPT)
        current_app.extensions["marketplace_wake_script"] = script
    return script


def wake(func: Callable | str) -> bool:
    """Have a worker run ``func()`` soon, coalesced: while one run waits in the queue,
    more calls queue nothing, and a run already running that waits for more work
    (``await_nudge``) goes on at once. One Redis round trip in all. The run calls
    ``woken`` as it starts, so that work committed after that wakes another run.
    Without Redis, runs ``func()`` now, as ``enqueue`` does.

    Returns True when the runs were busy: the previous wake-up's nudge was still
    waiting, no run having come back for more work since it was sent."""
    name = job_name(func)
    if not current_app.config["REDIS_URL"]:
        enqueue(name)
        return False
    url = current_app.config["REDIS_URL"]
    if time.monotonic() < _redis_down_until.get(url, 0.0):
        raise EnqueueFailed("Redis was unreachable a moment ago")
    try:
        answer = _wake_script()(
            keys=[_wake_key(name), _nudge_key(name)], args=[WAKE_SECONDS, NUDGE_SECONDS]
        )
    except RedisError as error:
        _redis_down_until[url] = time.monotonic() + REDIS_RETRY_AFTER_SECONDS
        log.warning("Redis refused the wake-up of %s: %s", name, error)
        raise EnqueueFailed(str(error)) from error
    if answer != 1:
        return answer == 2  # a run is already on its way
    try:
        enqueue(name, retry=None, keep_result=False)
    except EnqueueFailed:
        _forget_wake(name)
        raise
    return False


# The web process's wake-ups, sent by a thread of its own after the answer rather than
# by the request: a capture's answer waits for its insert alone, and the captures that
# commit while a wake-up is on its way share the next one (docs/benchmarks.md,
# "Capture"). At most one wake-up per WAKE_GAP_SECONDS and process: under load the
# worker's run takes the leads in larger batches; at a lead every few milliseconds or
# slower, each is woken at once. While the runs are busy (the last wake-up found its
# predecessor's nudge unread), BUSY_WAKE_GAP_SECONDS: a busy run takes every pending
# lead before it waits, so a wake-up then only costs the process a Redis round trip
# and its thread's turns at the GIL: about a tenth of the web's CPU under
# bench/capture.py's load (docs/benchmarks.md, "the waker's wake-ups while the runs
# are busy").
WAKE_GAP_SECONDS = 0.005
BUSY_WAKE_GAP_SECONDS = 0.02
SETTLE_SECONDS = 5.0


class _Waker:
    """One thread per process that sends the wake-ups asked by ``wake_soon``. Made on the
    first call in each process, so that a process forked from a parent that had one
    (gunicorn's workers) starts its own."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.asked = threading.Event()
        self.idle = threading.Condition(self.lock)
        self.pending: dict[tuple[int, str], Flask] = {}
        self.sending = False
        self.thread = threading.Thread(target=self.run, name="marketplace-waker", daemon=True)
        self.thread.start()

    def ask(self, app: Flask, name: str) -> None:
        with self.lock:
            self.pending[(id(app), name)] = app
        self.asked.set()

    def run(self) -> None:
        last_sent, busy = 0.0, False
        while True:
            self.asked.wait()
            gap = BUSY_WAKE_GAP_SECONDS if busy else WAKE_GAP_SECONDS
            wait = last_sent + gap - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            # Cleared before taking the work: a capture that commits after this line
            # sets it again, so its lead is never left behind by the batch below.
            self.asked.clear()
            with self.lock:
                batch, self.pending = self.pending, {}
                self.sending = True
            busy = False
            try:
                for (_, name), app in batch.items():
                    with app.app_context():
                        try:
                            busy = wake(name) or busy
                        except EnqueueFailed:
                            log.warning("pending leads left for the sweep: could not wake %s", name)
                        except Exception:
                            log.exception("the wake-up of %s failed", name)
            finally:
                last_sent = time.monotonic()
                with self.lock:
                    self.sending = False
                    self.idle.notify_all()

    def settle(self, timeout: float) -> bool:
        """Wait until every wake-up asked so far is sent; False if ``timeout`` passed."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.pending or self.sending:
                left = deadline - time.monotonic()
                if left <= 0 or not self.thread.is_alive():
                    return False
                self.idle.wait(min(left, 0.05))
        return True


_waker: _Waker | None = None
_waker_lock = threading.Lock()


def wake_soon(func: Callable | str) -> None:
    """``wake(func)`` from this process's waker thread, within ``WAKE_GAP_SECONDS``:
    for a request that committed work and should not wait for the queue to answer.
    Without Redis, ``func()`` runs now, as ``wake`` runs it. If Redis refuses, the work
    stays where it was committed for the sweep, as with ``wake``."""
    global _waker
    if not current_app.config["REDIS_URL"]:
        wake(func)
        return
    waker = _waker
    if waker is None or waker.pid != os.getpid():
        with _waker_lock:
            if _waker is None or _waker.pid != os.getpid():
                _waker = _Waker()
                atexit.register(_waker.settle, SETTLE_SECONDS)
            waker = _waker
    waker.ask(current_app._get_current_object(), job_name(func))


def settle_wakes(timeout: float = SETTLE_SECONDS) -> bool:
    """Wait until this process's waker has sent every wake-up asked of it (tests, and a
    process about to end); True at once when it has none."""
    waker = _waker
    if waker is None or waker.pid != os.getpid():
        return True
    return waker.settle(timeout)


def await_nudge(func: Callable | str, until: float) -> bool:
    """For a woken run that found nothing left to do: wait for the next ``wake`` of
    ``func``, at most the linger (``DISTRIBUTION_LINGER_SECONDS``) and not past
    ``until`` (``time.monotonic()``). True when woken meanwhile: the run goes on instead
    of ending, so a steady stream of work is done by one run rather than by a queued
    job per item, whose bookkeeping in RQ costs as much as the item's own work. Only a
    long-running worker waits: inline, and in a burst worker, a run ends at once."""
    if not (_long_running and current_app.config["REDIS_URL"]):
        return False
    timeout = min(current_app.config["DISTRIBUTION_LINGER_SECONDS"], until - time.monotonic())
    if timeout < 0.01:  # BLPOP's 0 would wait for ever
        return False
    try:
        return redis_connection().blpop([_nudge_key(job_name(func))], timeout=timeout) is not None
    except RedisError as error:
        log.warning("Redis unreachable while waiting for work: %s", error)
        return False


def woken(func: Callable | str) -> None:
    """Called by a woken run as it starts: from now on, a wake-up queues another run."""
    if current_app.config["REDIS_URL"]:
        _forget_wake(job_name(func))


def _forget_wake(name: str) -> None:
    try:
        redis_connection().delete(_wake_key(name))
    except RedisError:
        log.warning("Redis unreachable: the wake-up of %s expires by itself", name)


def run_job(name: str, args: tuple | list) -> Any:
    """What RQ runs: the named function inside an app context.

    The worker (``marketplace worker``) gives each job an app context of its own,
    so its own database session; anywhere else one is made, and its teardown
    closes the session. A failed job leaves no half-done transaction behind.
    """
    if not has_app_context():
        with worker_app().app_context():
            return run_job(name, args)
    try:
        return resolve(name)(*args)
    except Exception:
        db.session.rollback()
        raise


def worker_app() -> Flask:
    global _worker_app
    if _worker_app is None:
        from marketplace import create_app

        _worker_app = create_app()
    return _worker_app


# Jobs every worker keeps scheduled: (dotted name, every N seconds). Each run takes a
# Redis lock first, so that many workers do not repeat the same sweep.
PERIODIC_JOBS = [
    ("marketplace.capture.service:sweep_pending_leads", 60),
    ("marketplace.delivery:send_due_deliveries", 60),
    # Buyers told of an erasure or a rectification whose first job was lost.
    ("marketplace.privacy.decisions:send_recipient_notices", 300),
    ("marketplace.privacy.retention:blank_expired_leads", 86_400),
    # The Stripe mirror of the ledger (does nothing while Stripe is not configured).
    ("billing.mirror:mirror_ledger", 60),
    ("billing.invoicing:run_invoicing", 600),
    ("billing.reconcile:reconcile", 86_400),
    ("marketplace.quality.sources:refresh_all", 86_400),
]


def run_once_per_period(name: str, seconds: int) -> bool:
    """True for the first caller in the period (always without Redis)."""
    if not current_app.config["REDIS_URL"]:
        return True
    lock = f"marketplace:periodic:{current_app.config['RQ_QUEUE']}:{name}"
    return bool(redis_connection().set(lock, "1", nx=True, ex=max(1, seconds - 5)))


def run_periodic_jobs(now: float | None = None) -> list[str]:
    """Run the periodic jobs that are due, inline: for a deployment without Redis, from
    cron every minute. When each last ran is kept in the instance folder, so the daily
    reconciliation runs daily however often cron calls. Returns the jobs run."""
    now = time.time() if now is None else now
    state = Path(current_app.instance_path) / "periodic-runs.json"
    try:
        last_runs = json.loads(state.read_text())
    except (OSError, ValueError):
        last_runs = {}
    ran = []
    for name, seconds in PERIODIC_JOBS:
        if now - last_runs.get(name, 0) < seconds - 5:
            continue
        resolve(name)()
        last_runs[name] = now
        ran.append(name)
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps(last_runs))
    return ran


def _cron_loop(app: Flask, stop: threading.Event) -> None:
    """Enqueue the periodic jobs when due, with RQ's CronScheduler (one per worker)."""
    from rq.cron import CronScheduler

    with app.app_context():
        scheduler = CronScheduler(connection=redis_connection())
        for name, seconds in PERIODIC_JOBS:
            scheduler.register(run_job, app.config["RQ_QUEUE"], args=(name, ()), interval=seconds)
        while not stop.is_set():
            try:
                scheduler.enqueue_jobs()
            except RedisError:
                log.exception("periodic jobs: Redis unreachable, will try again")
            stop.wait(max(1.0, min(scheduler.calculate_sleep_interval(), 60)))


def run_worker(burst: bool = False) -> bool:
    """An RQ worker with the scheduler (Retry needs it) on this app's queue, and a thread
    that enqueues the periodic jobs when they are due.

    RQ's ``SimpleWorker`` runs the jobs in this process instead of forking one per
    job: what a process keeps between jobs (the campaigns' rules, the caps seen
    reached, the pooled database connections) is what makes a distribution cost a
    few milliseconds; a forked job would reconnect and reload every campaign. The job
    timeout still applies (SIGALRM in this process's main thread). A long-running
    worker freezes the heap of its start, as the web processes do
    (``process.freeze_startup_heap``).
    """
    from rq import SimpleWorker

    global _in_worker, _long_running
    _in_worker = True
    _long_running = not burst
    app = current_app._get_current_object()

    class AppWorker(SimpleWorker):
        def execute_job(self, job, queue):
            with app.app_context():
                return super().execute_job(job, queue)

    stop = threading.Event()
    if not burst:
        threading.Thread(target=_cron_loop, args=(app, stop), daemon=True).start()
    worker = AppWorker([queue()], connection=redis_connection())
    if not burst:
        freeze_startup_heap()
    try:
        return worker.work(with_scheduler=True, burst=burst)
    finally:
        stop.set()
        _in_worker = _long_running = False
