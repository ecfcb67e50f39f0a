"""Outgoing e-mail: the only module that talks SMTP.

Every mail is first written to the outbox table, then sent by a job. Without
SMTP_URL the outbox is the end of the road: admins read it at /admin/outbox,
and the log says a mail was kept (never to whom: no personal data in logs).
"""

from __future__ import annotations

import logging
import re
import smtplib
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from flask import current_app

from marketplace import jobs, validation
from marketplace.extensions import db
from marketplace.models import MailRefusal, OutboxMail, utcnow

log = logging.getLogger(__name__)
ADDRESS_IN_REPLY = re.compile(r"<?[^\s<>]+@[^\s<>]+>?")


def queue_mail(to: str, subject: str, body: str, *, topic: str, lead_id: int | None = None) -> int:
    """Write a mail to the outbox and start its delivery. Commits."""
    mail = OutboxMail(to_address=to, subject=subject, body_text=body, topic=topic, lead_id=lead_id)
    db.session.add(mail)
    db.session.commit()
    try:
        jobs.enqueue(deliver_mail, mail.id)
    except jobs.EnqueueFailed:
        log.warning("mail %s stays in the outbox: could not enqueue its delivery", mail.id)
    return mail.id


def send_now(
    to: list[str], subject: str, body: str, *, topic: str, lead_id: int | None
) -> str | None:
    """Send one mail to ``to`` now, through SMTP, once, and keep it in the outbox with
    what happened. Returns None when the SMTP server accepted it, else why not (no
    server configured, or its error). Adds to the caller's transaction: no commit.

    For a delivery that has its own retry schedule (a lead sent to a campaign's
    recipients): the attempt's result is the delivery's, never a guess.
    """
    mail = OutboxMail(
        to_address=", ".join(to),
        subject=subject,
        body_text=body,
        topic=topic,
        lead_id=lead_id,
        attempts=1,
    )
    db.session.add(mail)
    smtp_url = current_app.config["SMTP_URL"]
    if not smtp_url:
        mail.last_error = "no SMTP server is configured (SMTP_URL): kept in the outbox"
        return mail.last_error
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = mail.to_address
    message["Subject"] = subject
    message.set_content(body)
    try:
        _record_refusals(_send(smtp_url, message))
    except smtplib.SMTPRecipientsRefused as error:
        _record_refusals(error.recipients)
        mail.last_error = _refusal_text(error)
        return mail.last_error
    except (OSError, smtplib.SMTPException) as error:
        mail.last_error = str(error)[:500] or type(error).__name__
        return mail.last_error
    mail.sent_at = utcnow()
    return None


def deliver_mail(mail_id: int) -> None:
    """Send one outbox mail through SMTP, once. Idempotent: a sent mail is not resent."""
    mail = db.session.get(OutboxMail, mail_id)
    if mail is None or mail.sent_at is not None or not mail.to_address:
        return
    smtp_url = current_app.config["SMTP_URL"]
    if not smtp_url:
        log.info("mail %s (%s) kept in the outbox: no SMTP_URL", mail.id, mail.topic)
        return
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message.set_content(mail.body_text)
    mail.attempts += 1
    try:
        refused = _send(smtp_url, message)
    except smtplib.SMTPRecipientsRefused as error:
        mail.last_error = _refusal_text(error)
        every_one_for_good = _record_refusals(error.recipients)
        db.session.commit()
        if every_one_for_good:
            return  # a 5xx is final: sending again would be refused again
        raise  # a 4xx is "try later": RQ retries it
    except (OSError, smtplib.SMTPException) as error:
        mail.last_error = str(error)[:500]
        db.session.commit()
        raise  # RQ retries it
    _record_refusals(refused)
    mail.sent_at = utcnow()
    mail.last_error = None
    db.session.commit()


def _refusal_text(error: smtplib.SMTPRecipientsRefused) -> str:
    """The server's answers without any address in them ("550 5.1.1 <x@y>: unknown"):
    an erasure blanks the outbox's recipient, not its error."""
    answers = sorted(
        {
            f"{code} {ADDRESS_IN_REPLY.sub('<address>', reply.decode(errors='replace'))}"
            for code, reply in error.recipients.values()
        }
    )
    return ("refused: " + "; ".join(answers))[:500]


def _record_refusals(refused: dict[str, tuple[int, bytes]]) -> bool:
    """Keep each permanent refusal (SMTP 5xx) of a recipient as its address's hash,
    in the caller's transaction: the returns rules read them (a bounced e-mail,
    marketplace.returns.flags). True when every recipient was refused for good."""
    now = utcnow()
    permanent = 0
    for address, (code, _reply) in refused.items():
        if 500 <= code < 600:
            permanent += 1
            db.session.add(
                MailRefusal(address_hash=address_hash(address), smtp_code=code, refused_at=now)
            )
    return bool(refused) and permanent == len(refused)


def address_hash(address: str) -> str:
    """The hash a lead keeps of its e-mail (validation.identity_hash of the normalised
    address), so that a refusal is found from the lead."""
    try:
        normalised = validation.normalise_email(address)
    except validation.FieldInvalid:
        normalised = address.strip().lower()
    return validation.identity_hash(normalised)


def _send(smtp_url: str, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
    """smtp://user:password@host:port or smtps://...; STARTTLS when the server offers it.
    Returns the recipients the server refused while accepting the others (smtplib
    raises SMTPRecipientsRefused when it refused them all)."""
    parts = urlsplit(smtp_url)
    secure = parts.scheme == "smtps"
    client_class = smtplib.SMTP_SSL if secure else smtplib.SMTP
    with client_class(
        parts.hostname or "localhost", parts.port or (465 if secure else 25), timeout=20
    ) as client:
        if not secure and client.has_extn("starttls"):
            client.starttls()
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        return client.send_message(message)
