"""The magnet's hosted page (/m/<key>), also what the embed iframe shows."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import force_locale
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer

from marketplace.capture import CaptureContext, asked_fields, capture_lead, validate_submission
from marketplace.consent import current_consent_text, partner_list
from marketplace.errors import ValidationFailed
from marketplace.extensions import csrf, limiter
from marketplace.forms import show_field_errors
from marketplace.magnets import magnet_by_key, record_view
from marketplace.models import LeadMagnet, MagnetStatus
from publishers.forms import CaptureForm

blueprint = Blueprint("magnet_pages", __name__)

FORM_TOKEN_MAX_AGE = 24 * 3600


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="capture-form")


def _live_magnet(key: str) -> LeadMagnet:
    magnet = magnet_by_key(key)
    if magnet is None or magnet.status is not MagnetStatus.LIVE:
        abort(404)
    return magnet


def _frame_policy(magnet: LeadMagnet) -> str:
    """The form may be framed by the publisher's sites (any site until it lists them)."""
    ancestors = " ".join(f"https://{d} http://{d}" for d in magnet.allowed_domains) or "*"
    return (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        f"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors {ancestors}"
    )


def _render(magnet: LeadMagnet, form: CaptureForm, status: int = 200, **extra):
    consent_text = current_consent_text(magnet.id)
    form.consent_text_id.data = str(consent_text.id)
    form.form_token.data = _serializer().dumps({"m": magnet.id})
    with force_locale(magnet.language):
        body = render_template(
            "publishers/magnet_page.html",
            magnet=magnet,
            form=form,
            asked=asked_fields(magnet),
            consent_text=consent_text,
            **extra,
        )
    return body, status, {"Content-Security-Policy": _frame_policy(magnet)}


@blueprint.route("/m/<key>", methods=["GET"])
def show(key: str):
    magnet = _live_magnet(key)
    record_view(magnet.id)
    return _render(magnet, CaptureForm())


@blueprint.route("/m/<key>", methods=["POST"])
@csrf.exempt
@limiter.limit("30 per minute")
def submit(key: str):
    magnet = _live_magnet(key)
    form = CaptureForm(request.form)
    try:
        _serializer().loads(form.form_token.data or "", max_age=FORM_TOKEN_MAX_AGE)
    except BadSignature:
        with force_locale(magnet.language):
            message = _("This form expired. Check your details and send it again.")
        return _render(magnet, form, 400, form_error=message)
    consent_text_id = form.consent_text_id.data or ""
    try:
        with force_locale(magnet.language):
            cleaned = validate_submission(magnet, request.form, consent_given=form.consent.data)
            captured = capture_lead(
                magnet.id,
                cleaned,
                consent_text_id=int(consent_text_id) if consent_text_id.isdigit() else 0,
                consent_given=form.consent.data,
                context=CaptureContext(
                    ip=request.remote_addr,
                    user_agent=request.user_agent.string,
                    page_url=request.args.get("page") or request.referrer,
                    referrer=request.referrer,
                    utm={k: v[:200] for k, v in request.args.items() if k.startswith("utm_")},
                ),
            )
    except ValidationFailed as error:
        with force_locale(magnet.language):
            show_field_errors(form, error)
        return _render(magnet, form, 422)
    with force_locale(magnet.language):
        body = render_template(
            "publishers/thank_you.html", magnet=magnet, certificate_id=captured.certificate_id
        )
    return body, 200, {"Content-Security-Policy": _frame_policy(magnet)}


@blueprint.route("/m/<key>/partners")
def partners(key: str):
    """The live partner list the consent text links to (CNIL: partners identifiable)."""
    magnet = _live_magnet(key)
    with force_locale(magnet.language):
        return render_template(
            "publishers/partners.html",
            magnet=magnet,
            partners=partner_list(magnet.sector_id, magnet.sector.parent_id),
        )
