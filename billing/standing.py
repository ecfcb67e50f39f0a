"""A buyer's billing standing, and the payments that move it (no commits here: the
caller's transaction, from the invoice run or a webhook)."""

from __future__ import annotations

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import (
    BillingStatus,
    LedgerBalance,
    LedgerEntry,
    LedgerKind,
    Organization,
    utcnow,
)

# What a payment or a lifted limit may release; a suspension is an admin's to lift.
RELEASED_BY_PAYMENT = (BillingStatus.PAYMENT_FAILED, BillingStatus.OVER_CREDIT_LIMIT)


def book_payment(
    buyer: Organization, stripe_invoice_id: str, amount_cents: int, currency: str, label: str
) -> bool:
    """The payment of an invoice on the ledger, once (the invoice run and both of
    Stripe's events may report it); True when booked now."""
    entry_key = f"stripe:{stripe_invoice_id}:paid"[:80]
    if amount_cents <= 0 or db.session.scalar(
        select(LedgerEntry.id).where(LedgerEntry.entry_key == entry_key)
    ):
        return False
    db.session.add(
        LedgerEntry(
            entry_key=entry_key,
            organization_id=buyer.id,
            kind=LedgerKind.PAYMENT,
            amount_cents=amount_cents,
            currency=currency.upper(),
            description=label,
            stripe_object_id=stripe_invoice_id,
            mirrored_at=utcnow(),
        )
    )
    db.session.flush()
    return True


def payment_succeeded(buyer: Organization) -> None:
    if buyer.billing_status in RELEASED_BY_PAYMENT:
        buyer.billing_status = BillingStatus.GOOD
    apply_credit_limit(buyer)


def payment_failed(buyer: Organization) -> None:
    if buyer.billing_status is not BillingStatus.SUSPENDED:
        buyer.billing_status = BillingStatus.PAYMENT_FAILED


def owed_cents(organization_id: int) -> int:
    """What the buyer owes: its debits less its credits and payments (all currencies
    summed: buyers are billed in euros)."""
    return owed_by([organization_id])[organization_id]


def owed_by(organization_ids: list[int]) -> dict[int, int]:
    """owed_cents for many buyers in one query (the admins' list)."""
    # The ledger's sums kept per currency (billing/ledger.py), added across currencies.
    balances = dict(
        db.session.execute(
            select(LedgerBalance.organization_id, func.sum(LedgerBalance.balance_cents))
            .where(LedgerBalance.organization_id.in_(organization_ids))
            .group_by(LedgerBalance.organization_id)
        ).all()
    )
    return {id_: max(0, -int(balances.get(id_) or 0)) for id_ in organization_ids}


def apply_credit_limit(buyer: Organization) -> None:
    """Hold a buyer that owes more than its credit limit; release it below."""
    if buyer.credit_limit_cents is None:
        if buyer.billing_status is BillingStatus.OVER_CREDIT_LIMIT:
            buyer.billing_status = BillingStatus.GOOD
        return
    over = owed_cents(buyer.id) > buyer.credit_limit_cents
    if over and buyer.billing_status is BillingStatus.GOOD:
        buyer.billing_status = BillingStatus.OVER_CREDIT_LIMIT
    elif not over and buyer.billing_status is BillingStatus.OVER_CREDIT_LIMIT:
        buyer.billing_status = BillingStatus.GOOD


def apply_credit_limits() -> int:
    """Every buyer with a limit (the periodic run); returns how many changed."""
    changed = 0
    buyers = db.session.scalars(
        select(Organization).where(
            (Organization.credit_limit_cents.is_not(None))
            | (Organization.billing_status == BillingStatus.OVER_CREDIT_LIMIT)
        )
    )
    for buyer in buyers:
        before = buyer.billing_status
        apply_credit_limit(buyer)
        changed += buyer.billing_status is not before
    db.session.commit()
    return changed
