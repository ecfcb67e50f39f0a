"""Short-lived per-process copies of what every capture reads and rarely changes.

A lead capture must cost about one database round trip (field-notes.md: the web
layer, not the database, is what costs). The API key's organization and the
magnet's settings, consent texts and partner list are read from here, refreshed
every few seconds: a revoked key or a paused magnet takes effect within that
delay in every process. ``SNAPSHOT_SECONDS`` = 0 turns the copies off (tests).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

from cachetools import TTLCache
from flask import current_app

Value = TypeVar("Value")
_MISSING = object()
_lock = threading.Lock()
_caches: dict[str, TTLCache] = {}
_stores: list[dict] = []


def remembered(
    kind: str, key: Hashable, load: Callable[[], Value], seconds: float | None = None
) -> Value:
    """``load()``'s value for (kind, key), from memory while it is fresh (``seconds``,
    SNAPSHOT_SECONDS by default)."""
    if seconds is None or current_app.config["SNAPSHOT_SECONDS"] <= 0:
        seconds = current_app.config["SNAPSHOT_SECONDS"]
    if seconds <= 0:
        return load()
    with _lock:
        cache = _caches.get(kind)
        if cache is None or cache.ttl != seconds:
            cache = _caches[kind] = TTLCache(maxsize=10_000, ttl=seconds)
        value = cache.get(key, _MISSING)
    if value is _MISSING:
        value = load()
        with _lock:
            cache[key] = value
    return value


def register_store(store: dict) -> dict:
    """A module's own per-process store, emptied with the snapshots by forget_all."""
    _stores.append(store)
    return store


def forget_all() -> None:
    """Drop every copy (tests, and after a change that must show at once in this process)."""
    with _lock:
        for cache in _caches.values():
            cache.clear()
        for store in _stores:
            store.clear()
