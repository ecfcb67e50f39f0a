"""The one module that calls out: a signed post, answered or not within its bounds, over
kept-alive connections that carry nothing from one buyer to another."""

from __future__ import annotations

import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from marketplace import webhook_sender


class Endpoint:
    """A local endpoint: ``answer(handler)`` writes each answer; each call's client port
    and headers are noted."""

    def __init__(self, answer):
        self.calls: list[tuple[int, dict]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real endpoints

            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                endpoint.calls.append((self.client_address[1], dict(self.headers)))
                answer(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def endpoint():
    made = []

    def make(answer) -> Endpoint:
        made.append(Endpoint(answer))
        return made[-1]

    yield make
    for one in made:
        one.server.shutdown()
        one.server.server_close()


def answer_with(status: int, body: bytes = b"", headers: dict | None = None):
    def answer(handler):
        handler.send_response(status)
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    return answer


def test_an_accepted_post_keeps_its_connection_for_the_next_lead(app, endpoint):
    crm = endpoint(answer_with(204))
    first = webhook_sender.post(f"{crm.url}/a", "s3cret", {"type": "ping"})
    second = webhook_sender.post(f"{crm.url}/a", "s3cret", {"type": "ping"})
    assert first.ok and second.ok and first.error is None
    assert crm.calls[0][0] == crm.calls[1][0]  # the same client port: one connection
    assert crm.calls[0][1]["X-Marketplace-Signature"].startswith("t=")


def test_no_cookie_set_by_one_buyer_goes_out_to_another(app, endpoint):
    cookie = {"Set-Cookie": "session=buyer-one; Path=/"}
    one = endpoint(answer_with(200, b"ok", cookie))
    two = endpoint(answer_with(200, b"ok"))
    webhook_sender.post(f"{one.url}/hook", "a", {"type": "ping"})
    webhook_sender.post(f"{one.url}/hook", "a", {"type": "ping"})
    webhook_sender.post(f"{two.url}/hook", "b", {"type": "ping"})
    assert all("Cookie" not in headers for _, headers in one.calls + two.calls)


def test_a_refusal_keeps_the_start_of_the_answer_and_a_redirect_is_not_followed(app, endpoint):
    refusing = endpoint(answer_with(422, "é".encode() * 5000, {"Content-Type": "text/plain"}))
    refused = webhook_sender.post(refusing.url, "s", {"type": "ping"})
    assert refused.status_code == 422 and not refused.ok
    assert refused.error == "é" * 200
    moved = endpoint(answer_with(302, b"", {"Location": f"{refusing.url}/elsewhere"}))
    redirected = webhook_sender.post(moved.url, "s", {"type": "ping"})
    assert redirected.status_code == 302 and not redirected.ok
    assert len(refusing.calls) == 1  # the redirect's target was never called


def test_a_slow_dripping_answer_is_cut_and_a_dead_port_fails_fast(app, endpoint, monkeypatch):
    monkeypatch.setattr(webhook_sender, "TOTAL_SECONDS", 1)

    def drip(handler):
        handler.send_response(500)
        handler.send_header("Content-Length", "100000")
        handler.end_headers()
        for _ in range(40):
            handler.wfile.write(b"x")
            handler.wfile.flush()
            time.sleep(0.1)

    slow = endpoint(drip)
    started = time.monotonic()
    result = webhook_sender.post(slow.url, "s", {"type": "ping"})
    assert result.status_code == 500 and time.monotonic() - started < 2.5
    dead = webhook_sender.post("http://127.0.0.1:9/", "s", {"type": "ping"})
    assert dead.status_code is None and dead.error


def test_a_connection_its_endpoint_closed_while_idle_is_not_used_again(app, endpoint):
    def answer_then_close(handler):
        answer_with(200, b"ok")(handler)
        handler.close_connection = True  # no "Connection: close" said: closed while idle

    crm = endpoint(answer_then_close)
    first = webhook_sender.post(f"{crm.url}/a", "s", {"type": "ping"})
    time.sleep(0.1)  # the endpoint's close reaches us
    second = webhook_sender.post(f"{crm.url}/a", "s", {"type": "ping"})
    assert first.ok and second.ok
    assert crm.calls[0][0] != crm.calls[1][0]  # a new connection for the second


def test_endpoints_beyond_those_kept_have_their_connections_closed(app, endpoint, monkeypatch):
    monkeypatch.setattr(webhook_sender, "ENDPOINTS_KEPT", 1)
    one, two = endpoint(answer_with(204)), endpoint(answer_with(204))
    webhook_sender.post(f"{one.url}/a", "s", {"type": "ping"})
    webhook_sender.post(f"{two.url}/a", "s", {"type": "ping"})  # one's connection closed
    webhook_sender.post(f"{two.url}/a", "s", {"type": "ping"})
    webhook_sender.post(f"{one.url}/a", "s", {"type": "ping"})
    assert one.calls[0][0] != one.calls[1][0]
    assert two.calls[0][0] == two.calls[1][0]


@pytest.mark.parametrize(
    "url", ["ftp://crm.example/hook", "http:///hook", "http://crm.example:99999/", "hook"]
)
def test_an_address_that_is_not_a_web_address_is_an_error_not_an_exception(app, url):
    result = webhook_sender.post(url, "s", {"type": "ping"})
    assert result.status_code is None and result.error


def test_an_https_endpoint_whose_certificate_is_not_trusted_is_not_posted_to(
    app, tmp_path, endpoint
):
    key, certificate = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(certificate)),
        ],
        check=True,
        capture_output=True,
    )
    crm = endpoint(answer_with(204))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    crm.server.socket = context.wrap_socket(crm.server.socket, server_side=True)
    result = webhook_sender.post(crm.url.replace("http:", "https:") + "/a", "s", {"type": "ping"})
    assert result.status_code is None and "CERTIFICATE_VERIFY_FAILED" in result.error
    assert crm.calls == []


def test_non_ascii_addresses_are_encoded_as_a_browser_encodes_them(app, endpoint):
    paths = []

    def note_path(handler):
        paths.append(handler.path)
        answer_with(204)(handler)

    crm = endpoint(note_path)
    assert webhook_sender.post(f"{crm.url}/crm/é ü?source=café", "s", {"type": "ping"}).ok
    assert paths == ["/crm/%C3%A9%20%C3%BC?source=caf%C3%A9"]
    unknown = webhook_sender.post("http://crm.café.invalid/hook", "s", {"type": "ping"})
    assert unknown.status_code is None and unknown.error
