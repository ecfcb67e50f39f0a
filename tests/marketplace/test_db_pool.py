"""Pooled connections are pinged before use only after sitting idle (db_pool.py)."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

from marketplace import db_pool
from marketplace.db_pool import _RETURNED_AT, autocommit_connection
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


@pytest.mark.services
def test_the_autocommit_statements_stay_prepared_whatever_the_sessions_roll_back(app):
    def statement(connection) -> int:
        return connection.execute("SELECT count(*) FROM leads /* kept prepared */").fetchone()[0]

    db_pool._autocommit_engine().dispose()  # one connection from here on: the next checkout's
    with autocommit_connection() as connection:
        connection.execute("CREATE TEMPORARY TABLE kept (n integer)")
        connection.execute("INSERT INTO kept VALUES (1)")  # committed at once
        for _ in range(connection.prepare_threshold + 1):
            statement(connection)
        backend = connection.execute("SELECT pg_backend_pid()").fetchone()[0]
    # The sessions' reads end with ROLLBACK, on connections of their own.
    for _ in range(3):
        assert db.session.execute(text("SELECT pg_backend_pid()")).scalar_one() != backend
        db.session.rollback()

    with autocommit_connection() as connection:
        assert connection.execute("SELECT pg_backend_pid()").fetchone()[0] == backend
        assert connection.execute("SELECT n FROM kept").fetchall() == [(1,)]
        prepared = connection.execute("SELECT statement FROM pg_prepared_statements").fetchall()
        assert any("kept prepared" in text_ for (text_,) in prepared)
        connection.execute("DROP TABLE kept")


@pytest.mark.services
def test_an_autocommit_connection_the_server_dropped_is_discarded(app):
    with autocommit_connection() as connection:
        backend = connection.execute("SELECT pg_backend_pid()").fetchone()[0]
    with psycopg.connect(app.config["SQLALCHEMY_DATABASE_URI"].replace("+psycopg", "")) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (backend,))

    with pytest.raises(psycopg.OperationalError), autocommit_connection() as connection:
        connection.execute("SELECT 1")

    with autocommit_connection() as connection:
        assert connection.execute("SELECT pg_backend_pid()").fetchone()[0] != backend


def _kept_backend() -> int:
    with db_pool.kept_raw_cursor() as cursor:
        return cursor.execute(b"SELECT pg_backend_pid()").fetchone()[0]


@pytest.mark.services
def test_a_kept_connection_stays_checked_out_between_calls_and_is_pinged_only_when_idle(
    app, monkeypatch
):
    from sqlalchemy import event

    engine = db_pool._autocommit_engine()
    checkouts = []

    def checked_out(*args):
        checkouts.append(1)

    event.listen(engine, "checkout", checked_out)
    try:
        backend = _kept_backend()
        taken = len(checkouts)  # none if this thread kept one from an earlier test
        pings = []
        real_ping = engine.dialect.do_ping
        monkeypatch.setattr(engine.dialect, "do_ping", lambda c: pings.append(c) or real_ping(c))
        assert [_kept_backend() for _ in range(3)] == [backend] * 3
        assert len(checkouts) == taken and pings == []
        # The server drops it while it sits unused: pinged, replaced, no statement fails.
        with psycopg.connect(
            app.config["SQLALCHEMY_DATABASE_URI"].replace("+psycopg", "")
        ) as other:
            other.execute("SELECT pg_terminate_backend(%s)", (backend,))
        for kept in db_pool._kept.connections.values():
            kept.used_at -= app.config["DB_PING_AFTER_SECONDS"] + 1
        assert _kept_backend() != backend
        assert pings[0].broken  # the kept one, found dead by the ping
        assert len(checkouts) == taken + 1
    finally:
        event.remove(engine, "checkout", checked_out)


@pytest.mark.services
def test_a_kept_connection_the_server_dropped_fails_one_statement_then_is_replaced(app):
    backend = _kept_backend()
    with psycopg.connect(app.config["SQLALCHEMY_DATABASE_URI"].replace("+psycopg", "")) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (backend,))
    with pytest.raises(psycopg.OperationalError), db_pool.kept_raw_cursor() as cursor:
        cursor.execute(b"SELECT 1")
    assert _kept_backend() != backend


@pytest.mark.services
def test_a_forked_child_takes_its_own_kept_connection_and_leaves_its_parents(app, monkeypatch):
    import os

    backend = _kept_backend()
    parent = os.getpid()
    monkeypatch.setattr(db_pool.os, "getpid", lambda: parent + 1_000_000)
    child_backend = _kept_backend()
    monkeypatch.undo()
    assert child_backend != backend
    assert _kept_backend() == backend  # the parent's, untouched


@pytest.mark.services
def test_a_kept_cursor_stays_with_its_connection_and_is_replaced_with_it(app):
    with db_pool.kept_raw_cursor() as cursor:
        backend = cursor.execute(b"SELECT pg_backend_pid()").fetchone()[0]
    with db_pool.kept_raw_cursor() as again:
        assert again is cursor
        assert again.execute(b"SELECT $1::int + 1", [41]).fetchone() == (42,)
    with psycopg.connect(app.config["SQLALCHEMY_DATABASE_URI"].replace("+psycopg", "")) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (backend,))
    with pytest.raises(psycopg.OperationalError), db_pool.kept_raw_cursor() as broken:
        broken.execute(b"SELECT 1")
    with db_pool.kept_raw_cursor() as replaced:
        assert replaced is not cursor
        assert replaced.execute(b"SELECT pg_backend_pid()").fetchone()[0] != backend
