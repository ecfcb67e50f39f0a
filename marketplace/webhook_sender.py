"""The only module that makes HTTP calls out: signed webhook posts to buyers.

Signature (api-contract.md): ``X-Marketplace-Signature: t=<unix>,v1=<hex HMAC-SHA256
of "t.body" with the endpoint's secret>``. Private and loopback addresses are refused
unless WEBHOOK_ALLOW_PRIVATE_TARGETS is set (tests, a single-machine setup): a buyer's
URL must not make us call into our own network.
"""

from __future__ import annotations

import hashlib
import hmac
import http.cookiejar
import ipaddress
import json
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from flask import current_app

# (connect, each read), and TOTAL_SECONDS for reading the answer: a dead or slow
# endpoint holds one sending thread that long at most, and its delivery is retried on
# the backoff schedule; the others go on meanwhile.
TIMEOUT_SECONDS = (3, 5)
# One HTTP session per thread: its kept-alive connections spare a buyer's endpoint a
# TCP (and TLS) handshake per lead.
_sessions = threading.local()


# A slow-dripping answer is cut after this long in all, whatever each read's timeout.
TOTAL_SECONDS = 8
KEPT_ANSWER_BYTES = 2048


def _session() -> requests.Session:
    session = getattr(_sessions, "session", None)
    if session is None:
        session = _sessions.session = requests.Session()
        # One session serves every buyer: no buyer's cookie may go out to another.
        session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return session


def _answer_text(response: requests.Response, deadline: float) -> str:
    """The start of the answer's body, read until the deadline at most."""
    kept = b""
    for chunk in response.iter_content(chunk_size=512):
        kept += chunk
        if len(kept) >= KEPT_ANSWER_BYTES or time.monotonic() > deadline:
            break
    return kept[:KEPT_ANSWER_BYTES].decode(response.encoding or "utf-8", errors="replace")


@dataclass(frozen=True)
class WebhookResult:
    status_code: int | None
    duration_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def encode(payload: dict) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str).encode()


def post(url: str, secret: str, payload: dict) -> WebhookResult:
    """POST the signed event once; never raises for the endpoint's failures."""
    started = time.monotonic()
    refused = _refused_target(url)
    if refused:
        return WebhookResult(None, 0, refused)
    body = encode(payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Marketplace-Webhooks/1",
        "X-Marketplace-Event": str(payload.get("type", "")),
        "X-Marketplace-Signature": signature(secret, int(time.time()), body),
    }
    try:
        with _session().post(
            url,
            data=body,
            headers=headers,
            timeout=TIMEOUT_SECONDS,
            allow_redirects=False,
            stream=True,
        ) as response:
            ok = 200 <= response.status_code < 300
            # Read (briefly) even when kept: a connection whose answer was read whole
            # goes back to the pool for the buyer's next lead.
            text = _answer_text(response, started + TOTAL_SECONDS)
    except requests.RequestException as error:
        elapsed = int((time.monotonic() - started) * 1000)
        return WebhookResult(None, elapsed, f"{type(error).__name__}: {error}"[:500])
    elapsed = int((time.monotonic() - started) * 1000)
    return WebhookResult(response.status_code, elapsed, None if ok else text[:200])


def _refused_target(url: str) -> str | None:
    if current_app.config.get("WEBHOOK_ALLOW_PRIVATE_TARGETS"):
        return None
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError as error:
        return f"cannot resolve {host}: {error}"[:500]
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved:
            return f"refused: {host} is a private address"
    return None
