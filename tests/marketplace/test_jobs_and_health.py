"""The job layer (inline or RQ) and the health check."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from marketplace import jobs
from marketplace.capture import start_distribution
from marketplace.extensions import db
from marketplace.models import Lead, LeadStatus, Sale
from tests import factories


def test_without_redis_a_job_runs_at_once_in_the_request(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    factories.campaign()
    captured = factories.lead(distribute=False)

    start_distribution(captured.lead_id)

    assert db.session.get(Lead, captured.lead_id).status is LeadStatus.DISTRIBUTED


def test_an_inline_job_that_fails_is_logged_and_rolled_back(app, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    monkeypatch.setitem(app.config, "JOBS_RAISE_INLINE", False)

    jobs.enqueue("tests.marketplace.test_jobs_and_health:failing_job", 7)

    assert "inline job tests.marketplace.test_jobs_and_health:failing_job(7,) failed" in caplog.text


def failing_job(number):
    raise RuntimeError(f"boom {number}")


@pytest.mark.services
def test_with_redis_the_job_waits_for_a_worker_then_runs_once(run_jobs):
    factories.campaign()
    captured = factories.lead(distribute=False)

    start_distribution(captured.lead_id)
    start_distribution(captured.lead_id)  # a retry, or a second sweep: must not sell twice
    assert db.session.get(Lead, captured.lead_id).status is LeadStatus.PENDING

    run_jobs()

    db.session.expire_all()
    assert db.session.get(Lead, captured.lead_id).status is LeadStatus.DISTRIBUTED
    assert len(db.session.scalars(select(Sale)).all()) == 1


@pytest.mark.services
def test_when_redis_is_down_the_lead_is_kept_pending(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setitem(app.extensions, "marketplace_redis", None)
    factories.campaign()
    magnet = factories.magnet()
    from marketplace.capture import (
        CaptureContext,
        capture_lead,
        capture_target,
        validate_submission,
    )

    target = capture_target(magnet.key)
    captured = capture_lead(
        target,
        validate_submission(magnet, factories.submission(), consent_given=True),
        consent_text=target.consent_texts[-1],
        consent_given=True,
        context=CaptureContext(),
    )

    assert db.session.get(Lead, captured.lead_id).status is LeadStatus.PENDING
    # The waker's failed wake-up done before the address is put back: sent after, it
    # would leave a client of the dead address to the next tests.
    jobs.settle_wakes()
    app.extensions.pop("marketplace_redis", None)


def test_healthz_reports_the_database_and_the_version(client, app):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["ready"] is True
    assert body["database"] == "ok"
    assert body["version"]
    assert body["oldest_pending_lead_seconds"] is None
    assert body["oldest_due_delivery_seconds"] is None
    if app.config["REDIS_URL"]:
        assert body["redis"] == "ok"
    else:
        assert body["redis"].startswith("not configured")
        assert (body["status"], body["degraded"]) == ("ok", [])


def test_healthz_stays_ready_with_redis_marked_degraded_when_redis_is_unreachable(
    client, app, monkeypatch
):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setitem(app.extensions, "marketplace_redis", None)
    response = client.get("/healthz")
    app.extensions.pop("marketplace_redis", None)
    assert response.status_code == 200  # a load balancer keeps this node in the pool
    body = response.get_json()
    assert (body["ready"], body["status"], body["redis"]) == (True, "degraded", "unreachable")
    assert "redis" in body["degraded"]


def test_healthz_reports_the_oldest_pending_lead_and_due_delivery(client, app, monkeypatch):
    from datetime import timedelta

    from marketplace.models import utcnow

    monkeypatch.setitem(app.config, "REDIS_URL", None)
    factories.campaign(webhook_url="http://127.0.0.1:9/unreachable")
    old = factories.lead(distribute=False)
    db.session.get(Lead, old.lead_id).created_at = utcnow() - timedelta(minutes=10)
    factories.lead()  # sold, its webhook refused: a retry is scheduled, not yet due
    db.session.commit()

    body = client.get("/healthz").get_json()
    assert body["oldest_pending_lead_seconds"] >= 600
    assert "oldest_pending_lead" in body["degraded"]
    assert body["oldest_due_delivery_seconds"] is None

    from marketplace.models import Delivery

    hook = db.session.scalar(select(Delivery))
    hook.next_attempt_at = utcnow() - timedelta(minutes=6)
    db.session.commit()
    body = client.get("/healthz").get_json()
    assert body["oldest_due_delivery_seconds"] >= 360
    assert body["ready"] is True


def test_healthz_answers_503_when_the_database_is_unreachable(client, app, monkeypatch):
    from sqlalchemy.exc import OperationalError

    def unreachable(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(db.session, "execute", unreachable)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["ready"] is False


@pytest.mark.services
def test_the_worker_command_runs_the_queued_jobs(app):
    factories.campaign()
    captured = factories.lead(distribute=False)
    start_distribution(captured.lead_id)

    result = app.test_cli_runner().invoke(args=["worker", "--burst"])

    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(Lead, captured.lead_id).status is LeadStatus.DISTRIBUTED


@pytest.mark.services
def test_the_worker_runs_jobs_in_its_own_process_each_in_its_own_app_context(app):
    """Not a forked process per job: what the worker keeps (the campaigns' rules, the
    pooled connections) lasts from one job to the next."""
    queued = [jobs.queue().enqueue(jobs.run_job, name, ()) for name in [f"{__name__}:whoami"] * 2]

    result = app.test_cli_runner().invoke(args=["worker", "--burst"])

    assert result.exit_code == 0, result.output
    (pid, first_saw_a_job), (same_pid, second_saw_a_job) = [
        job.latest_result().return_value for job in queued
    ]
    assert pid == same_pid == os.getpid()
    # Each job finds a fresh context (no mark left by the other), not the same one again.
    # Not compared by id(): a freed context's address is often the next one's.
    assert not first_saw_a_job and not second_saw_a_job


def whoami():
    from flask import current_app, g

    assert current_app
    saw_a_job = getattr(g, "whoami_ran", False)
    g.whoami_ran = True
    return os.getpid(), saw_a_job


def test_the_worker_command_explains_that_it_needs_redis(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    result = app.test_cli_runner().invoke(args=["worker", "--burst"])
    assert result.exit_code != 0
    assert "REDIS_URL is not set" in result.output


def test_the_privacy_page_the_consent_text_links_to_exists(client):
    magnet = factories.magnet(language="en")
    from marketplace.consent import current_consent_text

    assert "/privacy" in current_consent_text(magnet.id).text
    page = client.get("/privacy")
    assert page.status_code == 200
    assert "Your rights" in page.get_data(as_text=True)


def test_the_sweeper_restarts_leads_pending_for_more_than_a_minute(app, run_jobs):
    from datetime import timedelta

    from marketplace.capture import sweep_pending_leads
    from marketplace.models import utcnow

    factories.campaign()
    old = factories.lead(distribute=False, now=utcnow() - timedelta(minutes=5))
    fresh = factories.lead(distribute=False)

    assert sweep_pending_leads() == 1
    run_jobs()

    db.session.expire_all()
    assert db.session.get(Lead, old.lead_id).status is LeadStatus.DISTRIBUTED
    assert db.session.get(Lead, fresh.lead_id).status is LeadStatus.PENDING


@pytest.mark.services
def test_one_sweep_per_minute_whatever_the_number_of_workers(app):
    from marketplace.capture import sweep_pending_leads

    assert jobs.run_once_per_period("test-lock", 60) is True
    assert jobs.run_once_per_period("test-lock", 60) is False
    jobs.redis_connection().delete(f"marketplace:periodic:{app.config['RQ_QUEUE']}:test-lock")
    sweep_pending_leads()
    assert sweep_pending_leads() == 0  # the second caller in the minute does nothing


def test_run_periodic_runs_the_sweep_once_without_redis(app, monkeypatch):
    from datetime import timedelta

    from marketplace.models import utcnow

    monkeypatch.setitem(app.config, "REDIS_URL", None)
    factories.campaign()
    old = factories.lead(distribute=False, now=utcnow() - timedelta(minutes=5))
    (Path(app.instance_path) / "periodic-runs.json").unlink(missing_ok=True)
    result = app.test_cli_runner().invoke(args=["run-periodic"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(Lead, old.lead_id).status is LeadStatus.DISTRIBUTED
    # Called again a minute later, the daily reconciliation is not due yet.
    later = time.time() + 61
    ran = jobs.run_periodic_jobs(now=later)
    assert "marketplace.capture.service:sweep_pending_leads" in ran
    assert "billing.reconcile:reconcile" not in ran
    assert "billing.reconcile:reconcile" in jobs.run_periodic_jobs(now=later + 86_400)
