"""The stack's floor for bench/capture.py: a bare Flask view under the same gunicorn
settings that parses the same JSON and inserts one row with psycopg, nothing else."""

from __future__ import annotations

import os
import threading

import psycopg
from flask import Flask, jsonify, request
from psycopg.types.json import Jsonb

app = Flask(__name__)
_local = threading.local()  # one connection per thread, for --threads runs


def connection() -> psycopg.Connection:
    current = getattr(_local, "connection", None)
    if current is None or current.closed:
        current = _local.connection = psycopg.connect(os.environ["FLOOR_DSN"], autocommit=True)
    return current


@app.post("/api/v1/leads")
def post_lead():
    body = request.get_json()
    row = (
        connection()
        .execute("INSERT INTO floor_leads (body) VALUES (%s) RETURNING id", (Jsonb(body),))
        .fetchone()
    )
    return jsonify({"id": row[0], "status": "accepted"}), 201
