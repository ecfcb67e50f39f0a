"""A claim decided by the rules as soon as it is opened, and the figures a person
deciding the others reads: the buyer's return rate."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import case, func, select
from sqlalchemy.exc import OperationalError

from marketplace import disputes
from marketplace.extensions import db
from marketplace.models import (
    BillingStatus,
    Dispute,
    DisputeStatus,
    Organization,
    Sale,
    utcnow,
)
from marketplace.returns import flags
from marketplace.returns.rules import RETURN_CAP, current_rules

log = logging.getLogger(__name__)
RATE_DAYS = 90


def open_dispute_and_decide(
    buyer_id: int, sale_id: int, reason: str, comment: str | None, *, now: datetime | None = None
) -> Dispute:
    """The buyer's claim (disputes.open_dispute: its checks, its errors), then the rules'
    decision on it. The claim is committed first: whatever the rules say, it stands."""
    dispute = disputes.open_dispute(buyer_id, sale_id, reason, comment, now=now)
    decide_by_rules(dispute.id, now=now)
    return db.session.get(Dispute, dispute.id)


def decide_by_rules(dispute_id: int, *, now: datetime | None = None) -> str | None:
    """Accept an open dispute when a rule says so, through disputes.resolve_dispute (the
    credit booked once, the webhook, the buyer's mail) with the rule named on the dispute
    and in the audit trail. Returns the rule, or None: the claim waits for a person.
    Rules only ever accept."""
    now = now or utcnow()
    dispute = db.session.get(Dispute, dispute_id)
    if dispute is None or dispute.status is not DisputeStatus.OPEN:
        return None
    rules = current_rules()
    sale = db.session.get(Sale, dispute.sale_id)
    try:
        if rules.platform_flagged:
            flagged = flags.flag_of(sale)
            if flagged is not None:
                rule, facts = flagged
                return _accept(dispute_id, rule, facts, now)
        if rules.return_cap:
            facts = _within_cap(dispute.buyer_id, rules.cap_percent, now)
            if facts is not None:
                return _accept(dispute_id, RETURN_CAP, facts, now)
    except (OperationalError, disputes.DisputeClosed):
        # A deadlock's victim, or an admin who decided first: the claim is a person's.
        db.session.rollback()
        log.warning("dispute %s left to a person: the rules could not decide", dispute_id)
        return None
    db.session.rollback()  # ends the buyer's lock, if taken
    return None


def _accept(dispute_id: int, rule: str, facts: dict, now: datetime) -> str:
    disputes.resolve_dispute(
        dispute_id,
        admin_user_id=None,
        accept=True,
        now=now,
        decided_by_rule=rule,
        rule_facts=facts,
    )
    return rule


def _within_cap(buyer_id: int, cap_percent: int, now: datetime) -> dict | None:
    """The figures when one more accepted return keeps the buyer at or below its cap
    this month, None otherwise (or when the buyer is not in good standing).

    The buyer's row is locked (FOR NO KEY UPDATE, which sales to it do not wait for)
    until the acceptance commits: two claims at once at the edge of the cap count one
    after the other, so that only one of them passes."""
    buyer = db.session.scalar(
        select(Organization)
        .where(Organization.id == buyer_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    if buyer is None or buyer.billing_status is not BillingStatus.GOOD or buyer.suspended_at:
        return None
    since = month_start(now, buyer.timezone)
    bought = db.session.scalar(
        select(func.count(Sale.id)).where(
            Sale.buyer_id == buyer_id, Sale.created_at >= since, Sale.created_at <= now
        )
    )
    accepted = db.session.scalar(
        select(func.count(Dispute.id)).where(
            Dispute.buyer_id == buyer_id,
            Dispute.status == DisputeStatus.ACCEPTED,
            Dispute.resolved_at >= since,
        )
    )
    # In whole numbers: (accepted + this one) / bought <= cap %.
    if (accepted + 1) * 100 > cap_percent * bought:
        return None
    return {
        "cap_percent": cap_percent,
        "leads_bought_this_month": bought,
        "returns_accepted_this_month": accepted + 1,
        "month_from": since.isoformat(),
    }


def month_start(now: datetime, timezone: str | None) -> datetime:
    """The first instant of ``now``'s calendar month in the buyer's timezone, in UTC."""
    try:
        zone = ZoneInfo(timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    local = now.astimezone(zone)
    first = datetime(local.year, local.month, 1, tzinfo=zone)
    return first.astimezone(UTC)


# ---------------------------------------------------------------- the buyer's rate


@dataclass(frozen=True)
class Rate:
    """Of the leads a buyer bought in a period: how many it claimed back, how many were
    accepted (whenever). One dispute per sale: never more than 100 %."""

    bought: int = 0
    claimed: int = 0
    accepted: int = 0

    @property
    def claimed_percent(self) -> float | None:
        return 100 * self.claimed / self.bought if self.bought else None

    @property
    def accepted_percent(self) -> float | None:
        return 100 * self.accepted / self.bought if self.bought else None


@dataclass(frozen=True)
class ReturnRates:
    this_month: Rate
    last_90_days: Rate
    month_from: datetime


def return_rates(buyer_ids: list[int], *, now: datetime | None = None) -> dict[int, ReturnRates]:
    """Each buyer's return rate this month (in its timezone, as its cap counts) and over
    the last 90 days: one query per timezone among the buyers, and one for the 90 days."""
    now = now or utcnow()
    buyer_ids = sorted(set(buyer_ids))
    if not buyer_ids:
        return {}
    zones: dict[str, list[int]] = {}
    for buyer_id, zone in db.session.execute(
        select(Organization.id, Organization.timezone).where(Organization.id.in_(buyer_ids))
    ):
        zones.setdefault(zone or "UTC", []).append(buyer_id)
    month: dict[int, Rate] = {}
    month_from: dict[int, datetime] = {}
    for zone, ids in zones.items():
        since = month_start(now, zone)
        month |= _rates(ids, since, now)
        month_from |= dict.fromkeys(ids, since)
    recent = _rates(buyer_ids, now - timedelta(days=RATE_DAYS), now)
    return {
        buyer_id: ReturnRates(
            this_month=month.get(buyer_id, Rate()),
            last_90_days=recent.get(buyer_id, Rate()),
            month_from=month_from.get(buyer_id, month_start(now, "UTC")),
        )
        for buyer_id in buyer_ids
    }


def _rates(buyer_ids: list[int], since: datetime, until: datetime) -> dict[int, Rate]:
    accepted = case((Dispute.status == DisputeStatus.ACCEPTED, 1), else_=0)
    rows = db.session.execute(
        select(
            Sale.buyer_id,
            func.count(Sale.id),
            func.count(Dispute.id),
            func.coalesce(func.sum(accepted), 0),
        )
        .outerjoin(Dispute, Dispute.sale_id == Sale.id)
        .where(Sale.buyer_id.in_(buyer_ids), Sale.created_at >= since, Sale.created_at <= until)
        .group_by(Sale.buyer_id)
    )
    return {
        buyer_id: Rate(bought, claimed, int(taken)) for buyer_id, bought, claimed, taken in rows
    }
