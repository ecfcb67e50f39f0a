"""The buyers' CRMs for bench/load.py: one HTTP server standing for every buyer's endpoint.

    python bench/webhook_receiver.py --port P --secrets secrets.json --out receipts.tsv

It answers 200 at once (empty body, HTTP/1.1 keep-alive unless the sender asks to close,
Content-Length or chunked bodies), then writes one line per request to ``--out``:

    monotonic  wall  path  event_id  event_type  sale_id  lead_id  signature

``monotonic`` is ``time.monotonic()`` when the whole request was read: on Linux that is
CLOCK_MONOTONIC, one clock for every process of the machine, the same the load
generator reads when the capture answers. ``wall`` is ``time.time()``, to compare with
the times the product writes in the database. ``signature`` is ``ok`` when the
``X-Marketplace-Signature`` header is the HMAC-SHA256 of ``t.body`` with the secret
``--secrets`` gives for the path (a JSON object path -> secret) and ``t`` is within
5 minutes, else what is wrong with it. Every request is checked (an HMAC costs a few
microseconds). Lines are flushed every 100 ms; SIGTERM flushes and stops.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import signal
import time

SIGNATURE_TOLERANCE_SECONDS = 300


class Receiver:
    def __init__(self, secrets: dict[str, str], out) -> None:
        self.secrets = secrets
        self.out = out
        self.lines: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return  # the sender closed between requests
                lines = head.decode("latin-1").split("\r\n")
                method, path, _version = ([*lines[0].split(" ", 2), "", ""])[:3]
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    if name:
                        headers[name.strip().lower()] = value.strip()
                if "chunked" in headers.get("transfer-encoding", "").lower():
                    body = await _chunked(reader)
                else:
                    body = await reader.readexactly(int(headers.get("content-length") or 0))
                received, wall = time.monotonic(), time.time()
                close = headers.get("connection", "").lower() == "close"
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
                    + (b"Connection: close\r\n" if close else b"")
                    + b"\r\n"
                )
                if method == "POST":
                    self.record(received, wall, path, headers, body)
                await writer.drain()
                if close:
                    return
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ConnectionError,
            ValueError,
        ):
            return
        finally:
            writer.close()

    def record(self, received: float, wall: float, path: str, headers: dict, body: bytes) -> None:
        event_id = event_type = sale_id = lead_id = "-"
        try:
            payload = json.loads(body)
            event_id = str(payload.get("id", "-"))
            event_type = str(payload.get("type", "-"))
            data = payload.get("data") or {}
            sale_id = str(data.get("id", "-"))
            lead_id = str(data.get("lead_id", "-"))
        except (ValueError, AttributeError):
            event_type = "unreadable"
        self.lines.append(
            f"{received:.6f}\t{wall:.6f}\t{path}\t{event_id}\t{event_type}\t{sale_id}\t"
            f"{lead_id}\t{self.check(path, headers, body, wall)}\n"
        )

    def check(self, path: str, headers: dict, body: bytes, now: float) -> str:
        secret = self.secrets.get(path)
        if secret is None:
            return "unknown-path"
        parts = dict(
            part.split("=", 1)
            for part in headers.get("x-marketplace-signature", "").split(",")
            if "=" in part
        )
        if "t" not in parts or "v1" not in parts:
            return "missing"
        try:
            timestamp = int(parts["t"])
        except ValueError:
            return "bad-timestamp"
        if abs(now - timestamp) > SIGNATURE_TOLERANCE_SECONDS:
            return "stale"
        expected = hmac.new(
            secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256
        ).hexdigest()
        return "ok" if hmac.compare_digest(expected, parts["v1"]) else "mismatch"

    def flush(self) -> None:
        if self.lines:
            self.out.write("".join(self.lines))
            self.lines.clear()
        self.out.flush()


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass  # trailers
            return bytes(body)
        body += await reader.readexactly(size)
        await reader.readexactly(2)


async def serve(port: int, secrets: dict[str, str], out_path: str) -> None:
    with open(out_path, "a", encoding="utf-8") as out:
        receiver = Receiver(secrets, out)
        server = await asyncio.start_server(receiver.handle, "127.0.0.1", port, backlog=4096)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        async with server:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), 0.1)
                receiver.flush()
        receiver.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--secrets", required=True, help="JSON file: path -> webhook secret")
    parser.add_argument("--out", required=True, help="where the receipts are written")
    args = parser.parse_args()
    with open(args.secrets, encoding="utf-8") as file:
        secrets = json.load(file)
    asyncio.run(serve(args.port, secrets, args.out))


if __name__ == "__main__":
    main()
