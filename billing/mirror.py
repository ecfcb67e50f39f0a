"""The ledger's mirror on Stripe: each buyer debit (and credit) becomes one invoice
item, never two; a credit the admin chose to refund becomes a Stripe refund instead.

The ledger is the truth (domain.md). An entry is claimed (``mirror_started_at``,
committed) before Stripe is called, and its Stripe id stored after. A retry of an
entry that was claimed but never confirmed (the worker died, the answer was lost)
first looks on Stripe for an item carrying the entry's key, and adopts it, so even a
Stripe server that ignores idempotency keys (localstripe) bills once. Without Stripe
configured nothing happens and the backlog waits; configuring Stripe later mirrors it.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, update

from billing import credits, customers, stripe_gateway
from billing.stripe_gateway import InvoiceLine, StripeRefused, StripeUnavailable
from marketplace.extensions import db
from marketplace.models import Invoice, LedgerEntry, LedgerKind, Organization, utcnow

log = logging.getLogger(__name__)

MIRRORED_KINDS = (LedgerKind.SALE_DEBIT, LedgerKind.DISPUTE_CREDIT)
# A claim older than this is taken to be a dead attempt, and retried.
CLAIM_LEASE = timedelta(minutes=10)


def mirror_ledger(organization_id: int | None = None, limit: int = 1000) -> int:
    """Mirror the entries not yet on Stripe (a buyer's, or everyone's); returns how
    many were mirrored. Stops at the first sign that Stripe is unreachable."""
    if not stripe_gateway.configured():
        return 0
    query = (
        select(LedgerEntry.id)
        .where(LedgerEntry.kind.in_(MIRRORED_KINDS), LedgerEntry.stripe_object_id.is_(None))
        .order_by(LedgerEntry.id)
        .limit(limit)
    )
    if organization_id is not None:
        query = query.where(LedgerEntry.organization_id == organization_id)
    entry_ids = list(db.session.scalars(query))
    db.session.rollback()
    mirrored = 0
    waiting_buyers: set[int] = set()
    for entry_id in entry_ids:
        try:
            if mirror_entry(entry_id, waiting_buyers):
                mirrored += 1
        except StripeUnavailable as error:
            log.warning("Stripe unreachable, the mirror waits: %s", error)
            break
    return mirrored


def mirror_entry(entry_id: int, waiting_buyers: set[int] | None = None) -> bool:
    """One entry to one invoice item. False when it must wait (no billing details
    yet, claimed by another worker, already mirrored)."""
    waiting_buyers = waiting_buyers if waiting_buyers is not None else set()
    entry = db.session.get(LedgerEntry, entry_id)
    if entry is None or entry.stripe_object_id or entry.organization_id in waiting_buyers:
        db.session.rollback()
        return False
    organization = db.session.get(Organization, entry.organization_id)
    customer_id = organization.stripe_customer_id or customers.ensure_customer(organization.id)
    if customer_id is None:
        waiting_buyers.add(entry.organization_id)  # no billing details yet
        db.session.rollback()
        return False
    earlier_claim = entry.mirror_started_at
    if not _claim(entry):
        return False
    try:
        refund = credits.refund_for(entry)
        item_id = _made_earlier(entry, customer_id, refund) if earlier_claim else None
        if item_id is None:
            item_id = (
                stripe_gateway.refund(refund.payment_intent, refund.amount_cents, entry.entry_key)
                if refund is not None
                else stripe_gateway.create_invoice_item(_line(entry, customer_id))
            )
    except StripeRefused as error:
        log.error("ledger entry %s refused by Stripe: %s", entry.entry_key, error)
        _end_claim(entry_id)
        return False
    except StripeUnavailable:
        # The request may have reached Stripe: the claim stays (so the retry looks
        # for what it made first), but no longer blocks that retry.
        _end_claim(entry_id)
        raise
    db.session.execute(
        update(LedgerEntry)
        .where(LedgerEntry.id == entry_id, LedgerEntry.stripe_object_id.is_(None))
        .values(stripe_object_id=item_id, mirrored_at=utcnow())
    )
    if refund is not None:
        credits.refunded(entry_id, item_id)
    db.session.commit()
    return True


def _made_earlier(entry: LedgerEntry, customer_id: str, refund) -> str | None:
    """The Stripe object an earlier, unconfirmed attempt made for the entry, if any:
    a refund, a pending item, or an item an invoice has swept in since."""
    if refund is not None:
        return stripe_gateway.find_refund(refund.payment_intent, entry.entry_key)
    found = stripe_gateway.find_invoice_item(customer_id, entry.entry_key)
    if found is None and entry.invoice_id is not None:
        invoice = db.session.get(Invoice, entry.invoice_id)
        found = stripe_gateway.invoice_item_on(invoice.stripe_invoice_id, entry.entry_key)
    return found


def _claim(entry: LedgerEntry) -> bool:
    """Mark the entry as being sent, committed before the call; False when another
    worker holds a live claim on it."""
    now = utcnow()
    earlier = entry.mirror_started_at
    if earlier is not None and now - earlier < CLAIM_LEASE:
        db.session.rollback()
        return False
    same_claim = (
        LedgerEntry.mirror_started_at.is_(None)
        if earlier is None
        else LedgerEntry.mirror_started_at == earlier
    )
    claimed = db.session.execute(
        update(LedgerEntry)
        .where(LedgerEntry.id == entry.id, LedgerEntry.stripe_object_id.is_(None), same_claim)
        .values(mirror_started_at=now)
    ).rowcount
    db.session.commit()
    return claimed == 1


def _end_claim(entry_id: int) -> None:
    db.session.execute(
        update(LedgerEntry)
        .where(LedgerEntry.id == entry_id, LedgerEntry.stripe_object_id.is_(None))
        .values(mirror_started_at=utcnow() - CLAIM_LEASE)
    )
    db.session.commit()


def _line(entry: LedgerEntry, customer_id: str) -> InvoiceLine:
    metadata = {"ledger_entry_id": str(entry.id)}
    if entry.sale_id is not None:
        metadata["sale_id"] = str(entry.sale_id)
    if entry.dispute_id is not None:
        metadata["dispute_id"] = str(entry.dispute_id)
    return InvoiceLine(
        entry_key=entry.entry_key,
        customer_id=customer_id,
        # The ledger signs from the buyer's side (a debit is negative); an invoice
        # item is what the buyer is charged.
        amount_cents=-entry.amount_cents,
        currency=entry.currency,
        description=entry.description,
        metadata=metadata,
    )
