"""Where a lead is in its life beside its status: disqualified (no campaign takes it for
a reason of its own, set by distribution), recycled (a returning person's new lead
after an unsold or returned one, set by the capture), and the person's history that
the admins read on a lead's page (docs/matching.md, docs/capture.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from marketplace.extensions import db
from marketplace.models import Dispute, DisputeStatus, Lead, Organization, Sale

HISTORY_LIMIT = 50


@dataclass(frozen=True)
class PersonLead:
    """One lead of the person, with what became of it."""

    lead: Lead
    sales: int
    returns: int  # its sales returned by their buyer (accepted disputes)
    buyers: tuple[str, ...]  # who bought it, in the order of the sales
    returned_by: tuple[str, ...]

    @property
    def created_at(self) -> datetime:
        return self.lead.created_at


def person_history(lead: Lead, limit: int = HISTORY_LIMIT) -> list[PersonLead]:
    """The person's other leads (the same e-mail or phone hash, kept after erasure),
    any sector and publisher, newest first, each with its sales and returns."""
    same_person = Lead.email_hash == lead.email_hash
    if lead.phone_hash:
        same_person = or_(same_person, Lead.phone_hash == lead.phone_hash)
    others = list(
        db.session.scalars(
            select(Lead)
            .where(same_person, Lead.id != lead.id)
            .options(joinedload(Lead.sector), joinedload(Lead.publisher))
            .order_by(Lead.created_at.desc(), Lead.id.desc())
            .limit(limit)
        )
    )
    sales: dict[int, list[tuple[str, bool]]] = {}
    if others:
        rows = db.session.execute(
            select(Sale.lead_id, Sale.buyer_id, Dispute.status)
            .outerjoin(Dispute, Dispute.sale_id == Sale.id)
            .where(Sale.lead_id.in_([other.id for other in others]))
            .order_by(Sale.id)
        ).all()
        names = _organization_names({buyer_id for _, buyer_id, _ in rows})
        for lead_id, buyer_id, dispute_status in rows:
            sales.setdefault(lead_id, []).append(
                (names.get(buyer_id, f"#{buyer_id}"), dispute_status == DisputeStatus.ACCEPTED)
            )
    history = []
    for other in others:
        sold = sales.get(other.id, [])
        history.append(
            PersonLead(
                lead=other,
                sales=len(sold),
                returns=sum(1 for _, returned in sold if returned),
                buyers=tuple(name for name, _ in sold),
                returned_by=tuple(name for name, returned in sold if returned),
            )
        )
    return history


def _organization_names(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = db.session.execute(
        select(Organization.id, Organization.name).where(Organization.id.in_(ids))
    )
    return {organization_id: name for organization_id, name in rows}
