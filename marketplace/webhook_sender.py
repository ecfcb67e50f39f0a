"""The only module that makes HTTP calls out: signed webhook posts to buyers.

Signature (api-contract.md): ``X-Marketplace-Signature: t=<unix>,v1=<hex HMAC-SHA256
of "t.body" with the endpoint's secret>``. Private and loopback addresses are refused
unless WEBHOOK_ALLOW_PRIVATE_TARGETS is set (tests, a single-machine setup): a buyer's
URL must not make us call into our own network.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import urllib3
from flask import current_app

# (connect, each read), and TOTAL_SECONDS for reading the answer (plus the read in
# progress then): a dead or slow endpoint holds one sending thread 16 s at most, and its
# delivery is retried on the backoff schedule; the others go on meanwhile.
TIMEOUT_SECONDS = (3, 5)
# A slow-dripping answer is cut after this long in all, whatever each read's timeout.
TOTAL_SECONDS = 8
KEPT_ANSWER_BYTES = 2048

# urllib3 alone, shared by the sending threads (it is thread-safe): its kept-alive
# connections spare a buyer's endpoint a TCP (and TLS) handshake per lead. No cookie
# jar (no buyer's cookie can go out to another), no redirect followed, no retry (the
# backoff schedule retries), and none of requests' per-call layers (environment
# proxies, hooks, a cookie merge), which cost as much CPU as the post itself.
_http = urllib3.PoolManager(num_pools=256, maxsize=8, retries=False)


def _answer_text(response: urllib3.BaseHTTPResponse, deadline: float) -> tuple[str, bool]:
    """The start of the answer's body, read as it comes until the deadline (the read in
    progress then ends within its own timeout); and whether it was read whole (its
    connection may then serve the buyer's next lead)."""
    kept = b""
    while chunk := response.read1(512):
        kept += chunk
        if len(kept) >= KEPT_ANSWER_BYTES or time.monotonic() > deadline:
            return _decoded(kept, response), False
    return _decoded(kept, response), True


def _decoded(kept: bytes, response: urllib3.BaseHTTPResponse) -> str:
    charset = "utf-8"
    content_type = response.headers.get("Content-Type", "")
    if "charset=" in content_type:
        charset = content_type.split("charset=", 1)[1].split(";")[0].strip() or "utf-8"
    try:
        return kept[:KEPT_ANSWER_BYTES].decode(charset, errors="replace")
    except LookupError:
        return kept[:KEPT_ANSWER_BYTES].decode("utf-8", errors="replace")


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
        response = _http.request(
            "POST",
            url,
            body=body,
            headers=headers,
            timeout=urllib3.Timeout(connect=TIMEOUT_SECONDS[0], read=TIMEOUT_SECONDS[1]),
            redirect=False,
            preload_content=False,
        )
    except (urllib3.exceptions.HTTPError, OSError) as error:
        elapsed = int((time.monotonic() - started) * 1000)
        return WebhookResult(None, elapsed, f"{type(error).__name__}: {error}"[:500])
    whole = False
    try:
        ok = 200 <= response.status < 300
        # Read (briefly) even when kept: a connection whose answer was read whole
        # goes back to the pool for the buyer's next lead.
        text, whole = _answer_text(response, started + TOTAL_SECONDS)
    except (urllib3.exceptions.HTTPError, OSError) as error:
        elapsed = int((time.monotonic() - started) * 1000)
        if ok:  # accepted; its answer's body is not ours to wait for
            return WebhookResult(response.status, elapsed, None)
        return WebhookResult(None, elapsed, f"{type(error).__name__}: {error}"[:500])
    finally:
        if whole:
            response.release_conn()
        else:  # the rest may never come: the connection is not reused
            response.close()
            response.release_conn()
    elapsed = int((time.monotonic() - started) * 1000)
    return WebhookResult(response.status, elapsed, None if ok else text[:200])


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
