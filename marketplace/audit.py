"""The audit trail: who saw personal data, and every admin or GDPR decision."""

from __future__ import annotations

from marketplace.extensions import db
from marketplace.models import AuditEvent


def record(
    action: str,
    subject_type: str,
    subject_id: int | None,
    *,
    actor_user_id: int | None = None,
    actor_organization_id: int | None = None,
    details: dict | None = None,
) -> AuditEvent:
    """Add an event to the current transaction; the use case that calls it commits."""
    event = AuditEvent(
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        actor_user_id=actor_user_id,
        actor_organization_id=actor_organization_id,
        details=details or {},
    )
    db.session.add(event)
    return event
