"""The ping's server time: POST /api/v1/leads/ping among 10,000 campaigns (issue 15).

    python bench/ping.py [--campaigns 10000] [--buyers 1000] [--requests 400]
                         [--warmup 40] [--web 2] [--connections 4] [--rate 50] [--keep-db]

Builds a throw-away PostgreSQL database (BENCH_DATABASE_URL, default the local server)
by the migrations, with ``--buyers`` buyers and ``--campaigns`` active campaigns over
it/software (85 %) and its parent sector it (15 %): prices from the sector's floor to
90 EUR, a share with departments, company sizes, kinds, minimum scores, caps, a budget,
opening hours, and 2 % wanting exclusive leads at 1.5 to 4 times their price; three
publishers, each with a live quote-request magnet on it/software (``max_buyers`` 3)
and an API key (one per measure: the ping's limit, 600 a minute, counts per
publisher). Buyers, magnets and keys go through the use cases; each campaign is
checked by the campaign editor's own use case (``campaigns.draft_campaign``) and
stored a thousand at a time, as ``create_campaign`` would write it one by one.

Then it posts the same sequence of varied pings (postcodes in every department, sizes,
budgets, timeframes, job titles, a phone or not, an e-mail one time in five), three
times:

- in-process, through Flask's test client, one at a time: the view's time, no HTTP;
- through ``gunicorn -w N`` (``--web``, sync workers as in production) at a fixed
  rate (``--rate``, open loop: a ping leaves at its time whatever became of the
  earlier ones, from a pool of ``--connections`` connections), timed from
  its scheduled send time to its answer read: the latency a publisher's server sees;
  gunicorn's own time per request (its access log's ``%(D)s``) is printed beneath;
- through the same gunicorn, each connection sending its next ping as soon as it has
  the answer: the capacity (its latencies are mostly the queue of the busy machine).

The first ``--warmup`` pings of each measure load the processes' copies (campaign
rules, keys, magnets, scoring models) and are not counted; the first one's time is
printed apart. Redis (BENCH_REDIS_URL, default database 15) holds the rate limits, as
in production. The database is dropped at the end, after Ctrl-C or SIGTERM too.

The code measured is this checkout's, or the one first on PYTHONPATH (to measure
another branch with this script: PYTHONPATH=/path/to/it python bench/ping.py).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from redis import Redis
from throwaway import create_database, drop_database, free_port

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# The code measured: the first PYTHONPATH entry when one is given, else this checkout.
CODE = Path(os.environ["PYTHONPATH"].split(os.pathsep)[0]) if os.environ.get("PYTHONPATH") else ROOT
if not os.environ.get("PYTHONPATH"):
    sys.path.insert(0, str(ROOT))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
HOST = "127.0.0.1"
DEPARTMENTS = [f"{n:02d}" for n in range(1, 96) if n != 20]
SIZES = ["1", "2_9", "10_49", "50_249", "250_999", "1000_plus"]
BUDGETS = ["lt_1k", "1k_5k", "5k_20k", "20k_100k", "gt_100k"]
TIMEFRAMES = ["now", "3_months", "6_months", "later"]
JOB_TITLES = ["Développeur", "Responsable achats", "Head of IT", "Directeur général", "CEO"]
ASKED = ("company", "job_title", "company_size", "budget", "timeframe", "postcode", "message")
WEEKDAYS_8_TO_20 = {day: [["08:00", "20:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}


def campaign_settings(n: int, software, parent, rng: random.Random) -> dict:
    """One campaign's settings as the editor's form gives them."""
    from marketplace.campaigns import floor_price_cents

    sector = parent if rng.random() < 0.15 else software
    price = rng.randrange(floor_price_cents([sector]), 9001, 50)
    settings: dict = {"name": f"Campaign {n}", "sector_ids": [sector.id], "price_cents": price}
    if rng.random() < 0.02:
        # Wanting leads alone, each in three departments, at 1.5 to 4 times its price:
        # above three shared sales (about 270 EUR here) for a few, so that about one ping
        # in three is answered by an exclusive sale and the others by shared ones.
        settings["wants_exclusive"] = True
        settings["exclusive_price_cents"] = price * rng.randrange(150, 401) // 100
        settings["departments"] = rng.sample(DEPARTMENTS, 3)
    elif rng.random() < 0.4:
        settings["departments"] = rng.sample(DEPARTMENTS, rng.randint(3, 20))
    if rng.random() < 0.15:
        settings["company_sizes"] = rng.sample(SIZES, 3)
    if rng.random() < 0.3:
        settings["min_score"] = rng.randrange(20, 80, 5)
    if rng.random() < 0.05:
        settings["magnet_kinds"] = rng.choice([["quote_request"], ["whitepaper", "webinar"]])
    if rng.random() < 0.1:
        settings["daily_cap"] = rng.randrange(5, 100)
    if rng.random() < 0.05:
        settings["monthly_budget_cents"] = rng.randrange(50_000, 500_000, 10_000)
    if rng.random() < 0.05:
        settings["opening_hours"] = WEEKDAYS_8_TO_20
    return settings


def seed(app, campaign_count: int, buyer_count: int, rng: random.Random) -> list[tuple]:
    """Migrate and seed; returns (API key, magnet key) of each publisher."""
    from flask_migrate import upgrade
    from sqlalchemy import select

    from marketplace import accounts, api_keys, campaigns, magnets
    from marketplace.extensions import db
    from marketplace.models import MagnetKind, OrganizationKind, Sector

    password = secrets.token_urlsafe(16)

    def organization(kind, name: str, email: str) -> int:
        return accounts.sign_up(
            kind=kind,
            company_name=name,
            full_name="Bench",
            email=email,
            password=password,
            password_method="pbkdf2:sha256:1000",
        ).organization_id

    with app.app_context():
        with contextlib.redirect_stderr(io.StringIO()):
            upgrade()
        software = db.session.scalar(select(Sector).where(Sector.slug == "it/software"))
        parent = software.parent
        buyers = [
            organization(OrganizationKind.BUYER, f"Bench Buyer {n:04d}", f"b{n}@bench.example")
            for n in range(buyer_count)
        ]
        for n in range(campaign_count):
            campaign = campaigns.draft_campaign(
                buyers[n % buyer_count], **campaign_settings(n, software, parent, rng)
            )
            campaign.webhook_secret = secrets.token_hex(24)  # as create_campaign sets it
            db.session.add(campaign)
            if n % 1000 == 999:
                db.session.commit()
        db.session.commit()
        publishers = []
        for n in range(3):
            publisher_id = organization(
                OrganizationKind.PUBLISHER, f"Bench Publisher {n}", f"p{n}@bench.example"
            )
            magnet = magnets.create_magnet(
                publisher_id,
                magnets.MagnetSettings(
                    title="Comparez les devis de logiciels",
                    kind=MagnetKind.QUOTE_REQUEST,
                    sector_id=software.id,
                    max_buyers=3,
                    fields=[{"name": name, "required": False} for name in ASKED],
                ),
            )
            magnet_key = magnet.key
            _, key = api_keys.issue_api_key(publisher_id, "bench")
            publishers.append((key, magnet_key))
        # The planner's statistics of a marketplace in use (autovacuum's, in production).
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return publishers


def ping_bodies(magnet_key: str, count: int, rng: random.Random) -> list[dict]:
    bodies = []
    for n in range(count):
        qualification = {"postcode": f"{rng.choice(DEPARTMENTS)}{rng.randrange(1000):03d}"}
        for name, values, share in (
            ("company", ["Durand SA"], 0.7),
            ("company_size", SIZES, 0.7),
            ("budget", BUDGETS, 0.6),
            ("timeframe", TIMEFRAMES, 0.6),
            ("job_title", JOB_TITLES, 0.5),
            ("message", ["Twenty seats and their training before the spring, please."], 0.3),
        ):
            if rng.random() < share:
                qualification[name] = rng.choice(values)
        body = {"magnet": magnet_key, "qualification": qualification}
        body["phone_given"] = rng.random() < 0.7
        if rng.random() < 0.2:
            body["email"] = f"person{n}@example.org"
        bodies.append(body)
    return bodies


def percentiles(times: list[float]) -> dict:
    ordered = sorted(times)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "n": len(ordered),
        "p50": cuts[49],
        "p95": cuts[94],
        "p99": cuts[98],
        "max": ordered[-1],
    }


def show(label: str, figures: dict, extra: str = "") -> None:
    print(
        f"  {label:<34} n={figures['n']:<4} p50 {figures['p50']:6.2f} ms   "
        f"p95 {figures['p95']:6.2f} ms   p99 {figures['p99']:6.2f} ms   "
        f"max {figures['max']:7.2f} ms{extra}"
    )


def answers_line(answers: list[dict]) -> str:
    """What the pings answered, to compare two branches run on the same seed."""
    buyers = [a["eligible_buyers"] for a in answers]
    digest = hashlib.sha256(
        json.dumps([[a["eligible_buyers"], a["estimated_payout_cents"]] for a in answers]).encode()
    ).hexdigest()[:12]
    return (
        f"  answers: {sum(buyers) / len(buyers):.2f} buyers per ping on average, "
        f"{buyers.count(0)} of {len(buyers)} with none, digest {digest}"
    )


def in_process(app, key: str, bodies: list[dict], warmup: int) -> tuple[dict, float, list]:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {key}"}
    times, answers = [], []
    for body in bodies:
        started = time.perf_counter()
        response = client.post("/api/v1/leads/ping", json=body, headers=headers)
        times.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise SystemExit(f"ping answered {response.status_code}: {response.get_data()!r}")
        answers.append(response.get_json())
    return percentiles(times[warmup:]), times[0], answers[warmup:]


def start_gunicorn(
    database_url: str, workers: int, port: int, log: Path, access_log: Path
) -> subprocess.Popen:
    env = {
        **os.environ,
        "PYTHONPATH": str(CODE),
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": secrets.token_urlsafe(32),
    }
    with open(log, "ab") as output:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                str(workers),
                "-b",
                f"{HOST}:{port}",
                "--chdir",
                str(CODE),
                # gunicorn's own time per request (microseconds): the server's time,
                # without the client's threads and the loopback hops
                "--access-logfile",
                str(access_log),
                "--access-logformat",
                "%(D)s %(s)s %(U)s",
                "wsgi:app",
            ],
            cwd=CODE,  # python -m puts its directory first on sys.path, before PYTHONPATH
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn stopped: see {log}")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return process
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not start: see {log}")


def stop(process: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def through_gunicorn(
    port: int,
    key: str,
    bodies: list[dict],
    warmup: int,
    connections: int,
    rate: float | None,
    access_log: Path,
) -> tuple[dict, dict, list]:
    """The pings after the warm-up, at ``rate`` a second (open loop: a ping leaves at its
    time whatever became of the earlier ones, and its time runs from then, so a ping
    that waited for a free connection counts that wait), or, without a rate, each
    connection sending the next ping as soon as it has the answer (the capacity). Their
    times seen by the client, and by gunicorn (its access log)."""
    import urllib3

    pool = urllib3.HTTPConnectionPool(HOST, port, maxsize=connections, block=True, retries=False)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    start = 0.0

    def post(item: tuple[int, dict]) -> tuple[float, int, dict]:
        n, body = item
        payload = json.dumps(body).encode()
        sent = time.perf_counter()
        if rate:
            sent = start + n / rate
            time.sleep(max(0.0, sent - time.perf_counter()))
        response = pool.request("POST", "/api/v1/leads/ping", body=payload, headers=headers)
        elapsed = (time.perf_counter() - sent) * 1000
        return elapsed, response.status, response.json() if response.status == 200 else {}

    with ThreadPoolExecutor(max_workers=connections) as threads:
        list(threads.map(post, enumerate(bodies[:warmup])))
        time.sleep(0.2)  # the warm-up's access log lines written
        logged = len(access_log.read_text().splitlines())
        start = time.perf_counter()
        results = list(threads.map(post, enumerate(bodies[warmup:])))
        seconds = time.perf_counter() - start
    errors = [status for _, status, _ in results if status != 200]
    if errors:
        raise SystemExit(f"{len(errors)} pings failed through gunicorn: {sorted(set(errors))}")
    figures = percentiles([elapsed for elapsed, _, _ in results])
    figures["rate"] = len(results) / seconds
    time.sleep(0.2)
    lines = access_log.read_text().splitlines()[logged:]
    server = percentiles([int(line.split()[0]) / 1000 for line in lines])
    return figures, server, [answer for _, _, answer in results]


def interrupted(signum, frame) -> None:
    """SIGTERM cleans up as Ctrl-C does."""
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=10_000)
    parser.add_argument("--buyers", type=int, default=1_000)
    parser.add_argument("--requests", type=int, default=400, help="pings measured per measure")
    parser.add_argument("--warmup", type=int, default=40, help="pings not counted, before")
    parser.add_argument("--web", type=int, default=2, help="gunicorn processes")
    parser.add_argument("--connections", type=int, default=4, help="concurrent connections")
    parser.add_argument("--rate", type=float, default=50, help="pings/s of the fixed-rate run")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--keep-db", action="store_true", help="leave the database behind")
    args = parser.parse_args()
    if args.requests + args.warmup > 590:
        parser.error("the ping's limit is 600 a minute per publisher: at most 590 pings")

    signal.signal(signal.SIGTERM, interrupted)
    run_dir = HERE / "results"
    run_dir.mkdir(exist_ok=True)
    admin, database_url = create_database("ping")
    os.environ.update(DATABASE_URL=database_url, REDIS_URL=REDIS_URL)
    # Each fresh database gives its publishers the same ids: a run a minute earlier left
    # counts against this run's ping limit (600 a minute) that are not this run's.
    limits = Redis.from_url(REDIS_URL)
    for key in limits.scan_iter("LIMITS:LIMITER/organization:*/publisher_api.ping/*"):
        limits.delete(key)
    web = None
    code = 0
    try:
        from marketplace import create_app

        app = create_app({"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
        started = time.monotonic()
        rng = random.Random(args.seed)
        publishers = seed(app, args.campaigns, args.buyers, rng)
        import marketplace

        print(
            f"bench/ping.py: {args.campaigns} campaigns of {args.buyers} buyers seeded in "
            f"{time.monotonic() - started:.0f} s; code {Path(marketplace.__file__).parent.parent}; "
            f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} "
            f"{os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}"
        )
        count = args.warmup + args.requests
        key, magnet_key = publishers[0]
        bodies = ping_bodies(magnet_key, count, random.Random(args.seed + 1))

        # No app context around the requests: each one pushes and tears down its own,
        # as under gunicorn (the session is removed after each).
        figures, cold, answers = in_process(app, key, bodies, args.warmup)
        show("in-process (Flask test client)", figures, f"   first ping {cold:.0f} ms")
        print(answers_line(answers))

        port = free_port()
        access_log = run_dir / f"ping-gunicorn-{port}-access.log"
        web = start_gunicorn(
            database_url, args.web, port, run_dir / f"ping-gunicorn-{port}.log", access_log
        )
        for (web_key, web_magnet_key), rate, label in (
            (publishers[1], args.rate, f"{args.rate:g} pings/s"),
            (publishers[2], None, "as fast as answered"),
        ):
            web_bodies = [{**body, "magnet": web_magnet_key} for body in bodies]
            figures, server, answers = through_gunicorn(
                port, web_key, web_bodies, args.warmup, args.connections, rate, access_log
            )
            show(
                f"gunicorn -w {args.web}, {label}",
                figures,
                f"   {figures['rate']:.0f} pings/s answered",
            )
            show("  gunicorn's own time (access log)", server)
            print(answers_line(answers))
        print(f"  load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    except KeyboardInterrupt:
        print("\ninterrupted: cleaning up", file=sys.stderr)
        code = 130
    finally:
        if web is not None:
            stop(web)
        if args.keep_db:
            print(f"database kept: {database_url}")
        else:
            drop_database(admin, database_url)
    return code


if __name__ == "__main__":
    sys.exit(main())
