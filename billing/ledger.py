"""Balances are sums of the ledger (domain.md): nothing else holds money.

The database keeps each sum as the entries are written (``ledger_balances``, by the
triggers of migration 0020, in the transaction of each insert): a page reads one row
per currency instead of adding up a buyer's hundreds of thousands of entries.
``summed_balances`` adds the ledger itself up, to check the kept sums against it.
"""

from __future__ import annotations

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import LedgerBalance, LedgerEntry


def balances(organization_id: int) -> dict[str, int]:
    """Signed balance per currency, in cents (a buyer's is negative: what it owes)."""
    rows = db.session.execute(
        select(LedgerBalance.currency, LedgerBalance.balance_cents)
        .where(LedgerBalance.organization_id == organization_id)
        .order_by(LedgerBalance.currency)
    ).all()
    return {currency: int(total) for currency, total in rows}


def summed_balances(organization_id: int) -> dict[str, int]:
    """The same balances added up from the ledger's entries (what ``balances`` must
    always equal)."""
    rows = db.session.execute(
        select(LedgerEntry.currency, func.sum(LedgerEntry.amount_cents))
        .where(LedgerEntry.organization_id == organization_id)
        .group_by(LedgerEntry.currency)
        .order_by(LedgerEntry.currency)
    ).all()
    return {currency: int(total) for currency, total in rows}
