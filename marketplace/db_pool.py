"""Checking pooled database connections before use, only when they sat idle.

SQLAlchemy's ``pool_pre_ping`` costs a round trip on every checkout: a request or
a job that costs three round trips would pay a fourth for it. A connection given
back to the pool less than ``DB_PING_AFTER_SECONDS`` ago is handed out as it is;
an older one is pinged first and replaced if the server dropped it (a restart, an
idle timeout). A server restart within those seconds fails the next statement of
each connection used meanwhile once; SQLAlchemy then drops the pool's connections
opened before the failure.
"""

from __future__ import annotations

import time

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine

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
