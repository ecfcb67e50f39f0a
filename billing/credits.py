"""How an accepted dispute's credit reaches the buyer's money on Stripe.

By default the credit is mirrored like any entry, as a negative invoice item: when
the disputed sale is not invoiced yet, both land on the same next invoice and
cancel out; when it is, the credit lowers the next invoice. When the admin chose a
refund and the sale was invoiced and paid, the credit becomes a Stripe refund of
that payment instead: the price plus the VAT the invoice charged on it. A refund
chosen for a sale not yet paid falls back to the credit item (nothing to refund).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import select

from billing import stripe_gateway
from marketplace.extensions import db
from marketplace.models import Dispute, Invoice, LedgerEntry, LedgerKind, VatTreatment, utcnow

FRENCH_VAT = Decimal("0.20")


@dataclass(frozen=True)
class Refund:
    payment_intent: str
    amount_cents: int


def refund_for(entry: LedgerEntry) -> Refund | None:
    """The refund a credit entry becomes, or None (a credit invoice item)."""
    if entry.kind is not LedgerKind.DISPUTE_CREDIT or entry.dispute_id is None:
        return None
    dispute = db.session.get(Dispute, entry.dispute_id)
    if dispute is None or not dispute.refund:
        return None
    invoice = db.session.scalar(
        select(Invoice)
        .join(LedgerEntry, LedgerEntry.invoice_id == Invoice.id)
        .where(LedgerEntry.entry_key == f"sale:{entry.sale_id}:debit")
    )
    if invoice is None or invoice.status != "paid" or invoice.stripe_invoice_id is None:
        return None
    paid = stripe_gateway.retrieve_invoice(invoice.stripe_invoice_id)
    if not paid.payment_intent:
        return None
    amount = Decimal(entry.amount_cents)
    if invoice.vat is VatTreatment.FRENCH_VAT:
        amount = (amount * (1 + FRENCH_VAT)).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
    return Refund(paid.payment_intent, int(amount))


def refunded(entry_id: int, refund_id: str) -> None:
    """The refund on the ledger: money back to the buyer, which the credit owed it
    (net of VAT, as the ledger is). No commit: the mirror's transaction."""
    entry = db.session.get(LedgerEntry, entry_id)
    dispute = db.session.get(Dispute, entry.dispute_id)
    dispute.stripe_refund_id = refund_id
    key = f"dispute:{dispute.id}:refund"
    if db.session.scalar(select(LedgerEntry.id).where(LedgerEntry.entry_key == key)) is None:
        db.session.add(
            LedgerEntry(
                entry_key=key,
                organization_id=entry.organization_id,
                kind=LedgerKind.PAYMENT,
                amount_cents=-entry.amount_cents,
                currency=entry.currency,
                sale_id=entry.sale_id,
                dispute_id=dispute.id,
                description=f"Refund for dispute #{dispute.id}",
                stripe_object_id=refund_id,
                mirrored_at=utcnow(),
            )
        )
