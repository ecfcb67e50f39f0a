"""Publishers' earnings: statements, what is held and what is payable, payouts.

An earning is booked with each sale (the publisher's revenue share) and reversed
when a dispute on the sale is accepted. It is *held* while the sale can still be
disputed (the return window, 7 days) or while a dispute on it is open, then
*payable*. A payout takes what is payable: a Stripe Connect transfer when the
publisher has a connected account and the Stripe server supports transfers, else a
bank transfer that an admin makes and records. Either way it is a ``payout`` ledger
entry (negative for the publisher), so that the balance stays a sum of the ledger.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, or_, select

from billing import stripe_gateway
from billing.ledger import balances
from billing.stripe_gateway import StripeRefused, StripeUnavailable
from marketplace import audit
from marketplace.errors import NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.governance.sectors import longest_return_window_days
from marketplace.models import (
    Dispute,
    DisputeStatus,
    Lead,
    LedgerEntry,
    LedgerKind,
    Organization,
    Sale,
    Sector,
    utcnow,
)

EARNING_KINDS = (LedgerKind.PUBLISHER_EARNING, LedgerKind.EARNING_REVERSAL)
ACCOUNT_ID = re.compile(r"^acct_[A-Za-z0-9]{6,60}$")


@dataclass(frozen=True)
class StatementLine:
    at: datetime
    kind: str
    lead_id: int | None
    sector: str
    sale_price_cents: int
    amount_cents: int
    currency: str
    status: str  # held, payable, reversed (an earning whose dispute was accepted), reversal


@dataclass
class Statement:
    publisher_id: int
    publisher_name: str
    month: date
    lines: list[StatementLine] = field(default_factory=list)
    payouts: list[LedgerEntry] = field(default_factory=list)
    held_cents: int = 0
    payable_cents: int = 0
    by_bank_transfer: bool = True

    @property
    def earned_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines if line.amount_cents > 0)

    @property
    def reversed_cents(self) -> int:
        return sum(line.amount_cents for line in self.lines if line.amount_cents < 0)

    @property
    def net_cents(self) -> int:
        return self.earned_cents + self.reversed_cents

    @property
    def paid_out_cents(self) -> int:
        return -sum(payout.amount_cents for payout in self.payouts)


def parse_month(value: str) -> date:
    match = re.fullmatch(r"(\d{4})-(\d{2})", value or "")
    if not match or not 1 <= int(match[2]) <= 12 or not 2000 <= int(match[1]) <= 2999:
        raise NotFound()
    return date(int(match[1]), int(match[2]), 1)


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _as_of(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=utcnow().tzinfo)


def _held_condition(now: datetime):
    """An earning still held: its sale within the return window, or disputed and open
    (one whose dispute was accepted is reversed, so no longer counted as held)."""
    # Each sector has its window; an earning waits for the longest, so that none is
    # paid out while its lead may still be returned.
    window_start = now - timedelta(days=longest_return_window_days())

    def dispute_in(*statuses):
        return exists().where(Dispute.sale_id == LedgerEntry.sale_id, Dispute.status.in_(statuses))

    return and_(
        LedgerEntry.kind == LedgerKind.PUBLISHER_EARNING,
        ~dispute_in(DisputeStatus.ACCEPTED),
        or_(
            LedgerEntry.sale_id.in_(select(Sale.id).where(Sale.created_at > window_start)),
            dispute_in(DisputeStatus.OPEN),
        ),
    )


def held_cents(publisher_id: int, now: datetime | None = None) -> int:
    now = now or utcnow()
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0)).where(
                LedgerEntry.organization_id == publisher_id, _held_condition(now)
            )
        )
    )


def payable_cents(publisher_id: int, now: datetime | None = None) -> int:
    """The publisher's balance less what is held: what a payout may take now."""
    now = now or utcnow()
    balance = sum(balances(publisher_id).values())  # the ledger's sum, kept per currency
    return max(0, int(balance) - held_cents(publisher_id, now))


def statement(publisher_id: int, month: date, now: datetime | None = None) -> Statement:
    now = now or utcnow()
    publisher = db.session.get(Organization, publisher_id)
    start, end = _as_of(month), _as_of(_next_month(month))
    held_ids = set(
        db.session.scalars(
            select(LedgerEntry.id).where(
                LedgerEntry.organization_id == publisher_id, _held_condition(now)
            )
        )
    )
    reversed_sales = set(
        db.session.scalars(
            select(LedgerEntry.sale_id).where(
                LedgerEntry.organization_id == publisher_id,
                LedgerEntry.kind == LedgerKind.EARNING_REVERSAL,
            )
        )
    )

    def status_of(entry: LedgerEntry) -> str:
        if entry.kind is LedgerKind.EARNING_REVERSAL:
            return "reversal"
        if entry.sale_id in reversed_sales:
            return "reversed"
        return "held" if entry.id in held_ids else "payable"

    rows = db.session.execute(
        select(LedgerEntry, Sale.lead_id, Sale.price_cents, Sector.slug)
        .join(Sale, Sale.id == LedgerEntry.sale_id)
        .join(Lead, Lead.id == Sale.lead_id)
        .join(Sector, Sector.id == Lead.sector_id)
        .where(
            LedgerEntry.organization_id == publisher_id,
            LedgerEntry.kind.in_(EARNING_KINDS),
            LedgerEntry.created_at >= start,
            LedgerEntry.created_at < end,
        )
        .order_by(LedgerEntry.created_at, LedgerEntry.id)
    ).all()
    payouts = db.session.scalars(
        select(LedgerEntry)
        .where(
            LedgerEntry.organization_id == publisher_id,
            LedgerEntry.kind == LedgerKind.PAYOUT,
            LedgerEntry.created_at >= start,
            LedgerEntry.created_at < end,
        )
        .order_by(LedgerEntry.created_at)
    ).all()
    return Statement(
        publisher_id=publisher_id,
        publisher_name=publisher.name,
        month=month,
        lines=[
            StatementLine(
                at=entry.created_at,
                kind=entry.kind.value,
                lead_id=lead_id,
                sector=slug,
                sale_price_cents=price,
                amount_cents=entry.amount_cents,
                currency=entry.currency,
                status=status_of(entry),
            )
            for entry, lead_id, price, slug in rows
        ],
        payouts=list(payouts),
        held_cents=held_cents(publisher_id, now),
        payable_cents=payable_cents(publisher_id, now),
        by_bank_transfer=not (publisher.stripe_account_id and stripe_gateway.configured()),
    )


def months_of(publisher_id: int) -> list[tuple[date, int]]:
    """Each month with earnings or payouts, newest first, with its net amount."""
    entries = db.session.execute(
        select(LedgerEntry.created_at, LedgerEntry.amount_cents, LedgerEntry.kind).where(
            LedgerEntry.organization_id == publisher_id,
            LedgerEntry.kind.in_((*EARNING_KINDS, LedgerKind.PAYOUT)),
        )
    ).all()
    totals: dict[date, int] = {}
    for at, amount, kind in entries:
        month = date(at.year, at.month, 1)
        totals.setdefault(month, 0)
        if kind is not LedgerKind.PAYOUT:
            totals[month] += amount
    return sorted(totals.items(), reverse=True)


def statement_csv(found: Statement) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "date",
            "kind",
            "lead_id",
            "sector",
            "sale_price_cents",
            "amount_cents",
            "currency",
            "status",
        ]
    )
    for line in found.lines:
        writer.writerow(
            [
                line.at.isoformat(),
                line.kind,
                line.lead_id,
                line.sector,
                line.sale_price_cents,
                line.amount_cents,
                line.currency,
                line.status,
            ]
        )
    for payout in found.payouts:
        writer.writerow(
            [
                payout.created_at.isoformat(),
                "payout",
                "",
                "",
                "",
                payout.amount_cents,
                payout.currency,
                payout.stripe_object_id or "bank transfer",
            ]
        )
    return out.getvalue()


def set_connected_account(publisher_id: int, account_id: str | None, admin_user_id: int) -> None:
    account_id = (account_id or "").strip() or None
    if account_id and not ACCOUNT_ID.match(account_id):
        raise ValidationFailed(
            fields={"stripe_account_id": str(_l("A Stripe account id looks like acct_1A2b3C4d."))}
        )
    publisher = _publisher(publisher_id)
    publisher.stripe_account_id = account_id
    audit.record(
        "billing.connected_account_set",
        "organization",
        publisher_id,
        actor_user_id=admin_user_id,
        details={"stripe_account_id": account_id},
    )
    db.session.commit()


def _publisher(publisher_id: int, lock: bool = False) -> Organization:
    publisher = db.session.get(Organization, publisher_id, with_for_update=lock)
    if publisher is None or not publisher.is_publisher:
        raise NotFound()
    return publisher


def record_bank_payout(
    publisher_id: int, amount_cents: int, reference: str, admin_user_id: int
) -> LedgerEntry:
    """An admin made a bank transfer: book it, up to what is payable."""
    reference = " ".join((reference or "").split())[:60]
    publisher = _publisher(publisher_id, lock=True)  # one payout at a time per publisher
    fields = {}
    payable = payable_cents(publisher_id)
    if not reference:
        fields["reference"] = str(_l("Give the bank transfer's reference."))
    if not 0 < amount_cents <= payable:
        fields["amount"] = str(_l("A payout is between 0.01 and the payable amount."))
    if fields:
        db.session.rollback()
        raise ValidationFailed(fields=fields)
    entry = _payout_entry(publisher, amount_cents, f"Bank transfer {reference}")
    audit.record(
        "billing.payout_recorded",
        "organization",
        publisher_id,
        actor_user_id=admin_user_id,
        details={"amount_cents": amount_cents, "reference": reference},
    )
    db.session.commit()
    return entry


def pay_by_stripe(publisher_id: int, admin_user_id: int) -> LedgerEntry:
    """Transfer what is payable to the publisher's connected account.

    The payout entry is committed first (claiming the amount), the transfer made with
    a key derived from it, and its id stored; a transfer Stripe refuses (Connect not
    available, account not ready) is undone on the ledger by an opposite entry.
    """
    publisher = _publisher(publisher_id, lock=True)
    payable = payable_cents(publisher_id)
    if not publisher.stripe_account_id or payable <= 0:
        db.session.rollback()
        raise ValidationFailed(
            fields={"payout": str(_l("Nothing to transfer, or no connected Stripe account."))}
        )
    entry = _payout_entry(publisher, payable, "Stripe transfer")
    entry.mirror_started_at = utcnow()
    db.session.commit()
    try:
        transfer_id = stripe_gateway.transfer(
            publisher.stripe_account_id, payable, entry.currency, entry.entry_key
        )
    except StripeRefused as refusal:
        _undo_payout(entry, str(refusal))
        raise ValidationFailed(
            fields={"payout": str(_l("Stripe refused the transfer: pay by bank transfer."))}
        ) from refusal
    except StripeUnavailable:
        _undo_payout(entry, "Stripe unreachable")
        raise
    entry.stripe_object_id = transfer_id
    entry.mirrored_at = utcnow()
    audit.record(
        "billing.payout_transferred",
        "organization",
        publisher_id,
        actor_user_id=admin_user_id,
        details={"amount_cents": payable, "transfer": transfer_id},
    )
    db.session.commit()
    return entry


def _payout_entry(publisher: Organization, amount_cents: int, label: str) -> LedgerEntry:
    number = db.session.scalar(
        select(func.count(LedgerEntry.id)).where(
            LedgerEntry.organization_id == publisher.id, LedgerEntry.kind == LedgerKind.PAYOUT
        )
    )
    entry = LedgerEntry(
        entry_key=f"payout:{publisher.id}:{number + 1}",
        organization_id=publisher.id,
        kind=LedgerKind.PAYOUT,
        amount_cents=-amount_cents,
        currency="EUR",
        description=label,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def _undo_payout(entry: LedgerEntry, why: str) -> None:
    db.session.add(
        LedgerEntry(
            entry_key=f"{entry.entry_key}:undone",
            organization_id=entry.organization_id,
            kind=LedgerKind.PAYOUT,
            amount_cents=-entry.amount_cents,
            currency=entry.currency,
            description=f"Transfer not made: {why}"[:300],
        )
    )
    db.session.commit()
