"""The buyer's purchases: the inbox and one purchase, always scoped to the buyer."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from marketplace import audit
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.models import Lead, Sale, utcnow


def inbox(buyer_id: int, limit: int = 200) -> list[Sale]:
    return list(
        db.session.scalars(
            select(Sale)
            .where(Sale.buyer_id == buyer_id)
            .options(joinedload(Sale.lead).joinedload(Lead.sector), joinedload(Sale.campaign))
            .order_by(Sale.created_at.desc(), Sale.id.desc())
            .limit(limit)
        )
    )


def open_purchase(buyer_id: int, sale_id: int, user_id: int) -> Sale:
    """One purchase of this buyer, with the contact; the view of personal data is audited.

    Another buyer's purchase answers NotFound, not Forbidden: its existence is not ours
    to reveal.
    """
    sale = db.session.scalar(
        select(Sale)
        .where(Sale.id == sale_id, Sale.buyer_id == buyer_id)
        .options(joinedload(Sale.lead).joinedload(Lead.consent))
    )
    if sale is None:
        raise NotFound()
    if sale.first_viewed_at is None:
        sale.first_viewed_at = utcnow()
    audit.record(
        "lead.contact_viewed",
        "lead",
        sale.lead_id,
        actor_user_id=user_id,
        actor_organization_id=buyer_id,
        details={"sale_id": sale.id},
    )
    db.session.commit()
    return sale
