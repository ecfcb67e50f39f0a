"""Buyer portal speed: the inbox, its search, a deep page, the dashboard and the CSV export
of the largest buyer of a marketplace with 1,000,000 leads and 2,500,000 purchases.

    python bench/portal.py [--leads 1000000] [--purchases 2500000] [--buyers 2000]
                           [--reuse] [--repeat 40] [--export-rows 100000]
                           [--only WORDS] [--statements]

Builds the PostgreSQL database ``portal_bench`` (on BENCH_DATABASE_URL's server, dropped
and created again; never the server's own ``postgres`` database) with the project's
migrations, then seeds it with COPY: publishers and their magnets, buyers with their
users and campaigns (skewed: the largest buyer has about an eighth of the purchases),
leads over 18 months with their consent records, their purchases (campaign and
catalogue), ratings, deals, disputes with their credits, deliveries (delivered,
failed, pending) and the ledger; the load runs without triggers, so what the database
keeps by triggers (balances, purchase counts, each sale's lead facts and deliveries by
state, purchases per week, searched words: migrations 0020 and 0027) is then added up
by the migrations' own statements. Then VACUUM ANALYZE. ``--reuse`` keeps a database
already seeded with the same sizes (it only runs new migrations, then VACUUM ANALYZE), so that
a code change is measured again in a few minutes.

Then, in this process, through the Flask test client logged in as the largest buyer's
user (whole requests, templates rendered), it times each page ``--repeat`` times after
three warm-ups and prints p50/p95/max: the inbox's first page, two filtered pages, a
search, a page 10,000 rows deep (the keyset cursor its "next" link carries), the
dashboard and its two chart images (alone, and right after their page as a browser asks
for them), and the inbox and dashboard of a buyer of ordinary size (about 1,000
purchases: the pages' own cost). Then CSV exports of ``--export-rows`` and a tenth of
it: rows/s, and how much the process grew while streaming (RSS, and tracemalloc's peak);
the floor is the export's query read by psycopg alone. Targets (issue 14): p95 under
100 ms per page, the export at 50,000 rows/s or more in constant memory.
``--only dashboard,export`` measures the pages whose label has one of the words;
``--statements`` times each SQL statement of each page. docs/benchmarks.md has the
figures.
"""

from __future__ import annotations

import argparse
import bisect
import gc
import hashlib
import json
import math
import os
import random
import re
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = "bench-portal-password"  # the throw-away database's users all have it
PARIS = ZoneInfo("Europe/Paris")
DAYS = 548  # about 18 months of history
CHUNK = 50_000  # leads generated and copied at a time (their purchases with them)

# The tables the seed fills with COPY (and the kept facts filled after it): their plain
# indexes are dropped during the load and built again afterwards (the unique ones stay:
# they check the generated data).
BULK_TABLES = (
    "leads",
    "consent_records",
    "sales",
    "disputes",
    "deliveries",
    "ledger_entries",
    "purchase_search",
    "purchase_weeks",
)


def words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = words(
    "Marie Jean Pierre Sophie Nicolas Isabelle Philippe Nathalie Julien Camille Thomas Julie "
    "Laurent Céline Olivier Sandrine Christophe Aurélie Sébastien Émilie Antoine Claire "
    "Mathieu Caroline Vincent Audrey Guillaume Élodie Maxime Hélène Alexandre Stéphanie "
    "François Valérie Romain Laura Hugo Manon Lucas Léa Louis Chloé Paul Inès Arthur Zoé "
    "Gabriel Anaïs Raphaël Margaux Yann Nadia Karim Fatima Mehdi Amina Thi Minh Kevin Jessica"
)
# French surnames, most frequent first: their weights fall off as 1/rank.
LAST_NAMES = words(
    "Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel "
    "Lefebvre Leroy Roux David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine "
    "Rousseau Vincent Muller Lefevre Faure André Mercier Blanc Guérin Boyer Garnier Chevalier "
    "François Legrand Gauthier Garcia Perrin Robin Clément Morin Nicolas Henry Roussel Mathieu "
    "Gautier Masson Marchand Duval Denis Dumont Marie Lemaire Noël Meyer Dufour Meunier Brun "
    "Blanchard Giraud Joly Rivière Lucas Brunet Gaillard Barbier Arnaud Martinez Gérard Roche "
    "Renard Schmitt Roy Leroux Colin Vidal Caron Picard Roger Fabre Aubert Lemoine Renaud "
    "Dumas Lacroix Olivier Philippe Bourgeois Pierre Benoît Rey Leclerc Payet Rolland Leclercq "
    "Guillaume Lecomte Lopez Jean Dupuy Guillot Hubert Berger Carpentier Sanchez Dupuis Moulin "
    "Louis Deschamps Huet Vasseur Perez Boucher Fleury Royer Klein Jacquet Adam Paris Poirier "
    "Marty Aubry Guyot Carré Charles Renault Charpentier Ménard Maillard Baron Bertin Bailly "
    "Hervé Schneider Fernandez Le Gall Collet Léger Bouvier Julien Prévost Millet Perrot "
    "Daniel Le Roux Cousin Germain Breton Besson Langlois Rémy Le Goff Pelletier Lévêque "
    "Perrier Leblanc Barré Lebrun Marchal Weber Mallet Hamon Boulanger Jacob Monnier Michaud "
    "Rodriguez Guichard Gillet Étienne Grondin Poulain Tessier Chevallier Collin Chauvin "
    "Da Silva Bouchet Gay Lemaître Bénard Maréchal Humbert Reynaud Antoine Hoarau Perret "
    "Barthélemy Cordier Pichon Lejeune Gilbert Lamy Delaunay Pasquier Carlier Laporte"
)
COMPANY_WORDS = words(
    "Atelier Groupe Cabinet Agence Solutions Services Conseil Technologies Industries Bureau "
    "Ateliers Maison Réseau Studio Espace Systèmes Logistique Bâtiment Énergies Transports"
)
COMPANY_PLACES = (
    "du Rhône",
    "de Provence",
    "Atlantique",
    "des Alpes",
    "du Nord",
    "de Bretagne",
    "d'Aquitaine",
    "Île-de-France",
    "de Normandie",
    "du Centre",
    "Occitanie",
    "de Lorraine",
    "du Sud-Ouest",
    "Méditerranée",
    "de Savoie",
)
LEGAL_FORMS = ("SAS", "SARL", "SA", "SASU", "EURL", "SCOP")
JOB_TITLES = (
    "Gérant",
    "Directeur général",
    "Directrice administrative et financière",
    "Responsable des achats",
    "Directeur technique",
    "Office manager",
    "Responsable informatique",
    "Assistante de direction",
    "Chef de projet",
    "Responsable commercial",
    "Directrice marketing",
    "Comptable",
    None,
)
SIZES = ("1", "2_9", "10_49", "50_249", "250_999", "1000_plus")
SIZE_WEIGHTS = (10, 30, 28, 18, 9, 5)
BUDGETS = ("lt_1k", "1k_5k", "5k_20k", "20k_100k", "gt_100k", None)
BUDGET_WEIGHTS = (12, 25, 25, 12, 4, 22)
TIMEFRAMES = ("now", "3_months", "6_months", "later", None)
TIMEFRAME_WEIGHTS = (25, 30, 15, 10, 20)
COUNTRIES = (("FR", 93), ("BE", 3), ("CH", 2), ("LU", 1), ("DE", 1))
DEPARTMENTS = [f"{n:02d}" for n in range(1, 96) if n != 20]
REGIONS = (
    "Île-de-France",
    "Auvergne-Rhône-Alpes",
    "PACA",
    "Occitanie",
    "Nouvelle-Aquitaine",
    "Grand Est",
    "Hauts-de-France",
    "Bretagne",
    "Pays de la Loire",
    "Normandie",
    "France entière",
)
MAGNET_KINDS = (
    ("quote_request", 40),
    ("demo_request", 15),
    ("callback_request", 15),
    ("whitepaper", 15),
    ("webinar", 8),
    ("newsletter", 7),
)
UTM_SOURCES = ("google", "bing", "linkedin", "facebook", "newsletter", "partner", None)
GOOD_REASONS = ("reachable", "real_need", "right_budget")
BAD_REASONS = ("wrong_number", "not_decision_maker", "already_equipped", "fake_or_test")
LOST_REASONS = ("unreachable", "no_need", "no_budget", "competitor", "timing", "other")
DISPUTE_REASONS = ("invalid_contact", "duplicate", "out_of_target", "no_consent", "fake", "other")
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Safari/537.36"
)


def ascii_slug(text: str) -> str:
    table = str.maketrans("àâäéèêëîïôöùûüçÉÎ' ", "aaaeeeeiioouuuceI--")
    return re.sub(r"[^a-z0-9-]", "", text.lower().translate(table))


def weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return lambda: rng.choices(values, weights)[0]


# -- the database ------------------------------------------------------------------------


def server_url() -> str:
    return make_url(SERVER).set(drivername="postgresql").render_as_string(hide_password=False)


def database_url(name: str) -> str:
    return (
        make_url(SERVER)
        .set(drivername="postgresql", database=name)
        .render_as_string(hide_password=False)
    )


def seeded_sizes(name: str) -> dict | None:
    """What an earlier run seeded in this database (kept as the database's comment)."""
    with psycopg.connect(server_url(), autocommit=True) as connection:
        row = connection.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            (name,),
        ).fetchone()
    if not row or not row[0]:
        return None
    try:
        return json.loads(row[0])
    except ValueError:
        return None


def create_database(name: str) -> None:
    if name in {"postgres", "template0", "template1"}:
        raise SystemExit(f"refusing to drop the database {name!r}")
    with psycopg.connect(server_url(), autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def copy_rows(connection, table: str, columns: tuple[str, ...], rows) -> int:
    count = 0
    with connection.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def plain_indexes(connection) -> list[tuple[str, str]]:
    """(name, definition) of the bulk tables' indexes that back no constraint."""
    return connection.execute(
        """
        SELECT i.relname, pg_get_indexdef(i.oid)
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        WHERE t.relname = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
        ORDER BY i.relname
        """,
        (list(BULK_TABLES),),
    ).fetchall()


def fill_kept_facts(connection) -> None:
    """What the database keeps by triggers (migrations 0020 and 0027: balances, purchase
    counts, the sales' lead facts and delivered and failed counts, the purchases per week, the
    searched words), added up once from the loaded rows by the migrations' own
    statements: the load ran without triggers (``session_replication_role``)."""
    import importlib.util
    from types import SimpleNamespace

    versions = ROOT / "marketplace" / "migrations" / "versions"

    def migration(number: str):
        (path,) = versions.glob(f"{number}_*.py")
        spec = importlib.util.spec_from_file_location(f"migration_{number}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    for statement in migration("0020").BACKFILL:
        connection.execute(statement)
    kept = migration("0027")
    kept.op = SimpleNamespace(execute=connection.execute)
    # 0027's statement also sets the sales' pending count, which 0032 dropped (the
    # pending deliveries are read from the deliveries): a column for its time alone.
    connection.execute(
        "ALTER TABLE sales ADD COLUMN deliveries_pending smallint NOT NULL DEFAULT 0"
    )
    kept._backfill(postgresql=True)
    connection.execute("ALTER TABLE sales DROP COLUMN deliveries_pending")


def check_references(connection) -> list[str]:
    """The foreign keys of the bulk tables, checked once after the load (it ran without
    their triggers): the ones with rows pointing nowhere."""
    broken = []
    for table, column, parent, key in connection.execute(
        """
        SELECT t.relname, a.attname, p.relname, pa.attname
        FROM pg_constraint c
        JOIN pg_class t ON t.oid = c.conrelid
        JOIN pg_class p ON p.oid = c.confrelid
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = c.confkey[1]
        WHERE c.contype = 'f' AND t.relname = ANY(%s) AND cardinality(c.conkey) = 1
        """,
        (list(BULK_TABLES),),
    ).fetchall():
        (count,) = connection.execute(
            f"SELECT count(*) FROM {table} c WHERE c.{column} IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {parent} p WHERE p.{key} = c.{column})"
        ).fetchone()
        if count:
            broken.append(f"{table}.{column}: {count}")
    return broken


# -- the seed ----------------------------------------------------------------------------


class Plan:
    """Who buys what: buyers (skewed sizes), their campaigns and the sectors they cover."""

    def __init__(self, rng: random.Random, buyers: int, sectors, floors: dict[int, int]):
        self.rng = rng
        self.children = [s for s in sectors if s["parent_id"]]
        children_of: dict[int, list[int]] = {}
        for sector in self.children:
            children_of.setdefault(sector["parent_id"], []).append(sector["id"])
        # Some sectors bring many more leads than others (renovation, solar, software).
        order = self.children[:]
        rng.shuffle(order)
        self.sector_ids = [s["id"] for s in order]
        self.sector_weights = [1 / (rank + 3) for rank in range(len(order))]
        self.sector_cum = list(_cumulate(self.sector_weights))
        by_id = {s["id"]: s for s in sectors}

        # Buyer n (0 the largest) weighs 1/(n+1)^0.85: at the default sizes the largest
        # has about an eighth of the purchases (over 300,000), the smallest a few dozen.
        self.buyer_weights = [1 / (n + 1) ** 0.85 for n in range(buyers)]
        self.campaigns: list[dict] = []  # buyer, name, price, sectors (ids as stored), covers
        covering: dict[int, list[tuple[int, float]]] = {sid: [] for sid in self.sector_ids}
        self.campaigns_of: dict[tuple[int, int], list[int]] = {}
        for n in range(buyers):
            # Larger buyers cover more sectors with more campaigns (the largest: 40).
            campaigns = max(1, min(40, round(40 / (n + 1) ** 0.55)))
            reach = max(1, min(len(self.sector_ids) // 2, round(12 / (n + 1) ** 0.4)))
            home = set()
            while len(home) < reach:
                home.add(self._pick_sector())
            home = sorted(home)
            for c in range(campaigns):
                if c < len(home):
                    covered = [home[c]]
                else:
                    covered = rng.sample(home, min(len(home), rng.choice((1, 1, 2, 3))))
                stored = covered
                # One campaign in ten names a whole parent sector: it covers its children.
                if rng.random() < 0.1:
                    parent = by_id[covered[0]]["parent_id"]
                    stored = [parent]
                    covered = children_of[parent]
                sector = by_id[covered[0]]
                price = max(
                    max(floors[sid] for sid in covered),
                    rng.randrange(1500, 9500, 100),
                )
                index = len(self.campaigns)
                self.campaigns.append(
                    {
                        "buyer": n,
                        "name": f"{sector['name_fr']} - {rng.choice(REGIONS)}"
                        + (f" #{c + 1}" if c >= len(home) else ""),
                        "price": price,
                        "stored": stored,
                        "status": rng.choices(("active", "paused", "archived"), (80, 12, 8))[0],
                        "email": rng.random() < 0.7,
                        "webhook": rng.random() < 0.3,
                    }
                )
                for sid in covered:
                    keys = self.campaigns_of.setdefault((n, sid), [])
                    if not keys:
                        covering[sid].append((n, self.buyer_weights[n]))
                    keys.append(index)
        self.covering = {
            sid: ([b for b, _w in pairs], list(_cumulate(w for _b, w in pairs)))
            for sid, pairs in covering.items()
        }

    def _pick_sector(self) -> int:
        return self.rng.choices(self.sector_ids, cum_weights=self.sector_cum)[0]

    def lead_sector(self) -> int:
        return self._pick_sector()

    def buyers_for(self, sector_id: int, wanted: int) -> list[int]:
        buyers, cum = self.covering[sector_id]
        wanted = min(wanted, len(buyers))
        chosen: list[int] = []
        for _attempt in range(6):
            for buyer in self.rng.choices(buyers, cum_weights=cum, k=wanted - len(chosen)):
                if buyer not in chosen:
                    chosen.append(buyer)
            if len(chosen) == wanted:
                break
        return chosen


def _cumulate(weights):
    total = 0.0
    for weight in weights:
        total += weight
        yield total


def seed(app, url: str, args, rng: random.Random) -> dict:
    """Fill the database; returns what was seeded (kept as the database's comment)."""
    from sqlalchemy import select
    from werkzeug.security import generate_password_hash

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
        User,
        UserRole,
        utcnow,
    )
    from marketplace.scoring import (
        BUDGET_POINTS,
        HOT_FROM,
        INTENT_POINTS,
        SIZE_POINTS,
        TIMEFRAME_POINTS,
        WARM_FROM,
    )

    started = time.perf_counter()
    now = utcnow().replace(microsecond=0)
    begin = now - timedelta(days=DAYS)
    password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")

    # Publishers, their magnets (with their consent texts) and a platform admin: through
    # the product's own use cases, they are few.
    with app.app_context():
        sectors = [
            {
                "id": s.id,
                "parent_id": s.parent_id,
                "name_fr": s.name_fr,
                "floor": max(s.floor_price_cents, s.parent.floor_price_cents if s.parent else 0),
            }
            for s in db.session.scalars(select(Sector))
        ]
        floors = {s["id"]: s["floor"] for s in sectors}
        publishers = []
        for _ in range(args.publishers):
            publisher = Organization(
                kind=OrganizationKind.PUBLISHER,
                name=f"{rng.choice(COMPANY_WORDS)} {rng.choice(LAST_NAMES)} Médias",
                revenue_share_bps=rng.choice((4000, 5000, 5000, 6000)),
            )
            db.session.add(publisher)
            publishers.append(publisher)
        admin = User(
            email="admin@portal-bench.example",
            full_name="Bench Admin",
            password_hash=password_hash,
            role=UserRole.OWNER,
            is_platform_admin=True,
        )
        db.session.add(admin)
        db.session.commit()
        admin_id = admin.id
        publisher_ids = [p.id for p in publishers]
        children = [s for s in sectors if s["parent_id"]]
        pick_kind = weighted(rng, MAGNET_KINDS)
        for sector in children:
            for publisher_id in rng.sample(publisher_ids, min(3, len(publisher_ids))):
                magnets.create_magnet(
                    publisher_id,
                    magnets.MagnetSettings(
                        title=f"{sector['name_fr']}: comparez les offres",
                        kind=MagnetKind(pick_kind()),
                        sector_id=sector["id"],
                        max_buyers=rng.choice((2, 3, 3, 4, 5)),
                        language="fr",
                    ),
                )
        db.session.commit()
        magnet_rows = db.session.execute(
            select(
                LeadMagnet.id,
                LeadMagnet.sector_id,
                LeadMagnet.publisher_id,
                LeadMagnet.kind,
                LeadMagnet.max_buyers,
                ConsentText.id,
                ConsentText.sha256,
            ).join(ConsentText, ConsentText.magnet_id == LeadMagnet.id)
        ).all()
        db.session.remove()
    magnets_of: dict[int, list[tuple]] = {}
    for magnet_id, sector_id, publisher_id, kind, max_buyers, text_id, sha in magnet_rows:
        magnets_of.setdefault(sector_id, []).append(
            (magnet_id, publisher_id, MagnetKind(kind), max_buyers, text_id, sha)
        )

    plan = Plan(rng, args.buyers, sectors, floors)
    print(
        f"  plan: {args.buyers} buyers, {len(plan.campaigns)} campaigns "
        f"({time.perf_counter() - started:.0f} s)",
        flush=True,
    )

    with psycopg.connect(url) as connection:
        # Buyers, their users (an owner each, a few members for the larger ones), campaigns.
        buyer_names = [
            f"{rng.choice(COMPANY_WORDS)} {rng.choice(LAST_NAMES)} {rng.choice(LEGAL_FORMS)}"
            for _ in range(args.buyers)
        ]
        copy_rows(
            connection,
            "organizations",
            (
                "kind",
                "name",
                "billing_status",
                "revenue_share_bps",
                "approved",
                "billing_email",
                "created_at",
            ),
            (
                (
                    "buyer",
                    name,
                    "good",
                    0,
                    True,
                    f"compta@buyer{n + 1}.example",
                    begin - timedelta(days=rng.randrange(1, 400)),
                )
                for n, name in enumerate(buyer_names)
            ),
        )
        buyer_ids = [
            row[0]
            for row in connection.execute(
                "SELECT id FROM organizations WHERE kind = 'buyer' ORDER BY id"
            )
        ]
        users = []
        for n, buyer_id in enumerate(buyer_ids):
            members = 1 + (3 if n < 20 else 1 if n < 200 else 0)
            for m in range(members):
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                users.append(
                    (
                        buyer_id,
                        f"buyer{n + 1}{'' if m == 0 else f'.member{m}'}@portal-bench.example",
                        f"{first} {last}",
                        password_hash,
                        "owner" if m == 0 else "member",
                        False,
                        True,
                        "fr",
                        begin,
                    )
                )
        copy_rows(
            connection,
            "users",
            (
                "organization_id",
                "email",
                "full_name",
                "password_hash",
                "role",
                "is_platform_admin",
                "is_active_account",
                "locale",
                "created_at",
            ),
            users,
        )
        owner_of = dict(
            connection.execute(
                "SELECT organization_id, min(id) FROM users "
                "WHERE organization_id IS NOT NULL GROUP BY organization_id"
            ).fetchall()
        )
        copy_rows(
            connection,
            "campaigns",
            (
                "id",
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
                "opening_hours",
                "timezone",
                "email_recipients",
                "webhook_url",
                "webhook_secret",
                "created_at",
            ),
            (
                (
                    n + 1,
                    buyer_ids[c["buyer"]],
                    c["name"],
                    c["status"],
                    '["FR"]',
                    "[]",
                    "[]",
                    "[]",
                    "[]",
                    0,
                    c["price"],
                    "EUR",
                    False,
                    "{}",
                    "Europe/Paris",
                    json.dumps([f"leads@buyer{c['buyer'] + 1}.example"] if c["email"] else []),
                    f"https://crm.buyer{c['buyer'] + 1}.example/hooks/leads"
                    if c["webhook"]
                    else None,
                    hashlib.sha256(f"secret{n}".encode()).hexdigest() if c["webhook"] else None,
                    begin - timedelta(days=rng.randrange(0, 60)),
                )
                for n, c in enumerate(plan.campaigns)
            ),
        )
        copy_rows(
            connection,
            "campaign_sectors",
            ("campaign_id", "sector_id"),
            ((n + 1, sid) for n, c in enumerate(plan.campaigns) for sid in c["stored"]),
        )
        connection.execute("SELECT setval('campaigns_id_seq', (SELECT max(id) FROM campaigns))")
        connection.commit()

    # The partner lists the forms show now: one per sector, as capture stores them.
    with app.app_context():
        lists = {
            s["id"]: partner_list_id(partners_now(s["id"], s["parent_id"]))
            for s in sectors
            if s["parent_id"]
        }
        db.session.remove()

    with psycopg.connect(url) as connection:
        dropped = plain_indexes(connection)
        for name, _definition in dropped:
            connection.execute(f'DROP INDEX "{name}"')
        connection.commit()
        try:
            # The rows are consistent by construction: no foreign-key trigger per row
            # (checked once at the end instead).
            connection.execute("SET session_replication_role = replica")
        except psycopg.Error:
            connection.rollback()
        counts = load_leads_and_purchases(
            connection,
            args,
            rng,
            plan,
            {
                "now": now,
                "begin": begin,
                "buyer_ids": buyer_ids,
                "owner_of": owner_of,
                "admin_id": admin_id,
                "magnets_of": magnets_of,
                "lists": lists,
                "points": (INTENT_POINTS, SIZE_POINTS, BUDGET_POINTS, TIMEFRAME_POINTS),
                "thresholds": (HOT_FROM, WARM_FROM),
            },
        )
        connection.execute("RESET session_replication_role")
        copied = time.perf_counter()
        print(f"  copied in {copied - started:.0f} s: {counts}", flush=True)
        fill_kept_facts(connection)
        connection.commit()
        loaded = time.perf_counter()
        print(f"  kept totals and facts filled in {loaded - copied:.0f} s", flush=True)
        connection.execute("SET maintenance_work_mem = '1GB'")
        for _name, definition in dropped:
            connection.execute(definition)
        connection.commit()
        print(f"  {len(dropped)} indexes built in {time.perf_counter() - loaded:.0f} s", flush=True)
        checked = time.perf_counter()
        orphans = check_references(connection)
        print(
            f"  foreign keys checked in {time.perf_counter() - checked:.0f} s: "
            + (", ".join(orphans) if orphans else "every reference found"),
            flush=True,
        )
        if orphans:
            raise SystemExit("the seed broke a foreign key")
        connection.commit()
        connection.autocommit = True
        connection.execute("VACUUM ANALYZE")
        connection.execute("CHECKPOINT")
    return {
        "leads": args.leads,
        "purchases": counts["sales"],
        "buyers": args.buyers,
        "seeded_at": now.isoformat(),
        "seconds": round(time.perf_counter() - started),
    }


LEAD_COLUMNS = words(
    """id magnet_id publisher_id sector_id status max_buyers sales_count sold_exclusively
    first_name last_name email phone job_title message email_hash phone_hash company siret
    company_size budget timeframe postcode country page_url utm score score_explanation
    temperature created_at distributed_at distribution_log"""
)
CONSENT_COLUMNS = words(
    """lead_id certificate_id consent_text_id text_sha256 checkboxes partner_list_id
    consented_at ip user_agent page_url utm channel"""
)
SALE_COLUMNS = words(
    """id lead_id buyer_id campaign_id sector_id source exclusive price_cents currency
    created_at first_viewed_at rating_stars rating_reasons rating_comment outcome
    outcome_amount_cents outcome_at rated_at rated_by_user_id outcome_lost_reason"""
)
DISPUTE_COLUMNS = words(
    """id sale_id buyer_id reason comment status resolution_note resolved_by_id created_at
    resolved_at"""
)
DELIVERY_COLUMNS = words(
    """id sale_id channel event target status attempts next_attempt_at created_at
    delivered_at"""
)
LEDGER_COLUMNS = words(
    """entry_key organization_id kind amount_cents sale_id dispute_id description created_at
    currency"""
)


class Draw:
    """Quick random picks: random.Random's choice() and choices() were most of the seed's
    time."""

    def __init__(self, rng: random.Random):
        self.random = rng.random

    def one(self, values):
        return values[int(self.random() * len(values))]

    def weighted(self, values, weights):
        values, cum = list(values), list(_cumulate(weights))
        total, random_ = cum[-1], self.random
        return lambda: values[bisect.bisect_right(cum, random_() * total)]


def load_leads_and_purchases(connection, args, rng: random.Random, plan: Plan, facts) -> dict:
    """The leads with their consent records, purchases, disputes, deliveries and ledger
    rows, generated in capture order a chunk at a time; each chunk is copied by a thread
    while the next one is generated (PostgreSQL works while Python draws)."""
    from concurrent.futures import ThreadPoolExecutor

    counts = dict.fromkeys(("leads", "sales", "disputes", "deliveries", "ledger_entries"), 0)
    tables = (
        ("leads", LEAD_COLUMNS),
        ("consent_records", CONSENT_COLUMNS),
        ("sales", SALE_COLUMNS),
        ("disputes", DISPUTE_COLUMNS),
        ("deliveries", DELIVERY_COLUMNS),
        ("ledger_entries", LEDGER_COLUMNS),
    )

    def copy_chunk(chunk) -> None:
        for (table, columns), rows in zip(tables, chunk, strict=True):
            copied = copy_rows(connection, table, columns, rows)
            if table in counts:
                counts[table] += copied
        connection.commit()

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=1) as copier:
        pending = None
        for chunk in generate(args, rng, plan, facts):
            if pending is not None:
                pending.result()
            pending = copier.submit(copy_chunk, chunk)
            print(
                f"  {counts['leads']:>9,} leads, {counts['sales']:>9,} purchases copied "
                f"({time.perf_counter() - began:.0f} s)",
                flush=True,
            )
        pending.result()
    for table in ("leads", "sales", "disputes", "deliveries"):
        connection.execute(
            f"SELECT setval('{table}_id_seq', (SELECT coalesce(max(id), 1) FROM {table}))"
        )
    connection.commit()
    return counts


def generate(args, rng: random.Random, plan: Plan, facts):
    """Chunks of rows: (leads, consent records, sales, disputes, deliveries, ledger)."""
    draw = Draw(rng)
    one, random_ = draw.one, draw.random
    now, begin = facts["now"], facts["begin"]
    intent_points, size_points, budget_points, timeframe_points = facts["points"]
    hot_from, warm_from = facts["thresholds"]
    buyer_ids, owner_of, admin_id = facts["buyer_ids"], facts["owner_of"], facts["admin_id"]
    magnets_of, lists = facts["magnets_of"], facts["lists"]
    span = (now - begin).total_seconds()
    # The marketplace grows: three times as many leads a day at the end as at the start.
    growth = 0.5
    offsets = sorted(random_() for _ in range(args.leads))
    # Sales per sold lead: 1 + Binomial(4, p), so that the mean over all leads (4 % unsold)
    # is --purchases / --leads.
    p_extra = min(1.0, max(0.0, (args.purchases / args.leads / 0.96 - 1) / 4))
    pick_size = draw.weighted(SIZES, SIZE_WEIGHTS)
    pick_budget = draw.weighted(BUDGETS, BUDGET_WEIGHTS)
    pick_timeframe = draw.weighted(TIMEFRAMES, TIMEFRAME_WEIGHTS)
    pick_country = draw.weighted(*zip(*COUNTRIES, strict=True))
    pick_surname = draw.weighted(LAST_NAMES, [1 / (rank + 1) for rank in range(len(LAST_NAMES))])
    pick_stars = draw.weighted((1, 2, 3, 4, 5), (8, 12, 25, 35, 20))
    slug = {name: ascii_slug(name) for name in (*FIRST_NAMES, *LAST_NAMES)}
    price_of = [c["price"] for c in plan.campaigns]
    channels_of = [
        ((("email", f"leads@buyer{c['buyer'] + 1}.example"),) if c["email"] else ())
        + (
            (("webhook", f"https://crm.buyer{c['buyer'] + 1}.example/hooks/leads"),)
            if c["webhook"]
            else ()
        )
        for c in plan.campaigns
    ]
    explanations: dict[tuple, str] = {}
    utms = {
        source: json.dumps({"utm_source": source, "utm_medium": "cpc"} if source else {})
        for source in UTM_SOURCES
    }
    share = 0.5  # the publishers' revenue share
    second, hour, day = timedelta(seconds=1), timedelta(hours=1), timedelta(days=1)
    sale_id = dispute_id = delivery_id = 0
    for start in range(0, args.leads, CHUNK):
        leads, consents, sales, disputes, deliveries, ledger = [], [], [], [], [], []
        for n in range(start, min(start + CHUNK, args.leads)):
            lead_id = n + 1
            u = offsets[n]
            created = (
                begin
                + (-growth + math.sqrt(growth * growth + u * (2 * growth + 1))) * span * second
            )
            sector_id = plan.lead_sector()
            magnet_id, publisher_id, kind, max_buyers, text_id, sha = one(magnets_of[sector_id])
            first, last = one(FIRST_NAMES), pick_surname()
            company = company_word = None
            if random_() < 0.9:
                company_word = one(LAST_NAMES)
                company = (
                    f"{one(COMPANY_WORDS)} {company_word} {one(COMPANY_PLACES)} {one(LEGAL_FORMS)}"
                )
                domain = f"{slug[company_word]}{n % 9973}.example"
            else:
                domain = one(("gmail.com", "orange.fr", "free.fr", "laposte.net"))
            email = f"{slug[first]}.{slug[last]}{n % 1000}@{domain}"
            phone = f"+33{one('67')}{int(random_() * 1e8):08d}" if random_() < 0.85 else None
            size = pick_size() if company else None
            budget, timeframe, country = pick_budget(), pick_timeframe(), pick_country()
            if country == "FR":
                postcode = f"{one(DEPARTMENTS)}{int(random_() * 1000):03d}"
            else:
                postcode = f"{1000 + int(random_() * 9000)}"
            message = (
                "Nous cherchons un prestataire pour un projet à démarrer rapidement, "
                "merci de nous rappeler en fin de matinée."
                if random_() < 0.3
                else None
            )
            # The score as marketplace/scoring.py computes it from the same facts.
            parts = (
                ("intent:" + kind.value, intent_points[kind]),
                *((("phone_given", 10),) if phone else ()),
                *((("company_given", 10),) if company else ()),
                *((("company_size:" + size, size_points[size]),) if size else ()),
                *((("budget:" + budget, budget_points[budget]),) if budget else ()),
                *((("timeframe:" + timeframe, timeframe_points[timeframe]),) if timeframe else ()),
                ("location_given", 5),
                *((("detailed_message", 5),) if message else ()),
            )
            explanation = explanations.get(parts)
            if explanation is None:
                explanation = explanations[parts] = json.dumps(
                    [{"reason": why, "points": pts} for why, pts in parts]
                )
            score = min(100, sum(points for _why, points in parts))
            temperature = "hot" if score >= hot_from else "warm" if score >= warm_from else "cold"

            wanted = 0
            if random_() >= 0.04:
                wanted = (
                    1
                    + (random_() < p_extra)
                    + (random_() < p_extra)
                    + (random_() < p_extra)
                    + (random_() < p_extra)
                )
            buyers = plan.buyers_for(sector_id, wanted) if wanted else []
            exclusive = len(buyers) == 1 and random_() < 0.15
            utm = utms[one(UTM_SOURCES)]
            page_url = f"https://www.comparatif-pro.example/devis/{sector_id}"
            leads.append(
                (
                    lead_id,
                    magnet_id,
                    publisher_id,
                    sector_id,
                    "distributed" if buyers else "unsold",
                    max(max_buyers, len(buyers)),
                    len(buyers),
                    exclusive,
                    first,
                    last,
                    email,
                    phone,
                    one(JOB_TITLES),
                    message,
                    hashlib.sha256(email.encode()).hexdigest(),
                    hashlib.sha256(phone.encode()).hexdigest() if phone else None,
                    company,
                    f"{int(1e13 + random_() * 9e13)}" if company and random_() < 0.6 else None,
                    size,
                    budget,
                    timeframe,
                    postcode,
                    country,
                    page_url,
                    utm,
                    score,
                    explanation,
                    temperature,
                    created,
                    created + 2 * second if buyers else None,
                    "[]",
                )
            )
            consents.append(
                (
                    lead_id,
                    f"cert-{lead_id:08d}-{int(random_() * 1e12):012d}",
                    text_id,
                    sha,
                    '{"share_with_partners": true}',
                    lists[sector_id],
                    created,
                    f"{2 + int(random_() * 220)}.{int(random_() * 256)}.{int(random_() * 256)}.1",
                    USER_AGENT,
                    page_url,
                    utm,
                    "form",
                )
            )
            for buyer in buyers:
                sale_id += 1
                organization_id = buyer_ids[buyer]
                campaigns = plan.campaigns_of[(buyer, sector_id)]
                if not exclusive and random_() < 0.05:  # bought later from the catalogue
                    bought = created + (60 + random_() * 20 * 86400) * second
                    if bought > now:
                        bought = created + (60 + random_() * 3600) * second
                    campaign = None
                    price = max(900, int(round(price_of[one(campaigns)] * 0.6, -2)))
                else:
                    bought = created + (0.2 + random_() * 3) * second
                    campaign = one(campaigns)
                    price = price_of[campaign] * (3 if exclusive else 1)
                age_days = (now - bought).total_seconds() / 86400
                viewed = None
                if random_() < min(0.95, 0.3 + age_days / 3):
                    viewed = bought + rng.expovariate(1 / 4) * hour
                    if viewed > now:
                        viewed = None
                rating = rated_at = rated_by = comment = None
                reasons = "[]"
                if age_days > 1 and random_() < 0.35:
                    rating = pick_stars()
                    pool = GOOD_REASONS if rating >= 4 else BAD_REASONS if rating <= 2 else ()
                    if pool and random_() < 0.7:
                        reasons = json.dumps(rng.sample(pool, 1 + (random_() < 0.3)))
                    rated_at = bought + (1 + random_() * min(age_days, 30) * 24) * hour
                    rated_by = owner_of.get(organization_id)
                    if random_() < 0.1:
                        comment = "Joint, projet confirmé." if rating >= 4 else "Injoignable."
                outcome = amount = lost = outcome_at = None
                if age_days > 1:
                    ripe = min(1.0, age_days / 30)
                    roll = random_()
                    if roll < 0.30 * ripe + 0.15:
                        outcome = "contacted"
                    elif roll < 0.40 * ripe + 0.15:
                        outcome = "meeting"
                    elif roll < 0.49 * ripe + 0.15:
                        outcome = "won"
                        amount = int(round(rng.lognormvariate(13.3, 0.9), -2))
                    elif roll < 0.64 * ripe + 0.15:
                        outcome, lost = "lost", one(LOST_REASONS)
                    if outcome:
                        outcome_at = bought + (1 + random_() * min(age_days, 60) * 24) * hour
                sales.append(
                    (
                        sale_id,
                        lead_id,
                        organization_id,
                        None if campaign is None else campaign + 1,
                        sector_id,
                        "catalogue" if campaign is None else "campaign",
                        exclusive,
                        price,
                        "EUR",
                        bought,
                        viewed,
                        rating,
                        reasons,
                        comment,
                        outcome,
                        amount,
                        outcome_at,
                        rated_at,
                        rated_by,
                        lost,
                    )
                )
                label = f"Lead #{lead_id}"
                ledger.append(
                    (
                        f"sale:{sale_id}:debit",
                        organization_id,
                        "sale_debit",
                        -price,
                        sale_id,
                        None,
                        label,
                        bought,
                        "EUR",
                    )
                )
                ledger.append(
                    (
                        f"sale:{sale_id}:earning",
                        publisher_id,
                        "publisher_earning",
                        round(price * share),
                        sale_id,
                        None,
                        label,
                        bought,
                        "EUR",
                    )
                )
                for channel, target in () if campaign is None else channels_of[campaign]:
                    delivery_id += 1
                    roll = random_()
                    if age_days < 1.5 and roll < 0.05:  # still being retried
                        status, attempts, done = "pending", 1 + int(random_() * 5), None
                        next_at = now + (1 + random_() * 120) * 60 * second
                    elif roll < (0.06 if channel == "webhook" else 0.01):  # every retry used
                        status, attempts, next_at, done = "failed", 11, None, None
                    else:
                        attempts = 1 if random_() < 0.97 else 2 + int(random_() * 3)
                        status, next_at, done = "delivered", None, bought + attempts * second
                    deliveries.append(
                        (
                            delivery_id,
                            sale_id,
                            channel,
                            "purchase.created",
                            target,
                            status,
                            attempts,
                            next_at,
                            bought,
                            done,
                        )
                    )
                if age_days > 0.5 and random_() < 0.025:
                    dispute_id += 1
                    opened = bought + (1 + random_() * min(age_days, 7) * 24) * hour
                    if now - opened < 5 * day:
                        status, resolved_at, resolver = "open", None, None
                    else:
                        status = "accepted" if random_() < 0.55 else "rejected"
                        resolved_at = opened + (0.5 + random_() * 3.5) * day
                        resolver = admin_id
                    disputes.append(
                        (
                            dispute_id,
                            sale_id,
                            organization_id,
                            one(DISPUTE_REASONS),
                            "Numéro injoignable, personne ne connaît ce contact.",
                            status,
                            "Vérifié." if resolver else None,
                            resolver,
                            opened,
                            resolved_at,
                        )
                    )
                    if status == "accepted":
                        what = f"lead #{lead_id} - dispute #{dispute_id}"
                        ledger.append(
                            (
                                f"dispute:{dispute_id}:credit",
                                organization_id,
                                "dispute_credit",
                                price,
                                sale_id,
                                dispute_id,
                                "Credit for " + what,
                                resolved_at,
                                "EUR",
                            )
                        )
                        ledger.append(
                            (
                                f"dispute:{dispute_id}:reversal",
                                publisher_id,
                                "earning_reversal",
                                -round(price * share),
                                sale_id,
                                dispute_id,
                                "Reversal for " + what,
                                resolved_at,
                                "EUR",
                            )
                        )
        yield leads, consents, sales, disputes, deliveries, ledger


# -- the measurements --------------------------------------------------------------------


CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"'
)
NOT_DIGITS = re.compile(r"\D")
MATCH_COUNT = re.compile(r'id="match-count"[^>]*>\s*([\d\s,. ]+)')


def log_in(http, email: str) -> None:
    page = http.get("/login").get_data(as_text=True)
    match = CSRF.search(page)
    response = http.post(
        "/login",
        data={"email": email, "password": PASSWORD, "csrf_token": match.group(1) or match.group(2)},
    )
    if response.status_code != 302:
        raise SystemExit(f"could not log in as {email}: {response.status_code}")


def time_page(http, url: str, repeat: int, warm: int = 3, before=None) -> tuple[list[float], str]:
    """Seconds per request of ``url`` (the whole response read), after ``warm`` warm-ups;
    ``before()`` runs before each request, outside the timing."""
    text = ""
    for _ in range(warm):
        if before:
            before()
        response = http.get(url)
        assert response.status_code == 200, (url, response.status_code)
        text = response.get_data(as_text=True)
    timings = []
    for _ in range(repeat):
        if before:
            before()
        began = time.perf_counter()
        response = http.get(url)
        response.get_data()
        timings.append(time.perf_counter() - began)
        assert response.status_code == 200, (url, response.status_code)
    return timings, text


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def export(http, url: str, trace: bool = False) -> dict:
    """Stream an export through the test client as a browser downloads it: its rows, the
    seconds, and how much the process grew while streaming (RSS; with ``trace``, the peak
    of Python's allocations instead, tracemalloc being slow)."""
    gc.collect()
    if trace:
        tracemalloc.start()
    start_rss = peak_rss = rss_bytes()
    began = time.perf_counter()
    response = http.get(url, buffered=False)
    assert response.status_code == 200, (url, response.status_code)
    lines = size = 0
    for chunk in response.response:
        data = chunk if isinstance(chunk, bytes) else chunk.encode()
        size += len(data)
        lines += data.count(b"\n")
        if lines % 2000 < 2:
            peak_rss = max(peak_rss, rss_bytes())
    response.close()
    elapsed = time.perf_counter() - began
    peak_rss = max(peak_rss, rss_bytes())
    result = {
        "rows": lines - 1,
        "seconds": elapsed,
        "bytes": size,
        "rss_growth": peak_rss - start_rss,
    }
    if trace:
        result["traced_peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return result


def export_floor(app, url: str, buyer_id: int, date_from) -> dict:
    """The export's own query for the same rows, read through a server-side cursor by
    psycopg alone and thrown away: what the database and the driver cost, without
    SQLAlchemy's rows nor the CSV (the best of three)."""
    from sqlalchemy.dialects import postgresql

    from buyers import inbox

    with app.test_request_context():
        query = inbox.export_query(buyer_id, inbox.InboxFilters(date_from=date_from))
        statement = str(
            query.compile(
                dialect=postgresql.psycopg.dialect(), compile_kwargs={"literal_binds": True}
            )
        )
    best = None
    with psycopg.connect(url) as connection:
        connection.execute("SET jit = off")
        for _ in range(3):
            began = time.perf_counter()
            rows = 0
            with connection.cursor(name="floor") as cursor:
                cursor.execute(statement)
                while batch := cursor.fetchmany(2000):
                    rows += len(batch)
            seconds = time.perf_counter() - began
            best = min(best or seconds, seconds)
            connection.rollback()
            connection.execute("SET jit = off")
    return {"rows": rows, "seconds": best}


def measure(app, url: str, args) -> int:
    from flask import url_for

    from buyers import inbox
    from marketplace import snapshots
    from marketplace.extensions import db

    with psycopg.connect(url) as connection:
        buyer_id, purchases = connection.execute(
            "SELECT buyer_id, count(*) FROM sales GROUP BY buyer_id ORDER BY 2 DESC LIMIT 1"
        ).fetchone()
        (email,) = connection.execute(
            "SELECT email FROM users WHERE organization_id = %s ORDER BY id LIMIT 1", (buyer_id,)
        ).fetchone()
        campaign_id, _n = connection.execute(
            "SELECT campaign_id, count(*) FROM sales WHERE buyer_id = %s "
            "AND campaign_id IS NOT NULL GROUP BY 1 ORDER BY 2 DESC LIMIT 1",
            (buyer_id,),
        ).fetchone()
        sector_id, _n = connection.execute(
            "SELECT coalesce(s.parent_id, s.id), count(*) FROM sales "
            "JOIN leads l ON l.id = sales.lead_id JOIN sectors s ON s.id = l.sector_id "
            "WHERE sales.buyer_id = %s GROUP BY 1 ORDER BY 2 DESC LIMIT 1",
            (buyer_id,),
        ).fetchone()

        def keyset(rank: int):
            return connection.execute(
                "SELECT created_at, id FROM sales WHERE buyer_id = %s "
                "ORDER BY created_at DESC, id DESC OFFSET %s LIMIT 1",
                (buyer_id, rank - 1),
            ).fetchone()

        # A buyer of ordinary size beside it: what a page costs when the data is small.
        small_id, small_purchases = connection.execute(
            "SELECT buyer_id, count(*) FROM sales GROUP BY buyer_id "
            "ORDER BY abs(count(*) - 1000), buyer_id LIMIT 1"
        ).fetchone()
        (small_email,) = connection.execute(
            "SELECT email FROM users WHERE organization_id = %s ORDER BY id LIMIT 1", (small_id,)
        ).fetchone()
        depth = min(10_000, purchases // 2)  # 10,000 but on a small run
        deep = keyset(depth)
        export_from = keyset(args.export_rows)[0].astimezone(PARIS).date() + timedelta(days=1)
        small_from = keyset(args.export_rows // 10)[0].astimezone(PARIS).date() + timedelta(days=1)
    today = datetime.now(UTC).astimezone(PARIS).date()
    print(
        f"the largest buyer: organization {buyer_id}, {purchases:,} purchases; logged in as {email}"
    )

    http = app.test_client()
    http.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    log_in(http, email)
    small_http = app.test_client()
    small_http.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    log_in(small_http, small_email)
    small = f"a buyer with {small_purchases:,} purchases"
    with app.test_request_context():
        cursor = inbox.cursor_text((deep[0].astimezone(UTC), deep[1]))
        pages = [
            ("inbox, first page", url_for("buyers.inbox")),
            (
                "inbox, filtered: campaign, 6 months, hot, not rated",
                url_for(
                    "buyers.inbox",
                    campaign=campaign_id,
                    date_from=(today - timedelta(days=182)).isoformat(),
                    date_to=today.isoformat(),
                    temperature="hot",
                    rating="unrated",
                ),
            ),
            (
                "inbox, filtered: sector, score 60+, delivered, not disputed",
                url_for(
                    "buyers.inbox",
                    sector=sector_id,
                    score_min=60,
                    delivery="delivered",
                    disputed="no",
                ),
            ),
            ("inbox, search a name", url_for("buyers.inbox", q=args.search)),
            (f"inbox, {depth:,} rows deep", url_for("buyers.inbox", cursor=cursor)),
            ("dashboard (12 weeks)", url_for("buyers.dashboard_page")),
            ("dashboard (52 weeks)", url_for("buyers.dashboard_page", weeks=52)),
            (
                "chart: leads per week (12 weeks)",
                url_for("buyers.leads_per_week_chart", weeks=12),
            ),
            ("chart: cost per lead (12 weeks)", url_for("buyers.cost_per_lead_chart", weeks=12)),
            (f"inbox, first page, {small}", url_for("buyers.inbox")),
            (f"dashboard (12 weeks), {small}", url_for("buyers.dashboard_page")),
        ]
        exports = [
            (
                f"export, {args.export_rows // 10:,} rows wanted",
                url_for("buyers.export_inbox", date_from=small_from.isoformat()),
            ),
            (
                f"export, {args.export_rows:,} rows wanted",
                url_for("buyers.export_inbox", date_from=export_from.isoformat()),
            ),
        ]

    wanted = [word.strip() for word in args.only.split(",")] if args.only else None

    def chosen(label: str) -> bool:
        return wanted is None or any(word in label for word in wanted)

    with app.app_context():
        statements = watch_statements(db.engine) if args.statements else None
    results = []
    print(f"\n{'page':<62} {'matches':>9} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for label, page_url in pages:
        if not chosen(label):
            continue
        # The dashboard's figures are read for the page: each repetition starts from
        # nothing remembered, as a buyer opening it; the images, alone, likewise.
        before = snapshots.forget_all if label.startswith(("dashboard", "chart")) else None
        if statements is not None:
            statements.clear()
        client = small_http if label.endswith(small) else http
        timings, text = time_page(client, page_url, args.repeat, before=before)
        found = MATCH_COUNT.search(text)
        matches = f"{int(NOT_DIGITS.sub('', found.group(1))):,}" if found else ""
        p50, p95, top = (quantile(timings, q) * 1000 for q in (0.5, 0.95, 1.0))
        results.append((label, p95))
        print(f"{label:<62} {matches:>9} {p50:8.1f} {p95:8.1f} {top:8.1f}", flush=True)
        if statements is not None:
            print_statements(statements, args.repeat + 3)
    # The images as the browser asks for them: right after their page.
    dashboard_url = dict(pages)["dashboard (12 weeks)"]
    for label, page_url in pages:
        if not (label.startswith("chart") and chosen(label)):
            continue
        timings = []
        for _ in range(args.repeat):
            snapshots.forget_all()
            http.get(dashboard_url).get_data()
            began = time.perf_counter()
            http.get(page_url).get_data()
            timings.append(time.perf_counter() - began)
        p50, p95, top = (quantile(timings, q) * 1000 for q in (0.5, 0.95, 1.0))
        print(f"{label + ', after its page':<62} {'':>9} {p50:8.1f} {p95:8.1f} {top:8.1f}")

    exports = [(label, export_url) for label, export_url in exports if chosen(label)]
    if exports:
        print(
            f"\n{'export':<34} {'rows':>8} {'s':>6} {'rows/s':>8} {'MB':>6} "
            f"{'RSS growth MB':>14} {'traced peak MB':>15}"
        )
    rates, peaks = [], []
    for label, export_url in exports:
        export(http, export_url)  # warm-up: the same rows, from the cache
        # The median of three downloads (the machine's spread is wide), then one traced.
        result = sorted((export(http, export_url) for _ in range(3)), key=lambda r: r["seconds"])[1]
        traced = export(http, export_url, trace=True)
        rates.append(result["rows"] / result["seconds"])
        peaks.append(traced["traced_peak"])
        print(
            f"{label:<34} {result['rows']:>8,} {result['seconds']:6.2f} {rates[-1]:8,.0f} "
            f"{result['bytes'] / 1e6:6.1f} {result['rss_growth'] / 1e6:14.1f} "
            f"{traced['traced_peak'] / 1e6:15.1f}",
            flush=True,
        )
    if exports:
        floor = export_floor(app, url, buyer_id, export_from)
        print(
            f"{'floor: its query, psycopg alone':<34} {floor['rows']:>8,} "
            f"{floor['seconds']:6.2f} {floor['rows'] / floor['seconds']:8,.0f}"
        )
    pages_met = all(p95 < 100 for _label, p95 in results)  # milliseconds
    # Constant memory: ten times the rows may not take more than twice the memory.
    export_met = (
        len(rates) == 2 and rates[-1] >= 50_000 and peaks[-1] <= 2 * max(peaks[0], 1_000_000)
    )
    print(
        "\ntargets: p95 < 100 ms on every page:",
        "met" if pages_met else "MISSED",
        "| export >= 50,000 rows/s in constant memory:",
        "met" if export_met else ("MISSED" if len(rates) == 2 else "not measured"),
    )
    return 0 if pages_met and export_met else 1


def watch_statements(engine) -> dict:
    """Time every statement by its first words (--statements), printed per page."""
    from sqlalchemy import event

    times: dict[str, list[float]] = {}

    @event.listens_for(engine, "before_cursor_execute")
    def started(conn, cursor, statement, parameters, context, executemany):
        conn.info["bench_started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def ended(conn, cursor, statement, parameters, context, executemany):
        key = " ".join(statement.split())[:90]
        times.setdefault(key, []).append(time.perf_counter() - conn.info["bench_started"])

    return times


def print_statements(times: dict, requests: int) -> None:
    for key, spent in sorted(times.items(), key=lambda item: -sum(item[1]))[:6]:
        print(
            f"    {sum(spent) / requests * 1000:7.2f} ms/request "
            f"{statistics.median(spent) * 1000:7.2f} ms p50  {key}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--purchases", type=int, default=2_500_000)
    parser.add_argument("--buyers", type=int, default=2_000)
    parser.add_argument("--publishers", type=int, default=40)
    parser.add_argument("--database", default="portal_bench", help="the bench's own database")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the database when it was seeded with the same sizes (new migrations "
        "are run, then VACUUM ANALYZE)",
    )
    parser.add_argument("--repeat", type=int, default=40, help="timed requests per page")
    parser.add_argument("--export-rows", type=int, default=100_000)
    parser.add_argument("--search", default="lemoine", help="the name searched in the inbox")
    parser.add_argument(
        "--statements", action="store_true", help="time each SQL statement of each page"
    )
    parser.add_argument(
        "--only",
        help="measure only the pages and exports whose label has one of these words "
        "(comma-separated: --only dashboard,export)",
    )
    args = parser.parse_args()
    wanted = {"leads": args.leads, "buyers": args.buyers}
    url = database_url(args.database)
    os.environ.update(DATABASE_URL=url)
    os.environ.pop("REDIS_URL", None)
    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.extensions import db

    app = create_app({"PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000", "RATELIMIT_ENABLED": False})
    seeded = seeded_sizes(args.database) if args.reuse else None
    if seeded and all(seeded.get(key) == value for key, value in wanted.items()):
        with psycopg.connect(url) as connection:
            (before,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        with app.app_context():
            upgrade()
            db.engine.dispose()
        with psycopg.connect(url, autocommit=True) as connection:
            (after,) = connection.execute("SELECT version_num FROM alembic_version").fetchone()
            if after != before:
                # A migration that rewrote rows (0020 fills the sales' sector) leaves
                # their pages out of the visibility map: index-only scans would read
                # the table until autovacuum passed, which a database in use gets.
                connection.execute("VACUUM ANALYZE")
        print(
            f"reusing {args.database}: {seeded['leads']:,} leads, {seeded['purchases']:,} "
            f"purchases, {seeded['buyers']:,} buyers, seeded {seeded['seeded_at'][:10]}"
            + (f"; migrated {before} -> {after}" if after != before else "")
        )
    else:
        create_database(args.database)
        with app.app_context():
            upgrade()
            db.engine.dispose()
        print(
            f"seeding {args.database}: {args.leads:,} leads, about {args.purchases:,} purchases, "
            f"{args.buyers:,} buyers",
            flush=True,
        )
        seeded = seed(app, url, args, random.Random(2026))
        with psycopg.connect(server_url(), autocommit=True) as connection:
            connection.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    sql.Identifier(args.database), sql.Literal(json.dumps(seeded))
                )
            )
        print(f"seeded in {seeded['seconds']} s")
    with psycopg.connect(url) as connection:
        for table in ("leads", "sales", "ledger_entries", "deliveries"):
            (size,) = connection.execute(
                "SELECT pg_size_pretty(pg_total_relation_size(%s))", (table,)
            ).fetchone()
            print(f"  {table}: {size} with its indexes")
    return measure(app, url, args)


if __name__ == "__main__":
    sys.exit(main())
