"""What /healthz reports: *ready* (keep this process in the pool) apart from *degraded*.

A web process is ready when its database answers: it can then take leads, which
are committed before anything else is tried. Redis, the workers and the backlog
of work (the oldest pending lead, the oldest due delivery) are reported for
monitoring, never as a reason to leave the pool: with Redis down every web node
would otherwise be taken out at once, and the site with them.
"""

from __future__ import annotations

import logging
from datetime import datetime

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import func, or_, select, text
from sqlalchemy.exc import SQLAlchemyError

from marketplace import __version__, jobs
from marketplace.extensions import db
from marketplace.models import Delivery, DeliveryStatus, Lead, LeadStatus, utcnow

log = logging.getLogger(__name__)

# The sweepers run every minute: work older than this was missed at least twice.
BACKLOG_ALERT_SECONDS = 300
# RQ refreshes a busy or idle worker's heartbeat at least this often (its default TTL).
WORKER_HEARTBEAT_SECONDS = 420


def report() -> tuple[bool, dict]:
    """(ready, the JSON body of /healthz)."""
    body: dict[str, object] = {"version": __version__}
    degraded: list[str] = []
    try:
        db.session.execute(text("SELECT 1"))
        body["database"] = "ok"
    except SQLAlchemyError:
        log.exception("health check: database unreachable")
        db.session.rollback()
        body["database"] = "unreachable"
    ready = body["database"] == "ok"
    if ready:
        now = utcnow()
        body["oldest_pending_lead_seconds"] = _age(now, _oldest_pending_lead(now))
        body["oldest_due_delivery_seconds"] = _age(now, _oldest_due_delivery(now))
        db.session.rollback()
        for name in ("oldest_pending_lead_seconds", "oldest_due_delivery_seconds"):
            if (body[name] or 0) > BACKLOG_ALERT_SECONDS:
                degraded.append(name.removesuffix("_seconds"))
    if current_app.config["REDIS_URL"]:
        body["redis"] = "ok" if jobs.redis_reachable() else "unreachable"
        if body["redis"] != "ok":
            degraded.append("redis")
            body["workers"] = None
        else:
            body["workers"] = _live_workers()
            if not body["workers"]:
                degraded.append("workers")
    else:
        body["redis"] = "not configured (jobs run inline)"
        body["workers"] = None
    body["ready"] = ready
    body["degraded"] = degraded
    body["status"] = "unavailable" if not ready else ("degraded" if degraded else "ok")
    return ready, body


def _oldest_pending_lead(now: datetime) -> datetime | None:
    """The oldest lead that should have been distributed by now (not one waiting for a
    campaign's opening hours)."""
    return db.session.scalar(
        select(func.min(Lead.created_at)).where(
            Lead.status == LeadStatus.PENDING,
            or_(Lead.distribute_after.is_(None), Lead.distribute_after <= now),
        )
    )


def _oldest_due_delivery(now: datetime) -> datetime | None:
    return db.session.scalar(
        select(func.min(Delivery.next_attempt_at)).where(
            Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= now
        )
    )


def _age(now: datetime, then: datetime | None) -> int | None:
    return None if then is None else max(0, int((now - then).total_seconds()))


def _live_workers() -> int:
    """Workers of this queue whose heartbeat is recent (RQ keeps them in Redis)."""
    from rq import Worker

    try:
        workers = Worker.all(queue=jobs.queue())
    except RedisError:
        return 0
    now = utcnow()
    return sum(
        1
        for worker in workers
        if worker.last_heartbeat is not None
        and (now - worker.last_heartbeat).total_seconds() < WORKER_HEARTBEAT_SECONDS
    )
