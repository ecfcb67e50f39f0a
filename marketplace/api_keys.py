"""API keys: shown once, stored as a SHA-256, scoped to one organization."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

from marketplace import snapshots
from marketplace.extensions import db
from marketplace.models import ApiKey, Organization, utcnow


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_api_key(organization_id: int, name: str, raw: str | None = None) -> tuple[ApiKey, str]:
    """A new key; the raw value is returned once and never stored."""
    raw = raw or "mk_" + secrets.token_urlsafe(32)
    key = ApiKey(organization_id=organization_id, name=name, prefix=raw[:8], key_hash=hash_key(raw))
    db.session.add(key)
    db.session.commit()
    return key, raw


def organization_for_key(raw: str) -> tuple[int, str] | None:
    """(organization id, organization kind) for a live key, else None.

    This runs on every API call: the answer is kept a few seconds per process
    (snapshots.py), so a revoked key stops working within that delay, and the
    key's last use is not recorded.
    """
    if not raw or len(raw) > 200:
        return None
    key_hash = hash_key(raw)

    def load():
        row = db.session.execute(
            select(ApiKey.organization_id, Organization.kind)
            .join(Organization, Organization.id == ApiKey.organization_id)
            .where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
        ).first()
        return (row.organization_id, row.kind.value) if row else None

    return snapshots.remembered("api_key", key_hash, load)


def api_keys_of(organization_id: int) -> list[ApiKey]:
    return list(
        db.session.scalars(
            select(ApiKey)
            .where(ApiKey.organization_id == organization_id)
            .order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc())
        )
    )


def revoke_api_key(organization_id: int, key_id: int) -> None:
    """Revoke one of the organization's keys; another organization's key is NotFound."""
    from marketplace.errors import NotFound

    key = db.session.scalar(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.organization_id == organization_id)
    )
    if key is None:
        raise NotFound()
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        db.session.commit()
        snapshots.forget_all()  # at once here; other processes within SNAPSHOT_SECONDS
