"""Fixtures layered app -> database -> client -> login_as(role).

The suite runs on the embedded default (a SQLite file, jobs inline) or, when
DATABASE_URL and REDIS_URL are set, on a fresh PostgreSQL database created for
this run and a real Redis queue worked by an RQ SimpleWorker. Tests marked
``services`` only mean something on the real services: they are skipped on the
embedded run and must run when MARKETPLACE_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import contextvars
import os
import re
import secrets
import shutil

import psycopg
import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.engine import make_url

from marketplace import api, create_app
from marketplace.extensions import db

DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
REQUIRE_SERVICES = os.environ.get("MARKETPLACE_REQUIRE_SERVICES", "").lower() in {
    "1",
    "true",
    "yes",
}
ON_POSTGRES = DATABASE_URL.startswith(("postgresql", "postgres:"))
CHROMIUM = "/usr/bin/chromium"
# One queue for the whole run, whatever app a test builds: emptied after each test, and
# every Redis key naming it deleted at the end of the run.
RUN_QUEUE = f"marketplace-test-{secrets.token_hex(4)}"
# Tables seeded by migrations, kept between tests.
# Seeded by the migrations, the whole run's: a test that changes them puts them back.
KEPT_TABLES = {"sectors", "scoring_models", "return_rules", "alembic_version"}


def _redis_up() -> bool:
    if not REDIS_URL:
        return False
    try:
        return bool(Redis.from_url(REDIS_URL, socket_timeout=2).ping())
    except RedisError:
        return False


SERVICES_UP = ON_POSTGRES and _redis_up()


def pytest_configure(config):
    if REQUIRE_SERVICES and not SERVICES_UP:
        raise pytest.UsageError(
            "MARKETPLACE_REQUIRE_SERVICES=1 needs DATABASE_URL=postgresql://... and a reachable "
            f"REDIS_URL (got DATABASE_URL={DATABASE_URL!r}, REDIS_URL={REDIS_URL!r})"
        )


def pytest_collection_modifyitems(config, items):
    skip_services = pytest.mark.skip(
        reason="needs PostgreSQL and Redis: set DATABASE_URL and REDIS_URL "
        "(CI runs it with MARKETPLACE_REQUIRE_SERVICES=1)"
    )
    skip_browser = pytest.mark.skip(reason=f"{CHROMIUM} is not installed (apt install chromium)")
    for item in items:
        if "services" in item.keywords and not SERVICES_UP:
            item.add_marker(skip_services)
        if "browser" in item.keywords and not os.path.exists(CHROMIUM) and not REQUIRE_SERVICES:
            item.add_marker(skip_browser)


@pytest.fixture(scope="session")
def database_uri(tmp_path_factory):
    """A fresh database for this run: a new PostgreSQL database, or a SQLite file."""
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        return
    server = make_url(DATABASE_URL).set(drivername="postgresql")
    name = f"marketplace_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin_dsn = server.render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield server.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_config(database_uri: str, instance_path) -> dict:
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(instance_path),
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "REDIS_URL": REDIS_URL if SERVICES_UP else None,
        "RQ_QUEUE": RUN_QUEUE,
        # Limits on, in memory, emptied before each test (see app_context).
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": "memory://",
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "JOBS_RAISE_INLINE": True,
        "CAPTURE_MIN_FILL_SECONDS": 0,  # tests that check the guard set it
        "WEBHOOK_ALLOW_PRIVATE_TARGETS": True,  # the test receivers listen on loopback
        "SNAPSHOT_SECONDS": 0,  # every read fresh; tests of the copies set it
        "SERVER_NAME": None,
    }


test_config.__test__ = False  # a helper, not a test


class IsolatedClient(FlaskClient):
    """A test client whose requests run as they do in production: in their own app context.

    Flask reuses an app context already pushed (the tests push one to use the
    database), which would share ``g`` (the logged-in user) and the database session
    between requests. Each request runs in an empty context instead; afterwards the
    test's own session forgets what it had loaded, so it sees what the request wrote.
    """

    def open(self, *args, **kwargs):
        # A streamed answer (the CSV export) is read whole inside the request's own
        # context: its generator holds that context until it ends.
        kwargs.setdefault("buffered", True)
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():
            db.session.expire_all()
        return response


@pytest.fixture(scope="session")
def app(database_uri, tmp_path_factory):
    from flask_migrate import upgrade

    application = create_app(test_config(database_uri, tmp_path_factory.mktemp("instance")))
    application.test_client_class = IsolatedClient
    with application.app_context():
        upgrade()
    yield application
    with application.app_context():
        db.engine.dispose()
    if application.config["REDIS_URL"]:
        with application.app_context():
            _forget_run_in_redis(application)


def _forget_run_in_redis(app):
    """Every key this run's queue made (jobs, registries, results, locks): none outlives it."""
    from marketplace import jobs

    jobs.queue().empty()
    connection = jobs.redis_connection()
    for key in connection.scan_iter(f"*{app.config['RQ_QUEUE']}*"):
        connection.delete(key)


@pytest.fixture(autouse=True)
def app_context(app):
    """Each test runs in an app context and leaves the database empty for the next."""
    from marketplace import snapshots
    from marketplace.extensions import limiter

    limiter.reset()
    api.forget_leases()
    snapshots.forget_all()
    with app.app_context():
        yield
        db.session.remove()
        _empty_tables()
        if app.config["REDIS_URL"]:
            _empty_redis(app)


def _empty_redis(app):
    """Jobs and periodic locks of this run: a job left by one test must not run in the next."""
    from rq.registry import FailedJobRegistry, ScheduledJobRegistry

    from marketplace import jobs

    jobs.settle_wakes()  # a wake-up still on its way would queue a run for the next test
    queue = jobs.queue()
    queue.empty()
    for registry in (FailedJobRegistry(queue=queue), ScheduledJobRegistry(queue=queue)):
        for job_id in registry.get_job_ids():
            registry.remove(job_id, delete_job=True)
    connection = jobs.redis_connection()
    for pattern in ("marketplace:periodic:{}:*", "marketplace:wake:{}:*"):
        for key in connection.scan_iter(pattern.format(app.config["RQ_QUEUE"])):
            connection.delete(key)


def _empty_tables():
    tables = [t.name for t in db.metadata.sorted_tables if t.name not in KEPT_TABLES]
    with db.engine.begin() as connection:
        # A sector's own scoring model is a test's; the audiences' are seeded.
        connection.execute(text("DELETE FROM scoring_models WHERE sector_id IS NOT NULL"))
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in reversed(tables):
                connection.execute(text(f"DELETE FROM {name}"))


@pytest.fixture
def own_limiter():
    """The limiter is one object, bound by ``init_app`` to the last app built: a test that
    builds an app of its own gives it back to the suite's app (and its storage) after."""
    from marketplace.extensions import limiter

    saved = dict(limiter.__dict__)
    yield
    limiter.__dict__.clear()
    limiter.__dict__.update(saved)


def english_client(app):
    """A test client whose browser asks for English (the app's default is French)."""
    http = app.test_client()
    http.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return http


@pytest.fixture
def client(app):
    return english_client(app)


@pytest.fixture
def run_jobs(app):
    """Work the queue until it is empty (RQ), or nothing to do (inline: already ran)."""

    def run():
        if not app.config["REDIS_URL"]:
            return 0
        from rq import SimpleWorker
        from rq.registry import FailedJobRegistry

        from marketplace import jobs

        assert jobs.settle_wakes(), "the waker did not send its wake-ups"
        queue = jobs.queue()
        SimpleWorker([queue], connection=jobs.redis_connection()).work(burst=True)
        failed = FailedJobRegistry(queue=queue)
        if failed.count:
            job = queue.fetch_job(failed.get_job_ids()[0])
            raise AssertionError(f"a job failed: {job.description}\n{job.latest_result()}")
        return 1

    return run


CSRF_INPUT = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)


def csrf_token_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


@pytest.fixture
def submit_form(client):
    """GET a page, then POST its form with the CSRF token it gave, as a browser would."""

    def submit(url, data, *, follow_redirects=False, page_url=None, http=None):
        http = http or client
        page = http.get(page_url or url)
        token = csrf_token_from(page.get_data(as_text=True))
        return http.post(url, data={**data, "csrf_token": token}, follow_redirects=follow_redirects)

    return submit


@pytest.fixture
def login_as(app, submit_form):
    """Sign a client in as a user (created by the factories), through the real login form."""

    def login(user, http=None):
        from tests.factories import PASSWORD

        http = http or english_client(app)
        response = submit_form("/login", {"email": user.email, "password": PASSWORD}, http=http)
        assert response.status_code == 302, response.get_data(as_text=True)
        return http

    return login


@pytest.fixture(scope="session")
def chromium_path():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    return shutil.which("chromium") or CHROMIUM


@pytest.fixture(scope="session")
def localstripe_url():
    """localstripe (the fake Stripe of field-notes.md) with the invoice endpoints it
    lacks (tests/stripe_server.py), on a free loopback port."""
    import socket
    import subprocess
    import sys
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, os.path.join(os.path.dirname(__file__), "stripe_server.py"), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("localstripe did not start")
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(timeout=10)


STRIPE_WEBHOOK_SECRET = "whsec_test_secret"


@pytest.fixture
def stripe_on(app, localstripe_url):
    """Stripe configured for this test, against a fresh localstripe; off afterwards."""
    import urllib.request

    for path in ("/_config/data", "/_config/recorded"):
        urllib.request.urlopen(
            urllib.request.Request(localstripe_url + path, method="DELETE"), timeout=5
        ).close()
    saved = {key: app.config.get(key) for key in STRIPE_KEYS}
    app.config.update(
        STRIPE_API_KEY="sk_test_marketplace",
        STRIPE_API_BASE=localstripe_url,
        STRIPE_WEBHOOK_SECRET=STRIPE_WEBHOOK_SECRET,
    )
    yield localstripe_url
    app.config.update(saved)


STRIPE_KEYS = ("STRIPE_API_KEY", "STRIPE_API_BASE", "STRIPE_WEBHOOK_SECRET")


class SmtpInbox:
    """What a real local SMTP server (aiosmtpd) received."""

    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(app):
    """A local SMTP server for this test; SMTP_URL points at it, then is unset again."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = SmtpInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    saved = app.config.get("SMTP_URL")
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    yield inbox
    app.config["SMTP_URL"] = saved
    controller.stop()
