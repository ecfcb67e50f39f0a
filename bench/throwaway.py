"""What the bench scripts share: a throw-away PostgreSQL database on BENCH_DATABASE_URL's
server (the local one by default), and a free local port for a server they start.

Imported by its bare name (``from throwaway import ...``): a script run as
``python bench/x.py`` has this folder first on its path, and the code it measures is
whatever comes next (this checkout, or another on PYTHONPATH).
"""

from __future__ import annotations

import os
import socket

import psycopg
from sqlalchemy.engine import make_url

SERVER = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def create_database(purpose: str) -> tuple[str, str]:
    """A new, empty database ``bench_<purpose>_<pid>``: the server's admin URL and its."""
    server = make_url(SERVER).set(drivername="postgresql")
    name = f"bench_{purpose}_{os.getpid()}"
    admin = server.render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    return admin, server.set(database=name).render_as_string(hide_password=False)


def drop_database(admin: str, database_url: str) -> None:
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(
            f'DROP DATABASE IF EXISTS "{make_url(database_url).database}" WITH (FORCE)'
        )
