"""The invoice run: a buyer's pending invoice items become one invoice, charged at
once to its default payment method.

When: each buyer's items of a month that has ended are invoiced at the next run
(the monthly invoice), and as soon as its uninvoiced total passes its threshold
(``invoice_threshold_cents``, 500 EUR by default). A buyer whose uninvoiced items
sum to nothing or less (its credits exceed its debits) is not invoiced: the credit
stays pending and offsets its next invoice.

Each run of one buyer is an ``invoices`` row, unique per (buyer, run key), written
before Stripe is called: a retried run continues the same invoice (found on Stripe
by its run key when the answer was lost) through its steps, draft → finalised →
charged, and never opens a second one.

VAT (docs/billing.md): 20 % French VAT through a Stripe tax rate, except for a
business with a valid EU VAT number outside France (reverse charge, art. 196 of
Directive 2006/112/EC) and a business outside the EU (no French VAT).
"""

from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from stdnum.eu import vat as eu_vat

from billing import customers, standing, stripe_gateway
from billing.mirror import MIRRORED_KINDS
from billing.stripe_gateway import (
    InvoiceRequest,
    StripeInvoice,
    StripeRefused,
    StripeUnavailable,
)
from marketplace.extensions import db
from marketplace.models import Invoice, LedgerEntry, Organization, VatTreatment, utcnow

log = logging.getLogger(__name__)
PARIS = ZoneInfo("Europe/Paris")

EU_COUNTRIES = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "CY",
        "CZ",
        "DE",
        "DK",
        "EE",
        "ES",
        "FI",
        "FR",
        "GR",
        "HR",
        "HU",
        "IE",
        "IT",
        "LT",
        "LU",
        "LV",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SE",
        "SI",
        "SK",
    ]
)
REVERSE_CHARGE_NOTE = "Autoliquidation - VAT reverse charge, article 196 of Directive 2006/112/EC"


def vat_treatment(buyer: Organization) -> VatTreatment:
    number = (buyer.vat_number or "").replace(" ", "").upper()
    if number and eu_vat.is_valid(number):
        country = "GR" if number[:2] == "EL" else number[:2]
        if country != "FR":
            return VatTreatment.REVERSE_CHARGE
    country = str((buyer.billing_address or {}).get("country") or "FR").upper()
    if country not in EU_COUNTRIES:
        return VatTreatment.OUTSIDE_EU
    return VatTreatment.FRENCH_VAT


def run_invoicing(now: datetime | None = None) -> int:
    """Invoice every buyer that is due; returns how many invoices were charged."""
    if not stripe_gateway.configured():
        return 0
    now = now or utcnow()
    # Months are French months: the platform's first market invoices by them.
    month_start = now.astimezone(PARIS).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    pending = db.session.execute(
        select(
            LedgerEntry.organization_id,
            func.sum(LedgerEntry.amount_cents),
            func.min(LedgerEntry.created_at),
            func.max(LedgerEntry.id),
        )
        .where(
            LedgerEntry.kind.in_(MIRRORED_KINDS),
            LedgerEntry.stripe_object_id.is_not(None),
            LedgerEntry.invoice_id.is_(None),
        )
        .group_by(LedgerEntry.organization_id)
    ).all()
    thresholds = dict(
        db.session.execute(
            select(Organization.id, Organization.invoice_threshold_cents).where(
                Organization.id.in_([row[0] for row in pending])
            )
        ).all()
    )
    due = []
    for buyer_id, total, oldest, newest in pending:
        owed = -int(total)
        if owed <= 0:
            continue  # credits carried to the next invoice
        if oldest < month_start:
            # The newest entry in the key: an entry of a past month mirrored late (an
            # outage) makes a new run, not a return to the month's finished invoice.
            due.append((buyer_id, f"month:{oldest.astimezone(PARIS):%Y-%m}:{newest}"))
        elif owed >= thresholds[buyer_id]:
            due.append((buyer_id, f"threshold:{newest}"))
    db.session.rollback()
    unfinished = db.session.execute(
        select(Invoice.buyer_id, Invoice.run_key).where(
            Invoice.status.in_(("creating", "draft", "open")), Invoice.payment_error.is_(None)
        )
    ).all()
    db.session.rollback()
    charged = 0
    for buyer_id, run_key in dict.fromkeys([*map(tuple, unfinished), *due]):
        try:
            invoice = invoice_buyer(buyer_id, run_key)
        except StripeUnavailable as error:
            log.warning("Stripe unreachable, the invoice run waits: %s", error)
            break
        charged += invoice is not None and invoice.status == "paid"
    standing.apply_credit_limits()
    return charged


def invoice_buyer(buyer_id: int, run_key: str) -> Invoice | None:
    """Create (or continue) the buyer's invoice for this run, finalise and charge it."""
    buyer = db.session.get(Organization, buyer_id)
    customer_id = buyer.stripe_customer_id or customers.ensure_customer(buyer_id)
    if customer_id is None:
        return None
    invoice, resumed = _invoice_row(buyer, run_key)
    if invoice is None:
        return None
    if invoice.stripe_invoice_id is None:
        made = stripe_gateway.find_invoice(customer_id, run_key) if resumed else None
        if made is None:
            try:
                made = stripe_gateway.create_invoice(
                    InvoiceRequest(
                        organization_id=buyer_id,
                        customer_id=customer_id,
                        run_key=run_key,
                        tax_rate_ids=_tax_rates(invoice.vat),
                        description=_description(invoice.vat),
                    )
                )
            except StripeRefused as error:  # nothing pending on Stripe after all
                invoice.status, invoice.payment_error = "void", str(error)[:300]
                db.session.commit()
                return invoice
        _record(invoice, made)
        _attach_entries(invoice, made.id)
        db.session.commit()
    if invoice.status == "draft":
        _record(invoice, stripe_gateway.finalize_invoice(invoice.stripe_invoice_id))
        db.session.commit()
    if invoice.status == "open":
        _charge(invoice, buyer_id)
    return invoice


def _invoice_row(buyer: Organization, run_key: str) -> tuple[Invoice | None, bool]:
    existing = db.session.scalar(
        select(Invoice).where(Invoice.buyer_id == buyer.id, Invoice.run_key == run_key)
    )
    if existing is not None:
        return existing, True
    invoice = Invoice(buyer_id=buyer.id, run_key=run_key, vat=vat_treatment(buyer))
    db.session.add(invoice)
    try:
        db.session.commit()
    except IntegrityError:  # another runner opened it a moment ago
        db.session.rollback()
        return None, False
    return invoice, False


def _tax_rates(vat: VatTreatment) -> tuple[str, ...]:
    return (stripe_gateway.french_vat_rate(),) if vat is VatTreatment.FRENCH_VAT else ()


def _description(vat: VatTreatment) -> str:
    if vat is VatTreatment.REVERSE_CHARGE:
        return f"Leads - {REVERSE_CHARGE_NOTE}"
    if vat is VatTreatment.OUTSIDE_EU:
        return "Leads - VAT not applicable, services to a business outside the EU"
    return "Leads"


def _record(invoice: Invoice, made: StripeInvoice) -> None:
    invoice.stripe_invoice_id = made.id
    invoice.status = made.status
    invoice.currency = made.currency
    invoice.subtotal_cents = made.subtotal_cents
    invoice.tax_cents = made.tax_cents
    invoice.total_cents = made.total_cents
    invoice.hosted_invoice_url = made.hosted_invoice_url
    invoice.invoice_pdf = made.invoice_pdf


def _attach_entries(invoice: Invoice, stripe_invoice_id: str) -> None:
    """Which ledger entries the invoice carries: read from its lines, so an item
    mirrored while the invoice was being made is counted where Stripe put it."""
    keys = stripe_gateway.invoice_entry_keys(stripe_invoice_id)
    if keys:
        db.session.execute(
            update(LedgerEntry)
            .where(LedgerEntry.entry_key.in_(keys), LedgerEntry.invoice_id.is_(None))
            .values(invoice_id=invoice.id)
        )


def _charge(invoice: Invoice, buyer_id: int) -> None:
    try:
        paid = stripe_gateway.pay_invoice(invoice.stripe_invoice_id)
        error = None if paid.status == "paid" else "The payment did not go through."
    except StripeRefused as refusal:
        paid, error = None, str(refusal)
    buyer = db.session.get(Organization, buyer_id, with_for_update=True)
    if paid is not None:
        _record(invoice, paid)
    if error is None:
        invoice.paid_at = utcnow()
        standing.book_payment(
            buyer,
            invoice.stripe_invoice_id,
            # The ledger is net of VAT: the payment covers the debits, the VAT is the
            # state's.
            (paid.amount_paid_cents or paid.total_cents) - paid.tax_cents,
            paid.currency,
            f"Payment of invoice {invoice.stripe_invoice_id}",
        )
        standing.payment_succeeded(buyer)
    else:
        invoice.payment_error = error[:300]
        standing.payment_failed(buyer)
    db.session.commit()
