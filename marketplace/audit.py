"""The audit trail: who saw personal data, and every admin or GDPR decision."""

from __future__ import annotations

from datetime import datetime

from marketplace.extensions import db
from marketplace.models import AuditEvent, utcnow


def record(
    action: str,
    subject_type: str,
    subject_id: int | None,
    *,
    actor_user_id: int | None = None,
    actor_organization_id: int | None = None,
    details: dict | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Add an event to the current transaction; the use case that calls it commits.
    ``at``: when it happened, for a use case told its time (the demo's past); events
    are never changed afterwards (a database trigger refuses it)."""
    event = AuditEvent(
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        actor_user_id=actor_user_id,
        actor_organization_id=actor_organization_id,
        details=details or {},
        created_at=at or utcnow(),
    )
    db.session.add(event)
    return event
