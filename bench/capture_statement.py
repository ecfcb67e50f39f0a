"""What the capture's own statement costs on a table of leads that has history: the
person's checks (suppression, dedupe and, since migration 0025, the earlier visits and
the lead a returning person recycles) all read ``leads`` before the insert.

    python bench/capture_statement.py [--leads 300000] [--captures 1000]

Seeds ``--leads`` leads of ``--leads / 3`` people over the last 200 days (a third of
them unsold), then captures ``--captures`` leads of returning people and as many of new
ones through the real use case (``capture_lead``, its distribution not started), one at
a time in this process, and prints the time per capture and PostgreSQL's plan of one
returning person's insert. Run it with ``PYTHONPATH`` on the code to measure: it works
on the commits before 0025 too, to compare. Needs PostgreSQL (BENCH_DATABASE_URL); it
creates a throw-away database and drops it at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))

from capture import prepare
from throwaway import create_database

SEED = """
INSERT INTO leads (magnet_id, publisher_id, sector_id, status, max_buyers, sales_count,
                   sold_exclusively, email, email_hash, country, utm, score_explanation,
                   distribution_log, created_at)
SELECT m.id, m.publisher_id, s.id,
       CASE WHEN g %% 3 = 0 THEN 'unsold' ELSE 'distributed' END, 3, 0, false,
       'person' || (g %% %(people)s) || '@bench.example',
       encode(sha256(convert_to('person' || (g %% %(people)s) || '@bench.example', 'UTF8')), 'hex'),
       'FR', '{}', '[]', '[]',
       now() - make_interval(days => (g::bigint * 7919 %% 200)::int, secs => g %% 86400)
FROM generate_series(1, %(leads)s) AS g,
     LATERAL (SELECT id, publisher_id FROM lead_magnets LIMIT 1) AS m,
     LATERAL (SELECT id FROM sectors WHERE parent_id IS NOT NULL
              ORDER BY id OFFSET (g %% 20) LIMIT 1) AS s
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=300_000)
    parser.add_argument("--captures", type=int, default=1000)
    args = parser.parse_args()
    admin, database_url = create_database("capture_statement")
    try:
        run(database_url, args)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(
                f'DROP DATABASE IF EXISTS "{database_url.rsplit("/", 1)[1]}" WITH (FORCE)'
            )


def run(database_url: str, args) -> None:
    seeded = prepare(database_url, "bench-capture-statement")
    people = args.leads // 3
    with psycopg.connect(database_url.replace("+psycopg", ""), autocommit=True) as connection:
        connection.execute(SEED, {"people": people, "leads": args.leads}, prepare=False)
        connection.execute("VACUUM ANALYZE leads")
    os.environ["DATABASE_URL"] = database_url
    from marketplace import capture, create_app
    from marketplace.validation import normalise_email

    print(f"code: {Path(capture.__file__).resolve().parents[2]}")
    app = create_app()
    with app.app_context():
        target = capture.capture_target(seeded["magnet"])
        timings = {}
        for label, email in (
            ("returning person", lambda n: f"person{(n * 37) % people}@bench.example"),
            ("new person", lambda n: f"newcomer{n}@bench.example"),
        ):
            spent = []
            for n in range(args.captures):
                cleaned = {
                    "first_name": "Bench",
                    "last_name": "Person",
                    "email": normalise_email(email(n)),
                    "phone": None,
                    "company": "Bench SAS",
                    "postcode": "69003",
                    "country": "FR",
                }
                started = time.perf_counter()
                capture.capture_lead(
                    target,
                    cleaned,
                    consent_text=target.consent_texts[-1],
                    consent_given=True,
                    context=capture.CaptureContext(ip="198.51.100.7", channel="api"),
                    enqueue_distribution=False,
                )
                spent.append((time.perf_counter() - started) * 1000)
            timings[label] = spent
        for label, spent in timings.items():
            spent.sort()
            print(
                f"{label:17} mean {statistics.fmean(spent):.2f} ms, "
                f"p50 {spent[len(spent) // 2]:.2f}, p95 {spent[int(len(spent) * 0.95)]:.2f}"
            )
        print(f"\nplan of one returning person's insert ({args.leads:,} leads):")
        sql, params = _one_capture_statement(lambda: _capture_one(capture, target, database_url))
        print(explain(database_url, sql, params))


# A person back in the magnet's sector after the dedupe window, whose last lead there
# went unsold: the capture counts their visits and recycles that lead.
RETURNING = """
SELECT email FROM leads AS earlier
WHERE sector_id = %(sector_id)s AND status = 'unsold'
  AND created_at < now() - interval '40 days' AND created_at > now() - interval '170 days'
  AND NOT EXISTS (SELECT 1 FROM leads AS recent WHERE recent.email_hash = earlier.email_hash
                  AND recent.sector_id = earlier.sector_id
                  AND recent.created_at >= now() - interval '40 days')
LIMIT 1
"""


def _capture_one(capture, target, database_url) -> None:
    with psycopg.connect(database_url.replace("+psycopg", "")) as connection:
        email = connection.execute(RETURNING, {"sector_id": target.sector_id}).fetchone()[0]
    capture.capture_lead(
        target,
        {
            "first_name": "Bench",
            "last_name": "Person",
            "email": email,
            "phone": None,
            "company": "Bench SAS",
            "postcode": "69003",
            "country": "FR",
        },
        consent_text=target.consent_texts[-1],
        consent_given=True,
        context=capture.CaptureContext(ip="198.51.100.7", channel="api"),
        enqueue_distribution=False,
    )


class _Recorded(Exception):
    """Stops the capture once its statement is seen, before PostgreSQL runs it."""


def _one_capture_statement(capture_one) -> tuple[str, dict]:
    """The SQL and values of the capture's statement, as the store would send them."""
    from sqlalchemy.engine import Connection

    seen = {}
    original = Connection.exec_driver_sql

    def recording(self, statement, parameters=None, *rest, **options):
        seen["sql"], seen["params"] = statement, parameters
        raise _Recorded()

    Connection.exec_driver_sql = recording
    try:
        capture_one()
    except _Recorded:
        pass
    finally:
        Connection.exec_driver_sql = original
    return seen["sql"], seen["params"]


def explain(database_url: str, sql: str, params: dict) -> str:
    """PostgreSQL's plan of the statement, run and rolled back."""
    with psycopg.connect(database_url.replace("+psycopg", "")) as connection:
        rows = connection.execute(
            "EXPLAIN (ANALYZE, COSTS OFF, SUMMARY ON) " + sql,
            params,
        ).fetchall()
        connection.rollback()
    return "\n".join(row[0] for row in rows)


if __name__ == "__main__":
    main()
