"""The admins' decisions on an organization: approve a publisher, suspend or reinstate a
buyer or a publisher, set a publisher's revenue share; each with a reason, in the audit
trail, and told to the organization's people on their pages.

What a decision does to selling:

- a **suspended buyer** is held like a buyer whose billing needs attention: its
  ``billing_status`` becomes ``suspended``, which the sale's own statement checks, so its
  campaigns stop at the next lead and the catalogue refuses it;
- a **publisher awaiting approval or suspended** keeps capturing: its leads are stored
  (nothing the person sent is lost) but not sold, marked unsold with the reason in the
  decision log, and kept out of the catalogue (``selling_publishers``). Once approved or
  reinstated, its held leads still fresh are offered again.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, cast, func, or_, select, update

from marketplace import audit, jobs
from marketplace.errors import NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.models import (
    AuditEvent,
    BillingStatus,
    Campaign,
    CampaignStatus,
    Dispute,
    Invoice,
    Lead,
    LeadMagnet,
    LeadStatus,
    LedgerEntry,
    Organization,
    OrganizationKind,
    Sale,
    User,
    utcnow,
)

AWAITING_APPROVAL = "publisher_awaiting_approval"
SUSPENDED = "publisher_suspended"
REASON_MAX = 1000


def publisher_hold(approved: bool, suspended_at: datetime | None) -> str | None:
    """Why a publisher's leads are not sold now, or None: they are."""
    if suspended_at is not None:
        return SUSPENDED
    if not approved:
        return AWAITING_APPROVAL
    return None


def selling_publishers():
    """The publishers whose leads may be sold: one rule for distribution's read, the
    catalogue's list and its purchase."""
    return select(Organization.id).where(
        Organization.approved.is_(True), Organization.suspended_at.is_(None)
    )


@dataclass(frozen=True)
class OrganizationRow:
    organization: Organization
    users: int
    standing: str  # "good", "awaiting_approval", "suspended", or a buyer's billing status


STANDINGS = ("good", "awaiting_approval", "suspended", "held_by_billing")


def standing_of(organization: Organization) -> str:
    if organization.suspended_at is not None:
        return "suspended"
    if organization.kind is OrganizationKind.PUBLISHER and not organization.approved:
        return "awaiting_approval"
    if (
        organization.kind is OrganizationKind.BUYER
        and organization.billing_status is not BillingStatus.GOOD
    ):
        return "held_by_billing"
    return "good"


def search(
    text: str | None = None,
    kind: OrganizationKind | None = None,
    standing: str | None = None,
    *,
    limit: int = 50,
    before_id: int | None = None,
) -> list[OrganizationRow]:
    """Organizations, newest first, by name, id, SIREN/SIRET or a user's e-mail."""
    users = (
        select(func.count(User.id)).where(User.organization_id == Organization.id)
    ).scalar_subquery()
    query = select(Organization, users)
    if text:
        pattern = f"%{text.lower()}%"
        query = query.where(
            or_(
                func.lower(Organization.name).like(pattern),
                Organization.legal_id.like(pattern),
                cast(Organization.id, String) == text,
                Organization.id.in_(
                    select(User.organization_id).where(func.lower(User.email).like(pattern))
                ),
            )
        )
    if kind is not None:
        query = query.where(Organization.kind == kind)
    if standing == "suspended":
        query = query.where(Organization.suspended_at.is_not(None))
    elif standing == "awaiting_approval":
        query = query.where(
            Organization.kind == OrganizationKind.PUBLISHER,
            Organization.approved.is_(False),
            Organization.suspended_at.is_(None),
        )
    elif standing == "held_by_billing":
        query = query.where(
            Organization.kind == OrganizationKind.BUYER,
            Organization.suspended_at.is_(None),
            Organization.billing_status != BillingStatus.GOOD,
        )
    elif standing == "good":
        query = query.where(
            Organization.suspended_at.is_(None),
            or_(
                (Organization.kind == OrganizationKind.PUBLISHER) & Organization.approved,
                (Organization.kind == OrganizationKind.BUYER)
                & (Organization.billing_status == BillingStatus.GOOD),
            ),
        )
    if before_id is not None:
        query = query.where(Organization.id < before_id)
    rows = db.session.execute(query.order_by(Organization.id.desc()).limit(limit)).all()
    return [OrganizationRow(org, count, standing_of(org)) for org, count in rows]


def _locked(organization_id: int) -> Organization:
    organization = db.session.scalar(
        select(Organization).where(Organization.id == organization_id).with_for_update()
    )
    if organization is None:
        raise NotFound()
    return organization


def _reason(reason: str | None, *, required: bool) -> str | None:
    reason = (reason or "").strip()
    if required and not reason:
        raise ValidationFailed(fields={"reason": str(_l("Say why: the organization reads it."))})
    if len(reason) > REASON_MAX:
        raise ValidationFailed(
            fields={"reason": str(_l("At most %(count)d characters.", count=REASON_MAX))}
        )
    return reason or None


def _record(action: str, organization: Organization, admin_id: int, **details) -> None:
    audit.record(action, "organization", organization.id, actor_user_id=admin_id, details=details)


def approve(organization_id: int, admin_id: int, reason: str | None = None) -> int:
    """Approve a publisher: its leads are sold from now on, and those it captured while
    waiting, still fresh, are offered. Returns how many were offered again."""
    organization = _locked(organization_id)
    if organization.kind is not OrganizationKind.PUBLISHER:
        raise ValidationFailed(
            str(_l("Only publishers are approved; a buyer is suspended or reinstated."))
        )
    if organization.approved:
        db.session.rollback()
        return 0
    organization.approved = True
    if organization.suspended_at is None:
        organization.standing_reason = None
    _record("organization.approved", organization, admin_id, reason=_reason(reason, required=False))
    lead_ids = _release_held_leads(organization)
    db.session.commit()
    _offer_again(lead_ids)
    return len(lead_ids)


def suspend(organization_id: int, admin_id: int, reason: str) -> None:
    """Suspend a buyer (its campaigns stop at the next lead) or a publisher (its leads
    are kept, not sold), saying why."""
    reason = _reason(reason, required=True)
    organization = _locked(organization_id)
    if organization.suspended_at is not None:
        raise ValidationFailed(
            fields={"reason": str(_l("This organization is already suspended."))}
        )
    organization.suspended_at = utcnow()
    organization.standing_reason = reason
    before = organization.billing_status
    if organization.kind is OrganizationKind.BUYER:
        organization.billing_status = BillingStatus.SUSPENDED
    _record(
        "organization.suspended",
        organization,
        admin_id,
        reason=reason,
        billing_status_before=before.value,
    )
    db.session.commit()


def reinstate(organization_id: int, admin_id: int, reason: str | None = None) -> int:
    """Lift a suspension. A buyer's billing standing is found again from what it owes
    and its invoices; a publisher's held leads still fresh are offered again (returned:
    how many)."""
    organization = _locked(organization_id)
    if organization.suspended_at is None:
        raise ValidationFailed(fields={"reason": str(_l("This organization is not suspended."))})
    organization.suspended_at = None
    organization.standing_reason = None
    lead_ids: list[int] = []
    if organization.kind is OrganizationKind.BUYER:
        organization.billing_status = _standing_without_suspension(organization)
    elif organization.approved:
        lead_ids = _release_held_leads(organization)
    _record(
        "organization.reinstated",
        organization,
        admin_id,
        reason=_reason(reason, required=False),
        billing_status=organization.billing_status.value,
    )
    db.session.commit()
    if organization.kind is OrganizationKind.BUYER and organization.credit_limit_cents is not None:
        # The credit limit is billing's rule: its periodic run applies it too (every
        # 10 minutes), so a job lost with Redis only delays it.
        with contextlib.suppress(jobs.EnqueueFailed):
            jobs.enqueue("billing.standing:apply_credit_limits")
    _offer_again(lead_ids)
    return len(lead_ids)


def _standing_without_suspension(buyer: Organization) -> BillingStatus:
    if current_app.config.get("STRIPE_API_KEY") and not buyer.stripe_payment_method_id:
        return BillingStatus.NO_PAYMENT_METHOD
    failed = db.session.scalar(
        select(Invoice.id).where(
            Invoice.buyer_id == buyer.id,
            Invoice.status == "open",
            Invoice.payment_error.is_not(None),
        )
    )
    return BillingStatus.PAYMENT_FAILED if failed else BillingStatus.GOOD


def set_revenue_share(organization_id: int, admin_id: int, share_bps: int, reason: str) -> None:
    """A publisher's share of its leads' future sales (past earnings keep theirs)."""
    reason = _reason(reason, required=True)
    if not isinstance(share_bps, int) or not 0 <= share_bps <= 10_000:
        raise ValidationFailed(
            fields={"share_percent": str(_l("A share between 0 and 100 percent."))}
        )
    organization = _locked(organization_id)
    if organization.kind is not OrganizationKind.PUBLISHER:
        raise ValidationFailed(str(_l("Only publishers have a revenue share.")))
    before = organization.revenue_share_bps
    if before == share_bps:
        db.session.rollback()
        return
    organization.revenue_share_bps = share_bps
    _record(
        "organization.revenue_share_changed",
        organization,
        admin_id,
        reason=reason,
        before_bps=before,
        after_bps=share_bps,
    )
    db.session.commit()


def _release_held_leads(publisher: Organization) -> list[int]:
    """The publisher's leads held for its standing and still fresh, made pending again
    (in the caller's transaction)."""
    fresh_since = utcnow() - timedelta(days=current_app.config["LEAD_FRESHNESS_DAYS"])
    held = list(
        db.session.scalars(
            select(Lead.id).where(
                Lead.publisher_id == publisher.id,
                Lead.status == LeadStatus.UNSOLD,
                Lead.sales_count == 0,
                Lead.created_at >= fresh_since,
                Lead.held_for.is_not(None),
            )
        )
    )
    if held:
        db.session.execute(
            update(Lead)
            .where(Lead.id.in_(held))
            .values(status=LeadStatus.PENDING, held_for=None, distributed_at=None)
        )
    return held


def _offer_again(lead_ids: list[int]) -> None:
    # Committed first: a lost job leaves them pending, for the sweeper.
    from marketplace.capture.service import start_distribution

    for lead_id in lead_ids:
        start_distribution(lead_id)


@dataclass(frozen=True)
class OrganizationProfile:
    """One organization on one page: its people, money, leads and disputes."""

    organization: Organization
    standing: str
    users: list[User]
    balances: dict[str, int]  # currency -> cents, as its ledger sums them
    leads_by_status: dict[str, int]  # a publisher's captured leads; a buyer's purchases
    held_leads: int
    magnets: int
    active_campaigns: int
    disputes_by_status: dict[str, int]
    decisions: list  # the audit trail's events about it, newest first


def profile(organization_id: int) -> OrganizationProfile:
    organization = db.session.get(Organization, organization_id)
    if organization is None:
        raise NotFound()
    users = list(
        db.session.scalars(
            select(User).where(User.organization_id == organization_id).order_by(User.id)
        )
    )
    balances = dict(
        db.session.execute(
            select(LedgerEntry.currency, func.sum(LedgerEntry.amount_cents))
            .where(LedgerEntry.organization_id == organization_id)
            .group_by(LedgerEntry.currency)
        ).all()
    )
    is_publisher = organization.kind is OrganizationKind.PUBLISHER
    if is_publisher:
        by_status = select(Lead.status, func.count(Lead.id)).where(
            Lead.publisher_id == organization_id
        )
        leads_by_status = {
            status.value: count
            for status, count in db.session.execute(by_status.group_by(Lead.status)).all()
        }
        disputes = (
            select(Dispute.status, func.count(Dispute.id))
            .join(Sale, Sale.id == Dispute.sale_id)
            .join(Lead, Lead.id == Sale.lead_id)
            .where(Lead.publisher_id == organization_id)
        )
    else:
        leads_by_status = {
            "distributed": db.session.scalar(
                select(func.count(Sale.id)).where(Sale.buyer_id == organization_id)
            )
            or 0
        }
        disputes = (
            select(Dispute.status, func.count(Dispute.id))
            .join(Sale, Sale.id == Dispute.sale_id)
            .where(Sale.buyer_id == organization_id)
        )
    disputes_by_status = {
        getattr(status, "value", status): count
        for status, count in db.session.execute(disputes.group_by(Dispute.status)).all()
    }
    held = (
        db.session.scalar(
            select(func.count(Lead.id)).where(
                Lead.publisher_id == organization_id, Lead.held_for.is_not(None)
            )
        )
        if is_publisher
        else 0
    )
    magnets = (
        db.session.scalar(
            select(func.count(LeadMagnet.id)).where(LeadMagnet.publisher_id == organization_id)
        )
        if is_publisher
        else 0
    )
    campaigns = (
        0
        if is_publisher
        else db.session.scalar(
            select(func.count(Campaign.id)).where(
                Campaign.buyer_id == organization_id, Campaign.status == CampaignStatus.ACTIVE
            )
        )
    )
    decisions = list(
        db.session.scalars(
            select(AuditEvent)
            .where(
                or_(
                    (AuditEvent.subject_type == "organization")
                    & (AuditEvent.subject_id == organization_id),
                    AuditEvent.actor_organization_id == organization_id,
                )
            )
            .order_by(AuditEvent.id.desc())
            .limit(20)
        )
    )
    return OrganizationProfile(
        organization=organization,
        standing=standing_of(organization),
        users=users,
        balances={currency: int(cents or 0) for currency, cents in balances.items()},
        leads_by_status=leads_by_status,
        held_leads=held or 0,
        magnets=magnets or 0,
        active_campaigns=campaigns or 0,
        disputes_by_status=disputes_by_status,
        decisions=decisions,
    )
