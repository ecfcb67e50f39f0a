"""The schema: migrations build exactly the models, and the database guards the invariants."""

from __future__ import annotations

from datetime import datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, StatementError

from marketplace.extensions import db
from marketplace.models import LedgerEntry, LedgerKind, Sale, SaleSource, Sector, utcnow
from tests import factories


def test_the_migrations_create_exactly_what_the_models_describe():
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert [d for d in differences if not _declared_in_its_migration_only(d)] == []


# Indexes that the models cannot describe portably (a GIN over the buyer and trigrams on
# PostgreSQL, a plain one on SQLite; a score order with NULLS LAST): each is
# checked by a test of its own that PostgreSQL uses it.
MIGRATION_ONLY_INDEXES = {
    "ix_purchase_search_buyer_id_trgm",
    "ix_purchase_search_buyer_id",
    "ix_leads_on_sale_score",  # NULLS LAST: PostgreSQL only (tests/buyers/test_catalogue.py)
}


def _declared_in_its_migration_only(difference) -> bool:
    return difference[0] == "remove_index" and difference[1].name in MIGRATION_ONLY_INDEXES


def test_the_sector_taxonomy_is_seeded_with_floor_prices():
    software = db.session.scalar(select(Sector).where(Sector.slug == "it/software"))
    assert software.parent.slug == "it"
    assert software.label("en") == "IT and telecoms > Software"
    assert software.label("fr") == "Informatique et télécoms > Logiciels"
    assert software.floor_price_cents > 0
    assert len(db.session.scalars(select(Sector)).all()) >= 50


def _sale(**values):
    captured = factories.lead(distribute=False)
    buyer = factories.BuyerFactory()
    sale = Sale(
        lead_id=captured.lead_id,
        buyer_id=buyer.id,
        source=SaleSource.CAMPAIGN,
        price_cents=1000,
        **values,
    )
    db.session.add(sale)
    db.session.commit()
    return sale


@pytest.mark.parametrize(
    "values", [{"price_cents": 0}, {"rating_stars": 6}, {"outcome_amount_cents": -1}]
)
def test_a_sale_out_of_its_bounds_is_refused_by_the_database(values):
    captured = factories.lead(distribute=False)
    buyer = factories.BuyerFactory()
    db.session.add(
        Sale(
            lead_id=captured.lead_id,
            buyer_id=buyer.id,
            source=SaleSource.CAMPAIGN,
            **{"price_cents": 1000, **values},
        )
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_the_same_buyer_cannot_buy_a_lead_twice():
    sale = _sale()
    db.session.add(
        Sale(
            lead_id=sale.lead_id,
            buyer_id=sale.buyer_id,
            source=SaleSource.CATALOGUE,
            price_cents=500,
        )
    )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_ledger_fact_is_booked_once():
    sale = _sale()
    for _ in range(2):
        db.session.add(
            LedgerEntry(
                entry_key=f"sale:{sale.id}:debit",
                organization_id=sale.buyer_id,
                kind=LedgerKind.SALE_DEBIT,
                amount_cents=-1000,
                sale_id=sale.id,
            )
        )
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize("max_buyers", [0, 6])
def test_max_buyers_stays_between_1_and_5(max_buyers):
    magnet = factories.magnet()
    magnet.max_buyers = max_buyers
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_times_come_back_as_utc_and_naive_times_are_refused():
    sale = _sale()
    db.session.expire_all()
    assert db.session.get(Sale, sale.id).created_at.utcoffset().total_seconds() == 0
    sale = db.session.get(Sale, sale.id)
    sale.outcome_at = datetime(2026, 1, 1, 12, 0)
    with pytest.raises(StatementError, match="naive datetime"):
        db.session.commit()
    db.session.rollback()
    assert utcnow().tzinfo is not None


@pytest.mark.services
def test_analyze_skips_the_json_payloads_and_keeps_the_columns_queries_filter_on():
    """ANALYZE sorts a sample of every column, and a JSONB document costs it the most;
    no query filters on these payloads, so their statistics are not collected
    (migration 0033). The columns the planner reads keep theirs."""
    from marketplace.db_pool import autocommit_connection

    factories.lead(utm={"utm_source": "newsletter"})
    with autocommit_connection() as connection:
        connection.execute("ANALYZE leads, consent_records")
        collected = {
            (table, column)
            for table, column in connection.execute(
                "SELECT tablename, attname FROM pg_stats WHERE schemaname = 'public' "
                "AND tablename IN ('leads', 'consent_records')"
            )
        }
        targets = dict(
            connection.execute(
                "SELECT attrelid::regclass::text || '.' || attname, attstattarget "
                "FROM pg_attribute WHERE attrelid IN ('leads'::regclass, "
                "'consent_records'::regclass, 'idempotent_requests'::regclass, "
                "'sales'::regclass, 'audit_events'::regclass) AND attnum > 0"
            ).fetchall()
        )
    payloads = {
        "leads.score_explanation",
        "leads.distribution_log",
        "leads.utm",
        "consent_records.checkboxes",
        "consent_records.utm",
        "idempotent_requests.response",
        "sales.rating_reasons",
        "audit_events.details",
    }
    assert {name: targets[name] for name in payloads} == dict.fromkeys(payloads, 0)
    assert not {f"{table}.{column}" for table, column in collected} & payloads
    assert {("leads", "status"), ("leads", "email_hash"), ("consent_records", "lead_id")} <= (
        collected
    )
