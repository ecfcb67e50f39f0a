"""The stack's floor for bench/capture.py: a bare Flask view under the same gunicorn
settings that parses the same JSON and inserts one row with psycopg, nothing else."""

from __future__ import annotations

import os

import psycopg
from flask import Flask, jsonify, request
from psycopg.types.json import Jsonb

app = Flask(__name__)
_connection: psycopg.Connection | None = None


def connection() -> psycopg.Connection:
    global _connection
    if _connection is None or _connection.closed:
        _connection = psycopg.connect(os.environ["FLOOR_DSN"], autocommit=True)
    return _connection


@app.post("/api/v1/leads")
def post_lead():
    body = request.get_json()
    row = (
        connection()
        .execute("INSERT INTO floor_leads (body) VALUES (%s) RETURNING id", (Jsonb(body),))
        .fetchone()
    )
    return jsonify({"id": row[0], "status": "accepted"}), 201
