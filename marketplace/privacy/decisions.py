"""An admin completes a privacy request: what each kind does, the holders told, the
person answered. One transaction; the mails and webhooks leave after it commits."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from marketplace import audit, delivery, jobs, mail
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.models import (
    GdprRequestKind,
    GdprRequestStatus,
    Lead,
    Organization,
    OutboxMail,
    RecipientNotice,
    Sale,
    User,
    UserRole,
    utcnow,
)
from marketplace.privacy import erasure
from marketplace.privacy.requests import (
    _close,
    _event,
    _mail_person,
    link_token,
    person_leads,
)
from marketplace.validation import (
    FieldInvalid,
    clean_text,
    identity_hash,
    normalise_phone,
    normalise_postcode,
)

# What an admin may correct, with its longest length (the e-mail is the person's key:
# a new address is a new submission, after erasure of the old one if they wish).
CORRECTABLE = {
    "first_name": 100,
    "last_name": 100,
    "job_title": 120,
    "company": 200,
    "phone": 32,
    "postcode": 12,
}


def clean_corrections(corrections: dict[str, str | None]) -> dict[str, str]:
    """The corrections asked, checked like a capture checks them; only those given."""
    cleaned, fields = {}, {}
    for name, value in corrections.items():
        if name not in CORRECTABLE or value is None or not str(value).strip():
            continue
        try:
            if name == "phone":
                cleaned[name] = normalise_phone(value)
            elif name == "postcode":
                cleaned[name] = normalise_postcode(value)
            else:
                cleaned[name] = clean_text(value, max_length=CORRECTABLE[name], required=True)
        except FieldInvalid as invalid:
            fields[name] = str(invalid.message)
    if fields:
        raise ValidationFailed(fields=fields)
    return cleaned


def complete(
    request_id: int,
    admin_user_id: int,
    *,
    link_for: Callable[[str], str],
    corrections: dict[str, str | None] | None = None,
) -> None:
    corrected = clean_corrections(corrections or {})
    request = _close(request_id, GdprRequestStatus.COMPLETED, admin_user_id)
    person_email, locale = request.email, request.locale
    leads = person_leads(request)
    kind = request.kind
    done: dict = {"leads": len(leads)}
    delivery_ids: list[int] = []
    if kind is GdprRequestKind.RECTIFICATION:
        if not corrected:
            db.session.rollback()
            raise ValidationFailed(
                _("Enter at least one corrected field."),
                fields={"first_name": _("Enter at least one corrected field.")},
            )
        values = dict(corrected)
        if "phone" in values:
            values["phone_hash"] = identity_hash(values["phone"])
        db.session.execute(
            update(Lead).where(Lead.id.in_([lead.id for lead in leads])).values(**values)
        )
        done["fields"] = sorted(corrected)
        done["holders_told"], delivery_ids = erasure.notify_holders(
            request, [lead.id for lead in leads], "rectification"
        )
    elif kind is GdprRequestKind.ERASURE:
        done["holders_told"], delivery_ids = erasure.erase(request, leads)
    elif kind is GdprRequestKind.OBJECTION:
        done["withdrawn"] = erasure.object_to_use(request, leads)
    request.details = {**(request.details or {}), "done": done}
    _event(request, "completed", admin_user_id)
    audit.record(
        f"privacy.{kind.value}_completed",
        "gdpr_request",
        request.id,
        actor_user_id=admin_user_id,
        details=done,
    )
    if kind is GdprRequestKind.ERASURE:
        _answer_erased_person(person_email, locale)
    else:
        _mail_person(
            request,
            _l("Your privacy request is answered"),
            _ANSWERS[kind],
            f"privacy.{kind.value}_completed",
            link=link_for(link_token(request.id)),
        )
    db.session.commit()
    delivery.start_sending(delivery_ids)
    if kind in (GdprRequestKind.ERASURE, GdprRequestKind.RECTIFICATION):
        # Refused, the periodic sweep mails them.
        with contextlib.suppress(jobs.EnqueueFailed):
            jobs.enqueue(send_recipient_notices)


_ANSWERS = {
    GdprRequestKind.ACCESS: _l(
        "Hello,\n\nYour copy of the data we hold on you, with the companies that received "
        "it, is ready at this link:\n%(link)s\n"
    ),
    GdprRequestKind.RECTIFICATION: _l(
        "Hello,\n\nYour data is corrected, and every company that received it is told. "
        "Your request: %(link)s\n"
    ),
    GdprRequestKind.OBJECTION: _l(
        "Hello,\n\nYour data will no longer be passed on to anyone: a later form you fill "
        "is kept apart and never sold. Your request: %(link)s\n"
    ),
}


def _answer_erased_person(email: str | None, locale: str) -> None:
    """The last mail to the person, sent now: the outbox keeps it without the address,
    the only copy of it left (without SMTP the status link is the answer)."""
    if not email:
        return
    with force_locale(locale):
        mail.send_now(
            [email],
            _("Your privacy request is answered"),
            _(
                "Hello,\n\nYour data is erased from our marketplace, and every company "
                "that received it is told to erase it too. We keep only a fingerprint of "
                "your address, so that it is never collected and sold again.\n"
            ),
            topic="privacy.erasure_completed",
            lead_id=None,
        )
    db.session.flush()
    db.session.execute(
        update(OutboxMail)
        .where(
            OutboxMail.topic == "privacy.erasure_completed",
            OutboxMail.to_address == email,
        )
        .values(to_address=None)
    )


def send_recipient_notices(limit: int = 200) -> int:
    """Mail each buyer told of an erasure or a rectification, once per notice: a notice
    is claimed before its mail is written, in one transaction."""
    pending = db.session.scalars(
        select(RecipientNotice.id)
        .where(RecipientNotice.mailed_at.is_(None))
        .order_by(RecipientNotice.id)
        .limit(limit)
    ).all()
    db.session.rollback()
    sent = 0
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    for notice_id in pending:
        claimed = db.session.execute(
            update(RecipientNotice)
            .where(RecipientNotice.id == notice_id, RecipientNotice.mailed_at.is_(None))
            .values(mailed_at=utcnow())
        ).rowcount
        if not claimed:
            db.session.rollback()
            continue
        notice = db.session.get(RecipientNotice, notice_id)
        sale = db.session.get(Sale, notice.sale_id)
        recipients = _buyer_addresses(notice.buyer_id, sale)
        if not recipients:
            db.session.commit()
            continue
        with force_locale("fr"):
            if notice.kind == "erasure":
                subject = _("Erasure of a lead's personal data (GDPR)")
                body = _(
                    "Hello,\n\nThe person of purchase #%(sale)d (lead #%(lead)d, bought on "
                    "%(date)s) asked for the erasure of their data (GDPR art. 17). It is erased "
                    "from your portal; erase it from your own systems too, and do not contact "
                    "them again.\n\n%(url)s\n",
                    sale=sale.id,
                    lead=notice.lead_id,
                    date=sale.created_at.date().isoformat(),
                    url=f"{base}/buyers/purchases/{sale.id}",
                )
            else:
                subject = _("Correction of a lead's data (GDPR)")
                body = _(
                    "Hello,\n\nThe person of purchase #%(sale)d (lead #%(lead)d) had their "
                    "data corrected (GDPR art. 16). Update your own systems from your "
                    "portal:\n\n%(url)s\n",
                    sale=sale.id,
                    lead=notice.lead_id,
                    url=f"{base}/buyers/purchases/{sale.id}",
                )
        mail.queue_mail(", ".join(recipients), subject, body, topic=f"privacy.{notice.kind}_notice")
        sent += 1
    return sent


def _buyer_addresses(buyer_id: int, sale: Sale) -> list[str]:
    """The campaign's lead recipients, else the buyer's owners."""
    if sale.campaign is not None and sale.campaign.email_recipients:
        return list(sale.campaign.email_recipients)
    return list(
        db.session.scalars(
            select(User.email)
            .join(Organization, Organization.id == User.organization_id)
            .where(
                Organization.id == buyer_id,
                User.role == UserRole.OWNER,
                User.is_active_account.is_(True),
            )
            .order_by(User.id)
        )
    )
