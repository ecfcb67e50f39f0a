"""CPU per capture without the HTTP server nor the load generator: the app and the floor
(bench/floor_app.py) called as WSGI in this one process, one request after the other,
in alternated rounds, with this process's CPU and PostgreSQL's read around each round.

    python bench/capture_cpu.py [--requests 2000] [--rounds 6] [--profile | --parts]

bench/capture.py measures what a user feels, but on this shared 2-core machine its CPU
per request moves by a tenth from run to run, more than most single changes of the
capture's code. Here nothing else runs meanwhile (no gunicorn, no wrk): the web side's
figure is the code's own, and a change of 0.02 ms shows over a few rounds. It is a
reading of where the CPU goes, not a throughput. ``--profile`` prints cProfile's top
functions of the capture instead (cProfile's own cost triples the times; read the
shares). ``--parts`` splits the capture's web CPU by taking pieces away in turns (see
``parts``). Run it with ``PYTHONPATH`` on the code to measure, to compare two commits.

Needs PostgreSQL and Redis (as bench/capture.py); it creates a throw-away database and
queue, and removes them at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.append(str(Path(__file__).resolve().parent.parent))  # wsgi.py, after PYTHONPATH

from capture import REDIS_URL, body_template, prepare
from cpu import cpu_seconds, postgres_pids
from redis import Redis
from throwaway import create_database, drop_database


def wsgi_caller(app, template: str, headers: dict[str, str]):
    """A function posting one lead (its number makes the person unique) to ``app``."""

    def call(tag: str) -> None:
        body = (template % tag).encode()
        environ = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/api/v1/leads",
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1:8000",
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            **headers,
        }
        status = []
        answer = b"".join(app(environ, lambda line, _headers, _info=None: status.append(line)))
        if not status[0].startswith("201"):
            raise SystemExit(f"{status[0]}: {answer[:300]!r}")

    return call


def timed(call, name: str, requests: int) -> dict[str, float]:
    """CPU per request, µs: this process's (the app, its threads) and PostgreSQL's."""
    own, database = time.process_time(), _postgres_cpu()
    for number in range(requests):
        call(f"{name}n{number}")
    return {
        "web": 1e6 * (time.process_time() - own) / requests,
        "postgres": 1e6 * (_postgres_cpu() - database) / requests,
    }


def _postgres_cpu() -> float:
    return sum(cpu_seconds(pid) for pid in postgres_pids())


def parts(calls: dict, rounds: int, requests: int) -> dict[str, list[dict[str, float]]]:
    """Where the capture's web CPU goes, by subtraction, in alternated rounds:

    - ``marketplace``: as it is, its statement's own CPU (client side) read around it;
    - ``without its statement``: the statement replaced by a stand-in answering a new
      id at once (no round trip): the rest of the request;
    - ``without its view``: the view's body replaced by a constant answer: what the
      framework's layers cost (routing, the API key, the body's checks and model,
      the hooks, the answer's schema);
    - ``its statement alone``: the same statement with the same values, called one
      after the other in this process (new person each time), outside any request.

    The stand-ins replace the product's functions for their rounds only (the
    statement's ``store._in_one_statement``, the view's ``publishers.api._post_lead``)."""
    import copy

    from marketplace.capture import store
    from marketplace.models import LeadStatus
    from publishers import api as publisher_api
    from wsgi import app

    real_statement, real_view = store._in_one_statement, publisher_api._post_lead
    statement_cpu = [0.0]
    seen = []
    next_id = [10**9]

    def timed_statement(*args):
        started = time.process_time()
        try:
            return real_statement(*args)
        finally:
            statement_cpu[0] += time.process_time() - started

    def no_statement(*_args):
        next_id[0] += 1
        return next_id[0], LeadStatus.PENDING

    def constant_view(*_args):
        return {"id": 1, "status": "accepted", "certificate_id": "c"}, 201

    def remember(*args):
        seen.append(copy.deepcopy(args))
        return real_statement(*args)

    store._in_one_statement = remember
    calls["marketplace"]("parts-sample")
    lead, consent, windows, idempotency = seen[-1]

    def statement_alone(_tag: str) -> None:
        lead["email_hash"] = secrets.token_hex(32)
        consent["certificate_id"] = secrets.token_urlsafe(18)
        real_statement(lead, consent, windows, idempotency)

    variants = {
        "floor": (calls["floor"], real_statement, real_view),
        "marketplace": (calls["marketplace"], timed_statement, real_view),
        "without its statement": (calls["marketplace"], no_statement, real_view),
        "without its view": (calls["marketplace"], real_statement, constant_view),
        "its statement alone": (statement_alone, real_statement, real_view),
    }
    results: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    try:
        for number in range(rounds):
            order = list(variants) if number % 2 == 0 else list(reversed(variants))
            for name in order:
                call, store._in_one_statement, publisher_api._post_lead = variants[name]
                statement_cpu[0] = 0.0
                # The requests push their own contexts; the statement alone needs one.
                with app.app_context() if call is statement_alone else contextlib.nullcontext():
                    figures = timed(call, f"p{number}{len(name)}", requests)
                if name == "marketplace":
                    figures["statement"] = 1e6 * statement_cpu[0] / requests
                results[name].append(figures)
    finally:
        store._in_one_statement, publisher_api._post_lead = real_statement, real_view
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="per round and server")
    parser.add_argument("--rounds", type=int, default=6)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--profile", action="store_true", help="cProfile the capture instead")
    mode.add_argument("--parts", action="store_true", help="split the capture's web CPU")
    args = parser.parse_args()

    admin, database_url = create_database("capture_cpu")
    queue = f"bench-{secrets.token_hex(3)}"
    redis = Redis.from_url(REDIS_URL)
    try:
        seeded = prepare(database_url, queue)
        template = body_template(seeded["magnet"])
        os.environ.update(
            MARKETPLACE_API_RATE_LIMIT="1000000 per minute",
            SECRET_KEY="bench",
            FLOOR_DSN=database_url,
        )
        # As gunicorn loads them: the product's wsgi.py (its heap frozen) and the floor.
        from floor_app import app as floor_app

        from wsgi import app

        calls = {
            "floor": wsgi_caller(floor_app, template, {}),
            "marketplace": wsgi_caller(
                app, template, {"HTTP_AUTHORIZATION": f"Bearer {seeded['key']}"}
            ),
        }
        for name, call in calls.items():  # warm: caches, prepared statements
            timed(call, f"{name}w", 300)
        if args.profile:
            profile = cProfile.Profile()
            profile.runcall(timed, calls["marketplace"], "profiled", args.requests)
            stats = pstats.Stats(profile)
            stats.sort_stats("tottime").print_stats(40)
            stats.sort_stats("cumulative").print_stats(60)
            return 0
        if args.parts:
            _print_parts(parts(calls, args.rounds, args.requests), args)
            return 0
        rounds: dict[str, list[dict[str, float]]] = {name: [] for name in calls}
        for number in range(args.rounds):
            order = list(calls) if number % 2 == 0 else list(reversed(calls))
            for name in order:
                rounds[name].append(timed(calls[name], f"{name}{number}", args.requests))
    finally:
        for name in redis.scan_iter(f"rq:*{queue}*"):
            redis.delete(name)
        drop_database(admin, database_url)

    _print_rounds(rounds, args)
    beyond = {
        part: statistics.median(
            ours[part] - floor[part]
            for floor, ours in zip(rounds["floor"], rounds["marketplace"], strict=True)
        )
        for part in ("web", "postgres")
    }
    print(
        f"the capture beyond the floor, µs: web {beyond['web']:.0f}, "
        f"PostgreSQL {beyond['postgres']:.0f} (median of the rounds' differences)"
    )
    return 0


def _print_rounds(rounds: dict[str, list[dict[str, float]]], args) -> None:
    print(f"{args.rounds} rounds of {args.requests} requests each, in turns, one process")
    print("CPU per request, µs (median of the rounds; lowest and highest round)")
    width = max(12, *(len(name) for name in rounds))
    print(f"{'':{width}} {'web':>20} {'PostgreSQL':>20}")
    for name, runs in rounds.items():
        cells = []
        for part in ("web", "postgres"):
            values = [run[part] for run in runs]
            cells.append(f"{statistics.median(values):6.0f} ({min(values):.0f}-{max(values):.0f})")
        print(f"{name:{width}} {cells[0]:>20} {cells[1]:>20}")


def _print_parts(results: dict[str, list[dict[str, float]]], args) -> None:
    _print_rounds(results, args)
    median = {name: statistics.median(run["web"] for run in runs) for name, runs in results.items()}
    statement = statistics.median(run["statement"] for run in results["marketplace"])
    print(
        f"web CPU of the capture's statement: {statement:.0f} µs within the request "
        f"(read around it), {median['its statement alone']:.0f} µs called alone; "
        f"{median['marketplace'] - median['without its statement']:.0f} µs of the request's "
        "CPU go with it"
    )
    print(
        f"the framework's layers (without the view's body): {median['without its view']:.0f} µs; "
        f"the view's own work without the statement: "
        f"{median['without its statement'] - median['without its view']:.0f} µs"
    )


if __name__ == "__main__":
    sys.exit(main())
