"""The publisher's own magnets and their leads, always scoped to the publisher."""

from __future__ import annotations

from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload

from marketplace.extensions import db
from marketplace.models import ConsentRecord, Lead, LeadMagnet, LeadStatus


def magnets_with_lead_counts(publisher_id: int) -> list[tuple[LeadMagnet, int, int, int]]:
    """Each magnet with its leads, those of them sent through its form (the API's had
    no view of the form: the conversion is form leads over views), and those
    disqualified (unsold: no buyer's campaign targets them), counted apart."""
    from_form = case((ConsentRecord.channel == "form", 1), else_=0)
    disqualified = case(
        ((Lead.status == LeadStatus.UNSOLD) & Lead.disqualified_for.is_not(None), 1), else_=0
    )
    leads = (
        select(
            Lead.magnet_id,
            func.count(Lead.id).label("n"),
            func.sum(from_form).label("from_form"),
            func.sum(disqualified).label("disqualified"),
        )
        .join(ConsentRecord, ConsentRecord.lead_id == Lead.id)
        .where(Lead.publisher_id == publisher_id)
        .group_by(Lead.magnet_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            LeadMagnet,
            func.coalesce(leads.c.n, 0),
            func.coalesce(leads.c.from_form, 0),
            func.coalesce(leads.c.disqualified, 0),
        )
        .outerjoin(leads, leads.c.magnet_id == LeadMagnet.id)
        .where(LeadMagnet.publisher_id == publisher_id)
        .options(joinedload(LeadMagnet.sector))
        .order_by(LeadMagnet.created_at.desc())
    ).all()
    return [
        (magnet, int(count), int(from_form), int(disqualified))
        for magnet, count, from_form, disqualified in rows
    ]


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
