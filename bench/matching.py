"""Distribution speed: one worker process distributing leads among 10,000 campaigns.

    python bench/matching.py [--campaigns 10000] [--leads 100000] [--distribute 5000]
                             [--history 0.5] [--through-rq N]

Builds a throw-away PostgreSQL database (BENCH_DATABASE_URL, default the local
server) with the campaigns spread over the sector taxonomy (one buyer in ten with
geography, size or score filters, some with caps, some wanting exclusives) and the
leads with their consent records: the first ``--history`` share of them already sold
(sales and ledger rows, as in a marketplace in use), the others pending. Then runs
``distribute_lead`` on ``--distribute`` consecutive pending leads one after the
other, as one worker takes them from the queue, and prints leads per second and the
p50/p99 time per lead; ``--through-rq`` N more go through Redis and the product's
worker. Target (issue 5): 300 leads/s, p99 under 20 ms. docs/benchmarks.md has the
figures and how to read them.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import secrets
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url
from throwaway import create_database, drop_database

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEPARTMENTS = [f"{n:02d}" for n in range(1, 96) if n != 20]
SIZES = ["1", "2_9", "10_49", "50_249", "250_999", "1000_plus"]


@dataclass(frozen=True)
class SectorRow:
    id: int
    parent_id: int | None


def copy_rows(connection, table: str, columns: list[str], rows) -> None:
    with connection.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def seed(
    app, database_url: str, campaigns: int, leads: int, history: float, rng: random.Random
) -> None:
    from sqlalchemy import select

    from marketplace import magnets
    from marketplace.consent import partner_list_id, partners_now
    from marketplace.extensions import db
    from marketplace.models import (
        ConsentText,
        LeadMagnet,
        MagnetKind,
        Organization,
        OrganizationKind,
        Sector,
        utcnow,
    )

    now = utcnow()
    with app.app_context():
        publisher = Organization(
            kind=OrganizationKind.PUBLISHER, name="Bench Publisher", revenue_share_bps=5000
        )
        db.session.add(publisher)
        db.session.commit()
        loaded = list(db.session.scalars(select(Sector)))
        floors = {
            s.id: max(s.floor_price_cents, s.parent.floor_price_cents if s.parent else 0)
            for s in loaded
        }
        # Plain values: the ORM objects do not outlive this app context.
        sectors = [SectorRow(s.id, s.parent_id) for s in loaded]
        children = [s for s in sectors if s.parent_id]
        for sector in children:
            magnets.create_magnet(
                publisher.id,
                magnets.MagnetSettings(
                    title=f"Quotes {sector.id}",
                    kind=MagnetKind.QUOTE_REQUEST,
                    sector_id=sector.id,
                    max_buyers=3,
                    language="fr",
                ),
            )
        magnet_rows = db.session.execute(
            select(LeadMagnet.id, LeadMagnet.sector_id, ConsentText.id, ConsentText.sha256).join(
                ConsentText, ConsentText.magnet_id == LeadMagnet.id
            )
        ).all()
        publisher_id = publisher.id
        db.session.remove()

    buyers = max(1, campaigns // 10)
    with psycopg.connect(database_url) as connection:
        copy_rows(
            connection,
            "organizations",
            ["kind", "name", "billing_status", "revenue_share_bps", "approved", "created_at"],
            (("buyer", f"Buyer {n}", "good", 0, True, now) for n in range(buyers)),
        )
        buyer_ids = [
            row[0]
            for row in connection.execute(
                "SELECT id FROM organizations WHERE kind = 'buyer' ORDER BY id"
            )
        ]
        campaign_rows, sector_rows = [], []
        for n in range(campaigns):
            sector = (
                rng.choice(children)
                if rng.random() < 0.85
                else rng.choice([s for s in sectors if not s.parent_id])
            )
            price = max(floors[sector.id], rng.randrange(2500, 9000, 100))
            filtered = rng.random() < 0.1
            exclusive = rng.random() < 0.05
            campaign_rows.append(
                (
                    buyer_ids[n % buyers],
                    f"Campaign {n}",
                    "active",
                    '["FR"]',
                    f"{rng.sample(DEPARTMENTS, 5)}".replace("'", '"') if filtered else "[]",
                    "[]",
                    f"{rng.sample(SIZES, 3)}".replace("'", '"') if rng.random() < 0.1 else "[]",
                    "[]",
                    30 if rng.random() < 0.1 else 0,
                    price,
                    "EUR",
                    exclusive,
                    price * 3 if exclusive else None,
                    rng.randrange(20, 200) if rng.random() < 0.3 else None,
                    None,
                    None,
                    "{}",
                    "Europe/Paris",
                    "[]",
                    secrets.token_hex(8),
                    now,
                )
            )
            sector_rows.append((n, sector.id))
        copy_rows(
            connection,
            "campaigns",
            [
                "buyer_id",
                "name",
                "status",
                "countries",
                "departments",
                "postcode_prefixes",
                "company_sizes",
                "magnet_kinds",
                "min_score",
                "price_cents",
                "currency",
                "wants_exclusive",
                "exclusive_price_cents",
                "daily_cap",
                "monthly_cap",
                "monthly_budget_cents",
                "opening_hours",
                "timezone",
                "email_recipients",
                "webhook_secret",
                "created_at",
            ],
            campaign_rows,
        )
        campaign_ids = [
            row[0] for row in connection.execute("SELECT id FROM campaigns ORDER BY id")
        ]
        # (campaign id, buyer id, price) of the campaigns covering each sector
        covering: dict[int, list[tuple]] = {}
        for n, sector_id in sector_rows:
            covering.setdefault(sector_id, []).append(
                (campaign_ids[n], campaign_rows[n][0], campaign_rows[n][9])
            )
        copy_rows(
            connection,
            "campaign_sectors",
            ["campaign_id", "sector_id"],
            ((campaign_ids[n], sector_id) for n, sector_id in sector_rows),
        )
        connection.commit()

    with app.app_context():
        lists = {s.id: partner_list_id(partners_now(s.id, s.parent_id)) for s in children}

    with psycopg.connect(database_url) as connection:
        by_sector = {
            sector_id: (magnet_id, text_id, sha)
            for magnet_id, sector_id, text_id, sha in magnet_rows
        }
        chosen = [rng.choice(children) for _ in range(leads)]
        # The first leads are history: captured over the last 30 days and sold then, so
        # that the sales and ledger tables (and their statistics) look like a running
        # marketplace's, and the dedupe window has people in it.
        sold_before = int(leads * history)
        past_sales = []
        for n, sector in enumerate(chosen[:sold_before]):
            offers = covering.get(sector.id, []) + covering.get(sector.parent_id, [])
            by_buyer = {buyer_id: (campaign_id, price) for campaign_id, buyer_id, price in offers}
            when = now - timedelta(seconds=rng.randrange(3600, 30 * 86400))
            for buyer_id in rng.sample(sorted(by_buyer), min(3, len(by_buyer))):
                past_sales.append((n, buyer_id, *by_buyer[buyer_id], when))
        sales_of = {}
        for n, *_rest in past_sales:
            sales_of[n] = sales_of.get(n, 0) + 1
        lead_rows = []
        for n, sector in enumerate(chosen):
            email = f"person{n}@bench.example"
            sold = n < sold_before
            lead_rows.append(
                (
                    by_sector[sector.id][0],
                    publisher_id,
                    sector.id,
                    ("distributed" if sales_of.get(n) else "unsold") if sold else "pending",
                    3,
                    sales_of.get(n, 0),
                    False,
                    "Marie",
                    "Bench",
                    email,
                    f"+3361{n:07d}",
                    hashlib.sha256(email.encode()).hexdigest(),
                    hashlib.sha256(f"+3361{n:07d}".encode()).hexdigest(),
                    "Bench SA",
                    rng.choice(SIZES),
                    f"{rng.choice(DEPARTMENTS)}{rng.randrange(0, 999):03d}",
                    "FR",
                    "{}",
                    "[]",
                    "[]",
                    now - timedelta(seconds=rng.randrange(0, 86400)),
                    50 if sold else None,
                    "warm" if sold else None,
                    now if sold else None,
                )
            )
        copy_rows(
            connection,
            "leads",
            [
                "magnet_id",
                "publisher_id",
                "sector_id",
                "status",
                "max_buyers",
                "sales_count",
                "sold_exclusively",
                "first_name",
                "last_name",
                "email",
                "phone",
                "email_hash",
                "phone_hash",
                "company",
                "company_size",
                "postcode",
                "country",
                "utm",
                "score_explanation",
                "distribution_log",
                "created_at",
                "score",
                "temperature",
                "distributed_at",
            ],
            lead_rows,
        )
        lead_ids = [row[0] for row in connection.execute("SELECT id FROM leads ORDER BY id")]
        copy_rows(
            connection,
            "consent_records",
            [
                "lead_id",
                "certificate_id",
                "consent_text_id",
                "text_sha256",
                "checkboxes",
                "partner_list_id",
                "consented_at",
                "utm",
                "channel",
            ],
            (
                (
                    lead_ids[n],
                    secrets.token_urlsafe(18),
                    by_sector[sector.id][1],
                    by_sector[sector.id][2],
                    '{"share_with_partners": true}',
                    lists[sector.id],
                    now,
                    "{}",
                    "api",
                )
                for n, sector in enumerate(chosen)
            ),
        )
        copy_rows(
            connection,
            "sales",
            [
                "lead_id",
                "buyer_id",
                "campaign_id",
                "sector_id",
                "source",
                "exclusive",
                "price_cents",
                "currency",
                "created_at",
                "rating_reasons",
            ],
            (
                (
                    lead_ids[n],
                    buyer_id,
                    campaign_id,
                    chosen[n].id,  # the lead's sector, copied at the sale
                    "campaign",
                    False,
                    price,
                    "EUR",
                    when,
                    "[]",
                )
                for n, buyer_id, campaign_id, price, when in past_sales
            ),
        )
        sale_ids = [row[0] for row in connection.execute("SELECT id FROM sales ORDER BY id")]
        copy_rows(
            connection,
            "ledger_entries",
            [
                "entry_key",
                "organization_id",
                "kind",
                "amount_cents",
                "currency",
                "sale_id",
                "description",
                "created_at",
            ],
            (
                entry
                for sale_id, (n, buyer_id, _campaign, price, when) in zip(
                    sale_ids, past_sales, strict=True
                )
                for entry in (
                    (
                        f"sale:{sale_id}:debit",
                        buyer_id,
                        "sale_debit",
                        -price,
                        "EUR",
                        sale_id,
                        f"Lead #{lead_ids[n]}",
                        when,
                    ),
                    (
                        f"sale:{sale_id}:earning",
                        publisher_id,
                        "publisher_earning",
                        price // 2,
                        "EUR",
                        sale_id,
                        f"Lead #{lead_ids[n]}",
                        when,
                    ),
                )
            ),
        )
        connection.commit()
        # What autovacuum would have done to rows loaded long ago (their hint bits set,
        # statistics gathered), and a checkpoint now rather than during the timing.
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")
        connection.execute("CHECKPOINT")


STATEMENT_TIMES: dict[str, list[float]] = {}


def watch_statements(engine) -> None:
    """Time every statement by its first line (BENCH_STATEMENTS=1), printed at the end."""
    from sqlalchemy import event

    @event.listens_for(engine, "before_cursor_execute")
    def started(conn, cursor, statement, parameters, context, executemany):
        conn.info["started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def ended(conn, cursor, statement, parameters, context, executemany):
        key = " ".join(statement.split())[:70]
        STATEMENT_TIMES.setdefault(key, []).append(time.perf_counter() - conn.info["started"])


def print_statement_times(leads: int) -> None:
    rows = sorted(STATEMENT_TIMES.items(), key=lambda item: -sum(item[1]))
    for key, times in rows[:12]:
        print(
            f"{sum(times) / leads * 1000:6.2f} ms/lead {len(times) / leads:5.2f}/lead "
            f"{statistics.median(times) * 1000:6.2f} ms p50  {key}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--campaigns", type=int, default=10_000)
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument(
        "--distribute",
        type=int,
        default=5_000,
        help="how many of the leads to distribute while timing",
    )
    parser.add_argument(
        "--history",
        type=float,
        default=0.5,
        help="share of the leads already sold before the run (their sales and ledger rows)",
    )
    parser.add_argument(
        "--through-rq",
        type=int,
        default=0,
        metavar="N",
        help="then N more leads as real jobs on Redis (BENCH_REDIS_URL), worked by the "
        "worker of `marketplace worker`",
    )
    args = parser.parse_args()
    rng = random.Random(2026)
    admin, database_url = create_database("matching")
    os.environ.update(DATABASE_URL=database_url, MARKETPLACE_SNAPSHOT_SECONDS="10")
    os.environ.pop("REDIS_URL", None)
    from flask_migrate import upgrade
    from sqlalchemy import select

    from marketplace import create_app, jobs
    from marketplace.extensions import db
    from marketplace.models import Lead

    app = create_app({"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    enqueue = jobs.enqueue
    try:
        with app.app_context():
            upgrade()
        started = time.perf_counter()
        seed(app, database_url, args.campaigns, args.leads, args.history, rng)
        print(
            f"seeded {args.campaigns} campaigns and {args.leads} leads "
            f"in {time.perf_counter() - started:.0f} s"
        )
        with app.app_context():
            ids = list(
                db.session.scalars(
                    select(Lead.id).where(Lead.status == "pending").order_by(Lead.id)
                )
            )
            db.session.remove()
        # A run of consecutive leads, as the queue hands them out in capture order (their
        # sectors, sizes and scores are random): leads captured together share pages.
        count = min(args.distribute + args.through_rq, len(ids))
        start = rng.randrange(len(ids) - count + 1)
        sample = ids[start : start + count]
        # Time the distribution itself: deliveries are their own jobs, not run here.
        jobs.enqueue = lambda *a, **k: None
        with app.app_context():
            timings = time_in_process(sample[: args.distribute], db)
        jobs.enqueue = enqueue
        rq_rate = time_through_rq(app, sample[args.distribute :]) if args.through_rq else None
        with app.app_context():
            books = check_books(db)
    finally:
        jobs.enqueue = enqueue
        if os.environ.get("BENCH_KEEP_DB"):
            print("kept the database:", make_url(database_url).database)
        else:
            drop_database(admin, database_url)
    total = sum(timings)
    if STATEMENT_TIMES:
        print_statement_times(len(timings))
    quantiles = statistics.quantiles(timings, n=100)
    rate = len(timings) / total
    print(f"distributed {len(timings)} leads in {total:.1f} s: {rate:.0f} leads/s per worker")
    print(
        f"per lead: p50 {quantiles[49] * 1000:.1f} ms, p99 {quantiles[98] * 1000:.1f} ms, "
        f"max {max(timings) * 1000:.1f} ms"
    )
    if rq_rate is not None:
        print(f"through RQ (jobs on Redis, one worker process): {rq_rate:.0f} leads/s")
    sales, debits, prices, over = books
    print(
        f"sales {sales}, ledger debits {debits} = sale prices {prices}: {debits == prices}; "
        f"leads over max_buyers: {over}"
    )
    met = rate >= 300 and quantiles[98] < 0.020
    print("target (300 leads/s, p99 < 20 ms):", "met" if met else "MISSED")
    return 0 if met and debits == prices and over == 0 else 1


def time_in_process(sample: list[int], db) -> list[float]:
    """Distribute the sample one lead after the other in this process: the seconds each took."""
    from marketplace.distribution import distribute_lead

    for lead_id in sample[:50]:  # warm the caches and the connection pool
        distribute_lead(lead_id)
    sample = sample[50:]
    if os.environ.get("BENCH_STATEMENTS"):
        watch_statements(db.engine)
    if os.environ.get("BENCH_PROFILE"):
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for lead_id in sample[:100]:
            distribute_lead(lead_id)
        profiler.disable()
        pstats.Stats(profiler).sort_stats(
            os.environ.get("BENCH_PROFILE_SORT", "cumulative")
        ).print_stats(40)
        sample = sample[100:]
    timings = []
    for lead_id in sample:
        began = time.perf_counter()
        distribute_lead(lead_id)
        timings.append(time.perf_counter() - began)
    return timings


def time_through_rq(app, sample: list[int]) -> float:
    """Enqueue the sample as distribution jobs, then work them with the product's worker
    (burst mode): leads per second, RQ's own bookkeeping included."""
    import logging

    from marketplace import jobs

    app.config.update(
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
        RQ_QUEUE=f"bench-matching-{os.getpid()}",
    )
    logging.getLogger("rq").setLevel(logging.WARNING)
    with app.app_context():
        queue = jobs.queue()
        try:
            for lead_id in sample:
                jobs.enqueue("marketplace.distribution:distribute_lead", lead_id)
            began = time.perf_counter()
            jobs.run_worker(burst=True)
            elapsed = time.perf_counter() - began
        finally:
            queue.delete(delete_jobs=True)
    return len(sample) / elapsed


def check_books(db) -> tuple[int, int, int, int]:
    """(sales, ledger debits, sale prices, leads over max_buyers)."""
    from sqlalchemy import func, select

    from marketplace.models import Lead, LedgerEntry, LedgerKind, Sale

    sales = db.session.scalar(select(func.count(Sale.id)))
    debits = -(
        db.session.scalar(
            select(func.sum(LedgerEntry.amount_cents)).where(
                LedgerEntry.kind == LedgerKind.SALE_DEBIT
            )
        )
        or 0
    )
    prices = db.session.scalar(select(func.sum(Sale.price_cents))) or 0
    over = db.session.scalar(select(func.count(Lead.id)).where(Lead.sales_count > Lead.max_buyers))
    return sales, debits, prices, over


if __name__ == "__main__":
    sys.exit(main())
