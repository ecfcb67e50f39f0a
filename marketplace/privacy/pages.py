"""The privacy centre: the notice, the request form, the link's page (confirm, then
follow), and the copy of the data once an access request is answered."""

from __future__ import annotations

import hashlib

from flask import current_app, jsonify, render_template, request, url_for
from flask_babel import get_locale

from marketplace.errors import ValidationFailed
from marketplace.extensions import limiter
from marketplace.forms import show_field_errors
from marketplace.models import GdprRequestKind, GdprRequestStatus
from marketplace.privacy import access, requests
from marketplace.privacy.blueprint import blueprint
from marketplace.privacy.forms import ConfirmForm, PrivacyRequestForm

PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _link(token: str) -> str:
    return url_for("privacy.follow", token=token, _external=True)


def _per_address() -> str:
    address = (request.form.get("email") or "").strip().lower()
    return "privacy-address:" + hashlib.sha256(address.encode()).hexdigest()[:32]


@blueprint.route("/privacy", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
@limiter.limit("3 per hour", key_func=_per_address, methods=["POST"])
def centre():
    form = PrivacyRequestForm()
    sent = False
    if form.validate_on_submit():
        try:
            requests.submit(
                kind=GdprRequestKind(form.kind.data),
                email=form.email.data,
                phone=form.phone.data,
                message=form.message.data,
                locale=str(get_locale() or "fr"),
                link_for=_link,
            )
        except ValidationFailed as error:
            show_field_errors(form, error)
        else:
            sent = True
    status = 422 if form.errors else 200
    return render_template(
        "privacy/centre.html",
        form=form if not sent else PrivacyRequestForm(formdata=None),
        sent=sent,
        contact=current_app.config["PRIVACY_CONTACT"],
        retention_months=current_app.config["PRIVACY_RETENTION_MONTHS"],
    ), status


def _invalid(error: requests.LinkInvalid):
    return render_template("errors/error.html", status=410, message=error.message), 410


@blueprint.route("/privacy/requests/<token>", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
def follow(token: str):
    """GET never changes anything (mail scanners open links); the person confirms by
    pressing the button."""
    try:
        found, _signed_at = requests.request_from_link(token)
        form = ConfirmForm()
        if found.status is GdprRequestStatus.UNVERIFIED and form.validate_on_submit():
            found = requests.confirm(token)
    except requests.LinkInvalid as error:
        return _invalid(error)
    body = render_template(
        "privacy/follow.html",
        found=found,
        form=form,
        token=token,
        history=requests.history(found.id),
        kind_words=requests.KIND_WORDS,
        copy=access.export(found)
        if found.kind is GdprRequestKind.ACCESS and found.status is GdprRequestStatus.COMPLETED
        else None,
    )
    return body, 200, PRIVATE


@blueprint.route("/privacy/requests/<token>/data.json")
def data_json(token: str):
    try:
        found, _signed_at = requests.request_from_link(token)
    except requests.LinkInvalid as error:
        return _invalid(error)
    if found.kind is not GdprRequestKind.ACCESS or found.status is not GdprRequestStatus.COMPLETED:
        return _invalid(requests.LinkInvalid())
    response = jsonify(access.export(found))
    response.headers.update(PRIVATE)
    response.headers["Content-Disposition"] = 'attachment; filename="my-data.json"'
    return response
