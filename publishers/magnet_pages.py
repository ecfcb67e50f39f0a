"""The magnet's public pages: the form (/m/<key>, also the iframe), its embed script,
its partner list, and the file download after the form."""

from __future__ import annotations

import logging
import random
import secrets
import time

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from marketplace import capture, consent, magnets, mail
from marketplace.errors import ValidationFailed
from marketplace.extensions import csrf, limiter
from marketplace.forms import show_field_errors
from marketplace.guards import body_limit
from marketplace.labels import country_choices
from marketplace.models import LeadMagnet, MagnetStatus
from marketplace.security import content_security_policy
from publishers.forms import CaptureForm

blueprint = Blueprint("magnet_pages", __name__)
log = logging.getLogger(__name__)

FORM_TOKEN_MAX_AGE = 24 * 3600
DOWNLOAD_LINK_MAX_AGE = 7 * 24 * 3600
# A form post is a few kilobytes; anything far bigger is not a person typing.
MAX_FORM_BYTES = 64 * 1024


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _live_magnet(key: str) -> LeadMagnet:
    magnet = magnets.magnet_by_key(key)
    if magnet is None or magnet.status is not MagnetStatus.LIVE:
        abort(404)
    return magnet


def frame_policy(magnet: LeadMagnet) -> str:
    """The form may be framed by the publisher's listed sites (any site until it lists them)."""
    listed = " ".join(f"https://{d} http://{d}" for d in magnet.allowed_domains)
    return content_security_policy(f"'self' {listed or '*'}")


def render_form_page(
    magnet: LeadMagnet,
    form: CaptureForm,
    *,
    variant: str,
    status: int = 200,
    preview: bool = False,
    form_error: str | None = None,
):
    """The form page in the magnet's language, with a fresh signed form token."""
    consent_text = consent.current_consent_text(magnet.id)
    form.consent_text_id.data = str(consent_text.id)
    form.form_token.data = _serializer("capture-form").dumps(
        {"m": magnet.id, "v": variant, "n": secrets.token_urlsafe(16)}
    )
    asked = capture.asked_fields(magnet)
    with force_locale(magnet.language):
        form.country.choices = country_choices()
        for name, required in asked.items():
            if not required:
                form[name].label.text = _("%(label)s (optional)", label=form[name].label.text)
        body = render_template(
            "publishers/magnet_page.html",
            magnet=magnet,
            form=form,
            asked=asked,
            consent_text=consent_text,
            variant=variant,
            preview=preview,
            form_error=form_error,
        )
    return body, status, {"Content-Security-Policy": frame_policy(magnet)}


@blueprint.route("/m/<key>", methods=["GET"])
def show(key: str):
    magnet = _live_magnet(key)
    variant = random.choice("ab") if magnet.has_variant_b else "a"
    magnets.record_view(magnet.id, variant)
    return render_form_page(magnet, CaptureForm(), variant=variant)


def _per_magnet() -> str:
    return f"magnet:{request.view_args.get('key', '')}"


def _per_ip_limit() -> str:
    return current_app.config["CAPTURE_IP_RATE_LIMIT"]


def _per_magnet_limit() -> str:
    return current_app.config["CAPTURE_MAGNET_RATE_LIMIT"]


@blueprint.route("/m/<key>", methods=["POST"])
@csrf.exempt
@limiter.limit(_per_ip_limit)
@limiter.limit(_per_magnet_limit, key_func=_per_magnet)
@body_limit(MAX_FORM_BYTES)
def submit(key: str):
    magnet = _live_magnet(key)
    form = CaptureForm(request.form)
    with force_locale(magnet.language):
        try:
            token, issued_at = _serializer("capture-form").loads(
                form.form_token.data or "", max_age=FORM_TOKEN_MAX_AGE, return_timestamp=True
            )
            if token.get("m") != magnet.id:
                raise BadSignature("another magnet's token")
        except BadSignature:
            return render_form_page(
                magnet,
                form,
                variant="a",
                status=400,
                form_error=_("This form expired. Check your details and send it again."),
            )
        variant = "b" if token.get("v") == "b" else "a"
        if form.website.data:
            # A robot filled the hidden field: answer as if all went well, keep nothing.
            log.info("honeypot filled on magnet %s: submission dropped", magnet.id)
            return _thank_you(magnet, certificate_id=None)
        if time.time() - issued_at.timestamp() < current_app.config["CAPTURE_MIN_FILL_SECONDS"]:
            return render_form_page(
                magnet,
                form,
                variant=variant,
                status=422,
                form_error=_("That was very fast: check your details, then send the form again."),
            )
        target = capture.capture_target(magnet.key)
        text_id = form.consent_text_id.data or ""
        consent_text = target.consent_text(text_id=int(text_id) if text_id.isdigit() else None)
        errors = {}
        try:
            cleaned = capture.validate_submission(
                target, request.form, consent_given=form.consent.data
            )
        except ValidationFailed as invalid:
            errors = dict(invalid.fields)
        if consent_text is None:
            errors["consent"] = _("This form is out of date: reload the page.")
        if errors:
            show_field_errors(form, ValidationFailed(fields=errors))
            return render_form_page(magnet, form, variant=variant, status=422)
        try:
            captured = capture.capture_lead(
                target,
                cleaned,
                consent_text=consent_text,
                consent_given=True,
                context=capture.CaptureContext(
                    ip=request.remote_addr,
                    user_agent=request.user_agent.string,
                    page_url=(request.args.get("page") or request.referrer or "")[:2000] or None,
                    referrer=(request.referrer or "")[:2000] or None,
                    utm={k: v[:200] for k, v in request.args.items() if k.startswith("utm_")},
                    variant=variant,
                    form_nonce=_nonce(token),
                ),
            )
        except capture.FormTokenUsed as used:
            # A second click, or a replay: the first post made the lead, this one nothing.
            return render_form_page(
                magnet, CaptureForm(), variant=variant, status=409, form_error=used.message
            )
        download_url = None
        if magnets.asset_of(magnet.id) is not None:
            download_url = download_link(magnet, captured.lead_id)
            _mail_download_link(magnet, captured.lead_id, cleaned["email"], download_url)
        if magnet.redirect_url and not request.args.get("embed"):
            return redirect(magnet.redirect_url, code=303)
        return _thank_you(magnet, captured.certificate_id, download_url)


def _nonce(token: dict) -> str | None:
    nonce = token.get("n")
    return nonce[:32] if isinstance(nonce, str) and nonce else None


def _mail_download_link(magnet: LeadMagnet, lead_id: int, email: str, url: str) -> None:
    days = DOWNLOAD_LINK_MAX_AGE // 86400
    mail.queue_mail(
        email,
        _("Your download: %(title)s", title=magnet.title),
        _(
            "Hello,\n\nHere is the document you asked for on %(publisher)s:\n%(url)s\n\n"
            "The link works for %(days)d days.",
            publisher=magnet.publisher.name,
            url=url,
            days=days,
        ),
        topic="asset_download",
        lead_id=lead_id,
    )


def _thank_you(magnet: LeadMagnet, certificate_id: str | None, download_url: str | None = None):
    body = render_template(
        "publishers/thank_you.html",
        magnet=magnet,
        certificate_id=certificate_id,
        download_url=download_url,
        redirect_url=magnet.redirect_url if request.args.get("embed") else None,
    )
    return body, 200, {"Content-Security-Policy": frame_policy(magnet)}


def download_link(magnet: LeadMagnet, lead_id: int) -> str:
    token = _serializer("asset-download").dumps({"m": magnet.id, "l": lead_id})
    return url_for("magnet_pages.download", key=magnet.key, token=token, _external=True)


@blueprint.route("/m/<key>/download/<token>")
def download(key: str, token: str):
    """The magnet's file, for whoever holds the signed link sent after the form."""
    magnet = magnets.magnet_by_key(key)
    if magnet is None:
        abort(404)
    try:
        data = _serializer("asset-download").loads(token, max_age=DOWNLOAD_LINK_MAX_AGE)
    except SignatureExpired:
        with force_locale(magnet.language):
            message = _("This download link has expired. Fill the form again to get a new one.")
        return render_template("errors/error.html", status=410, message=message), 410
    except BadSignature:
        abort(404)
    asset = magnets.asset_of(magnet.id)
    if data.get("m") != magnet.id or asset is None:
        abort(404)
    return Response(
        asset.content,
        mimetype=asset.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{asset.filename}"',
            "Cache-Control": "private, no-store",
        },
    )


@blueprint.route("/embed/<key>.js")
def embed_script(key: str):
    """The script a publisher pastes: it inserts the form in an auto-resizing iframe."""
    magnet = _live_magnet(key)
    body = render_template(
        "publishers/embed.js",
        origin=request.host_url.rstrip("/"),
        form_url=url_for("magnet_pages.show", key=magnet.key, _external=True),
        title=magnet.title,
    )
    return Response(
        body,
        mimetype="text/javascript",
        headers={"Cache-Control": "public, max-age=300", "Access-Control-Allow-Origin": "*"},
    )


@blueprint.route("/m/<key>/partners")
def partners(key: str):
    """The live partner list the consent text links to (CNIL: partners identifiable)."""
    magnet = _live_magnet(key)
    with force_locale(magnet.language):
        return render_template(
            "publishers/partners.html",
            magnet=magnet,
            partners=consent.partners_now(magnet.sector_id, magnet.sector.parent_id),
        )
