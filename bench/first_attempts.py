"""What recording a lead's three first attempts costs, one statement each or gathered in
one (marketplace/delivery_threads.py gathers the attempts its threads finish within
RECORD_GATHER_SECONDS).

    python bench/load.py --rates 60 --duration 15 --keep-db    # prints the kept URL
    python bench/first_attempts.py --database URL [--leads 300] [--rounds 3] [--sizes 3 1]

On a database ``bench/load.py --keep-db`` left (its deliveries, sales and triggers as a
run made them), sets ``--leads`` x 3 deliveries back to pending, then records their
first attempts through ``delivery.record_first_attempts``' statement, three at a time
(one lead's) or one at a time (``--sizes``), alternated over ``--rounds``, each after
a checkpoint so that each pays the same full-page writes. Prints, per lead: the wall
time, the PostgreSQL backend's CPU (its ``/proc`` times: the server must be on this
machine) and this process's CPU. The deliveries are put back as they were found; their
attempts' records stay.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

import psycopg
from cpu import cpu_seconds

from marketplace import delivery
from marketplace.models import DeliveryStatus


def delivered(delivery_ids: list[int], now: datetime) -> list[delivery.FirstAttempt]:
    return [
        delivery.FirstAttempt(
            delivery_id=delivery_id,
            attempted_at=now,
            status_code=200,
            duration_ms=3,
            error=None,
            new_status=DeliveryStatus.DELIVERED,
            delivered=now,
            next_attempt=None,
        )
        for delivery_id in delivery_ids
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a database bench/load.py kept")
    parser.add_argument("--leads", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[3, 1], help="attempts a statement, each"
    )
    args = parser.parse_args()
    url = args.database.replace("+psycopg", "")
    with psycopg.connect(url, autocommit=True) as connection:
        pid = connection.execute("SELECT pg_backend_pid()").fetchone()[0]
        rows = connection.execute(
            "SELECT id, status, attempts, delivered_at, next_attempt_at FROM deliveries"
            " WHERE channel = 'webhook' ORDER BY id LIMIT %s",
            [args.leads * 3],
        ).fetchall()
        if len(rows) < args.leads * 3:
            raise SystemExit(f"{len(rows)} webhook deliveries in the database, too few")
        ids = [row[0] for row in rows]
        try:
            for _ in range(args.rounds):
                for per_statement in args.sizes:
                    connection.execute(
                        "UPDATE deliveries SET status = 'pending', attempts = 0,"
                        " delivered_at = NULL, next_attempt_at = now() WHERE id = ANY(%s)",
                        [ids],
                    )
                    connection.execute("CHECKPOINT")
                    now = datetime.now(UTC)
                    started, cpu, own = time.perf_counter(), cpu_seconds(pid), time.process_time()
                    for first in range(0, len(ids), per_statement):
                        batch = ids[first : first + per_statement]
                        delivery.first_attempts_recorded(connection, delivered(batch, now))
                    wall = time.perf_counter() - started
                    cpu = cpu_seconds(pid) - cpu
                    own = time.process_time() - own
                    print(
                        f"{per_statement} a statement: per lead (3 attempts) wall "
                        f"{wall / args.leads * 1000:.3f} ms, PostgreSQL CPU "
                        f"{cpu / args.leads * 1000:.3f} ms, this process's CPU "
                        f"{own / args.leads * 1000:.3f} ms"
                    )
        finally:
            with connection.transaction():
                for row in rows:
                    connection.execute(
                        "UPDATE deliveries SET status = %s, attempts = %s, delivered_at = %s,"
                        " next_attempt_at = %s WHERE id = %s",
                        [row[1], row[2], row[3], row[4], row[0]],
                    )


if __name__ == "__main__":
    main()
