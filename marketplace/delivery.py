"""Delivering each sale to the buyer: the portal always; e-mail and a signed webhook when
the campaign asks for them, retried with backoff for over a day, every attempt logged.

One schedule for every deployment: a failed attempt sets ``next_attempt_at`` and the
periodic job (every minute) sends what is due, so retries work the same inline and on
RQ, survive a worker restart, and the buyer sees exactly when the next one comes.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from types import SimpleNamespace

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import (
    Enum,
    Integer,
    String,
    TypeDecorator,
    and_,
    bindparam,
    case,
    cast,
    column,
    false,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from marketplace import delivery_threads, jobs, mail, representations, webhook_sender
from marketplace.db_pool import (
    autocommit_connection,
    driver_connection,
    json_rows,
    on_postgresql,
    one_line,
)
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.models import (
    Campaign,
    Delivery,
    DeliveryAttempt,
    DeliveryChannel,
    DeliveryStatus,
    Lead,
    Sale,
    utcnow,
)

log = logging.getLogger(__name__)

PURCHASE_CREATED = "purchase.created"
PURCHASE_CREDITED = "purchase.credited"  # an accepted dispute (webhook only: the
# buyer's owners are also told by e-mail, by disputes.py)
# Exponential backoff: 1 min, 5 min, 15 min, 30 min, 1 h, 2 h, 4 h, 6 h, 8 h, 8 h: about
# 30 hours in all, then the delivery is marked failed (the buyer can redeliver by hand).
RETRY_DELAYS = (60, 300, 900, 1800, 3600, 7200, 14400, 21600, 28800, 28800)


# A new delivery is sent at once by its own job; if that job is lost (a worker killed,
# Redis refusing the enqueue), the periodic sweep finds it due this long after.
SWEEP_GRACE_SECONDS = 30
_deliveries = Delivery.__table__


def create_deliveries(
    sale_ids: list[int],
    event_type: str = PURCHASE_CREATED,
    now: datetime | None = None,
    occasion: str = "",
) -> list[int]:
    """Write the deliveries of an event for these sales, in the caller's transaction.

    The transactional outbox: the sale (or the credit) and the work of telling the
    buyer commit together, so a crash or a refused enqueue after the commit loses
    nothing; the sweep sends what no job did. Created once per sale, channel, event
    and ``occasion`` whatever the retries (unique constraint). Returns the ids created now.
    """
    now = now or utcnow()
    return [created.id for created in _insert_deliveries(sale_ids, event_type, now, occasion)]


@dataclass(frozen=True)
class CreatedDelivery:
    id: int
    sale_id: int
    channel: DeliveryChannel
    target: str
    secret: str | None  # the campaign's webhook secret


def _insert_deliveries(
    sale_ids: list[int], event_type: str, now: datetime, occasion: str
) -> list[CreatedDelivery]:
    if not sale_ids:
        return []
    if on_postgresql():  # the driver's own statement: see _INSERT_DELIVERIES_SQL
        created = driver_connection().execute(
            _INSERT_DELIVERIES_SQL,
            {"sale_ids": sale_ids, **sales_deliveries_params(event_type, occasion, now)},
        )
        return [
            CreatedDelivery(id_, sale_id, DeliveryChannel(channel), target, secret)
            for id_, sale_id, channel, target, secret in created.fetchall()
        ]
    rows, secrets = [], {}
    for sale_id, email_recipients, webhook_url, webhook_secret in db.session.execute(
        _CAMPAIGN_TARGETS, {"sale_ids": sale_ids}
    ):
        secrets[sale_id] = webhook_secret
        wanted = []
        if email_recipients and event_type == PURCHASE_CREATED:
            wanted.append((DeliveryChannel.EMAIL, ", ".join(email_recipients)))
        if webhook_url:
            wanted.append((DeliveryChannel.WEBHOOK, webhook_url))
        rows.extend(
            {
                "sale_id": sale_id,
                "channel": channel,
                "event": event_type,
                "occasion": occasion,
                "target": target,
                "status": DeliveryStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": now + timedelta(seconds=SWEEP_GRACE_SECONDS),
                "created_at": now,
            }
            for channel, target in wanted
        )
    if not rows:
        return []
    # One statement whatever the rows' count (insertmanyvalues), compiled once.
    return [
        CreatedDelivery(row.id, row.sale_id, row.channel, row.target, secrets[row.sale_id])
        for row in db.session.execute(_INSERT_SQLITE_DELIVERIES, rows)
    ]


def create_sale_deliveries(sale_ids: list[int], now: datetime) -> list[CreatedDelivery]:
    """The ``purchase.created`` deliveries of sales just made, in their transaction
    (SQLite's distribution rounds; PostgreSQL's write them in their own statement)."""
    return _insert_deliveries(sale_ids, PURCHASE_CREATED, now, "")


def created_in_statement(rows: list) -> list[CreatedDelivery]:
    """The deliveries a statement wrote with ``SALES_DELIVERIES``, from its rows of
    ``[id, channel, target]`` arrays (JSON) and the campaign's webhook secret, each
    with its sale's id: ``(sale id, deliveries, secret)``."""
    return [
        CreatedDelivery(id_, sale_id, DeliveryChannel(channel), target, secret)
        for sale_id, deliveries, secret in rows
        for id_, channel, target in deliveries or ()
    ]


def new_purchase_webhooks(
    created: list[CreatedDelivery], purchase_of: Callable[[int], dict], now: datetime
) -> list[ReadyWebhook]:
    """The webhooks of new purchases, ready to post, their bodies written from
    ``purchase_of(sale id)`` (``representations.new_purchase``): the sending threads
    read nothing. Made after the commit, so that the rows the sales locked are not
    held meanwhile."""
    return [
        ReadyWebhook(
            one.id,
            one.target,
            one.secret,
            _event(one.id, PURCHASE_CREATED, purchase_of(one.sale_id), now),
            0,
        )
        for one in created
        if one.channel is DeliveryChannel.WEBHOOK and one.secret is not None
    ]


_CAMPAIGN_TARGETS = (
    select(
        Sale.__table__.c.id,
        Campaign.__table__.c.email_recipients,
        Campaign.__table__.c.webhook_url,
        Campaign.__table__.c.webhook_secret,
    )
    .join_from(
        Sale.__table__, Campaign.__table__, Campaign.__table__.c.id == Sale.__table__.c.campaign_id
    )
    .where(Sale.__table__.c.id.in_(bindparam("sale_ids", expanding=True)))
    .order_by(Sale.__table__.c.id)
)
_INSERT_SQLITE_DELIVERIES = (
    sqlite.insert(_deliveries)
    .on_conflict_do_nothing()
    .returning(_deliveries.c.id, _deliveries.c.sale_id, _deliveries.c.channel, _deliveries.c.target)
)

# PostgreSQL: the deliveries of the sales of a CTE ``sale (id, campaign_id)``, written by
# one more CTE, ``delivery``: an e-mail to the campaign's recipients (for a new purchase
# only), then a webhook to its URL, for each sale in order; SQLite's rule is
# _insert_deliveries's loop. A distribution round writes its sales' deliveries in its
# own statement with it (selling._ROUND), so that the rows its sales locked (the
# buyers' and the publisher's balances, the purchases' counts) are held until the
# commit only, not through two more statements; _INSERT_DELIVERIES_SQL, the others.
SALES_DELIVERIES = """
delivery AS (
    INSERT INTO deliveries (sale_id, channel, event, occasion, target, status, attempts,
                            next_attempt_at, created_at)
    SELECT s.id, w.channel, %(delivery_event)s, %(delivery_occasion)s, w.target, 'pending',
           0, %(delivery_due_at)s, %(now)s
    FROM sale s JOIN campaigns c ON c.id = s.campaign_id,
         LATERAL (VALUES
             (1, 'email', CASE WHEN %(delivery_event)s = 'purchase.created'
                                AND jsonb_typeof(c.email_recipients) = 'array'
                          THEN (SELECT string_agg(r, ', ' ORDER BY i)
                                FROM jsonb_array_elements_text(c.email_recipients)
                                     WITH ORDINALITY AS e (r, i)) END),
             (2, 'webhook', c.webhook_url)) AS w (n, channel, target)
    WHERE w.target <> ''
    ORDER BY s.id, w.n
    ON CONFLICT DO NOTHING
    RETURNING id, sale_id, channel, target
)"""


def sales_deliveries_params(event_type: str, occasion: str, now: datetime) -> dict:
    """The parameters of ``SALES_DELIVERIES``."""
    return {
        "delivery_event": event_type,
        "delivery_occasion": occasion,
        "delivery_due_at": now + timedelta(seconds=SWEEP_GRACE_SECONDS),
        "now": now,
    }


# Goes to the driver as text: through the session, the ORM's work for it (an expanding
# IN, insertmanyvalues) cost a worker a sixth of its CPU per lead (py-spy at 30
# leads/s), PostgreSQL's a tenth of it.
_INSERT_DELIVERIES_SQL = one_line(
    f"""
WITH sale AS (SELECT id, campaign_id FROM sales WHERE id = ANY(%(sale_ids)s::integer[])),
{SALES_DELIVERIES}
SELECT d.id, d.sale_id, d.channel, d.target, c.webhook_secret
FROM delivery d JOIN sale s ON s.id = d.sale_id JOIN campaigns c ON c.id = s.campaign_id
ORDER BY d.id
"""  # noqa: S608 (constant fragments)
)


def sends_at_once() -> bool:
    """Whether this process sends new deliveries from its own threads (a worker)."""
    return jobs.in_worker() and current_app.config["DELIVERY_THREADS"] > 0


@dataclass(frozen=True)
class ReadyWebhook:
    """A new webhook delivery with its signed body's content, from the transaction
    that created it: its sending thread reads nothing more from the database."""

    delivery_id: int
    url: str
    secret: str
    payload: dict
    # time.monotonic() at the sale's commit: past READY_WEBHOOK_SECONDS the thread
    # takes the locked path (send_delivery), as the sweep may be about to.
    committed_at: float


# A new delivery is due for the sweep SWEEP_GRACE_SECONDS after its sale; a ready
# webhook still waiting for a thread after this long is sent the locked way instead,
# so that its post (webhook_sender's bounds: 16 s at most) ends before the sweep could
# see it due.
READY_WEBHOOK_SECONDS = 10


def start_sending(delivery_ids: list[int], ready: list[ReadyWebhook] = ()) -> None:
    """After the commit. In a worker, the deliveries are sent at once by its threads
    (delivery_threads.py), the ``ready`` webhooks without reading them again;
    elsewhere, or when the threads are all busy, a job per delivery. A refused
    enqueue waits for the sweep."""
    if delivery_ids and sends_at_once():
        committed_at = time.monotonic()
        ready = [replace(webhook, committed_at=committed_at) for webhook in ready]
        delivery_ids = delivery_threads.send_soon(delivery_ids, ready)
    for delivery_id in delivery_ids:
        try:
            jobs.enqueue(send_delivery, delivery_id)
        except jobs.EnqueueFailed:
            log.warning("delivery %s not enqueued: the sweep will send it", delivery_id)


def first_attempts_params(attempts: list[FirstAttempt]) -> dict:
    """The parameters of ``_FIRST_ATTEMPTS_SQL`` (PostgreSQL) for ``attempts``: their
    rows as one JSON array (``json_rows``)."""
    rows = [
        {name: getattr(attempt, name) for name in _FIRST_ATTEMPT_FIELDS} for attempt in attempts
    ]
    return {
        **_FIRST_ATTEMPTS_CONSTANTS,
        "attempt_rows": json_rows(rows),
        "attempt_count": len(rows),
    }


def post_ready_webhook(webhook: ReadyWebhook) -> FirstAttempt | None:
    """Post a new webhook delivery, its body already read, and return its first attempt
    for ``record_first_attempts``. Only the thread its sale's worker handed it to sends it
    this way, within READY_WEBHOOK_SECONDS of the commit, while the sweep leaves it alone
    (it is not due before SWEEP_GRACE_SECONDS); later, the locked path decides, and
    records its attempt itself (None)."""
    if time.monotonic() - webhook.committed_at > READY_WEBHOOK_SECONDS:
        send_delivery(webhook.delivery_id)
        return None
    now = utcnow()
    result = webhook_sender.post(webhook.url, webhook.secret, webhook.payload)
    if result.ok:
        status, delivered_at, next_attempt_at = DeliveryStatus.DELIVERED, now, None
    else:
        status, delivered_at = DeliveryStatus.PENDING, None
        next_attempt_at = _retry(1, now)["next_attempt_at"]
    return FirstAttempt(
        delivery_id=webhook.delivery_id,
        attempted_at=now,
        status_code=result.status_code,
        duration_ms=result.duration_ms,
        error=result.error,
        new_status=status,
        delivered=delivered_at,
        next_attempt=next_attempt_at,
    )


def first_attempts_recorded(connection, attempts: list[FirstAttempt]) -> list[tuple]:
    """PostgreSQL's one statement of ``record_first_attempts`` on this psycopg
    connection, in autocommit: each delivery's (id, status) after its attempt. Planned at
    each execution, never kept prepared (``_FIRST_ATTEMPTS_SQL``)."""
    return connection.execute(
        _FIRST_ATTEMPTS_SQL, first_attempts_params(attempts), prepare=False
    ).fetchall()


def record_first_attempts(attempts: list[FirstAttempt]) -> list[DeliveryStatus]:
    """Record first attempts of ready webhooks, each with its delivery moved on: on
    PostgreSQL all of them in one statement, atomic by itself (delivery_threads.py
    gathers the attempts its threads finish within RECORD_GATHER_SECONDS); returns
    each delivery's status after it, in order."""
    if not attempts:
        return []
    if on_postgresql():
        with autocommit_connection() as connection:
            rows = first_attempts_recorded(connection, attempts)
        status_of = {delivery_id: DeliveryStatus(status) for delivery_id, status in rows}
    else:
        status_of = {}
        for attempt in attempts:
            params = {name: getattr(attempt, name) for name in _FIRST_ATTEMPT_FIELDS}
            db.session.execute(_FIRST_ATTEMPT_RECORD, params)
            moved_on = db.session.execute(_FIRST_ATTEMPT, params).one()
            status_of[moved_on.id] = moved_on.status
        db.session.commit()
    for attempt in attempts:
        log.info(
            "delivery %s (webhook) attempt 1: %s",
            attempt.delivery_id,
            attempt.status_code or attempt.error,
        )
    return [status_of[attempt.delivery_id] for attempt in attempts]


def deliver_sale(sale_id: int, event_type: str = PURCHASE_CREATED) -> list[int]:
    """Create the sale's deliveries of an event (once) and send the new ones. Idempotent."""
    created = create_deliveries([sale_id], event_type)
    db.session.commit()
    start_sending(created)
    return created


def _deliveries_with_purchases():
    """Deliveries with their campaign's secret and their purchase as ``purchase_json``
    reads it: one round trip, no object loaded."""
    campaigns = Campaign.__table__
    query = select(
        _deliveries.c.id.label("delivery_id"),
        _deliveries.c.channel,
        _deliveries.c.event,
        _deliveries.c.target,
        _deliveries.c.status.label("delivery_status"),
        _deliveries.c.attempts,
        _deliveries.c.next_attempt_at,
        campaigns.c.webhook_secret,
        *representations.purchase_columns(),
    ).select_from(
        _deliveries.join(Sale.__table__, Sale.__table__.c.id == _deliveries.c.sale_id).outerjoin(
            campaigns, campaigns.c.id == Sale.__table__.c.campaign_id
        )
    )
    return representations.purchases_from(query)


# Built once: a statement's construction costs about as much as its run.
_DELIVERIES_WITH_PURCHASES = _deliveries_with_purchases()
_LOCK_DELIVERY = _DELIVERIES_WITH_PURCHASES.where(
    _deliveries.c.id == bindparam("delivery_id")
).with_for_update(of=_deliveries)
_RECORD_ATTEMPT = insert(DeliveryAttempt.__table__)


@dataclass(frozen=True)
class FirstAttempt:
    """A ready webhook's first attempt, posted and not recorded yet."""

    delivery_id: int
    attempted_at: datetime
    status_code: int | None
    duration_ms: int
    error: str | None
    new_status: DeliveryStatus
    delivered: datetime | None
    next_attempt: datetime | None


_FIRST_ATTEMPT_FIELDS = tuple(FirstAttempt.__dataclass_fields__)
# A first attempt moves a pending delivery on; one that another attempt already moved
# (a buyer's redelivery, say) keeps what that attempt wrote, and counts this one.
_FIRST = and_(_deliveries.c.attempts == 0, _deliveries.c.status == DeliveryStatus.PENDING)


def _first_attempt_statements(attempt):
    """The rule of a first attempt's record, from ``attempt``'s columns (one attempt's
    bound parameters, or the rows of a batch): the delivery's update returning its
    status, and the attempt's insert (a select of ``attempt``'s columns)."""
    moved_on = update(_deliveries).values(
        attempts=_deliveries.c.attempts + 1,
        status=case((_FIRST, attempt.new_status), else_=_deliveries.c.status),
        delivered_at=case((_FIRST, attempt.delivered), else_=_deliveries.c.delivered_at),
        next_attempt_at=case((_FIRST, attempt.next_attempt), else_=_deliveries.c.next_attempt_at),
    )
    moved_on = moved_on.where(_deliveries.c.id == attempt.delivery_id)
    moved_on = moved_on.returning(_deliveries.c.id, _deliveries.c.status)
    columns = ["delivery_id", "attempted_at", "status_code", "duration_ms", "error"]
    recorded = insert(DeliveryAttempt.__table__).from_select(
        [*columns, "manual"], select(*(getattr(attempt, name) for name in columns), false())
    )
    return moved_on, recorded


def _row_type(type_):
    """A column's type as a field of a JSON row read by ``json_to_recordset``: an enum's
    as its text (the column holds the value's text), a decorated type as its own."""
    if isinstance(type_, Enum):
        return String()
    return type_.impl if isinstance(type_, TypeDecorator) else type_


# Each field's type: the column it goes to.
_FIRST_ATTEMPT_TYPES = {
    "delivery_id": _deliveries.c.id.type,
    "attempted_at": DeliveryAttempt.__table__.c.attempted_at.type,
    "status_code": DeliveryAttempt.__table__.c.status_code.type,
    "duration_ms": DeliveryAttempt.__table__.c.duration_ms.type,
    "error": DeliveryAttempt.__table__.c.error.type,
    "new_status": _deliveries.c.status.type,
    "delivered": _deliveries.c.delivered_at.type,
    "next_attempt": _deliveries.c.next_attempt_at.type,
}
# One attempt (SQLite): two statements of bound parameters, in one transaction.
_FIRST_ATTEMPT, _FIRST_ATTEMPT_RECORD = _first_attempt_statements(
    SimpleNamespace(
        **{name: bindparam(name, type_=type_) for name, type_ in _FIRST_ATTEMPT_TYPES.items()}
    )
)
# PostgreSQL: a batch of attempts as one JSON array of rows, read back by
# json_to_recordset into their columns' types; the attempts' records and the
# deliveries' updates in one statement, atomic by itself: autocommit, one round trip
# and one commit for the batch. It goes to the driver as text, compiled once: through
# SQLAlchemy's connection (its checkout, the isolation level set and reset, the
# compiled statement's execution) a record cost a worker a ninth of its CPU per lead
# (py-spy at 30 leads/s).
#
# The rows' count is given as their LIMIT, which drops none: PostgreSQL takes a
# set-returning function for 100 rows, and for 100 attempts it joined the deliveries
# by a sequential scan up to some 20,000 of them; for the few a batch holds it reads
# each by its key. The statement is planned at each execution (``prepare=False``, 0.2
# to 0.5 ms): a plan kept from when the table was small read every delivery for as
# long as it lasted (docs/benchmarks.md, "2026-12-05 (session 22)").
_FIRST_ATTEMPT_ROWS = (
    select(
        func.json_to_recordset(cast(bindparam("attempt_rows", type_=String), postgresql.JSON))
        .table_valued(
            *(column(name, _row_type(type_)) for name, type_ in _FIRST_ATTEMPT_TYPES.items())
        )
        .render_derived(name="given", with_types=True)
    )
    .limit(bindparam("attempt_count", type_=Integer))
    .subquery("attempt_row")
)
_FIRST_ATTEMPTS_UPDATE, _FIRST_ATTEMPTS_RECORD = _first_attempt_statements(_FIRST_ATTEMPT_ROWS.c)
_FIRST_ATTEMPTS_COMPILED = _FIRST_ATTEMPTS_UPDATE.add_cte(
    _FIRST_ATTEMPTS_RECORD.cte("attempt")
).compile(dialect=postgresql.psycopg.dialect())
_FIRST_ATTEMPTS_SQL = str(_FIRST_ATTEMPTS_COMPILED)
# The values the statements hold themselves (the first attempt's condition).
_FIRST_ATTEMPTS_CONSTANTS = {
    name: value.value if isinstance(value, enum.Enum) else value
    for name, value in _FIRST_ATTEMPTS_COMPILED.params.items()
    if value is not None
}


def send_delivery(delivery_id: int, manual: bool = False) -> DeliveryStatus | None:
    """One attempt of one delivery; on failure the next is scheduled, or it fails for good.

    A delivered one is sent again only by hand (``manual``): a retried job never
    delivers twice (the row is locked from the read to the commit).
    """
    found = db.session.execute(_LOCK_DELIVERY, {"delivery_id": delivery_id}).first()
    if found is None:
        db.session.rollback()
        return None
    row = found._mapping
    status = row["delivery_status"]
    if status is not DeliveryStatus.PENDING and not manual:
        db.session.rollback()
        return status
    now = utcnow()
    if not manual and row["attempts"] and (row["next_attempt_at"] or now) > now:
        db.session.rollback()  # a second job for an attempt already made: wait for the retry
        return status
    if row["channel"] is not DeliveryChannel.WEBHOOK:
        result = _email(row["target"], row["id"])
    elif row["webhook_secret"] is None:
        result = webhook_sender.WebhookResult(None, 0, "the campaign was deleted")
    else:
        result = webhook_sender.post(row["target"], row["webhook_secret"], event(row, now))
    attempts = row["attempts"] + 1
    changes: dict = {"attempts": attempts}
    if result.ok:
        changes.update(status=DeliveryStatus.DELIVERED, delivered_at=now, next_attempt_at=None)
    elif manual and status is not DeliveryStatus.PENDING:
        pass  # a hand redelivery that failed leaves the record as it was
    else:
        changes.update(_retry(attempts, now))
    _record_attempt(delivery_id, result, now, manual=manual)
    db.session.execute(update(_deliveries).where(_deliveries.c.id == delivery_id).values(**changes))
    db.session.commit()
    log.info(
        "delivery %s (%s) attempt %d: %s",
        delivery_id,
        row["channel"].value,
        attempts,
        result.status_code or result.error,
    )
    return changes.get("status", status)


def _record_attempt(
    delivery_id: int, result: webhook_sender.WebhookResult, now: datetime, *, manual: bool
) -> None:
    db.session.execute(
        _RECORD_ATTEMPT,
        {
            "delivery_id": delivery_id,
            "attempted_at": now,
            "status_code": result.status_code,
            "duration_ms": result.duration_ms,
            "error": result.error,
            "manual": manual,
        },
    )


def event(row, now: datetime) -> dict:
    """The webhook body of a delivery read with its purchase (``_LOCK_DELIVERY``)."""
    return _event(row["delivery_id"], row["event"], row, now)


def _event(delivery_id: int, event_type: str, purchase, now: datetime) -> dict:
    """A webhook body: a stable event id, so a receiver can ignore a repeat."""
    return {
        "id": f"evt_{delivery_id}",
        "type": event_type,
        "created": now.isoformat(),
        "data": representations.purchase_json(purchase),
    }


def _retry(attempts: int, now: datetime) -> dict:
    """The next attempt after ``attempts`` failed ones, or the end of the tries."""
    if attempts > len(RETRY_DELAYS):
        return {"status": DeliveryStatus.FAILED, "next_attempt_at": None}
    return {"next_attempt_at": now + timedelta(seconds=RETRY_DELAYS[attempts - 1])}


def _email(recipients: str, sale_id: int) -> webhook_sender.WebhookResult:
    sale = db.session.scalar(
        select(Sale)
        .where(Sale.id == sale_id)
        .options(
            joinedload(Sale.lead).joinedload(Lead.consent),
            joinedload(Sale.lead).joinedload(Lead.sector),
        )
    )
    lead = sale.lead
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    with force_locale("fr"):
        subject = _(
            "New lead: %(sector)s, %(company)s",
            sector=lead.sector.label("fr"),
            company=lead.company or "—",
        )
        body = _(
            "Name: %(name)s\nE-mail: %(email)s\nPhone: %(phone)s\nCompany: %(company)s\n"
            "Postcode: %(postcode)s\nMessage: %(message)s\n\nIn your portal: %(url)s\n"
            "Consent certificate: %(certificate)s",
            name=lead.full_name or "—",
            email=lead.email or "—",
            phone=lead.phone or "—",
            company=lead.company or "—",
            postcode=lead.postcode or "—",
            message=lead.message or "—",
            url=f"{base}/buyers/purchases/{sale.id}",
            certificate=f"{base}/consent/{lead.consent.certificate_id}",
        )
    started = time.monotonic()
    error = mail.send_now(
        recipients.split(", "), subject, body, topic="lead_delivery", lead_id=lead.id
    )
    duration_ms = int((time.monotonic() - started) * 1000)
    # 250 is SMTP's "accepted": recorded only when the server said it.
    return webhook_sender.WebhookResult(None if error else 250, duration_ms, error)


def send_due_deliveries(limit: int = 500) -> int:
    """Periodic: send the retries whose time has come, and the deliveries whose first
    job was lost (they fall due ``SWEEP_GRACE_SECONDS`` after their sale)."""
    if not jobs.run_once_per_period("send_due_deliveries", 60):
        return 0
    due = list(
        db.session.scalars(
            select(Delivery.id)
            .where(Delivery.status == DeliveryStatus.PENDING, Delivery.next_attempt_at <= utcnow())
            .order_by(Delivery.next_attempt_at)
            .limit(limit)
        )
    )
    db.session.rollback()
    start_sending(due)
    if due:
        log.info("delivery sweep: %d due delivery(ies) sent again", len(due))
    return len(due)


def redeliver(buyer_id: int, delivery_id: int) -> None:
    """The buyer asks for one more attempt now (after fixing its endpoint, say)."""
    delivery = db.session.scalar(
        select(Delivery)
        .join(Sale, Sale.id == Delivery.sale_id)
        .where(Delivery.id == delivery_id, Sale.buyer_id == buyer_id)
    )
    if delivery is None:
        raise NotFound()
    jobs.enqueue(send_delivery, delivery.id, True)


def test_webhook(buyer_id: int, campaign_id: int) -> webhook_sender.WebhookResult:
    """Post a signed ``ping`` event to the campaign's webhook now and say what happened."""
    from marketplace.campaigns import own_campaign

    campaign = own_campaign(buyer_id, campaign_id)
    if not campaign.webhook_url:
        return webhook_sender.WebhookResult(None, 0, "no webhook URL set")
    payload = {
        "id": f"evt_ping_{campaign.id}",
        "type": "ping",
        "created": utcnow().isoformat(),
        "data": {"campaign_id": campaign.id},
    }
    return webhook_sender.post(campaign.webhook_url, campaign.webhook_secret, payload)


def deliveries_of(sale_id: int) -> list[Delivery]:
    return list(
        db.session.scalars(
            select(Delivery)
            .where(Delivery.sale_id == sale_id)
            .options(joinedload(Delivery.attempt_log))
            .order_by(Delivery.id)
        ).unique()
    )
