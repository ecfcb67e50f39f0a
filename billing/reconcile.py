"""Reconciliation: the ledger and Stripe compared, item by item and invoice by invoice.

For every buyer with a Stripe customer it checks that:
- every debit and credit older than ``GRACE`` is mirrored;
- every mirrored entry's invoice item is on Stripe, once, for the entry's amount
  (pending items from the customer's list, invoiced ones from the lines of our
  invoices: a Stripe list of invoice items may omit the invoiced ones);
- no item on Stripe carries a ledger key we do not know;
- every invoice's subtotal equals the sum of the entries it carries (its sales minus
  its credits).

The report (the differences, and what was checked) is kept as an audit event and
shown to admins at /admin/billing; the job runs daily.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from sqlalchemy import select

from billing import stripe_gateway
from billing.mirror import MIRRORED_KINDS
from marketplace import audit
from marketplace.extensions import db
from marketplace.models import AuditEvent, Invoice, LedgerEntry, Organization, utcnow

GRACE = timedelta(hours=1)
ACTION = "billing.reconciled"


def reconcile() -> dict:
    """Compare, record the report, and return it."""
    if not stripe_gateway.configured():
        return {"checked_entries": 0, "checked_invoices": 0, "differences": []}
    differences: list[dict] = []
    checked_entries = checked_invoices = 0
    buyers = db.session.execute(
        select(Organization.id, Organization.stripe_customer_id).where(
            Organization.stripe_customer_id.is_not(None)
        )
    ).all()
    for buyer_id, customer_id in buyers:
        entries, invoices = _ledger_of(buyer_id)
        checked_entries += len(entries)
        checked_invoices += len(invoices)
        differences += _compare(buyer_id, customer_id, entries, invoices)
    report = {
        "checked_entries": checked_entries,
        "checked_invoices": checked_invoices,
        "differences": differences,
    }
    audit.record(ACTION, "billing", None, details=report)
    db.session.commit()
    return report


def last_report() -> AuditEvent | None:
    return db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == ACTION).order_by(AuditEvent.id.desc())
    )


def _ledger_of(buyer_id: int) -> tuple[list[LedgerEntry], list[Invoice]]:
    entries = list(
        db.session.scalars(
            select(LedgerEntry).where(
                LedgerEntry.organization_id == buyer_id, LedgerEntry.kind.in_(MIRRORED_KINDS)
            )
        )
    )
    invoices = list(
        db.session.scalars(
            select(Invoice).where(
                Invoice.buyer_id == buyer_id, Invoice.stripe_invoice_id.is_not(None)
            )
        )
    )
    return entries, invoices


def _compare(buyer_id, customer_id, entries, invoices) -> list[dict]:
    found: dict[str, list[int]] = defaultdict(list)
    for item in stripe_gateway.invoice_items(customer_id):
        if item["invoice"] is None:
            found[item["entry_key"] or f"?{item['id']}"].append(item["amount"])
    for invoice in invoices:
        for key, amount in stripe_gateway.invoice_lines(invoice.stripe_invoice_id):
            found[key or f"?{invoice.stripe_invoice_id}"].append(amount)
    differences = []

    def differ(kind: str, detail: str) -> None:
        differences.append({"kind": kind, "organization_id": buyer_id, "detail": detail})

    now = utcnow()
    known = set()
    for entry in entries:
        known.add(entry.entry_key)
        expected = -entry.amount_cents
        amounts = found.get(entry.entry_key, [])
        refunded = (entry.stripe_object_id or "").startswith("re_")
        if entry.stripe_object_id is None:
            if now - entry.created_at > GRACE:
                differ("not_mirrored", f"{entry.entry_key}: not on Stripe after an hour")
        elif refunded:
            if amounts:
                differ("billed_and_refunded", f"{entry.entry_key}: an item and a refund")
        elif not amounts:
            differ("missing_on_stripe", f"{entry.entry_key}: its item is not on Stripe")
        elif len(amounts) > 1:
            differ("billed_twice", f"{entry.entry_key}: {len(amounts)} items on Stripe")
        elif amounts[0] != expected:
            differ("amount_differs", f"{entry.entry_key}: {amounts[0]} on Stripe, {expected} here")
    for key in found.keys() - known:
        differ("unknown_on_stripe", f"{key}: an item the ledger does not know")
    carried: dict[int, int] = defaultdict(int)
    for entry in entries:
        if entry.invoice_id is not None:
            carried[entry.invoice_id] -= entry.amount_cents
    for invoice in invoices:
        made = stripe_gateway.retrieve_invoice(invoice.stripe_invoice_id)
        if made.subtotal_cents != carried[invoice.id]:
            differ(
                "invoice_differs",
                f"{made.id}: subtotal {made.subtotal_cents} on Stripe, "
                f"{carried[invoice.id]} of sales less credits here",
            )
    return differences
