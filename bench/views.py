"""The capture page's view counter: GET /m/<key> counts a view (``magnets.record_view``)
before it renders the form. Times the counter alone, then the whole page through the
test client, on PostgreSQL (one process, one connection: the statements' cost, not
concurrency; bench/capture.py measures the API's throughput under load).

    python bench/views.py [--views 3000]

Needs PostgreSQL (BENCH_DATABASE_URL; the default is the local one) and the project
installed (pip install -e .). It creates a throw-away database and removes it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import psycopg
from sqlalchemy.engine import make_url

SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def timed(count: int, call) -> list[float]:
    """Each call's duration in milliseconds."""
    durations = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        durations.append((time.perf_counter() - start) * 1000)
    return durations


def report(name: str, durations: list[float]) -> None:
    ordered = sorted(durations)
    p95 = ordered[int(len(ordered) * 0.95)]
    print(
        f"{name:22} {len(durations):6d} calls  mean {statistics.fmean(durations):6.3f} ms  "
        f"p50 {statistics.median(durations):6.3f} ms  p95 {p95:6.3f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--views", type=int, default=3000)
    args = parser.parse_args()

    server = make_url(SERVER).set(drivername="postgresql")
    admin = server.render_as_string(hide_password=False)
    name = f"bench_views_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        os.environ.update(DATABASE_URL=server.set(database=name).render_as_string(False))
        os.environ.pop("REDIS_URL", None)
        from flask_migrate import upgrade

        from marketplace import create_app, magnets
        from marketplace.extensions import db
        from marketplace.models import MagnetKind, Organization, OrganizationKind, Sector

        app = create_app({"RATELIMIT_ENABLED": False})
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
                    title_b="Bench quotes, B",
                ),
            )
            magnet_id, key = magnet.id, magnet.key
            timed(200, lambda: magnets.record_view(magnet_id, "a"))  # warm up
            report("record_view", timed(args.views, lambda: magnets.record_view(magnet_id, "b")))
        client = app.test_client()
        timed(100, lambda: client.get(f"/m/{key}"))
        report("GET /m/<key>", timed(args.views, lambda: client.get(f"/m/{key}")))
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
