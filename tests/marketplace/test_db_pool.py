"""Pooled connections are pinged before use only after sitting idle (db_pool.py)."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

from marketplace.db_pool import _RETURNED_AT
from marketplace.extensions import db


def _count_pings(monkeypatch) -> list:
    pings = []
    real_ping = db.engine.dialect.do_ping

    def ping(dbapi_connection):
        pings.append(dbapi_connection)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(db.engine.dialect, "do_ping", ping)
    return pings


def _age_pooled_connections(seconds: float) -> None:
    for record in list(db.engine.pool._pool.queue):
        record.info[_RETURNED_AT] -= seconds


def test_a_connection_just_given_back_is_used_without_a_ping(app, monkeypatch):
    db.session.execute(text("SELECT 1"))
    db.session.remove()
    pings = _count_pings(monkeypatch)

    for _ in range(3):
        db.session.execute(text("SELECT 1"))
        db.session.remove()

    assert pings == []


def test_a_connection_that_sat_idle_is_pinged_first(app, monkeypatch):
    db.session.execute(text("SELECT 1"))
    db.session.remove()
    pings = _count_pings(monkeypatch)
    _age_pooled_connections(app.config["DB_PING_AFTER_SECONDS"] + 1)

    db.session.execute(text("SELECT 1"))
    db.session.remove()

    assert len(pings) == 1


@pytest.mark.services
def test_an_idle_connection_the_server_dropped_is_replaced(app):
    backend = db.session.execute(text("SELECT pg_backend_pid()")).scalar_one()
    db.session.remove()
    with psycopg.connect(app.config["SQLALCHEMY_DATABASE_URI"].replace("+psycopg", "")) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (backend,))
    _age_pooled_connections(app.config["DB_PING_AFTER_SECONDS"] + 1)

    assert db.session.execute(text("SELECT pg_backend_pid()")).scalar_one() != backend
