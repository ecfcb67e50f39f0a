"""Capture: store a validated lead with its consent proof, then start its distribution.

The lead and its consent record are committed in one transaction before
anything else may fail; only then is the distribution job enqueued. A lead
whose job could not be enqueued stays ``pending`` for the sweeper.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from marketplace import jobs
from marketplace.capture import store
from marketplace.capture.rules import CONSENT_REQUIRED
from marketplace.capture.targets import CaptureTarget, ConsentVersion
from marketplace.errors import DomainError, ValidationFailed
from marketplace.extensions import db
from marketplace.models import Lead, LeadStatus, SourceQuality, utcnow
from marketplace.quality.sources import neutral_score
from marketplace.validation import identity_hash

log = logging.getLogger(__name__)


class MagnetNotLive(DomainError):
    status = 404
    code = "magnet_not_live"
    default_message = _l("This form is not open at the moment.")


class IdempotencyKeyUsed(Exception):
    """Another request stored this Idempotency-Key first."""


class FormTokenUsed(DomainError):
    status = 409
    code = "form_already_sent"
    default_message = _l("This form was already sent: your request is recorded.")


@dataclass
class CaptureContext:
    """Where and how the person consented; stored in the consent record."""

    ip: str | None = None
    user_agent: str | None = None
    page_url: str | None = None
    referrer: str | None = None
    utm: dict = field(default_factory=dict)
    variant: str | None = None
    channel: str = "form"
    consented_at: datetime | None = None
    form_nonce: str | None = None  # the form token's, kept to make it single-use


@dataclass(frozen=True)
class Idempotency:
    organization_id: int
    key: str
    request_sha256: str


@dataclass(frozen=True)
class CapturedLead:
    lead_id: int
    status: LeadStatus
    certificate_id: str

    def as_json(self) -> dict:
        """The posting API's answer: ``accepted`` for a lead on its way to buyers."""
        public = "accepted" if self.status is LeadStatus.PENDING else self.status.value
        return {"id": self.lead_id, "status": public, "certificate_id": self.certificate_id}


def capture_lead(
    target: CaptureTarget,
    cleaned: dict,
    *,
    consent_text: ConsentVersion,
    consent_given: bool,
    context: CaptureContext,
    now: datetime | None = None,
    enqueue_distribution: bool = True,
    idempotency: Idempotency | None = None,
) -> CapturedLead:
    """Store one validated submission with its consent record, then start distribution.

    The same person in the same sector within the dedupe window is stored as a
    ``duplicate``, a suppressed e-mail as ``rejected``: neither is sold. The person's
    earlier leads are counted (``earlier_visits``), and a person back after the dedupe
    window whose last lead in the sector went unsold or was returned gets a recycled
    lead (``recycled_from_id``): both in the insert's own statement.
    ``enqueue_distribution=False`` leaves the lead pending for the caller (the demo
    seeder distributes at the lead's own past time). With ``idempotency`` the key is
    stored in the lead's own transaction, so two concurrent requests with one key can
    never both create a lead: the second raises ``IdempotencyKeyUsed``.
    """
    now = now or utcnow()
    if not consent_given:
        raise ValidationFailed(fields={"consent": CONSENT_REQUIRED})
    if not target.live:
        raise MagnetNotLive()
    email_hash = identity_hash(cleaned["email"])
    phone = cleaned.get("phone")
    certificate_id = secrets.token_urlsafe(18)
    lead = {
        "magnet_id": target.id,
        "publisher_id": target.publisher_id,
        "sector_id": target.sector_id,
        "max_buyers": target.max_buyers,
        "sales_count": 0,
        "sold_exclusively": False,
        "first_name": cleaned.get("first_name"),
        "last_name": cleaned.get("last_name"),
        "email": cleaned["email"],
        "phone": phone,
        "email_hash": email_hash,
        "phone_hash": identity_hash(phone) if phone else None,
        "company": cleaned.get("company"),
        "siret": cleaned.get("siret"),
        "job_title": cleaned.get("job_title"),
        "company_size": cleaned.get("company_size"),
        "budget": cleaned.get("budget"),
        "timeframe": cleaned.get("timeframe"),
        "housing": cleaned.get("housing"),
        "message": cleaned.get("message"),
        "postcode": cleaned.get("postcode"),
        "country": cleaned.get("country") or "FR",
        "page_url": context.page_url,
        "utm": context.utm,
        "variant": context.variant,
        "score_explanation": [],
        "distribution_log": [],
        "created_at": now,
    }
    consent = {
        "certificate_id": certificate_id,
        "consent_text_id": consent_text.id,
        "text_sha256": consent_text.sha256,
        "checkboxes": {"share_with_partners": True},
        "partner_list_id": target.partner_list_id,
        "consented_at": context.consented_at or now,
        "ip": context.ip,
        "user_agent": (context.user_agent or "")[:500] or None,
        "page_url": context.page_url,
        "referrer": context.referrer,
        "utm": context.utm,
        "form_variant": context.variant,
        "channel": context.channel,
        "form_nonce": context.form_nonce,
    }
    key = None
    if idempotency is not None:
        key = {
            "organization_id": idempotency.organization_id,
            "key": idempotency.key,
            "request_sha256": idempotency.request_sha256,
            "status_code": 201,
            "created_at": now,
        }
    windows = store.PersonWindows(
        dedupe_since=now - timedelta(days=current_app.config["DEDUPE_WINDOW_DAYS"]),
        visits_since=now - timedelta(days=current_app.config["EARLIER_VISITS_DAYS"]),
    )
    try:
        lead_id, status = store.insert_lead(lead, consent, windows=windows, idempotency=key)
    except IntegrityError:
        if idempotency is not None:
            raise IdempotencyKeyUsed() from None
        if context.form_nonce is not None:
            raise FormTokenUsed() from None
        raise
    if status is LeadStatus.PENDING and enqueue_distribution:
        start_distribution(lead_id)
    return CapturedLead(lead_id, status, certificate_id)


def start_distribution(lead_id: int) -> None:
    """Have the new lead distributed: with a queue, wake the workers' run over every
    pending lead (coalesced: not a job per lead), from this process's waker thread so
    that the answer does not wait for Redis; without one, distribute it now. If the
    queue is down the lead waits, pending, for the sweep."""
    try:
        if current_app.config["REDIS_URL"]:
            jobs.wake_soon("marketplace.distribution:distribute_pending")
        else:
            jobs.enqueue("marketplace.distribution:distribute_lead", lead_id)
    except jobs.EnqueueFailed:
        log.warning("lead %s stays pending: could not wake its distribution", lead_id)


def _redistribute(lead_id: int) -> None:
    """The sweep's: one job for one lead, in the order the sweep chose."""
    try:
        jobs.enqueue("marketplace.distribution:distribute_lead", lead_id)
    except jobs.EnqueueFailed:
        log.warning("lead %s stays pending: could not enqueue its distribution", lead_id)


def sweep_pending_leads(older_than_seconds: int = 60, limit: int = 1000) -> int:
    """Start again the distribution of leads pending for more than a minute.

    Catches a lead whose job could not be enqueued (Redis down) or was lost
    (a worker killed with no retry left), and a lead that waited for a campaign's
    opening hours once they have come. Distribution is idempotent, so a lead whose
    job is merely slow loses nothing by being enqueued twice.
    """
    if not jobs.run_once_per_period("sweep_pending_leads", 60):
        return 0
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    lead_ids = list(
        db.session.scalars(
            select(Lead.id)
            .where(
                Lead.status == LeadStatus.PENDING,
                Lead.created_at < cutoff,
                or_(Lead.distribute_after.is_(None), Lead.distribute_after <= utcnow()),
            )
            # Leads released together (their campaigns' opening hours came) go best
            # source first: a cap that fills up fills with the better leads.
            .outerjoin(SourceQuality, SourceQuality.magnet_id == Lead.magnet_id)
            .order_by(func.coalesce(SourceQuality.score, neutral_score()).desc(), Lead.id)
            .limit(limit)
        )
    )
    db.session.rollback()  # release the read before the jobs run (inline) or queue
    for lead_id in lead_ids:
        _redistribute(lead_id)
    if lead_ids:
        log.info("sweeper: %d pending lead(s) sent to distribution again", len(lead_ids))
    return len(lead_ids)
