"""The public consent certificate: the proof of a lead's consent, without personal data.

Anyone holding a lead can check, at /consent/<certificate_id>, when the person
agreed, to which exact words, on whose form, and with which partners named; the
SHA-256 of the e-mail lets a holder match it to the address they were given.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from flask import Blueprint, abort, jsonify, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from marketplace.extensions import db
from marketplace.models import ConsentRecord, Lead

blueprint = Blueprint("certificates", __name__)


def certificate(certificate_id: str) -> dict | None:
    """The certificate as data, or None. Nothing in it identifies the person."""
    if not certificate_id or len(certificate_id) > 40:
        return None
    record = db.session.scalar(
        select(ConsentRecord)
        .where(ConsentRecord.certificate_id == certificate_id)
        .options(
            joinedload(ConsentRecord.consent_text),
            joinedload(ConsentRecord.lead).joinedload(Lead.magnet),
            joinedload(ConsentRecord.lead).joinedload(Lead.publisher),
        )
    )
    if record is None:
        return None
    lead, text = record.lead, record.consent_text
    return {
        "certificate_id": record.certificate_id,
        "consented_at": record.consented_at.isoformat(),
        "channel": record.channel,
        "consent_text": {
            "version": text.version,
            "language": text.language,
            "text": text.text,
            "sha256": record.text_sha256,
            "verified": hashlib.sha256(text.text.encode()).hexdigest() == record.text_sha256,
        },
        "checkboxes": record.checkboxes,
        "publisher": lead.publisher.name,
        "magnet": {"title": lead.magnet.title, "kind": lead.magnet.kind.value},
        "max_partners": lead.max_buyers,
        "partners_shown": [partner["name"] for partner in record.partners],
        # Only the site, not the page address: a query string may carry personal data.
        "page_host": urlsplit(record.page_url).hostname if record.page_url else None,
        "email_sha256": lead.email_hash,
        "lead_erased": lead.erased_at is not None,
    }


@blueprint.route("/consent/<certificate_id>")
def show(certificate_id: str):
    proof = certificate(certificate_id)
    if proof is None:
        abort(404)
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    if best == "application/json":
        return jsonify(proof)
    return render_template("site/certificate.html", proof=proof)
