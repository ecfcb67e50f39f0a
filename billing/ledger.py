"""Balances are sums of the ledger (domain.md): nothing else holds money."""

from __future__ import annotations

from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import LedgerEntry


def balances(organization_id: int) -> dict[str, int]:
    """Signed balance per currency, in cents (a buyer's is negative: what it owes)."""
    rows = db.session.execute(
        select(LedgerEntry.currency, func.sum(LedgerEntry.amount_cents))
        .where(LedgerEntry.organization_id == organization_id)
        .group_by(LedgerEntry.currency)
    ).all()
    return {currency: int(total) for currency, total in rows}
