"""A privacy request's life: asked with an e-mail (never revealing whether it is
known), confirmed by a signed link within 24 hours, then waiting in the admins' queue
until its legal due date (one month after confirmation), where exactly one admin
completes it, refuses it with a reason, or asks for more."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import ColumnElement, and_, case, func, or_, select, update

from marketplace import audit, mail
from marketplace.errors import DomainError, NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.models import (
    GdprRequest,
    GdprRequestKind,
    GdprRequestStatus,
    Lead,
    PrivacyRequestEvent,
    utcnow,
)
from marketplace.validation import FieldInvalid, identity_hash, normalise_email, normalise_phone

LINK_SALT = "privacy-request"
CONFIRM_WITHIN = timedelta(hours=24)
# The person follows the request by its link until well after the legal month.
LINK_LIFETIME = timedelta(days=60)


class LinkInvalid(DomainError):
    status = 410
    code = "link_invalid"
    default_message = _l(
        "This link is not valid or has expired. You can make a new request on the privacy centre."
    )


class AlreadyDecided(DomainError):
    status = 409
    code = "already_decided"
    default_message = _l("This request was already decided, by you or another admin.")


KIND_WORDS = {
    GdprRequestKind.ACCESS: _l("a copy of your data"),
    GdprRequestKind.RECTIFICATION: _l("the correction of your data"),
    GdprRequestKind.ERASURE: _l("the erasure of your data"),
    GdprRequestKind.OBJECTION: _l("that your data is no longer used"),
}


def one_month_after(moment: datetime) -> datetime:
    """The same day of the next month (the month's last day when it has fewer days)."""
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=LINK_SALT)


def link_token(request_id: int) -> str:
    return _serializer().dumps({"request": request_id})


def request_from_link(token: str) -> tuple[GdprRequest, datetime]:
    """The request a link names, and when the link was made; LinkInvalid otherwise."""
    try:
        payload, signed_at = _serializer().loads(
            token, max_age=int(LINK_LIFETIME.total_seconds()), return_timestamp=True
        )
    except BadSignature:
        raise LinkInvalid() from None
    request_id = payload.get("request") if isinstance(payload, dict) else None
    found = db.session.get(GdprRequest, request_id) if isinstance(request_id, int) else None
    if found is None:
        raise LinkInvalid()
    return found, signed_at


def _event(request: GdprRequest, action: str, actor_user_id=None, note=None) -> None:
    db.session.add(
        PrivacyRequestEvent(
            request_id=request.id, action=action, actor_user_id=actor_user_id, note=note
        )
    )


def _mail_person(request: GdprRequest, subject, body, topic: str, **values) -> None:
    """Queue a mail to the person, in their language; commits (with the caller's work).
    ``subject`` and ``body`` are lazy strings (``_l``), formatted with ``values`` once
    translated."""
    with force_locale(request.locale):
        text = {name: str(value) for name, value in values.items()}
        mail.queue_mail(request.email, str(subject), str(body) % text, topic=topic)


def submit(
    *,
    kind: GdprRequestKind,
    email: str,
    phone: str | None,
    message: str | None,
    locale: str,
    link_for: Callable[[str], str],
) -> None:
    """Record the request and mail its confirmation link to the address given. The
    same answer whether or not we hold anything for it: only its owner can go on."""
    fields = {}
    try:
        email = normalise_email(email)
    except FieldInvalid as invalid:
        fields["email"] = str(invalid.message)
    phone_hash = None
    if phone and phone.strip():
        try:
            phone_hash = identity_hash(normalise_phone(phone))
        except FieldInvalid as invalid:
            fields["phone"] = str(invalid.message)
    if fields:
        raise ValidationFailed(fields=fields)
    now = utcnow()
    request = GdprRequest(
        kind=kind,
        email=email,
        email_hash=identity_hash(email),
        phone_hash=phone_hash,
        locale=locale,
        details={"message": (message or "").strip()} if message and message.strip() else {},
        created_at=now,
        due_at=one_month_after(now),
    )
    db.session.add(request)
    db.session.flush()
    _event(request, "submitted")
    audit.record("privacy.request_submitted", "gdpr_request", request.id, details={"kind": kind})
    _mail_person(
        request,
        _l("Confirm your privacy request"),
        _l(
            "Hello,\n\nSomeone, we hope you, asked us for %(what)s, for this e-mail address.\n\n"
            "To confirm it is you, open this link within 24 hours:\n%(link)s\n\n"
            "The same link then shows where your request stands. If you did not ask, ignore "
            "this e-mail: nothing happens.\n"
        ),
        "privacy.confirm",
        what=KIND_WORDS[kind],
        link=link_for(link_token(request.id)),
    )


def confirm(token: str) -> GdprRequest:
    """The person confirms from the mailed link: the request joins the admins' queue,
    due one month later. Confirming twice changes nothing."""
    request, signed_at = request_from_link(token)
    if request.status is not GdprRequestStatus.UNVERIFIED:
        return request
    now = utcnow()
    if now - signed_at.astimezone(now.tzinfo) > CONFIRM_WITHIN:
        raise LinkInvalid()
    confirmed = db.session.execute(
        update(GdprRequest)
        .where(
            GdprRequest.id == request.id,
            GdprRequest.status == GdprRequestStatus.UNVERIFIED,
        )
        .values(status=GdprRequestStatus.OPEN, verified_at=now, due_at=one_month_after(now))
    ).rowcount
    if confirmed:
        _event(request, "confirmed")
        audit.record("privacy.request_confirmed", "gdpr_request", request.id)
    db.session.commit()
    db.session.refresh(request)
    return request


def person_leads(request: GdprRequest) -> list[Lead]:
    """Every lead of the person: by the e-mail's hash, or the phone's when given."""
    same_person = Lead.email_hash == request.email_hash
    if request.phone_hash:
        same_person = or_(same_person, Lead.phone_hash == request.phone_hash)
    return list(db.session.scalars(select(Lead).where(same_person).order_by(Lead.id)))


@dataclass(frozen=True)
class QueueRow:
    request: GdprRequest
    overdue: bool


def is_overdue(now: datetime) -> ColumnElement[bool]:
    """The rule, in SQL: a confirmed request still open past its legal due date (one
    month after confirmation, art. 12(3)). The queue and the overview both read it."""
    return and_(GdprRequest.status == GdprRequestStatus.OPEN, GdprRequest.due_at < now)


def open_counts(now: datetime | None = None) -> tuple[int, int]:
    """How many confirmed requests are open, and how many of them are overdue."""
    now = now or utcnow()
    open_, overdue = db.session.execute(
        select(func.count(), func.count(case((is_overdue(now), 1)))).where(
            GdprRequest.status == GdprRequestStatus.OPEN
        )
    ).one()
    return int(open_), int(overdue)


def queue(now: datetime | None = None, *, closed: bool = False) -> list[QueueRow]:
    """Open requests by due date, the overdue first; or the closed ones, newest first."""
    now = now or utcnow()
    query = select(GdprRequest, is_overdue(now))
    if closed:
        query = query.where(
            GdprRequest.status.in_((GdprRequestStatus.COMPLETED, GdprRequestStatus.REFUSED))
        ).order_by(GdprRequest.completed_at.desc(), GdprRequest.id.desc())
    else:
        query = query.where(GdprRequest.status == GdprRequestStatus.OPEN).order_by(
            GdprRequest.due_at, GdprRequest.id
        )
    rows = db.session.execute(query.limit(500))
    return [QueueRow(found, bool(overdue)) for found, overdue in rows]


def history(request_id: int) -> list[PrivacyRequestEvent]:
    return list(
        db.session.scalars(
            select(PrivacyRequestEvent)
            .where(PrivacyRequestEvent.request_id == request_id)
            .order_by(PrivacyRequestEvent.id)
        )
    )


def open_request(request_id: int) -> GdprRequest:
    request = db.session.get(GdprRequest, request_id)
    if request is None or request.status is GdprRequestStatus.UNVERIFIED:
        raise NotFound()
    return request


def _close(request_id: int, status: GdprRequestStatus, admin_user_id: int) -> GdprRequest:
    """Exactly one admin decides: the first to close an open request wins."""
    now = utcnow()
    closed = db.session.execute(
        update(GdprRequest)
        .where(GdprRequest.id == request_id, GdprRequest.status == GdprRequestStatus.OPEN)
        .values(status=status, completed_at=now, decided_by_user_id=admin_user_id)
    ).rowcount
    if closed != 1:
        db.session.rollback()
        open_request(request_id)  # 404 for what is not a request at all
        raise AlreadyDecided()
    request = db.session.get(GdprRequest, request_id, populate_existing=True)
    return request


def refuse(request_id: int, admin_user_id: int, reason: str) -> None:
    reason = (reason or "").strip()
    if not 5 <= len(reason) <= 2000:
        raise ValidationFailed(fields={"note": _("Say why, in 5 to 2,000 characters.")})
    request = _close(request_id, GdprRequestStatus.REFUSED, admin_user_id)
    _event(request, "refused", admin_user_id, reason)
    audit.record("privacy.request_refused", "gdpr_request", request.id, actor_user_id=admin_user_id)
    _mail_person(
        request,
        _l("Your privacy request"),
        _l(
            "Hello,\n\nWe cannot act on your request, for this reason:\n\n%(reason)s\n\n"
            "You may complain to the CNIL (www.cnil.fr).\n"
        ),
        "privacy.refused",
        reason=reason,
    )


def ask_for_more(request_id: int, admin_user_id: int, question: str) -> None:
    question = (question or "").strip()
    if not 5 <= len(question) <= 2000:
        raise ValidationFailed(fields={"note": _("Say what you need, in 5 to 2,000 characters.")})
    request = open_request(request_id)
    if request.status is not GdprRequestStatus.OPEN:
        raise AlreadyDecided()
    _event(request, "more_asked", admin_user_id, question)
    audit.record(
        "privacy.more_information_asked", "gdpr_request", request.id, actor_user_id=admin_user_id
    )
    _mail_person(
        request,
        _l("Your privacy request: we need more from you"),
        _l(
            "Hello,\n\nTo answer your request we need the following:\n\n%(question)s\n\n"
            "Please answer by writing to %(contact)s.\n"
        ),
        "privacy.more_asked",
        question=question,
        contact=current_app.config["PRIVACY_CONTACT"],
    )
