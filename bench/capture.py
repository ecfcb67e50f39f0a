"""Capture throughput: POST /api/v1/leads under gunicorn on PostgreSQL + Redis, against
the stack's floor (bench/floor_app.py) measured in the same run with the same settings.

    python bench/capture.py [--duration 20] [--connections 16] [--workers 4]

Needs PostgreSQL and Redis (BENCH_DATABASE_URL, BENCH_REDIS_URL; the defaults are the
local ones), wrk (apt-get install wrk) and the project installed (pip install -e .).
It creates a throw-away database and queue, and removes them at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from redis import Redis
from throwaway import create_database, drop_database, free_port

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
RESULT = re.compile(r"RESULT (.*)")


def prepare(database_url: str, queue: str) -> dict:
    """Migrate, and seed one publisher with a live magnet and a key, and five buyers."""
    os.environ.update(DATABASE_URL=database_url, REDIS_URL=REDIS_URL, MARKETPLACE_QUEUE=queue)
    from flask_migrate import upgrade

    from marketplace import api_keys, campaigns, create_app, magnets
    from marketplace.extensions import db
    from marketplace.models import MagnetKind, Organization, OrganizationKind, Sector

    app = create_app({"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        upgrade()
        publisher = Organization(kind=OrganizationKind.PUBLISHER, name="Bench Publisher")
        db.session.add(publisher)
        db.session.commit()
        software = db.session.scalar(db.select(Sector).where(Sector.slug == "it/software"))
        magnet = magnets.create_magnet(
            publisher.id,
            magnets.MagnetSettings(
                title="Bench quotes",
                kind=MagnetKind.QUOTE_REQUEST,
                sector_id=software.id,
                max_buyers=3,
                language="en",
            ),
        )
        for n in range(5):
            buyer = Organization(kind=OrganizationKind.BUYER, name=f"Bench Buyer {n}")
            db.session.add(buyer)
            db.session.commit()
            campaigns.create_campaign(
                buyer.id, name="All software", sector_ids=[software.id], price_cents=4000 + 500 * n
            )
        _, key = api_keys.issue_api_key(publisher.id, "bench")
        with db.engine.begin() as connection:
            connection.exec_driver_sql(
                "CREATE TABLE floor_leads (id bigserial PRIMARY KEY, body jsonb NOT NULL, "
                "created_at timestamptz NOT NULL DEFAULT now())"
            )
        return {"key": key, "magnet": magnet.key}


def body_template(magnet_key: str) -> str:
    """The JSON body with one %s where each request puts its own unique token."""
    body = {
        "magnet": magnet_key,
        "contact": {
            "first_name": "Marie",
            "last_name": "Bench",
            "email": "REPLACE@bench.example",
            "phone": "+33612345678",
        },
        "qualification": {"company": "Bench SAS", "postcode": "69003"},
        "consent": {
            "text_version": 1,
            "share_with_partners": True,
            # Recent, as the API requires (CONSENT_MAX_AGE_DAYS): a fixed date expires.
            "consented_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
            "ip": "198.51.100.7",
            "page_url": "https://publisher.example/devis",
            "user_agent": "bench",
        },
        "tracking": {"utm_source": "bench"},
    }
    return json.dumps(body).replace("REPLACE", "%s")


def serve(app_path: str, port: int, workers: int, threads: int, env: dict) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(workers),
            "--threads",
            str(threads),
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "--backlog",
            "2048",
            app_path,
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        start_new_session=True,
    )
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"gunicorn {app_path} did not start")


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(timeout=20)


def load(port: int, template: str, key: str, run_id: str, args) -> dict:
    """Warm up, then measure with wrk; returns leads/s and latency percentiles (ms)."""
    command = [
        "wrk",
        "-t",
        "2",
        "-c",
        str(args.connections),
        "-s",
        str(HERE / "capture.lua"),
        f"http://127.0.0.1:{port}",
        "--",
        template,
        key,
    ]
    subprocess.run(
        [*command[:5], "-d", "3s", *command[5:], f"{run_id}w"], check=True, capture_output=True
    )
    output = subprocess.run(
        [*command[:5], "-d", f"{args.duration}s", *command[5:], run_id],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    fields = dict(part.split("=") for part in RESULT.search(output).group(1).split())
    values = {name: int(value) for name, value in fields.items()}
    ok = values["requests"] - values["non2xx"]
    return {
        "ok_per_s": ok / (values["duration_us"] / 1e6),
        "requests": values["requests"],
        "non2xx": values["non2xx"],
        "socket_errors": values["socket_errors"],
        "p50_ms": values["p50"] / 1000,
        "p95_ms": values["p95"] / 1000,
        "p99_ms": values["p99"] / 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds of load per server")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers, both servers")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    args = parser.parse_args()
    if subprocess.run(["which", "wrk"], capture_output=True).returncode:
        raise SystemExit("wrk is missing: apt-get install wrk")

    admin, database_url = create_database("capture")
    queue = f"bench-{secrets.token_hex(3)}"
    seeded = prepare(database_url, queue)
    template = body_template(seeded["magnet"])
    redis = Redis.from_url(REDIS_URL)
    results = {}
    try:
        floor_port = free_port()
        floor = serve(
            "bench.floor_app:app",
            floor_port,
            args.workers,
            args.threads,
            {"FLOOR_DSN": database_url},
        )
        try:
            results["floor"] = load(floor_port, template, "unused", "floor", args)
        finally:
            stop(floor)
        app_port = free_port()
        ours = serve(
            "wsgi:app",
            app_port,
            args.workers,
            args.threads,
            {
                "DATABASE_URL": database_url,
                "REDIS_URL": REDIS_URL,
                "MARKETPLACE_QUEUE": queue,
                "MARKETPLACE_API_RATE_LIMIT": "1000000 per minute",
                "SECRET_KEY": "bench",
            },
        )
        try:
            results["marketplace"] = load(app_port, template, seeded["key"], "ours", args)
        finally:
            stop(ours)
        with psycopg.connect(database_url) as connection:
            leads = connection.execute("SELECT count(*) FROM leads").fetchone()[0]
            consents = connection.execute("SELECT count(*) FROM consent_records").fetchone()[0]
            statuses = dict(
                connection.execute("SELECT status, count(*) FROM leads GROUP BY status").fetchall()
            )
        queued = redis.llen(f"rq:queue:{queue}")
    finally:
        for name in redis.scan_iter(f"rq:*{queue}*"):
            redis.delete(name)
        drop_database(admin, database_url)

    floor, ours = results["floor"], results["marketplace"]
    ratio = ours["ok_per_s"] / floor["ok_per_s"]
    print(
        f"gunicorn -w {args.workers} --threads {args.threads}, wrk -t 2 -c {args.connections}, "
        f"{args.duration} s each"
    )
    print(f"{'':12} {'ok/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
    for name, row in results.items():
        print(
            f"{name:12} {row['ok_per_s']:8.0f} {row['p50_ms']:8.1f} {row['p95_ms']:8.1f} "
            f"{row['p99_ms']:8.1f} {row['non2xx']:8d}"
        )
    print(f"marketplace / floor throughput: {ratio:.2f}")
    print(
        f"leads stored: {leads} {statuses}, consent records: {consents}, "
        f"distribution runs queued: {queued} (coalesced: one wakes a worker for every lead "
        "pending; no worker runs here)"
    )
    targets = {  # issue 15's
        ">= 0.5 x the floor's throughput": ratio >= 0.5,
        "p99 <= 3 x the floor's p99": ours["p99_ms"] <= 3 * floor["p99_ms"],
        "every lead stored with its consent, pending, a run queued to distribute it": (
            leads == consents == statuses.get("pending", 0) and queued >= 1
        ),
    }
    for target, met in targets.items():
        print(f"  {'met ' if met else 'MISSED'} {target}")
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
