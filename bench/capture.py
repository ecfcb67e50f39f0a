"""Capture throughput: POST /api/v1/leads under gunicorn on PostgreSQL + Redis, against
the stack's floor (bench/floor_app.py) measured in the same run with the same settings.

    python bench/capture.py [--duration 20] [--rounds 4] [--connections 16] [--workers 4]

Both servers run side by side and are loaded in turns (``--rounds``, the order flipped
each round), so that the machine's drift weighs on both alike; the ratio is of the
requests per second over all rounds.

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
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from cpu import TICKS, cpu_seconds, descendants, machine_ticks, postgres_pids
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


def wrk(port: int, template: str, key: str, run_id: str, seconds: float, args) -> dict:
    """One wrk run of ``seconds``: its requests, time and latency percentiles (µs)."""
    command = [
        "wrk",
        "-t",
        "2",
        "-c",
        str(args.connections),
        "-d",
        f"{seconds:g}s",
        "-s",
        str(HERE / "capture.lua"),
        f"http://127.0.0.1:{port}",
        "--",
        template,
        key,
        run_id,
    ]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    fields = dict(part.split("=") for part in RESULT.search(output).group(1).split())
    return {name: int(value) for name, value in fields.items()}


def summed(rounds: list[dict]) -> dict:
    """A server's rounds together: requests per second over all of them; the p50 and
    p95 of the round in the middle, and the p99 both of the round in the middle and of
    the worst round."""
    ok = sum(r["requests"] - r["non2xx"] for r in rounds)
    seconds = sum(r["duration_us"] for r in rounds) / 1e6

    def middle(name: str) -> float:
        return statistics.median(r[name] for r in rounds) / 1000

    return {
        "ok_per_s": ok / seconds,
        "requests": sum(r["requests"] for r in rounds),
        "non2xx": sum(r["non2xx"] for r in rounds),
        "socket_errors": sum(r["socket_errors"] for r in rounds),
        "p50_ms": middle("p50"),
        "p95_ms": middle("p95"),
        "p99_ms": middle("p99"),
        "worst_p99_ms": max(r["p99"] for r in rounds) / 1000,
        "rounds_per_s": [(r["requests"] - r["non2xx"]) / (r["duration_us"] / 1e6) for r in rounds],
    }


def cpu_now(server: subprocess.Popen) -> dict[str, float]:
    """CPU seconds so far: the server's processes (gunicorn's and its workers'), all of
    PostgreSQL's, and the machine's busy time in all."""
    busy, _ = machine_ticks()
    return {
        "web": sum(cpu_seconds(pid) for pid in [server.pid, *descendants(server.pid)]),
        "postgres": sum(cpu_seconds(pid) for pid in postgres_pids()),
        "machine": busy / TICKS,
    }


def measure(
    servers: dict[str, subprocess.Popen],
    ports: dict[str, int],
    keys: dict[str, str],
    template: str,
    args,
) -> dict:
    """Warm each server up, then load them in turns, ``args.rounds`` rounds of
    ``args.duration / args.rounds`` seconds each, the order flipped every round (floor
    then ours, ours then floor...): both are measured over the same stretch of time, so
    that the machine's drift (its neighbours, its CPU's frequency) weighs on both alike.
    Each server's CPU is read around its own rounds, the other one idle meanwhile."""
    for name, port in ports.items():
        wrk(port, template, keys[name], f"{name}w", 3, args)
    seconds = args.duration // args.rounds
    rounds: dict[str, list[dict]] = {name: [] for name in ports}
    cpu: dict[str, dict[str, float]] = {name: {} for name in ports}
    order = list(ports)
    for number in range(args.rounds):
        for name in order if number % 2 == 0 else reversed(order):
            before = cpu_now(servers[name])
            rounds[name].append(
                wrk(ports[name], template, keys[name], f"{name}{number}", seconds, args)
            )
            after = cpu_now(servers[name])
            for part in after:
                cpu[name][part] = cpu[name].get(part, 0.0) + after[part] - before[part]
    results = {name: summed(runs) for name, runs in rounds.items()}
    for name, result in results.items():
        ok = result["requests"] - result["non2xx"]
        result["cpu_ms"] = {part: 1000 * value / max(ok, 1) for part, value in cpu[name].items()}
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds of load per server")
    parser.add_argument(
        "--rounds", type=int, default=4, help="turns the duration is split in, per server"
    )
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers, both servers")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    args = parser.parse_args()
    if subprocess.run(["which", "wrk"], capture_output=True).returncode:
        raise SystemExit("wrk is missing: apt-get install wrk")
    if not 1 <= args.rounds <= args.duration:
        raise SystemExit("--rounds: from 1 to --duration")
    if args.duration % args.rounds:
        raise SystemExit("--duration: a multiple of --rounds (wrk's rounds last whole seconds)")

    admin, database_url = create_database("capture")
    queue = f"bench-{secrets.token_hex(3)}"
    seeded = prepare(database_url, queue)
    template = body_template(seeded["magnet"])
    redis = Redis.from_url(REDIS_URL)
    servers: dict[str, subprocess.Popen] = {}
    try:
        ports = {"floor": free_port(), "marketplace": free_port()}
        servers["floor"] = serve(
            "bench.floor_app:app",
            ports["floor"],
            args.workers,
            args.threads,
            {"FLOOR_DSN": database_url},
        )
        servers["marketplace"] = serve(
            "wsgi:app",
            ports["marketplace"],
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
        results = measure(
            servers, ports, {"floor": "unused", "marketplace": seeded["key"]}, template, args
        )
        for server in servers.values():
            stop(server)
        servers = {}
        with psycopg.connect(database_url) as connection:
            leads = connection.execute("SELECT count(*) FROM leads").fetchone()[0]
            consents = connection.execute("SELECT count(*) FROM consent_records").fetchone()[0]
            statuses = dict(
                connection.execute("SELECT status, count(*) FROM leads GROUP BY status").fetchall()
            )
        queued = redis.llen(f"rq:queue:{queue}")
    finally:
        for server in servers.values():
            stop(server)
        for name in redis.scan_iter(f"rq:*{queue}*"):
            redis.delete(name)
        drop_database(admin, database_url)

    floor, ours = results["floor"], results["marketplace"]
    ratio = ours["ok_per_s"] / floor["ok_per_s"]
    print(
        f"gunicorn -w {args.workers} --threads {args.threads}, wrk -t 2 -c {args.connections}, "
        f"{args.duration} s each in {args.rounds} rounds, in turns"
    )
    print(
        f"{'':12} {'ok/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'worst p99':>10} "
        f"{'non-2xx':>8}   ok/s per round"
    )
    for name, row in results.items():
        per_round = " ".join(f"{value:.0f}" for value in row["rounds_per_s"])
        print(
            f"{name:12} {row['ok_per_s']:8.0f} {row['p50_ms']:8.1f} {row['p95_ms']:8.1f} "
            f"{row['p99_ms']:8.1f} {row['worst_p99_ms']:10.1f} {row['non2xx']:8d}   {per_round}"
        )
    print(f"marketplace / floor throughput: {ratio:.2f}")
    print("CPU per request, ms:   web processes   PostgreSQL   whole machine")
    for name, row in results.items():
        cpu = row["cpu_ms"]
        print(f"{name:20} {cpu['web']:14.2f} {cpu['postgres']:12.2f} {cpu['machine']:15.2f}")
    print(
        f"leads stored: {leads} {statuses}, consent records: {consents}, "
        f"distribution runs queued: {queued} (coalesced: one wakes a worker for every lead "
        "pending; no worker runs here)"
    )
    targets = {  # issue 15's
        ">= 0.5 x the floor's throughput": ratio >= 0.5,
        # Ours at its worst round against the floor's round in the middle.
        "p99 <= 3 x the floor's p99": ours["worst_p99_ms"] <= 3 * floor["p99_ms"],
        "every lead stored with its consent, pending, a run queued to distribute it": (
            leads == consents == statuses.get("pending", 0) and queued >= 1
        ),
    }
    for target, met in targets.items():
        print(f"  {'met ' if met else 'MISSED'} {target}")
    return 0 if all(targets.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
