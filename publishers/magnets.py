"""The publisher's own magnets and their leads, always scoped to the publisher."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from marketplace.extensions import db
from marketplace.models import Lead, LeadMagnet


def magnets_with_lead_counts(publisher_id: int) -> list[tuple[LeadMagnet, int]]:
    leads = (
        select(Lead.magnet_id, func.count(Lead.id).label("n"))
        .where(Lead.publisher_id == publisher_id)
        .group_by(Lead.magnet_id)
        .subquery()
    )
    rows = db.session.execute(
        select(LeadMagnet, func.coalesce(leads.c.n, 0))
        .outerjoin(leads, leads.c.magnet_id == LeadMagnet.id)
        .where(LeadMagnet.publisher_id == publisher_id)
        .options(joinedload(LeadMagnet.sector))
        .order_by(LeadMagnet.created_at.desc())
    ).all()
    return [(magnet, count) for magnet, count in rows]


def magnet_leads(publisher_id: int, magnet_id: int, limit: int = 200) -> list[Lead]:
    return list(
        db.session.scalars(
            select(Lead)
            .where(Lead.magnet_id == magnet_id, Lead.publisher_id == publisher_id)
            .options(joinedload(Lead.consent))
            .order_by(Lead.created_at.desc())
            .limit(limit)
        )
    )
