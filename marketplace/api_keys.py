"""API keys: shown once, stored as a SHA-256, scoped to one organization."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import ApiKey, utcnow


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_api_key(organization_id: int, name: str, raw: str | None = None) -> tuple[ApiKey, str]:
    """A new key; the raw value is returned once and never stored."""
    raw = raw or "mk_" + secrets.token_urlsafe(32)
    key = ApiKey(organization_id=organization_id, name=name, prefix=raw[:8], key_hash=hash_key(raw))
    db.session.add(key)
    db.session.commit()
    return key, raw


def organization_for_key(raw: str) -> int | None:
    key = db.session.scalar(
        select(ApiKey).where(ApiKey.key_hash == hash_key(raw), ApiKey.revoked_at.is_(None))
    )
    if key is None:
        return None
    key.last_used_at = utcnow()
    db.session.commit()
    return key.organization_id
