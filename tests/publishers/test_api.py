"""The posting API: authentication, validation with field paths, consent proof,
idempotency, ping, status, and never a 500 whatever is sent."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from marketplace import snapshots
from marketplace.api_keys import issue_api_key, revoke_api_key
from marketplace.extensions import db
from marketplace.models import (
    ConsentRecord,
    IdempotentRequest,
    Lead,
    MagnetStatus,
    Organization,
    utcnow,
)
from tests import factories
from tests.conftest import english_client


@pytest.fixture
def publisher():
    return factories.PublisherFactory()


@pytest.fixture
def key(publisher):
    return issue_api_key(publisher.id, "server")[1]


@pytest.fixture
def magnet(publisher):
    return factories.magnet(publisher, language="en")


def headers(key, **extra):
    return {"Authorization": f"Bearer {key}", **extra}


def lead_body(magnet_, **changes):
    body = {
        "magnet": magnet_.key,
        "contact": {
            "first_name": "Marie",
            "last_name": "Durand",
            "email": "marie@durand.example",
            "phone": "06 12 34 56 78",
        },
        "qualification": {"company": "Durand SA", "postcode": "69003"},
        "consent": {
            "text_version": 1,
            "share_with_partners": True,
            "consented_at": (utcnow() - timedelta(minutes=2)).isoformat(),
            "ip": "198.51.100.20",
            "page_url": "https://publisher.example/devis",
            "user_agent": "Mozilla/5.0",
        },
        "tracking": {"utm_source": "google", "variant": "b"},
    }
    for path, value in changes.items():
        target = body
        *parents, last = path.split(".")
        for part in parents:
            target = target[part]
        if value is None:
            target.pop(last, None)
        else:
            target[last] = value
    return body


def test_a_posted_lead_is_stored_with_the_consent_the_publisher_declared(
    client, key, magnet, run_jobs
):
    factories.campaign()
    body = lead_body(magnet)
    response = client.post("/api/v1/leads", json=body, headers=headers(key))

    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["status"] == "accepted"
    record = db.session.scalar(select(ConsentRecord))
    assert record.certificate_id == answer["certificate_id"]
    assert record.channel == "api"
    assert record.ip == "198.51.100.20"
    assert record.page_url == "https://publisher.example/devis"
    assert record.consented_at.isoformat() == body["consent"]["consented_at"]
    assert record.utm == {"utm_source": "google"} and record.form_variant == "b"
    run_jobs()
    status = client.get(f"/api/v1/leads/{answer['id']}", headers=headers(key)).get_json()
    assert status["status"] == "distributed"
    assert status["sales"] == 1 and status["payout_cents"] == 2500
    buyer_names = {org.name for org in db.session.scalars(select(Organization))}
    assert not any(name in json.dumps(status) for name in buyer_names - {magnet.publisher.name})


@pytest.mark.parametrize(
    ("auth", "status"),
    [(None, 401), ("Bearer nope", 401), ("Basic abc", 401), ("Bearer " + "x" * 500, 401)],
)
def test_a_call_without_a_valid_key_is_refused(client, magnet, auth, status):
    response = client.post(
        "/api/v1/leads", json=lead_body(magnet), headers={"Authorization": auth} if auth else {}
    )
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == "unauthenticated"


def test_a_revoked_key_or_a_buyer_key_cannot_post(client, publisher, key, magnet):
    buyer_key = issue_api_key(factories.BuyerFactory().id, "buyer")[1]
    assert (
        client.post("/api/v1/leads", json=lead_body(magnet), headers=headers(buyer_key)).status_code
        == 403
    )
    from marketplace.models import ApiKey

    revoke_api_key(publisher.id, db.session.scalar(select(ApiKey.id)))
    assert (
        client.post("/api/v1/leads", json=lead_body(magnet), headers=headers(key)).status_code
        == 401
    )


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"contact.email": "nope"}, "contact.email", "Enter a valid e-mail address"),
        ({"contact.phone": None}, "contact.phone", "This field is required."),
        ({"contact.first_name": "x" * 101}, "contact.first_name", "At most 100 characters."),
        ({"contact.first_name": 42}, "contact.first_name", "Send this field as text."),
        ({"contact.nickname": "Mimi"}, "contact.nickname", "Unknown field."),
        ({"qualification.postcode": "1"}, "qualification.postcode", "Enter a French postcode"),
        ({"qualification.company": None}, "qualification.company", "This field is required."),
        ({"consent": None}, "consent", "This field is required."),
        ({"consent.share_with_partners": False}, "consent.share_with_partners", "Tick the box"),
        ({"consent.text_version": 7}, "consent.text_version", "no consent text of this version"),
        (
            {"consent.consented_at": "2026-01-01T10:00:00"},
            "consent.consented_at",
            "with its timezone",
        ),
        (
            {"consent.consented_at": "2999-01-01T10:00:00Z"},
            "consent.consented_at",
            "This date is in the future.",
        ),
        (
            {"consent.consented_at": "0001-01-01T00:00:00Z"},
            "consent.consented_at",
            "too far in the past",
        ),
        (
            {"consent.consented_at": "1900-01-01T10:00:00+01:00"},
            "consent.consented_at",
            "too far in the past",
        ),
        ({"contact.last_name": "Nul\u0000Byte"}, "contact.last_name", "not allowed"),
        ({"consent.ip": "999.1.1.1"}, "consent.ip", "IPv4 or IPv6"),
        ({"consent.page_url": None}, "consent.page_url", "This field is required."),
        ({"magnet": "not-mine"}, "magnet", "No magnet of yours has this key."),
    ],
)
def test_each_invalid_field_is_named_by_its_path(client, key, magnet, change, field, message):
    response = client.post("/api/v1/leads", json=lead_body(magnet, **change), headers=headers(key))
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert message in error["fields"][field]
    assert db.session.scalar(select(func.count(Lead.id))) == 0


def test_the_messages_follow_the_caller_s_language(app, key, magnet):
    http = app.test_client()
    response = http.post(
        "/api/v1/leads",
        json=lead_body(magnet, **{"contact.email": "x"}),
        headers=headers(key, **{"Accept-Language": "fr"}),
    )
    assert (
        "Saisissez une adresse e-mail valide"
        in response.get_json()["error"]["fields"]["contact.email"]
    )


@pytest.mark.parametrize(
    ("data", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ("[1, 2]", "application/json", 400),
        ("a=b", "application/x-www-form-urlencoded", 400),
    ],
)
def test_a_body_that_is_not_a_json_object_is_a_400(client, key, data, content_type, status):
    response = client.post(
        "/api/v1/leads", data=data, content_type=content_type, headers=headers(key)
    )
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == "bad_request"


def test_an_oversized_body_is_a_413(client, key, magnet):
    response = client.post(
        "/api/v1/leads",
        json=lead_body(magnet, **{"qualification.message": "x" * 70_000}),
        headers=headers(key),
    )
    assert response.status_code == 413


def test_an_oversized_body_without_a_length_is_a_413_too(client, key, magnet):
    """Chunked transfer encoding carries no Content-Length: the limit holds on the read."""
    import io
    import json

    body = json.dumps(lead_body(magnet, **{"qualification.message": "x" * 70_000})).encode()
    response = client.post(
        "/api/v1/leads",
        input_stream=io.BytesIO(body),
        headers={
            **headers(key),
            "Transfer-Encoding": "chunked",
            "Content-Type": "application/json",
        },
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
    )
    assert response.status_code == 413, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "too_large"
    assert db.session.scalar(select(func.count(Lead.id))) == 0


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 1000 + "]" * 1000,
        '{"a":' * 1000 + "1" + "}" * 1000,
        '{"magnet": NaN}',
        '{"magnet": Infinity}',
        "not json",
        "[1, 2]",
    ],
    ids=["deep-array", "deep-object", "nan", "infinity", "not-json", "array"],
)
def test_a_body_that_is_not_a_plain_json_object_is_a_400(client, key, raw):
    response = client.post(
        "/api/v1/leads",
        data=raw,
        headers={**headers(key), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"


def test_a_publisher_posting_too_fast_is_told_to_slow_down(app, client, key, magnet, monkeypatch):
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "3 per minute")
    other_key = issue_api_key(magnet.publisher_id, "second server")[1]
    db.session.commit()
    answers = [
        client.post(
            "/api/v1/leads",
            json=lead_body(magnet, **{"contact.email": f"{i}@x.fr"}),
            headers=headers(key if i % 2 else other_key),
        )
        for i in range(4)
    ]
    # Counted per organization, whatever its keys.
    assert [answer.status_code for answer in answers] == [201, 201, 201, 429]
    refused = answers[-1]
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # Another publisher has its own count.
    stranger = factories.magnet(factories.publisher_user().organization, language="en")
    stranger_key = issue_api_key(stranger.publisher_id, "server")[1]
    db.session.commit()
    answer = client.post("/api/v1/leads", json=lead_body(stranger), headers=headers(stranger_key))
    assert answer.status_code == 201


def test_the_limits_count_in_the_process_while_their_storage_is_unreachable(
    app, client, key, magnet, monkeypatch
):
    from limits.storage import MemoryStorage

    from marketplace import api
    from marketplace.extensions import limiter

    def unreachable(*args, **kwargs):
        raise ConnectionError("storage down")

    monkeypatch.setattr(MemoryStorage, "base_exceptions", ConnectionError, raising=False)
    monkeypatch.setattr(limiter.limiter.storage, "incr", unreachable)
    monkeypatch.setattr(api, "_counted_in_process", api.FixedWindowRateLimiter(MemoryStorage()))
    monkeypatch.setattr(api, "_limits_down_until", 0.0)
    monkeypatch.setitem(app.config, "API_RATE_LIMIT", "2 per minute")
    answers = [
        client.post(
            "/api/v1/leads",
            json=lead_body(magnet, **{"contact.email": f"{i}@x.fr"}),
            headers=headers(key),
        ).status_code
        for i in range(3)
    ]
    assert answers == [201, 201, 429]
    assert api._limits_down_until > 0


def test_duplicates_and_suppressed_people_are_answered_as_such(client, key, magnet):
    import hashlib

    from marketplace.models import SuppressionEntry

    first = client.post("/api/v1/leads", json=lead_body(magnet), headers=headers(key))
    again = client.post("/api/v1/leads", json=lead_body(magnet), headers=headers(key))
    db.session.add(
        SuppressionEntry(email_hash=hashlib.sha256(b"gone@x.fr").hexdigest(), reason="erasure")
    )
    db.session.commit()
    gone = client.post(
        "/api/v1/leads",
        json=lead_body(magnet, **{"contact.email": "Gone@x.fr"}),
        headers=headers(key),
    )
    assert first.get_json()["status"] == "accepted"
    assert again.status_code == 201 and again.get_json()["status"] == "duplicate"
    assert gone.status_code == 201 and gone.get_json()["status"] == "rejected"


def test_a_retry_with_the_same_idempotency_key_creates_nothing_new(client, key, magnet):
    body = lead_body(magnet)
    first = client.post(
        "/api/v1/leads", json=body, headers=headers(key, **{"Idempotency-Key": "k1"})
    )
    retry = client.post(
        "/api/v1/leads", json=body, headers=headers(key, **{"Idempotency-Key": "k1"})
    )
    other = client.post(
        "/api/v1/leads",
        json=lead_body(magnet, **{"contact.first_name": "Léa"}),
        headers=headers(key, **{"Idempotency-Key": "k1"}),
    )

    assert first.status_code == retry.status_code == 201
    assert retry.get_json() == first.get_json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert other.status_code == 409
    assert other.get_json()["error"]["code"] == "idempotency_key_reused"
    assert db.session.scalar(select(func.count(Lead.id))) == 1
    long_key = client.post(
        "/api/v1/leads", json=body, headers=headers(key, **{"Idempotency-Key": "k" * 256})
    )
    assert long_key.status_code == 400


def test_a_retry_refused_now_still_gets_the_first_answer(client, key, magnet):
    """A retry meets its stored answer even when its body would be refused today (the
    magnet paused since); a new key is refused as any new lead; a refused first post
    stores no key, so its retry is refused again."""
    body = lead_body(magnet)
    first = client.post(
        "/api/v1/leads", json=body, headers=headers(key, **{"Idempotency-Key": "k2"})
    )
    magnet.status = MagnetStatus.PAUSED
    db.session.commit()
    snapshots.forget_all()
    retry = client.post(
        "/api/v1/leads", json=body, headers=headers(key, **{"Idempotency-Key": "k2"})
    )
    fresh = client.post(
        "/api/v1/leads", json=body, headers=headers(key, **{"Idempotency-Key": "k3"})
    )
    again = client.post(
        "/api/v1/leads", json=body, headers=headers(key, **{"Idempotency-Key": "k3"})
    )

    assert first.status_code == retry.status_code == 201
    assert retry.get_json() == first.get_json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert fresh.status_code == again.status_code == 422
    assert "magnet" in fresh.get_json()["error"]["fields"]
    assert "Idempotent-Replayed" not in again.headers
    assert db.session.scalar(select(func.count(Lead.id))) == 1


@pytest.mark.services
def test_concurrent_retries_with_one_key_store_one_lead(app, key, magnet):
    body = lead_body(magnet)

    def post(_):
        return english_client(app).post(
            "/api/v1/leads", json=body, headers=headers(key, **{"Idempotency-Key": "same"})
        )

    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(post, range(12)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.get_json()["id"] for a in answers}) == 1
    assert db.session.scalar(select(func.count(Lead.id))) == 1
    assert db.session.scalar(select(func.count(IdempotentRequest.id))) == 1


def test_ping_tells_the_buyers_and_payout_without_storing_anything(client, key, publisher, magnet):
    factories.campaign(price_cents=6000)
    factories.campaign(price_cents=4000)
    factories.campaign(price_cents=5000, departments=["13"])  # Marseille only
    response = client.post(
        "/api/v1/leads/ping",
        json={"magnet": magnet.key, "qualification": {"postcode": "69003"}},
        headers=headers(key),
    )
    assert response.status_code == 200
    assert response.get_json() == {
        "eligible_buyers": 2,
        "estimated_payout_cents": 5000,
        "currency": "EUR",
    }
    assert db.session.scalar(select(func.count(Lead.id))) == 0
    bad = client.post(
        "/api/v1/leads/ping", json={"magnet": magnet.key, "contact": {}}, headers=headers(key)
    )
    assert bad.status_code == 422 and "contact" in bad.get_json()["error"]["fields"]


def test_a_publisher_reads_only_its_own_leads(client, key, magnet):
    theirs = factories.lead()
    assert client.get(f"/api/v1/leads/{theirs.lead_id}", headers=headers(key)).status_code == 404
    assert client.get("/api/v1/leads/999999", headers=headers(key)).status_code == 404


def test_the_openapi_description_comes_from_the_schemas(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert {"/api/v1/leads", "/api/v1/leads/ping", "/api/v1/leads/{lead_id}"} <= set(spec["paths"])
    lead_in = spec["components"]["schemas"]["LeadIn"]
    assert set(lead_in["required"]) == {"magnet", "contact", "consent"}
    assert spec["paths"]["/api/v1/leads"]["post"]["security"] == [{"BearerAuth": []}]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
FIELD_PATHS = [
    "magnet",
    "contact",
    "contact.email",
    "contact.phone",
    "contact.first_name",
    "qualification",
    "qualification.postcode",
    "qualification.country",
    "qualification.siret",
    "qualification.company_size",
    "consent",
    "consent.text_version",
    "consent.consented_at",
    "consent.ip",
    "consent.share_with_partners",
    "tracking",
    "tracking.variant",
]


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    mutations=st.dictionaries(st.sampled_from(FIELD_PATHS), json_values, max_size=4),
    whole=st.one_of(st.none(), json_values),
)
def test_no_body_ever_gets_a_500(client, key, magnet, mutations, whole):
    body = lead_body(magnet)
    for path, value in mutations.items():
        target = body
        *parents, last = path.split(".")
        for part in parents:
            target = target.get(part) if isinstance(target, dict) else None
        if isinstance(target, dict):
            target[last] = value
    payload = body if whole is None else whole
    response = client.post(
        "/api/v1/leads",
        data=json.dumps(payload, allow_nan=True),
        content_type="application/json",
        headers=headers(key),
    )
    assert response.status_code in {201, 400, 409, 413, 422}, response.get_data(as_text=True)
    assert "error" in response.get_json() or response.status_code == 201


def test_leads_posted_through_the_api_stay_out_of_the_forms_conversion(
    app, client, key, publisher, magnet, login_as
):
    from marketplace.magnets import magnet_stats
    from marketplace.models import LeadMagnet

    english_client(app).get(f"/m/{magnet.key}")  # one view of the form, variant A
    for n in range(3):
        body = lead_body(magnet, **{"contact.email": f"api{n}@durand.example"})
        assert client.post("/api/v1/leads", json=body, headers=headers(key)).status_code == 201
    rows = {row.variant: row for row in magnet_stats(db.session.get(LeadMagnet, magnet.id))}
    assert (rows["a"].views, rows["a"].submissions, rows["a"].conversion) == (1, 0, 0.0)
    assert rows["api"].submissions == 3 and rows["api"].conversion is None
    assert "b" not in rows or rows["b"].submissions == 0  # the API's variant is no form's
    user = factories.UserFactory(organization=publisher)
    dashboard = login_as(user).get("/publishers/").get_data(as_text=True)
    assert "0.0%" in dashboard and "3 more through the API" in dashboard


def test_the_pings_estimate_is_what_the_same_lead_then_earns(app, client, key, magnet):
    from marketplace.distribution import distribute_lead
    from marketplace.models import LedgerEntry, LedgerKind, Sale

    # Only a lead with a phone reaches this campaign's minimum score.
    factories.campaign(price_cents=6250, min_score=65)
    qualification = {"company": "Durand SA", "postcode": "69003"}

    def ping(**extra):
        body = {"magnet": magnet.key, "qualification": qualification, **extra}
        return client.post("/api/v1/leads/ping", json=body, headers=headers(key)).get_json()

    assert ping()["eligible_buyers"] == 0
    estimate = ping(phone_given=True)
    assert estimate["eligible_buyers"] == 1
    posted = client.post("/api/v1/leads", json=lead_body(magnet), headers=headers(key))
    lead_id = posted.get_json()["id"]
    distribute_lead(lead_id)
    earned = db.session.scalar(
        select(func.sum(LedgerEntry.amount_cents))
        .join(Sale, Sale.id == LedgerEntry.sale_id)
        .where(Sale.lead_id == lead_id, LedgerEntry.kind == LedgerKind.PUBLISHER_EARNING)
    )
    assert earned == estimate["estimated_payout_cents"] == 3125


def test_a_publisher_awaiting_approval_is_told_no_buyer_would_take_its_leads(
    client, key, publisher, magnet
):
    factories.campaign()
    publisher.approved = False
    db.session.commit()
    answer = client.post(
        "/api/v1/leads/ping", json={"magnet": magnet.key}, headers=headers(key)
    ).get_json()
    assert (answer["eligible_buyers"], answer["estimated_payout_cents"]) == (0, 0)


@pytest.mark.services
def test_the_rate_limit_is_counted_in_redis_for_every_process(
    app, database_uri, tmp_path, magnet, own_limiter
):
    """Two web processes (two apps here, each with its own connections to Redis) share
    one count."""
    from marketplace import create_app
    from marketplace.extensions import limiter
    from tests.conftest import test_config

    key = issue_api_key(magnet.publisher_id, "server")[1]
    db.session.commit()
    config = {
        **test_config(database_uri, tmp_path),
        "REDIS_URL": app.config["REDIS_URL"],
        "RATELIMIT_STORAGE_URI": app.config["REDIS_URL"],
        "RQ_QUEUE": app.config["RQ_QUEUE"],
        "API_RATE_LIMIT": "3 per minute",
    }
    processes = [create_app(config), create_app(config)]
    answers = []
    try:
        for n in range(4):
            web = processes[n % 2]
            limiter.init_app(web)  # the one limiter object counts for the app bound last
            if n == 0:
                limiter.reset()  # this run's count starts at nothing
            with web.app_context():
                answers.append(
                    english_client(web).post(
                        "/api/v1/leads",
                        json=lead_body(magnet, **{"contact.email": f"redis{n}@x.fr"}),
                        headers=headers(key),
                    )
                )
                db.session.remove()
    finally:
        for web in processes:
            with web.app_context():
                db.engine.dispose()
    assert [answer.status_code for answer in answers] == [201, 201, 201, 429]
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60


class _CountingStorage:
    """A MemoryStorage that counts its round trips, as Redis would see them."""

    def __init__(self):
        from limits.storage import MemoryStorage

        self.storage = MemoryStorage()
        self.increments = 0  # round trips

    def incr(self, *args, **kwargs):
        self.increments += 1
        return self.storage.incr(*args, **kwargs)

    def get_expiry(self, key):
        self.increments += 1  # a round trip too
        return self.storage.get_expiry(key)


def _leased_counter():
    from types import SimpleNamespace

    return SimpleNamespace(storage=_CountingStorage())


def test_a_process_calling_fast_counts_its_calls_by_leases_and_never_past_the_limit():
    from limits import parse

    from marketplace import api

    counter = _leased_counter()
    item = parse("1000 per minute")  # leases of at most 10 calls: a hundredth
    allowed = [api._hit_leased(counter, item, "organization:1", "leads") for _ in range(991)]
    assert allowed == [True] * 991
    assert counter.storage.increments < 250  # two round trips for about ten calls
    allowed += [api._hit_leased(counter, item, "organization:1", "leads") for _ in range(109)]
    assert sum(allowed) <= 1000  # at most 9 left unspent
    assert allowed[-50:] == [False] * 50


def test_processes_leasing_at_once_let_through_no_more_than_the_limit(monkeypatch):
    from limits import parse

    from marketplace import api

    counter = _leased_counter()
    item = parse("1000 per minute")
    processes = [{}, {}, {}]  # each its own leases, one count in the storage
    allowed = 0
    for call in range(1500):
        monkeypatch.setattr(api, "_leases", processes[call % 3])
        allowed += api._hit_leased(counter, item, "organization:1", "leads")
    assert 1000 - 3 * 9 <= allowed <= 1000


def test_calls_spaced_out_are_counted_one_by_one(monkeypatch):
    from limits import parse

    from marketplace import api

    clock = iter(range(0, 10_000, 2))  # a call every two seconds: no lease outlives it
    monkeypatch.setattr(api.time, "monotonic", lambda: next(clock))
    counter = _leased_counter()
    item = parse("100000 per day")
    assert all(api._hit_leased(counter, item, "organization:1", "leads") for _ in range(20))
    assert counter.storage.increments == 20
    assert counter.storage.storage.get(item.key_for("organization:1", "leads")) == 20


def test_a_lease_left_unspent_is_dropped_at_its_windows_end_not_before(monkeypatch):
    """Bursts of four calls a little over a second apart: each burst takes leases, and
    what they leave is spent by the next bursts of the same window, not lost."""
    from limits import parse

    from marketplace import api

    clock = [0.0]
    monkeypatch.setattr(api.time, "monotonic", lambda: clock[0])
    counter = _leased_counter()
    item = parse("1000 per minute")  # leases of at most 10 calls
    for _ in range(20):
        assert all(api._hit_leased(counter, item, "organization:1", "leads") for _ in range(4))
        clock[0] += 1.1
    counted = counter.storage.storage.get(item.key_for("organization:1", "leads"))
    assert 80 <= counted <= 80 + 9  # at most one lease unspent in the window
