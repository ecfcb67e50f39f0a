"""Each sale reaches the buyer: e-mail through the outbox, and a signed webhook retried
with backoff until the endpoint accepts it, every attempt logged and visible."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from marketplace import delivery
from marketplace.distribution import distribute_lead
from marketplace.extensions import db
from marketplace.models import (
    Delivery,
    DeliveryAttempt,
    DeliveryChannel,
    DeliveryStatus,
    OutboxMail,
    Sale,
    utcnow,
)
from tests import factories


class Receiver:
    """A real local HTTP endpoint that fails its first ``failures`` calls."""

    def __init__(self, failures: int):
        self.failures = failures
        self.calls: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls.append((dict(self.headers), body))
                failing = len(receiver.calls) <= receiver.failures
                self.send_response(503 if failing else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/leads"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver_failing_twice():
    receiver = Receiver(failures=2)
    yield receiver
    receiver.server.shutdown()


def make_due(delivery_id: int) -> None:
    """As time passing would: the next attempt is now."""
    row = db.session.get(Delivery, delivery_id)
    row.next_attempt_at = utcnow() - timedelta(seconds=1)
    db.session.commit()


def test_a_webhook_is_retried_until_accepted_then_never_sent_again(
    receiver_failing_twice, run_jobs
):
    receiver = receiver_failing_twice
    campaign = factories.campaign(webhook_url=receiver.url)
    captured = factories.lead(email="hook.person@firm.fr")
    run_jobs()
    hook = db.session.scalar(select(Delivery).where(Delivery.channel == DeliveryChannel.WEBHOOK))
    assert (hook.status, hook.attempts) == (DeliveryStatus.PENDING, 1)
    # The first retry waits a minute from the attempt, whatever the clock reads meanwhile.
    assert hook.next_attempt_at - hook.attempt_log[-1].attempted_at == timedelta(minutes=1)

    for _ in range(3):  # three periods pass; only two attempts are still needed
        make_due(hook.id)
        delivery.send_due_deliveries()
        run_jobs()
        db.session.expire_all()
        _clear_period_lock()

    hook = db.session.get(Delivery, hook.id)
    assert (hook.status, hook.attempts) == (DeliveryStatus.DELIVERED, 3)
    assert len(receiver.calls) == 3
    statuses = [
        a.status_code
        for a in db.session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id == hook.id)
            .order_by(DeliveryAttempt.id)
        )
    ]
    assert statuses == [503, 503, 204]

    headers, body = receiver.calls[-1]
    timestamp, _, digest = headers["X-Marketplace-Signature"].partition(",v1=")
    timestamp = timestamp.removeprefix("t=")
    expected = hmac.new(
        campaign.webhook_secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(digest, expected)
    event = json.loads(body)
    assert event["type"] == "purchase.created" and event["id"] == f"evt_{hook.id}"
    assert event["data"]["contact"]["email"] == "hook.person@firm.fr"
    assert event["data"]["lead_id"] == captured.lead_id
    assert {json.loads(b)["id"] for _, b in receiver.calls} == {event["id"]}  # one event


def _clear_period_lock():
    from flask import current_app

    if current_app.config["REDIS_URL"]:
        from marketplace import jobs

        for key in jobs.redis_connection().scan_iter("marketplace:periodic:*"):
            jobs.redis_connection().delete(key)


def test_a_webhook_that_never_answers_is_marked_failed_after_about_thirty_hours(run_jobs):
    campaign = factories.campaign(webhook_url="http://127.0.0.1:9/unreachable")
    factories.lead()
    run_jobs()
    hook = db.session.scalar(select(Delivery))
    waits = []
    while hook.status is DeliveryStatus.PENDING:
        waits.append((hook.next_attempt_at - hook.attempt_log[-1].attempted_at).total_seconds())
        if hook.attempts:
            assert delivery.send_delivery(hook.id) is DeliveryStatus.PENDING  # not yet due
            assert db.session.get(Delivery, hook.id).attempts == hook.attempts
            make_due(hook.id)
        delivery.send_delivery(hook.id)
        db.session.expire_all()
        hook = db.session.get(Delivery, hook.id)
    assert hook.status is DeliveryStatus.FAILED
    assert hook.attempts == len(delivery.RETRY_DELAYS) + 1
    assert sum(delivery.RETRY_DELAYS) > 24 * 3600
    assert waits[: len(delivery.RETRY_DELAYS)] == list(delivery.RETRY_DELAYS)
    assert campaign.id


def test_the_campaign_recipients_get_the_lead_by_mail(run_jobs, smtp_server):
    factories.campaign(email_recipients=["sales@acme.fr", "boss@acme.fr"])
    factories.lead(email="mail.person@firm.fr", company="Mail SA")
    run_jobs()
    [received] = smtp_server.messages
    assert sorted(received.rcpt_tos) == ["boss@acme.fr", "sales@acme.fr"]
    assert "mail.person@firm.fr" in received.content.decode()
    mails = list(db.session.scalars(select(OutboxMail).where(OutboxMail.topic == "lead_delivery")))
    assert [mail.sent_at is not None for mail in mails] == [True]
    assert "Mail SA" in mails[0].subject
    hook = db.session.scalar(select(Delivery))
    assert hook.status is DeliveryStatus.DELIVERED
    assert [a.status_code for a in hook.attempt_log] == [250]


@pytest.mark.parametrize("smtp", ["not configured", "refusing"])
def test_an_e_mail_not_sent_is_not_called_delivered(run_jobs, app, monkeypatch, smtp):
    """Kept in the outbox is not delivered: the attempt says why, and it is retried."""
    if smtp == "refusing":
        monkeypatch.setitem(app.config, "SMTP_URL", "smtp://127.0.0.1:9")
    else:
        monkeypatch.setitem(app.config, "SMTP_URL", None)
    factories.campaign(email_recipients=["sales@acme.fr"])
    factories.lead()
    run_jobs()
    hook = db.session.scalar(select(Delivery))
    assert (hook.status, hook.attempts) == (DeliveryStatus.PENDING, 1)
    [attempt] = hook.attempt_log
    assert hook.next_attempt_at - attempt.attempted_at == timedelta(minutes=1)
    assert attempt.status_code is None
    assert attempt.error


def test_the_buyer_sees_the_attempts_and_can_redeliver_or_test_its_endpoint(
    login_as, submit_form, receiver_failing_twice, run_jobs
):
    receiver = receiver_failing_twice
    user = factories.buyer_user()
    campaign = factories.campaign(user.organization, webhook_url=receiver.url)
    factories.lead()
    run_jobs()
    sale = db.session.scalar(select(Sale))
    http = login_as(user)
    page = http.get(f"/buyers/purchases/{sale.id}").get_data(as_text=True)
    assert "503" in page and receiver.url in page

    hook = db.session.scalar(select(Delivery))
    submit_form(
        f"/buyers/deliveries/{hook.id}/redeliver",
        {},
        page_url=f"/buyers/purchases/{sale.id}",
        http=http,
    )
    run_jobs()
    tested = submit_form(
        f"/buyers/campaigns/{campaign.id}/test-webhook",
        {},
        page_url=f"/buyers/campaigns/{campaign.id}",
        http=http,
        follow_redirects=True,
    )
    assert "Your endpoint answered 204" in tested.get_data(as_text=True)
    assert json.loads(receiver.calls[-1][1])["type"] == "ping"
    attempts = db.session.scalars(select(DeliveryAttempt).order_by(DeliveryAttempt.id)).all()
    assert [a.manual for a in attempts] == [False, True]


def test_no_buyer_redelivers_another_buyer_s_sale(login_as, run_jobs):
    factories.campaign(webhook_url="http://127.0.0.1:9/x")
    factories.lead()
    run_jobs()
    hook = db.session.scalar(select(Delivery))
    http = login_as(factories.buyer_user())
    http.application.config["WTF_CSRF_ENABLED"] = False
    try:
        assert http.post(f"/buyers/deliveries/{hook.id}/redeliver").status_code == 404
    finally:
        http.application.config["WTF_CSRF_ENABLED"] = True


def test_webhooks_to_private_addresses_are_refused_in_production(app, monkeypatch):
    from marketplace import webhook_sender

    monkeypatch.setitem(app.config, "WEBHOOK_ALLOW_PRIVATE_TARGETS", False)
    result = webhook_sender.post("http://127.0.0.1:8080/", "secret", {"type": "ping"})
    assert not result.ok and "private address" in result.error


@pytest.fixture
def receiver_ok():
    receiver = Receiver(failures=0)
    yield receiver
    receiver.server.shutdown()


class WorkerKilled(BaseException):
    """What a SIGKILL looks like from inside: nothing after this point runs."""


@pytest.mark.parametrize("lost_how", ["worker killed after the commit", "enqueue refused"])
def test_a_sale_whose_delivery_job_is_lost_is_delivered_once_by_the_sweep(
    receiver_ok, run_jobs, monkeypatch, lost_how
):
    from marketplace import distribution, jobs

    factories.campaign(webhook_url=receiver_ok.url)
    captured = factories.lead(distribute=False)
    if lost_how == "enqueue refused":

        def refuse(func, *args, **kwargs):
            raise jobs.EnqueueFailed("Redis refused")

        monkeypatch.setattr(jobs, "enqueue", refuse)
        distribution.distribute_lead(captured.lead_id)
    else:

        def die(delivery_ids, ready=()):
            raise WorkerKilled()

        monkeypatch.setattr(delivery, "start_sending", die)
        with pytest.raises(WorkerKilled):
            distribution.distribute_lead(captured.lead_id)
    monkeypatch.undo()
    db.session.remove()

    # The sale and its delivery were committed together (the outbox).
    sale = db.session.scalar(select(Sale))
    hook = db.session.scalar(select(Delivery).where(Delivery.sale_id == sale.id))
    assert (hook.status, hook.attempts) == (DeliveryStatus.PENDING, 0)
    assert receiver_ok.calls == []

    assert delivery.send_due_deliveries() == 0  # its own job may still be on its way
    _clear_period_lock()
    make_due(hook.id)  # the grace has passed
    assert delivery.send_due_deliveries() == 1
    run_jobs()
    _clear_period_lock()
    delivery.send_due_deliveries()
    run_jobs()

    db.session.expire_all()
    hook = db.session.get(Delivery, hook.id)
    assert (hook.status, hook.attempts) == (DeliveryStatus.DELIVERED, 1)
    assert len(receiver_ok.calls) == 1


def test_two_jobs_for_one_delivery_send_it_once(receiver_ok, run_jobs):
    factories.campaign(webhook_url=receiver_ok.url)
    factories.lead()
    run_jobs()
    hook = db.session.scalar(select(Delivery))
    assert hook.status is DeliveryStatus.DELIVERED

    assert delivery.send_delivery(hook.id) is DeliveryStatus.DELIVERED  # a retried job
    assert len(receiver_ok.calls) == 1


def _same_instants(value):
    """JSON values with each timestamp read as an instant: the webhook writes
    ``2026-12-03 07:00:00+00:00``, the API ``2026-12-03T07:00:00+00:00``."""
    from datetime import datetime

    if isinstance(value, dict):
        return {key: _same_instants(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_same_instants(item) for item in value]
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] in " T":
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def test_the_webhook_carries_the_purchase_as_the_api_gives_it(client, receiver_ok, run_jobs):
    from marketplace.api_keys import issue_api_key

    campaign = factories.campaign(webhook_url=receiver_ok.url)
    factories.lead(email="same.shape@firm.fr", message="Un devis pour 12 postes, svp.")
    run_jobs()
    sale = db.session.scalar(select(Sale).where(Sale.buyer_id == campaign.buyer_id))
    auth = {"Authorization": f"Bearer {issue_api_key(campaign.buyer_id, 'k')[1]}"}
    rated = client.post(
        f"/api/v1/purchases/{sale.id}/rating",
        json={"stars": 2, "reasons": ["wrong_number"], "comment": "Faux numéro."},
        headers=auth,
    )
    assert rated.status_code == 200
    disputed = client.post(
        f"/api/v1/purchases/{sale.id}/dispute", json={"reason": "duplicate"}, headers=auth
    )
    assert disputed.status_code == 201
    hook = db.session.scalar(select(Delivery).where(Delivery.channel == DeliveryChannel.WEBHOOK))
    assert delivery.send_delivery(hook.id, manual=True) is DeliveryStatus.DELIVERED

    sent = json.loads(receiver_ok.calls[-1][1])["data"]
    given = client.get(f"/api/v1/purchases/{sale.id}", headers=auth).get_json()
    assert sent["rating"]["stars"] == 2 and sent["dispute"]["reason"] == "duplicate"
    assert sent["contact"]["email"] == "same.shape@firm.fr"
    assert _same_instants(sent) == _same_instants(given)
    [listed] = client.get("/api/v1/purchases", headers=auth).get_json()["items"]
    assert listed == given


def test_a_sale_s_deliveries_are_written_with_it_by_the_campaign_s_rule():
    """An e-mail to the recipients (new purchases only), then a webhook to the URL, due
    for the sweep after its grace; nothing for a campaign that pushes nothing. On
    PostgreSQL the round's own statement writes them (delivery.SALES_DELIVERIES)."""
    both = factories.campaign(
        price_cents=9000,
        email_recipients=["sales@acme.fr", "boss@acme.fr"],
        webhook_url="http://127.0.0.1:9/hooks",
    )
    factories.campaign(price_cents=8000, webhook_url="")
    captured = factories.lead(factories.magnet(max_buyers=2), distribute=False)

    sale_ids = distribute_lead(captured.lead_id)

    assert len(sale_ids) == 2
    rows = db.session.scalars(select(Delivery).order_by(Delivery.id)).all()
    [pushed_sale] = [s for s in sale_ids if db.session.get(Sale, s).campaign_id == both.id]
    assert [(r.sale_id, r.channel, r.target, r.event, r.occasion) for r in rows] == [
        (pushed_sale, DeliveryChannel.EMAIL, "sales@acme.fr, boss@acme.fr", "purchase.created", ""),
        (pushed_sale, DeliveryChannel.WEBHOOK, "http://127.0.0.1:9/hooks", "purchase.created", ""),
    ]
    # Not yet attempted (sent by a worker's threads; inline, at once): due after the grace.
    for row in (row for row in rows if row.attempts == 0):
        grace = timedelta(seconds=delivery.SWEEP_GRACE_SECONDS)
        assert row.next_attempt_at - row.created_at == grace
    credited = delivery.create_deliveries([pushed_sale], delivery.PURCHASE_CREDITED)
    assert [db.session.get(Delivery, i).channel for i in credited] == [DeliveryChannel.WEBHOOK]
