"""Capture: validate, normalise, dedupe and store a lead with its consent proof.

The lead and its consent record are committed in one transaction before
anything else may fail; only then is the distribution job enqueued. A lead
whose job could not be enqueued stays ``pending`` for the sweeper.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from marketplace import jobs
from marketplace.consent import partner_list
from marketplace.errors import DomainError, ValidationFailed
from marketplace.extensions import db
from marketplace.models import (
    ConsentRecord,
    ConsentText,
    IdempotentRequest,
    Lead,
    LeadMagnet,
    LeadStatus,
    MagnetStatus,
    SuppressionEntry,
    utcnow,
)
from marketplace.validation import (
    BUDGETS,
    COMPANY_SIZES,
    TIMEFRAMES,
    FieldInvalid,
    clean_text,
    identity_hash,
    normalise_country,
    normalise_email,
    normalise_phone,
    normalise_postcode,
    normalise_siret,
    one_of,
)

log = logging.getLogger(__name__)

# Contact fields every magnet asks for.
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone")
# Free-text qualification fields a magnet may ask, with their maximum length.
TEXT_QUALIFICATION_FIELDS = {"company": 200, "job_title": 120, "message": 2000}
# Every qualification field a publisher may ask, in the order forms show them.
QUALIFICATION_FIELDS = (
    "company",
    "siret",
    "job_title",
    "company_size",
    "budget",
    "timeframe",
    "country",
    "postcode",
    "message",
)
CHOICE_RULES = {
    "company_size": one_of(COMPANY_SIZES),
    "budget": one_of(BUDGETS),
    "timeframe": one_of(TIMEFRAMES),
    "siret": normalise_siret,
}


class MagnetNotLive(DomainError):
    status = 404
    code = "magnet_not_live"
    default_message = _l("This form is not open at the moment.")


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


@dataclass(frozen=True)
class CapturedLead:
    lead_id: int
    status: LeadStatus
    certificate_id: str

    def as_json(self) -> dict:
        """The posting API's answer: ``accepted`` for a lead on its way to buyers."""
        public = "accepted" if self.status is LeadStatus.PENDING else self.status.value
        return {"id": self.lead_id, "status": public, "certificate_id": self.certificate_id}


@dataclass(frozen=True)
class Idempotency:
    organization_id: int
    key: str
    request_sha256: str


class IdempotencyKeyUsed(Exception):
    """Another request stored this Idempotency-Key first."""


def asked_fields(magnet: LeadMagnet) -> dict[str, bool]:
    """Qualification field name -> required, as the publisher configured the magnet."""
    return {spec["name"]: bool(spec.get("required")) for spec in magnet.fields or []}


CONSENT_REQUIRED = _l("Tick the box to agree to be contacted by the partners.")
NOT_TEXT = _l("Send this field as text.")


def validate_submission(magnet: LeadMagnet, raw: Mapping[str, str], *, consent_given: bool) -> dict:
    """Normalised values of a submission, or ValidationFailed with a message per field."""
    cleaned: dict[str, object] = {}
    errors: dict[str, object] = {}
    if not consent_given:
        errors["consent"] = CONSENT_REQUIRED

    def check(name, rule):
        value = raw.get(name)
        if value is not None and not isinstance(value, str):
            errors[name] = NOT_TEXT
            return
        try:
            cleaned[name] = rule(value)
        except FieldInvalid as invalid:
            errors[name] = invalid.message

    for name in ("first_name", "last_name"):
        check(name, partial(clean_text, max_length=100, required=True))
    check("email", normalise_email)
    asked = asked_fields(magnet)
    country = "FR"
    if "country" in asked and (raw.get("country") or asked["country"]):
        check("country", normalise_country)
        country = cleaned.get("country") or "FR"
    cleaned["country"] = country
    check("phone", partial(normalise_phone, region=country))
    for name, required in asked.items():
        value = raw.get(name)
        if name == "country":
            continue  # read above: the phone and postcode rules depend on it
        if name in TEXT_QUALIFICATION_FIELDS:
            check(
                name,
                partial(clean_text, max_length=TEXT_QUALIFICATION_FIELDS[name], required=required),
            )
        elif name == "postcode" and (value or required):
            check("postcode", partial(normalise_postcode, country=country))
        elif name in CHOICE_RULES and (value or required):
            check(name, CHOICE_RULES[name])
    if errors:
        raise ValidationFailed(fields=errors)
    return cleaned


def capture_lead(
    magnet_id: int,
    cleaned: dict,
    *,
    consent_text_id: int,
    consent_given: bool,
    context: CaptureContext,
    now: datetime | None = None,
    enqueue_distribution: bool = True,
    idempotency: Idempotency | None = None,
) -> CapturedLead:
    """Store one validated submission with its consent record, then start distribution.

    ``enqueue_distribution=False`` leaves the lead pending for the caller (the demo
    seeder distributes at the lead's own past time). With ``idempotency`` the
    request's key is stored in the lead's own transaction, so two concurrent
    requests with one key can never both create a lead: the second raises
    ``IdempotencyKeyUsed``.
    """
    now = now or utcnow()
    if not consent_given:
        raise ValidationFailed(fields={"consent": CONSENT_REQUIRED})
    magnet = db.session.get(LeadMagnet, magnet_id)
    if magnet is None or magnet.status is not MagnetStatus.LIVE:
        raise MagnetNotLive()
    consent_text = db.session.get(ConsentText, consent_text_id)
    if consent_text is None or consent_text.magnet_id != magnet.id:
        raise ValidationFailed(fields={"consent": _l("This form is out of date: reload the page.")})

    email_hash = identity_hash(cleaned["email"])
    phone = cleaned.get("phone")
    status = _initial_status(email_hash, magnet.sector_id, now)
    lead = Lead(
        magnet_id=magnet.id,
        publisher_id=magnet.publisher_id,
        sector_id=magnet.sector_id,
        status=status,
        max_buyers=magnet.max_buyers,
        first_name=cleaned.get("first_name"),
        last_name=cleaned.get("last_name"),
        email=cleaned["email"],
        phone=phone,
        email_hash=email_hash,
        phone_hash=identity_hash(phone) if phone else None,
        company=cleaned.get("company"),
        siret=cleaned.get("siret"),
        job_title=cleaned.get("job_title"),
        company_size=cleaned.get("company_size"),
        budget=cleaned.get("budget"),
        timeframe=cleaned.get("timeframe"),
        message=cleaned.get("message"),
        postcode=cleaned.get("postcode"),
        country=cleaned.get("country") or "FR",
        page_url=context.page_url,
        utm=context.utm,
        variant=context.variant,
        created_at=now,
    )
    record = ConsentRecord(
        lead=lead,
        certificate_id=secrets.token_urlsafe(18),
        consent_text_id=consent_text.id,
        text_sha256=consent_text.sha256,
        checkboxes={"share_with_partners": True},
        partners=partner_list(magnet.sector_id, magnet.sector.parent_id),
        consented_at=context.consented_at or now,
        ip=context.ip,
        user_agent=(context.user_agent or "")[:500] or None,
        page_url=context.page_url,
        referrer=context.referrer,
        utm=context.utm,
        form_variant=context.variant,
        channel=context.channel,
    )
    db.session.add_all([lead, record])
    if idempotency is not None:
        db.session.flush()
        db.session.add(
            IdempotentRequest(
                organization_id=idempotency.organization_id,
                key=idempotency.key,
                request_sha256=idempotency.request_sha256,
                lead_id=lead.id,
                status_code=201,
                response=CapturedLead(lead.id, status, record.certificate_id).as_json(),
                created_at=now,
            )
        )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        if idempotency is not None:
            raise IdempotencyKeyUsed() from None
        raise
    captured = CapturedLead(lead.id, status, record.certificate_id)

    if status is LeadStatus.PENDING and enqueue_distribution:
        start_distribution(lead.id)
    return captured


def start_distribution(lead_id: int) -> None:
    """Enqueue the distribution job; if the queue is down the lead waits, pending."""
    from marketplace.matching import distribute_lead

    try:
        jobs.enqueue(distribute_lead, lead_id)
    except jobs.EnqueueFailed:
        log.warning("lead %s stays pending: could not enqueue its distribution", lead_id)


def sweep_pending_leads(older_than_seconds: int = 60, limit: int = 1000) -> int:
    """Start again the distribution of leads pending for more than a minute.

    Catches a lead whose job could not be enqueued (Redis down) or was lost
    (a worker killed with no retry left). Distribution is idempotent, so a lead
    whose job is merely slow loses nothing by being enqueued twice.
    """
    if not jobs.run_once_per_period("sweep_pending_leads", 60):
        return 0
    cutoff = utcnow() - timedelta(seconds=older_than_seconds)
    lead_ids = list(
        db.session.scalars(
            select(Lead.id)
            .where(Lead.status == LeadStatus.PENDING, Lead.created_at < cutoff)
            .order_by(Lead.id)
            .limit(limit)
        )
    )
    db.session.rollback()  # release the read before the jobs run (inline) or queue
    for lead_id in lead_ids:
        start_distribution(lead_id)
    if lead_ids:
        log.info("sweeper: %d pending lead(s) sent to distribution again", len(lead_ids))
    return len(lead_ids)


def _initial_status(email_hash: str, sector_id: int, now: datetime) -> LeadStatus:
    """Suppressed people are not saleable; the same person in a sector recently is a duplicate."""
    if db.session.get(SuppressionEntry, email_hash) is not None:
        return LeadStatus.REJECTED
    window = timedelta(days=current_app.config["DEDUPE_WINDOW_DAYS"])
    earlier = db.session.scalar(
        select(Lead.id)
        .where(
            Lead.email_hash == email_hash,
            Lead.sector_id == sector_id,
            Lead.created_at >= now - window,
            Lead.status.notin_([LeadStatus.REJECTED, LeadStatus.ERASED]),
        )
        .limit(1)
    )
    return LeadStatus.DUPLICATE if earlier is not None else LeadStatus.PENDING
