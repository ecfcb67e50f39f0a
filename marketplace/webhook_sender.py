"""The only module that makes HTTP calls out: signed webhook posts to buyers.

Signature (api-contract.md): ``X-Marketplace-Signature: t=<unix>,v1=<hex HMAC-SHA256
of "t.body" with the endpoint's secret>``. Private and loopback addresses are refused
unless WEBHOOK_ALLOW_PRIVATE_TARGETS is set (tests, a single-machine setup): a buyer's
URL must not make us call into our own network.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import http.client
import ipaddress
import json
import select
import socket
import ssl
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from flask import current_app

# (connect, each read), and TOTAL_SECONDS for reading the answer (plus the read in
# progress then): a dead or slow endpoint holds one sending thread 16 s at most, and its
# delivery is retried on the backoff schedule; the others go on meanwhile.
TIMEOUT_SECONDS = (3, 5)
# A slow-dripping answer is cut after this long in all, whatever each read's timeout.
TOTAL_SECONDS = 8
KEPT_ANSWER_BYTES = 2048
# Kept-alive connections: at most this many idle per endpoint, for this many endpoints.
IDLE_PER_ENDPOINT = 8
ENDPOINTS_KEPT = 256


@functools.cache
def _tls() -> ssl.SSLContext:
    """The system's trusted certificates, the host name checked: as a browser would.
    Loaded at a process's first https post, not at each start."""
    return ssl.create_default_context()


class _Connections:
    """Kept-alive connections to the buyers' endpoints, shared by the sending threads:
    they spare an endpoint a TCP (and TLS) handshake per lead. ``http.client`` alone: no
    cookie jar (no buyer's cookie can go out to another), no redirect followed, no retry
    (the backoff schedule retries), and none of a client library's per-call layers: a
    post cost 317 to 321 µs of its thread's CPU through urllib3's pool manager, 168 to
    214 µs this way, its JSON and signature included (bench/webhook_post.py)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: OrderedDict[tuple, list[http.client.HTTPConnection]] = OrderedDict()

    def take(self, endpoint: tuple[str, str, int]) -> http.client.HTTPConnection:
        """An idle connection to ``endpoint`` that the endpoint has not closed, or a new
        one (not connected yet)."""
        while True:
            with self._lock:
                idle = self._idle.get(endpoint)
                connection = idle.pop() if idle else None
            if connection is None:
                scheme, host, port = endpoint
                if scheme == "https":
                    return http.client.HTTPSConnection(
                        host, port, timeout=TIMEOUT_SECONDS[0], context=_tls()
                    )
                return http.client.HTTPConnection(host, port, timeout=TIMEOUT_SECONDS[0])
            if not _closed_by_peer(connection):
                return connection
            connection.close()

    def give_back(self, endpoint: tuple[str, str, int], connection) -> None:
        """Keep ``connection`` (its answer read whole) for ``endpoint``'s next post, unless
        the endpoint has enough idle ones; the endpoints posted to longest ago beyond
        ENDPOINTS_KEPT have theirs closed."""
        closing = []
        with self._lock:
            idle = self._idle.setdefault(endpoint, [])
            self._idle.move_to_end(endpoint)
            if len(idle) < IDLE_PER_ENDPOINT:
                idle.append(connection)
            else:
                closing.append(connection)
            while len(self._idle) > ENDPOINTS_KEPT:
                closing.extend(self._idle.popitem(last=False)[1])
        for unused in closing:
            unused.close()


def _closed_by_peer(connection: http.client.HTTPConnection) -> bool:
    """An idle connection with something to read has been closed by its endpoint (or
    holds bytes nobody asked for): it must not carry the next lead."""
    if connection.sock is None:
        return True
    poller = select.poll()
    poller.register(connection.sock, select.POLLIN)
    return bool(poller.poll(0))


_connections = _Connections()


def _answer_text(response: http.client.HTTPResponse, deadline: float) -> tuple[str, bool]:
    """The start of the answer's body, read as it comes until the deadline (the read in
    progress then ends within its own timeout); and whether it was read whole (its
    connection may then serve the buyer's next lead)."""
    kept = b""
    while chunk := response.read1(512):
        kept += chunk
        if len(kept) >= KEPT_ANSWER_BYTES or time.monotonic() > deadline:
            return _decoded(kept, response), False
    return _decoded(kept, response), True


def _decoded(kept: bytes, response: http.client.HTTPResponse) -> str:
    charset = "utf-8"
    content_type = response.getheader("Content-Type", "")
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
    try:
        endpoint, target = _endpoint(url)
    except ValueError as error:
        return WebhookResult(None, 0, f"not a web address: {error}"[:500])
    refused = _refused_target(endpoint[1])
    if refused:
        return WebhookResult(None, 0, refused)
    body = encode(payload)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Marketplace-Webhooks/1",
        "X-Marketplace-Event": str(payload.get("type", "")),
        "X-Marketplace-Signature": signature(secret, int(time.time()), body),
    }
    connection = _connections.take(endpoint)
    whole = False
    try:
        if connection.sock is None:
            connection.connect()  # within the connect timeout
            connection.sock.settimeout(TIMEOUT_SECONDS[1])
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
    except (http.client.HTTPException, OSError) as error:
        connection.close()
        elapsed = int((time.monotonic() - started) * 1000)
        return WebhookResult(None, elapsed, f"{type(error).__name__}: {error}"[:500])
    try:
        ok = 200 <= response.status < 300
        # Read (briefly) even when kept: a connection whose answer was read whole
        # goes back to the pool for the buyer's next lead.
        text, whole = _answer_text(response, started + TOTAL_SECONDS)
    except (http.client.HTTPException, OSError) as error:
        elapsed = int((time.monotonic() - started) * 1000)
        if ok:  # accepted; its answer's body is not ours to wait for
            return WebhookResult(response.status, elapsed, None)
        return WebhookResult(None, elapsed, f"{type(error).__name__}: {error}"[:500])
    finally:
        if whole and not response.will_close:
            response.close()  # read whole: the connection may send the next request
            _connections.give_back(endpoint, connection)
        else:  # the rest may never come, or the endpoint closes: not reused
            connection.close()
    elapsed = int((time.monotonic() - started) * 1000)
    return WebhookResult(response.status, elapsed, None if ok else text[:200])


# Kept as written in a request's target: the reserved characters and escapes already made.
_TARGET_SAFE = "!#$%&'()*+,/:;=?@[]~"


def _endpoint(url: str) -> tuple[tuple[str, str, int], str]:
    """(scheme, host, port) and the request's target (path and query) of ``url``;
    ValueError for anything but an http or https address with a host."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(url[:200])
    port = parts.port or (443 if scheme == "https" else 80)  # .port: ValueError if bad
    host = parts.hostname.encode("idna").decode("ascii")  # UnicodeError is a ValueError
    # Non-ASCII characters and spaces percent-encoded, as a browser sends them.
    target = quote((parts.path or "/") + (f"?{parts.query}" if parts.query else ""), _TARGET_SAFE)
    return (scheme, host, port), target


def _refused_target(host: str) -> str | None:
    if current_app.config.get("WEBHOOK_ALLOW_PRIVATE_TARGETS"):
        return None
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError as error:
        return f"cannot resolve {host}: {error}"[:500]
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved:
            return f"refused: {host} is a private address"
    return None
