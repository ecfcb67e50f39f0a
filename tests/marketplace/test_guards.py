"""The boundaries: ids beyond the columns, NUL bytes, bodies past their size, people get
pages and programs JSON, the client's real address behind a proxy, nothing cached."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from marketplace import create_app
from marketplace.extensions import db
from marketplace.models import ConsentRecord, Sale
from tests import factories
from tests.conftest import test_config
from tests.marketplace.test_capture import fill, form_fields, lead_count

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.mark.parametrize("number", [2**31, 2**63, 10**30])
def test_an_id_beyond_the_columns_range_is_a_404(client, login_as, number):
    buyer = login_as(factories.buyer_user())
    page = buyer.get(f"/buyers/purchases/{number}", headers=BROWSER)
    assert page.status_code == 404
    assert page.mimetype == "text/html"
    api = client.get(f"/api/v1/leads/{number}", headers={"Authorization": "Bearer nope"})
    assert api.status_code in (401, 404)
    assert api.mimetype == "application/json"


def test_the_largest_id_is_still_looked_up(login_as):
    user = factories.buyer_user()
    factories.campaign(user.organization)
    factories.lead()
    sale = db.session.scalar(select(Sale))
    owner = login_as(user)
    assert owner.get(f"/buyers/purchases/{sale.id}").status_code == 200
    assert owner.get(f"/buyers/purchases/{2**31 - 1}").status_code == 404


@pytest.mark.parametrize(
    "path", ["/m/%00x", "/consent/%00abc", "/embed/%00.js", "/m/a%00/download/t"]
)
def test_a_nul_byte_in_a_path_is_a_404_page(client, path):
    response = client.get(path, headers=BROWSER)
    assert response.status_code == 404
    assert response.mimetype == "text/html"


def test_a_nul_byte_in_a_query_or_a_form_is_a_400(client):
    magnet = factories.magnet(language="en")
    assert client.get(f"/m/{magnet.key}?utm_source=a%00b").status_code == 400
    assert fill(client, magnet, last_name="Nul\x00Byte").status_code == 400
    assert lead_count() == 0


def test_a_chunked_form_past_its_size_is_a_413(client):
    magnet = factories.magnet(language="en")
    page = client.get(f"/m/{magnet.key}")
    fields = {**factories.submission(), "consent": "y", **form_fields(page.get_data(as_text=True))}
    fields["message"] = "x" * 70_000
    from urllib.parse import urlencode

    response = client.post(
        f"/m/{magnet.key}",
        input_stream=io.BytesIO(urlencode(fields).encode()),
        headers={
            "Transfer-Encoding": "chunked",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        environ_overrides={"wsgi.input_terminated": True, "CONTENT_LENGTH": ""},
    )
    assert response.status_code == 413
    assert lead_count() == 0


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/m/wrong-key", 404),
        ("get", "/consent/wrong-id", 404),
        ("get", "/logout", 405),
        ("get", "/favicon.ico", 404),
        ("get", "/no/such/page", 404),
    ],
)
def test_a_browser_gets_a_page_for_an_http_error_outside_the_api(client, method, path, status):
    response = getattr(client, method)(path, headers=BROWSER)
    assert response.status_code == status
    assert response.mimetype == "text/html"
    assert "<html" in response.get_data(as_text=True)
    if status == 405:
        assert "POST" in response.headers["Allow"]


def test_a_program_gets_json_for_an_http_error_in_the_api(client):
    response = client.get("/api/v1/no-such-thing", headers=BROWSER)
    assert (response.status_code, response.mimetype) == (404, "application/json")
    assert response.get_json()["error"]["code"] == "not_found"
    response = client.delete("/api/v1/leads")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_pages_and_answers_are_not_cached(client, login_as):
    user = factories.buyer_user()
    factories.campaign(user.organization)
    factories.lead()
    sale = db.session.scalar(select(Sale))
    owner = login_as(user)
    for response in (owner.get(f"/buyers/purchases/{sale.id}"), client.get("/healthz")):
        assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(("hops", "stored"), [(0, "10.0.0.2"), (1, "203.0.113.9")])
def test_the_consent_records_the_address_the_trusted_proxies_saw(
    database_uri, tmp_path, hops, stored, own_limiter
):
    """Behind one proxy, the person's address is the one it appended; a client's own
    X-Forwarded-For entries further left are never believed."""
    proxied = create_app({**test_config(database_uri, tmp_path), "TRUSTED_PROXIES": hops})
    with proxied.app_context():
        magnet = factories.magnet(language="en")
        http = proxied.test_client()
        http.environ_base["REMOTE_ADDR"] = "10.0.0.2"  # the proxy
        forged_then_real = {"X-Forwarded-For": "198.51.100.66, 203.0.113.9"}
        page = http.get(f"/m/{magnet.key}", headers=forged_then_real)
        data = {
            **factories.submission(),
            "consent": "y",
            **form_fields(page.get_data(as_text=True)),
        }
        response = http.post(f"/m/{magnet.key}", data=data, headers=forged_then_real)
        assert response.status_code == 200
        assert db.session.scalar(select(ConsentRecord.ip)) == stored
        db.session.remove()
        db.engine.dispose()


def test_the_openapi_description_gives_every_answer_an_operation_may_give(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            answers = set(operation["responses"])
            assert {"400", "401", "403", "429"} <= answers, (method, path)
            if "requestBody" in operation:
                assert {"413", "422"} <= answers, (method, path)
            if "{" in path:
                assert "404" in answers, (method, path)


def _read_json(app, body: bytes):
    from marketplace import guards

    with app.test_request_context(
        "/api/v1/leads", method="POST", data=body, content_type="application/json"
    ):
        try:
            return guards.read_json_object(64 * 1024)
        except guards.JsonRefused as refused:
            return refused.status, refused.fields


def test_a_json_body_is_walked_for_nul_and_depth_whenever_it_could_hold_them(app):
    from marketplace.guards import MAX_JSON_DEPTH

    def nested(levels: int) -> bytes:
        return ('{"a":' * (levels - 1) + '{"b": "x"}' + "}" * (levels - 1)).encode()

    assert _read_json(app, nested(MAX_JSON_DEPTH))["a"]  # as deep as allowed
    assert _read_json(app, nested(MAX_JSON_DEPTH + 1))[0] == 400
    status, fields = _read_json(app, b'{"name": "Nul\\u0000Byte"}')
    assert (status, list(fields)) == (422, ["name"])
    # UTF-16 (which json reads): every other byte is zero, and the body is walked.
    utf16 = '{"contact": {"name": "Nul\\u0000Byte"}}'.encode("utf-16")
    assert _read_json(app, utf16)[1].keys() == {"contact.name"}
    assert _read_json(app, '{"name": "Marie"}'.encode("utf-16")) == {"name": "Marie"}
    # A bracket inside a string counts too: the walk decides, and finds nothing.
    brackets = ('{"note": "' + "[{" * MAX_JSON_DEPTH + '"}').encode()
    assert _read_json(app, brackets) == {"note": "[{" * MAX_JSON_DEPTH}
