"""The posting API: publishers' servers post leads, check their worth, follow them."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from apiflask import APIBlueprint
from apiflask.exceptions import HTTPError
from flask import current_app, request
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, select

from marketplace import capture, guards
from marketplace.api import api_organization, count_call, token_auth
from marketplace.errors import ValidationFailed
from marketplace.estimates import estimate
from marketplace.extensions import db, limiter
from marketplace.labels import DISQUALIFIED_FOR_LABELS
from marketplace.models import (
    ConsentRecord,
    IdempotentRequest,
    Lead,
    LeadStatus,
    LedgerEntry,
    LedgerKind,
    Sale,
    utcnow,
)
from marketplace.validation import FieldInvalid, identity_hash, normalise_email
from publishers.api_schemas import LeadCreated, LeadIn, LeadOut, PingIn, PingOut

blueprint = APIBlueprint("publisher_api", __name__, url_prefix="/api/v1", tag="Publishers")


# Its calls are counted by count_call, per organization (docs/capture.md, "Limits").
limiter.count_in_views(blueprint)


CONTACT_PATHS = {name: f"contact.{name}" for name in capture.CONTACT_FIELDS}


# Per organization, whatever its keys (the leads' own limit is API_RATE_LIMIT).
PING_RATE_LIMIT = "600 per minute"


def _invalid(fields: dict) -> HTTPError:
    return HTTPError(422, message=str(_l("Some fields are not valid.")), detail=fields)


def _publisher_target(publisher_id: int, key: str) -> capture.CaptureTarget:
    target = capture.capture_target(key)
    if target is None or target.publisher_id != publisher_id:
        raise _invalid({"magnet": str(_l("No magnet of yours has this key."))})
    if not target.live:
        raise _invalid({"magnet": str(_l("This magnet is not live."))})
    return target


@blueprint.post("/leads")
@blueprint.auth_required(token_auth)
@blueprint.input(LeadIn, location="json", arg_name="body")
@blueprint.output(LeadCreated, status_code=201)
@blueprint.doc(
    summary="Post a lead",
    description="Stores the lead with its consent proof and starts its distribution. "
    "An `Idempotency-Key` header makes retries safe: the same key and body answer the "
    "first answer again; the same key with another body answers 409.",
    responses={
        409: "The Idempotency-Key was used with another body",
        413: "The body is over 64 KB",
        422: "Fields not valid, each named in error.fields",
        429: "Too many leads from this organization (all its keys) in the window of "
        "`MARKETPLACE_API_RATE_LIMIT`; the Retry-After header tells when to retry",
    },
)
def post_lead(body: LeadIn):
    count_call(current_app.config["API_RATE_LIMIT"], "leads")
    publisher_id = api_organization("publisher")
    idempotency = _idempotency(publisher_id)
    # A retry is answered from the stored answer without a look-up first: a valid body
    # meets its key in the insert's own statement (IdempotencyKeyUsed below), and one
    # refused now (a magnet paused since, a consent aged since) is looked up then.
    try:
        return _post_lead(publisher_id, body, idempotency)
    except HTTPError:
        replay = _replay(idempotency) if idempotency is not None else None
        if replay is None:
            raise
        return replay


def _post_lead(publisher_id: int, body: LeadIn, idempotency: capture.Idempotency | None):
    target = _publisher_target(publisher_id, body.magnet)
    consent_text = target.consent_text(version=body.consent.text_version)
    raw = {**body.contact.model_dump(), **body.qualification.model_dump(exclude_none=True)}
    errors = {}
    if consent_text is None:
        errors["consent.text_version"] = str(_l("This magnet has no consent text of this version."))
    implausible = guards.check_recent(
        body.consent.consented_at,
        max_age=timedelta(days=current_app.config["CONSENT_MAX_AGE_DAYS"]),
        now=utcnow(),
    )
    if implausible:
        errors["consent.consented_at"] = implausible
    try:
        cleaned = capture.validate_submission(
            target, raw, consent_given=body.consent.share_with_partners
        )
    except ValidationFailed as invalid:
        errors.update({_path(name): str(message) for name, message in invalid.fields.items()})
    if errors:
        raise _invalid(errors)
    tracking = body.tracking
    try:
        captured = capture.capture_lead(
            target,
            cleaned,
            consent_text=consent_text,
            consent_given=True,
            context=capture.CaptureContext(
                ip=str(body.consent.ip),
                user_agent=body.consent.user_agent,
                page_url=body.consent.page_url,
                referrer=tracking.referrer,
                utm=tracking.model_dump(exclude_none=True, exclude={"referrer", "variant"}),
                variant=tracking.variant,
                channel="api",
                consented_at=body.consent.consented_at,
            ),
            idempotency=idempotency,
        )
    except capture.IdempotencyKeyUsed:
        return _replay(idempotency)
    return captured.as_json(), 201


def _path(name: str) -> str:
    if name == "consent":
        return "consent.share_with_partners"
    return CONTACT_PATHS.get(name, f"qualification.{name}")


def _idempotency(publisher_id: int) -> capture.Idempotency | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= 255:
        raise HTTPError(400, message=str(_l("An Idempotency-Key has 1 to 255 characters.")))
    digest = hashlib.sha256(request.get_data()).hexdigest()
    return capture.Idempotency(publisher_id, key, digest)


_STORED_ANSWER = select(
    IdempotentRequest.__table__.c.request_sha256,
    IdempotentRequest.__table__.c.response,
    IdempotentRequest.__table__.c.status_code,
).where(
    IdempotentRequest.__table__.c.organization_id == bindparam("organization_id"),
    IdempotentRequest.__table__.c.key == bindparam("key"),
)  # built once: asked at every retry, it costs a statement's construction otherwise


def _replay(idempotency: capture.Idempotency):
    stored = db.session.execute(
        _STORED_ANSWER,
        {"organization_id": idempotency.organization_id, "key": idempotency.key},
    ).first()
    if stored is None:
        return None
    if stored.request_sha256 != idempotency.request_sha256:
        raise HTTPError(
            409,
            message=str(_l("This Idempotency-Key was used with another body.")),
            extra_data={"code": "idempotency_key_reused"},
        )
    return stored.response, stored.status_code, {"Idempotent-Replayed": "true"}


@blueprint.post("/leads/ping")
@blueprint.auth_required(token_auth)
@blueprint.input(PingIn, location="json", arg_name="body")
@blueprint.output(PingOut)
@blueprint.doc(
    summary="What a lead would earn now",
    description="How many buyers a lead with this qualification would be sold to right "
    "now, and the publisher's estimated payout from those sales (its revenue share times "
    "its magnet's quality multiplier), as distribution would choose them: the lead's "
    "score as the capture computes it (only the fields the magnet asks count), the "
    "campaigns in rank order, one buyer alone when an exclusive offer wins. Stores "
    "nothing. The optional `email` only counts the person's earlier visits; without it "
    "the person is taken as a first visitor, so the estimate is then a floor for a "
    "returning person. A publisher awaiting approval or suspended gets 0 buyers.",
    responses={422: "Fields not valid, each named in error.fields"},
)
def ping(body: PingIn):
    count_call(PING_RATE_LIMIT, "ping")
    publisher_id = api_organization("publisher")
    target = _publisher_target(publisher_id, body.magnet)
    email_hash = None
    if body.email is not None:
        try:
            email_hash = identity_hash(normalise_email(body.email))
        except FieldInvalid as invalid:
            raise _invalid({"email": str(invalid.message)}) from None
    answer = estimate(
        target,
        body.qualification.model_dump(exclude_none=True),
        utcnow(),
        phone_given=body.phone_given,
        email_hash=email_hash,
    )
    return {
        "eligible_buyers": answer.buyers,
        "estimated_payout_cents": answer.payout_cents,
        "currency": current_app.config["DEFAULT_CURRENCY"],
    }


@blueprint.get("/leads/<int:lead_id>")
@blueprint.auth_required(token_auth)
@blueprint.output(LeadOut)
@blueprint.doc(summary="A lead's status, sales and payout", responses={404: "Not your lead"})
def get_lead(lead_id: int):
    publisher_id = api_organization("publisher")
    row = db.session.execute(
        select(Lead, ConsentRecord.certificate_id)
        .join(ConsentRecord, ConsentRecord.lead_id == Lead.id)
        .where(Lead.id == lead_id, Lead.publisher_id == publisher_id)
    ).first()
    if row is None:
        raise HTTPError(404, message=str(_l("No lead of yours has this id.")))
    lead, certificate_id = row
    payout = db.session.scalar(
        select(func.coalesce(func.sum(LedgerEntry.amount_cents), 0))
        .join(Sale, Sale.id == LedgerEntry.sale_id)
        .where(
            Sale.lead_id == lead.id,
            LedgerEntry.organization_id == publisher_id,
            LedgerEntry.kind.in_([LedgerKind.PUBLISHER_EARNING, LedgerKind.EARNING_REVERSAL]),
        )
    )
    disqualified = None
    if lead.disqualified_for and lead.status is LeadStatus.UNSOLD:
        disqualified = {
            "reason": lead.disqualified_for,
            "message": str(DISQUALIFIED_FOR_LABELS[lead.disqualified_for]),
        }
    return {
        "id": lead.id,
        "status": lead.status.value,
        "disqualified": disqualified,
        "sales": lead.sales_count,
        "max_buyers": lead.max_buyers,
        "payout_cents": int(payout),
        "currency": current_app.config["DEFAULT_CURRENCY"],
        "certificate_id": certificate_id,
        "created_at": lead.created_at,
    }
