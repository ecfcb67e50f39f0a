"""Checking pooled database connections before use, only when they sat idle; the
driver's connections of the hot path's statements: the one under the session's
transaction, and a pool of their own in autocommit for statements atomic by themselves.

SQLAlchemy's ``pool_pre_ping`` costs a round trip on every checkout: a request or
a job that costs three round trips would pay a fourth for it. A connection given
back to the pool less than ``DB_PING_AFTER_SECONDS`` ago is handed out as it is;
an older one is pinged first and replaced if the server dropped it (a restart, an
idle timeout). A server restart within those seconds fails the next statement of
each connection used meanwhile once; SQLAlchemy then drops the pool's connections
opened before the failure.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

import psycopg
from flask import current_app
from sqlalchemy import create_engine, event, exc
from sqlalchemy.engine import Engine

from marketplace.extensions import db

_RETURNED_AT = "marketplace_returned_at"


def ping_idle_connections(engine: Engine, after_seconds: float) -> None:
    @event.listens_for(engine, "checkin")
    def returned(dbapi_connection, record) -> None:
        record.info[_RETURNED_AT] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def handed_out(dbapi_connection, record, proxy) -> None:
        returned_at = record.info.get(_RETURNED_AT)
        if returned_at is not None and time.monotonic() - returned_at < after_seconds:
            return
        try:
            alive = engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError("the connection was dropped") from error
        if not alive:
            raise exc.DisconnectionError("the connection was dropped")


def on_postgresql() -> bool:
    """Whether the sessions run on PostgreSQL (else SQLite, the embedded default). Read
    from the engine: the session's ``get_bind()`` cost a fortieth of a capture's CPU."""
    return db.engine.dialect.name == "postgresql"


def driver_connection():
    """The psycopg connection under the session's transaction: the distribution's
    statements go through it directly, pipelined where they can be (on the hot
    path, SQLAlchemy's own work per statement cost more than PostgreSQL's)."""
    return db.session.connection().connection.dbapi_connection


_AUTOCOMMIT_ENGINES: dict[Engine, Engine] = {}  # by the sessions' engine
_autocommit_engines_lock = threading.Lock()


def _autocommit_engine() -> Engine:
    """The pool of the one-statement paths, apart from the sessions': in autocommit, its
    connections never see a ROLLBACK. psycopg forgets all of a connection's prepared
    statements at each rollback, and a session's read ends with one (a buyer's page, a
    job's teardown): PostgreSQL then planned the capture's statement again, 1.2 to 1.6
    ms each time, at a third of the captures (docs/benchmarks.md, "Planning")."""
    sessions_engine = db.engine
    engine = _AUTOCOMMIT_ENGINES.get(sessions_engine)
    if engine is None:
        with _autocommit_engines_lock:
            engine = _AUTOCOMMIT_ENGINES.get(sessions_engine)
            if engine is None:
                # One connection per thread that may use it at once (a worker's sending
                # threads), so that none is opened and closed per statement.
                threads = current_app.config["DELIVERY_THREADS"] + 1
                engine = create_engine(
                    sessions_engine.url,
                    isolation_level="AUTOCOMMIT",
                    pool_size=threads,
                    max_overflow=threads,
                )
                ping_idle_connections(engine, current_app.config["DB_PING_AFTER_SECONDS"])
                _AUTOCOMMIT_ENGINES[sessions_engine] = engine
    return engine


@contextmanager
def autocommit_connection() -> Iterator:
    """A psycopg connection in autocommit, for one statement atomic by itself (a
    webhook's first attempts; the capture keeps its own, ``kept_raw_cursor``): one round
    trip in all, and none of SQLAlchemy's work per statement, which on these paths cost
    as much CPU as PostgreSQL's. Its statements stay prepared (``_autocommit_engine``);
    a connection the server dropped is discarded."""
    pooled = _autocommit_engine().raw_connection()
    connection = pooled.driver_connection
    try:
        yield connection
    except Exception:
        if connection.broken or connection.closed:
            pooled.invalidate()
        raise
    finally:
        pooled.close()  # back to the pool


@contextmanager
def kept_raw_cursor() -> Iterator[psycopg.RawCursor]:
    """A ``psycopg.RawCursor`` (PostgreSQL's own placeholders, $1, $2...) on an
    autocommit connection the calling thread keeps checked out between its calls
    (``_KeptConnection``; for the capture, one statement per request), the cursor kept
    with it from one call to the next: a cursor given the same statement object again
    keeps the adapters it found for its parameters and columns, where a new cursor looks
    them all up again (0.04 to 0.06 ms of a capture's CPU with the statement as bytes,
    docs/benchmarks.md, "2026-12-05 (session 22)"). Replaced with its connection."""
    with _kept_connection() as kept:
        if kept.cursor is None:
            kept.cursor = psycopg.RawCursor(kept.pooled.driver_connection)
        yield kept.cursor


@dataclass
class _KeptConnection:
    """A pooled connection a thread keeps checked out between its calls: the pool's
    checkout and checkin, with their events, cost a capture 0.03 to 0.05 ms of CPU in the
    web processes (docs/benchmarks.md, "2026-12-05 (session 21)"). One per process,
    thread and autocommit engine (a forked child opens its own and leaves its parent's
    untouched); pinged first when unused for ``DB_PING_AFTER_SECONDS``, as the pool
    would; invalidated when broken, and replaced at the next call, its cursor with it."""

    pooled: object
    used_at: float
    cursor: psycopg.RawCursor | None = None


_kept = threading.local()


@contextmanager
def _kept_connection() -> Iterator[_KeptConnection]:
    engine = _autocommit_engine()
    kept_here = _kept.__dict__.setdefault("connections", {})
    key = (os.getpid(), engine)
    kept = kept_here.get(key)
    if kept is not None:
        connection = kept.pooled.driver_connection
        idle = time.monotonic() - kept.used_at
        stale = idle >= current_app.config["DB_PING_AFTER_SECONDS"]
        if connection.closed or (stale and not _alive(engine, connection)):
            del kept_here[key]
            kept.pooled.invalidate()
            kept = None
    if kept is None:
        kept = kept_here[key] = _KeptConnection(engine.raw_connection(), time.monotonic())
    connection = kept.pooled.driver_connection
    try:
        yield kept
    except Exception:
        if connection.broken or connection.closed:
            kept_here.pop(key, None)
            kept.pooled.invalidate()
        raise
    finally:
        kept.used_at = time.monotonic()


def _alive(engine: Engine, connection) -> bool:
    try:
        return bool(engine.dialect.do_ping(connection))
    except engine.dialect.loaded_dbapi.Error:
        return False


def one_line(sql: str) -> str:
    """The statement with its layout collapsed (it has no quoted spaces nor comments):
    psycopg keeps its parsing of statements up to 4 KB, and parses longer ones at each
    execution."""
    return " ".join(sql.split())


def json_rows(rows: list[dict]) -> str:
    """Rows for one statement's ``json_to_recordset`` parameter, as one JSON array
    written by the json module's C encoder, dates and times in ISO 8601 (PostgreSQL
    reads them back into the columns' types). One array per field went through
    psycopg's list dumper, in Python element by element (docs/benchmarks.md, "One JSON
    parameter")."""
    return json.dumps(rows, default=_iso_date)


def _iso_date(value):
    if isinstance(value, date):  # a datetime is a date too
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a JSON row's value")
