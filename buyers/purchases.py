"""The buyer's purchases: the inbox and one purchase, always scoped to the buyer."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from marketplace import audit, representations
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


def purchases_page(
    buyer_id: int, *, since=None, after_id: int | None = None, limit: int = 100
) -> tuple[list[dict], int | None]:
    """The buyer's purchases as the API gives them (``purchase_json``), oldest first,
    after a cursor; and the next cursor.

    The cursor is the last sale id of a page: ids only grow, so a buyer who pulls
    with it never misses nor repeats a purchase, even when new ones arrive between
    two calls.
    """
    sales = Sale.__table__
    query = (
        representations.purchase_query()
        .where(sales.c.buyer_id == buyer_id)
        .order_by(sales.c.id)
        .limit(limit + 1)
    )
    if since is not None:
        query = query.where(sales.c.created_at >= since)
    if after_id is not None:
        query = query.where(sales.c.id > after_id)
    rows = [row._mapping for row in db.session.execute(query)]
    more = len(rows) > limit
    items = [representations.purchase_json(row) for row in rows[:limit]]
    if items:
        audit.record(
            "lead.contact_exported",
            "sale",
            items[-1]["id"],
            actor_organization_id=buyer_id,
            details={"sale_ids": [item["id"] for item in items]},
        )
        db.session.commit()
    return items, (items[-1]["id"] if more else None)


def own_purchase(buyer_id: int, sale_id: int) -> dict:
    """One purchase of this buyer as the API gives it; its contact's export audited.
    Another buyer's purchase is NotFound."""
    sales = Sale.__table__
    row = db.session.execute(
        representations.purchase_query().where(sales.c.id == sale_id, sales.c.buyer_id == buyer_id)
    ).first()
    if row is None:
        raise NotFound()
    item = representations.purchase_json(row._mapping)
    audit.record("lead.contact_exported", "sale", sale_id, actor_organization_id=buyer_id)
    db.session.commit()
    return item
