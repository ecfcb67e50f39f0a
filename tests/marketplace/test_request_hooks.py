"""What every request goes through besides its view: the session cookie, the security
headers, Flask-Limiter's check; each skips what a call does not need, and no more."""

from __future__ import annotations

import pytest
from flask import request

from marketplace.auth.session import CookieSessionInterface
from marketplace.extensions import limiter
from tests import factories

SECURITY_HEADERS = (
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Cache-Control",
)


@pytest.fixture
def signer_builds(monkeypatch):
    """How many times the session's signer was built."""
    built = []
    original = CookieSessionInterface.get_signing_serializer

    def counted(self, app):
        built.append(1)
        return original(self, app)

    monkeypatch.setattr(CookieSessionInterface, "get_signing_serializer", counted)
    return built


def test_a_call_without_a_session_cookie_builds_no_signer_and_sets_no_cookie(client, signer_builds):
    answer = client.post("/api/v1/leads/ping", json={"magnet": "x"})
    assert answer.status_code == 401
    assert signer_builds == []
    assert "Set-Cookie" not in answer.headers


def test_a_signed_in_session_is_still_signed_read_and_ended(
    app, client, login_as, submit_form, signer_builds
):
    user = factories.buyer_user()
    factories.campaign(user.organization)
    buyer = login_as(user)
    assert signer_builds, "signing in writes a signed cookie"
    assert buyer.get("/buyers/campaigns").status_code == 200
    # A forged cookie opens an empty session: the visitor is sent to sign in.
    client.set_cookie(app.config.get("SESSION_COOKIE_NAME", "session"), "forged.value")
    assert client.get("/buyers/campaigns").status_code == 302
    response = submit_form("/logout", {}, http=buyer)
    assert response.status_code == 302
    assert buyer.get("/buyers/campaigns").status_code == 302


def test_a_page_that_reads_an_empty_session_varies_on_the_cookie(client):
    page = client.get("/login")
    assert page.status_code == 200
    assert "Cookie" in page.headers.get("Vary", "")


@pytest.mark.parametrize("path", ["/login", "/api/v1/openapi.json", "/no-such-page"])
def test_every_answer_carries_each_security_header_once(client, path):
    answer = client.get(path)
    for name in SECURITY_HEADERS:
        assert len(answer.headers.getlist(name)) == 1, (path, name)
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in answer.headers  # plain HTTP here


def test_a_views_own_headers_are_kept_and_https_adds_hsts(client):
    magnet = factories.magnet(language="en")
    script = client.get(f"/embed/{magnet.key}.js", base_url="https://testserver")
    assert script.headers.getlist("Cache-Control") == ["public, max-age=300"]
    assert script.headers["Strict-Transport-Security"].startswith("max-age=")
    form = client.get(f"/m/{magnet.key}")
    # The form may be framed by the publisher's site: no DENY beside its own policy.
    assert "frame-ancestors 'none'" not in form.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in form.headers


@pytest.fixture
def limiter_checks(monkeypatch):
    """The endpoints Flask-Limiter's own check ran for (it starts by naming the request)."""
    checked = []
    original = limiter.identify_request

    def counted():
        checked.append(request.endpoint)
        return original()

    monkeypatch.setattr(limiter, "identify_request", counted)
    return checked


def test_the_posting_apis_calls_skip_flask_limiters_check_and_pages_do_not(client, limiter_checks):
    client.post("/api/v1/leads/ping", json={"magnet": "x"})
    client.post("/api/v1/leads", json={})
    assert limiter_checks == []
    client.get("/login")
    assert set(limiter_checks) == {"auth.login"}  # its middleware check and its decorator's


def test_an_api_call_from_a_signed_in_browser_neither_reads_nor_answers_its_session(
    app, login_as, signer_builds
):
    user = factories.publisher_user()
    browser = login_as(user)
    signer_builds.clear()
    answer = browser.post("/api/v1/leads/ping", json={"magnet": "x"})
    assert answer.status_code == 401  # the session cookie does not stand for a key
    assert signer_builds == []  # the cookie was not even read
    assert "Set-Cookie" not in answer.headers
    assert "Cookie" not in answer.headers.get("Vary", "")
    assert browser.get("/publishers/").status_code == 200  # still signed in


def test_the_page_extensions_hooks_pass_an_api_call_by_and_serve_pages(app):
    from marketplace.api import PAGE_EXTENSIONS

    wrapped = [
        hook
        for hooks in (app.before_request_funcs[None], app.after_request_funcs[None])
        for hook in hooks
        if hasattr(hook, "__wrapped__")
    ]
    modules = {
        getattr(getattr(hook.__wrapped__, "func", hook.__wrapped__), "__module__", "")
        for hook in wrapped
    }
    # Flask-Login's remember cookie, Flask-WTF's CSRF check, Flask-Limiter's headers.
    assert {module.split(".")[0] + "." for module in modules} == set(PAGE_EXTENSIONS)
    untouched = object()
    after = [hook for hook in app.after_request_funcs[None] if hook in wrapped]
    before = [hook for hook in app.before_request_funcs[None] if hook in wrapped]
    with app.test_request_context("/api/v1/leads", method="POST"):
        assert all(hook(untouched) is untouched for hook in after)
        assert all(hook() is None for hook in before)
    with app.test_request_context("/login", method="POST"):
        # A page's form without its CSRF token is still refused by Flask-WTF's hook.
        csrf_check = next(hook for hook in before if "flask_wtf" in hook.__wrapped__.__module__)
        with pytest.raises(Exception, match="CSRF"):
            csrf_check()
