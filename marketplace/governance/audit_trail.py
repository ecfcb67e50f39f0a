"""Reading the audit trail: append-only (nothing in the code updates or deletes an
event), searched by action, actor, organization, object and dates, newest first."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select

from marketplace.extensions import db
from marketplace.models import AuditEvent, User


@dataclass(frozen=True)
class AuditSearch:
    action: str | None = None  # an exact action, or a prefix ending with "." ("privacy.")
    actor_email: str | None = None
    organization_id: int | None = None  # acting, or the object of the event
    subject_type: str | None = None
    subject_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None  # excluded
    before_id: int | None = None  # the page's cursor: events older than this one


@dataclass(frozen=True)
class AuditLine:
    event: AuditEvent
    actor_email: str | None


def search(criteria: AuditSearch, limit: int = 100) -> list[AuditLine]:
    query = select(AuditEvent, User.email).outerjoin(User, User.id == AuditEvent.actor_user_id)
    if criteria.action:
        if criteria.action.endswith("."):
            query = query.where(AuditEvent.action.startswith(criteria.action, autoescape=True))
        else:
            query = query.where(AuditEvent.action == criteria.action)
    if criteria.actor_email:
        query = query.where(func.lower(User.email) == criteria.actor_email.strip().lower())
    if criteria.organization_id is not None:
        query = query.where(
            or_(
                AuditEvent.actor_organization_id == criteria.organization_id,
                (AuditEvent.subject_type == "organization")
                & (AuditEvent.subject_id == criteria.organization_id),
                AuditEvent.actor_user_id.in_(
                    select(User.id).where(User.organization_id == criteria.organization_id)
                ),
            )
        )
    if criteria.subject_type:
        query = query.where(AuditEvent.subject_type == criteria.subject_type)
    if criteria.subject_id is not None:
        query = query.where(AuditEvent.subject_id == criteria.subject_id)
    if criteria.since is not None:
        query = query.where(AuditEvent.created_at >= criteria.since)
    if criteria.until is not None:
        query = query.where(AuditEvent.created_at < criteria.until)
    if criteria.before_id is not None:
        query = query.where(AuditEvent.id < criteria.before_id)
    rows = db.session.execute(query.order_by(AuditEvent.id.desc()).limit(limit)).all()
    return [AuditLine(event, email) for event, email in rows]


def actions() -> list[str]:
    """The actions recorded so far, for the search's suggestions."""
    return list(
        db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
    )
