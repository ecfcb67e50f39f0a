"""Disputes: a buyer's claim on one purchased lead, resolved by an admin.

An accepted dispute is, in one transaction with the decision: a credit to the buyer
of the sale's price (``dispute:<id>:credit``) and the reversal of the publisher's
earning (``dispute:<id>:reversal``), each booked once by its ledger key. The billing
package mirrors the credit to Stripe: a negative invoice item on the next invoice
(which offsets the sale itself when the sale was not invoiced yet), or a refund when
the admin chose it for a lead already invoiced and paid.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from marketplace import audit, delivery, mail
from marketplace.errors import DomainError, NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.governance.sectors import return_window_days
from marketplace.labels import DECIDING_RULE_LABELS
from marketplace.models import (
    Dispute,
    DisputeReason,
    DisputeStatus,
    LedgerEntry,
    LedgerKind,
    Sale,
    User,
    UserRole,
    utcnow,
)
from marketplace.quality.sources import refresh_after_verdict

log = logging.getLogger(__name__)
MAX_COMMENT = 2000


class DisputeRefused(DomainError):
    """Outside the return window, or already disputed (409)."""

    code = "dispute_refused"
    default_message = _l("This lead cannot be disputed.")


class DisputeClosed(DomainError):
    code = "dispute_closed"
    default_message = _l("This dispute has already been decided.")


def open_dispute(
    buyer_id: int, sale_id: int, reason: str, comment: str | None, *, now: datetime | None = None
) -> Dispute:
    """The buyer's claim on one of its purchases, within the return window."""
    now = now or utcnow()
    sale = db.session.scalar(select(Sale).where(Sale.id == sale_id, Sale.buyer_id == buyer_id))
    if sale is None:
        raise NotFound()
    fields = {}
    try:
        reason = DisputeReason(reason)
    except ValueError:
        fields["reason"] = str(_l("Choose one of the reasons."))
    comment = (comment or "").strip() or None
    if comment and len(comment) > MAX_COMMENT:
        fields["comment"] = str(_l("At most %(n)d characters.", n=MAX_COMMENT))
    if reason == DisputeReason.OTHER and not comment:
        fields["comment"] = str(_l("Say what is wrong with this lead."))
    if fields:
        raise ValidationFailed(fields=fields)
    window = timedelta(days=return_window_days(sale.lead.sector))
    if db.session.scalar(select(Dispute.id).where(Dispute.sale_id == sale_id)):
        raise DisputeRefused(str(_l("This lead is already disputed.")))
    if now - sale.created_at > window:
        raise DisputeRefused(
            str(_l("The return window (%(days)d days) for this lead has closed.", days=window.days))
        )
    dispute = Dispute(
        sale_id=sale.id,
        buyer_id=buyer_id,
        reason=reason,
        comment=comment,
        status=DisputeStatus.OPEN,
        created_at=now,
    )
    db.session.add(dispute)
    db.session.flush()
    audit.record(
        "dispute.opened",
        "dispute",
        dispute.id,
        actor_organization_id=buyer_id,
        details={"sale_id": sale.id, "reason": reason.value},
        at=now,
    )
    db.session.commit()
    return dispute


def resolve_dispute(
    dispute_id: int,
    *,
    admin_user_id: int | None,
    accept: bool,
    note: str | None = None,
    refund: bool = False,
    now: datetime | None = None,
    decided_by_rule: str | None = None,
    rule_facts: dict | None = None,
) -> Dispute:
    """An admin's decision, or a rule's (``decided_by_rule``, no admin: only ever an
    acceptance, see marketplace.returns). Accepting books the credit and the earning
    reversal. A rule's caller may hold locks of its own: they end with this commit."""
    if (admin_user_id is None) == (decided_by_rule is None) or (decided_by_rule and not accept):
        raise ValueError("a dispute is decided by an admin, or accepted by one rule")
    now = now or utcnow()
    dispute = db.session.get(Dispute, dispute_id, with_for_update=True)
    if dispute is None:
        raise NotFound()
    if dispute.status is not DisputeStatus.OPEN:
        db.session.rollback()
        raise DisputeClosed()
    dispute.status = DisputeStatus.ACCEPTED if accept else DisputeStatus.REJECTED
    dispute.resolution_note = (note or "").strip()[:MAX_COMMENT] or None
    dispute.resolved_by_id = admin_user_id
    dispute.resolved_at = now
    dispute.refund = bool(accept and refund)
    dispute.decided_by_rule = decided_by_rule
    deliveries = []
    if accept:
        _book_credit(dispute, now)
        # The buyer's webhook hears of the credit as of the sale, from the same outbox.
        deliveries = delivery.create_deliveries([dispute.sale_id], delivery.PURCHASE_CREDITED, now)
    audit.record(
        "dispute.accepted" if accept else "dispute.rejected",
        "dispute",
        dispute.id,
        actor_user_id=admin_user_id,
        details={"sale_id": dispute.sale_id, "refund": dispute.refund}
        | ({"rule": decided_by_rule, **(rule_facts or {})} if decided_by_rule else {}),
        at=now,
    )
    db.session.commit()
    delivery.start_sending(deliveries)
    _tell_buyer(dispute)
    if accept:  # a refused return leaves the source's evidence as it was
        refresh_after_verdict(dispute.sale_id)
    return dispute


def _tell_buyer(dispute: Dispute) -> None:
    """The buyer's owners learn the decision by e-mail (through the outbox)."""
    sale = db.session.get(Sale, dispute.sale_id)
    owners = db.session.scalars(
        select(User.email).where(
            User.organization_id == dispute.buyer_id, User.role == UserRole.OWNER
        )
    ).all()
    if dispute.status is DisputeStatus.ACCEPTED:
        outcome = f"accepted: {sale.price_cents / 100:.2f} {sale.currency} are credited to you"
        if dispute.refund:
            outcome += " and refunded to your payment method"
    else:
        outcome = "rejected"
    if dispute.decided_by_rule:
        with force_locale("en"):  # the rest of the mail is in English too
            outcome += f", automatically: {DECIDING_RULE_LABELS[dispute.decided_by_rule]}"
    body = f"Your dispute #{dispute.id} on lead #{sale.lead_id} was {outcome}.\n" + (
        f"\nNote: {dispute.resolution_note}\n" if dispute.resolution_note else ""
    )
    for email in owners:
        mail.queue_mail(
            email, f"Dispute #{dispute.id}: {dispute.status.value}", body, topic="dispute"
        )


def _book_credit(dispute: Dispute, now: datetime) -> None:
    sale = db.session.get(Sale, dispute.sale_id)
    earning = db.session.scalar(
        select(LedgerEntry).where(LedgerEntry.entry_key == f"sale:{sale.id}:earning")
    )
    label = f"Credit for lead #{sale.lead_id} - dispute #{dispute.id}"
    entries = [
        LedgerEntry(
            entry_key=f"dispute:{dispute.id}:credit",
            organization_id=sale.buyer_id,
            kind=LedgerKind.DISPUTE_CREDIT,
            amount_cents=sale.price_cents,
            currency=sale.currency,
            sale_id=sale.id,
            dispute_id=dispute.id,
            description=label,
            created_at=now,
        )
    ]
    if earning is not None:
        entries.append(
            LedgerEntry(
                entry_key=f"dispute:{dispute.id}:reversal",
                organization_id=earning.organization_id,
                kind=LedgerKind.EARNING_REVERSAL,
                amount_cents=-earning.amount_cents,
                currency=earning.currency,
                sale_id=sale.id,
                dispute_id=dispute.id,
                description=f"Reversal for lead #{sale.lead_id} - dispute #{dispute.id}",
                created_at=now,
            )
        )
    db.session.add_all(entries)


def dispute_of(sale_id: int) -> Dispute | None:
    return db.session.scalar(select(Dispute).where(Dispute.sale_id == sale_id))


def credit_of(sale_id: int) -> LedgerEntry | None:
    """The credit booked against a sale by an accepted dispute, if any."""
    return db.session.scalar(
        select(LedgerEntry).where(
            LedgerEntry.sale_id == sale_id, LedgerEntry.kind == LedgerKind.DISPUTE_CREDIT
        )
    )


def open_disputes(limit: int = 200) -> list[Dispute]:
    return list(
        db.session.scalars(
            select(Dispute)
            .where(Dispute.status == DisputeStatus.OPEN)
            .order_by(Dispute.created_at)
            .limit(limit)
        )
    )
