"""Redis unreachable for the web app: no lead is lost, nobody is turned away, the node
stays in the pool; once Redis is back the sweep distributes every lead."""

from __future__ import annotations

import socket

from sqlalchemy import func, select

from marketplace import create_app
from marketplace.api_keys import issue_api_key
from marketplace.capture import sweep_pending_leads
from marketplace.extensions import db
from marketplace.models import Lead, LeadStatus
from tests import factories
from tests.conftest import csrf_token_from, test_config
from tests.marketplace.test_capture import form_fields
from tests.publishers.test_api import lead_body


def closed_port() -> int:
    """A loopback port nobody listens on: connections are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_with_redis_unreachable_every_lead_is_stored_then_distributed_when_it_is_back(
    app, database_uri, tmp_path, run_jobs, own_limiter
):
    dead = f"redis://127.0.0.1:{closed_port()}/0"
    web = create_app(
        {
            **test_config(database_uri, tmp_path),
            "REDIS_URL": dead,
            # The limiter's storage too: in production both live in the one Redis.
            "RATELIMIT_STORAGE_URI": dead,
            "RQ_QUEUE": app.config["RQ_QUEUE"],
        }
    )
    factories.campaign()
    user = factories.publisher_user()
    magnet = factories.magnet(user.organization, language="en")
    raw_key = issue_api_key(user.organization_id, "server")[1]
    db.session.commit()
    answers = []
    with web.app_context():
        http = web.test_client()
        for n in range(3):
            answers.append(
                http.post(
                    "/api/v1/leads",
                    json=lead_body(
                        magnet,
                        **{
                            "contact.email": f"api{n}@durand.example",
                            "contact.phone": f"06 12 34 56 7{n}",
                        },
                    ),
                    headers={"Authorization": f"Bearer {raw_key}"},
                ).status_code
            )
        for n in range(3):
            page = http.get(f"/m/{magnet.key}")
            data = {
                **factories.submission(email=f"form{n}@example.fr", phone=f"06 98 76 54 3{n}"),
                "consent": "y",
                **form_fields(page.get_data(as_text=True)),
            }
            answers.append(http.post(f"/m/{magnet.key}", data=data).status_code)
        # People can still sign in: the login limits count in the process meanwhile.
        token = csrf_token_from(http.get("/login").get_data(as_text=True))
        signed_in = http.post(
            "/login",
            data={"email": user.email, "password": factories.PASSWORD, "csrf_token": token},
        )
        health = http.get("/healthz")
        db.session.remove()
        db.engine.dispose()

    assert answers == [201, 201, 201, 200, 200, 200]
    assert signed_in.status_code == 302
    assert health.status_code == 200
    body = health.get_json()
    assert (body["ready"], body["redis"]) == (True, "unreachable")
    assert "redis" in body["degraded"]
    statuses = db.session.scalars(select(Lead.status)).all()
    assert statuses == [LeadStatus.PENDING] * 6

    # Redis is back (the suite's own app): the sweep sends every pending lead on.
    assert sweep_pending_leads(older_than_seconds=0) == 6
    run_jobs()
    db.session.expire_all()
    pending = db.session.scalar(
        select(func.count(Lead.id)).where(Lead.status == LeadStatus.PENDING)
    )
    assert pending == 0
    assert set(db.session.scalars(select(Lead.status))) == {LeadStatus.DISTRIBUTED}
