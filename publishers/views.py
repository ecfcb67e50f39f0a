"""The publisher portal: magnets, their links and snippets, their leads, API keys."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from billing.ledger import balances
from marketplace import magnets as magnet_service
from marketplace.api_key_pages import api_key_page, revoke_api_key_and_return
from marketplace.auth.decorators import owner_required_to_change, publisher_required
from marketplace.consent import current_consent_text
from marketplace.errors import ValidationFailed
from marketplace.forms import show_field_errors
from marketplace.labels import KIND_LABELS
from marketplace.models import MagnetKind, MagnetStatus
from marketplace.sectors import sector_options
from publishers import magnets
from publishers.forms import (
    FIELD_LABELS,
    STATUS_LABELS,
    AssetForm,
    CaptureForm,
    MagnetForm,
)
from publishers.magnet_pages import render_form_page

blueprint = Blueprint("publishers", __name__)


@blueprint.route("/")
@publisher_required
def dashboard():
    organization_id = current_user.organization_id
    return render_template(
        "publishers/dashboard.html",
        rows=magnets.magnets_with_lead_counts(organization_id),
        balances=balances(organization_id),
        kind_labels=KIND_LABELS,
        status_labels=STATUS_LABELS,
    )


def _settings(form: MagnetForm) -> magnet_service.MagnetSettings:
    return magnet_service.MagnetSettings(
        title=form.title.data,
        kind=MagnetKind(form.kind.data),
        sector_id=form.sector_id.data,
        max_buyers=form.max_buyers.data,
        language=form.language.data,
        fields=form.asked_fields(),
        consent_extra=form.consent_extra.data,
        status=MagnetStatus(form.status.data),
        allowed_domains=tuple((form.allowed_domains.data or "").split()),
        thank_you_message=form.thank_you_message.data,
        redirect_url=form.redirect_url.data,
        cta_a=form.cta_a.data,
        title_b=form.title_b.data,
        cta_b=form.cta_b.data,
    )


@blueprint.route("/magnets/new", methods=["GET", "POST"])
@publisher_required
def new_magnet():
    form = MagnetForm()
    form.sector_id.choices = sector_options()
    if request.method == "GET":
        asked_kind = request.args.get("kind", MagnetKind.QUOTE_REQUEST.value)
        if asked_kind not in MagnetKind._value2member_map_:
            # A hand-edited address: start from the usual kind, and say so.
            flash(_("This kind of lead magnet does not exist: here is a quote request."), "info")
            asked_kind = MagnetKind.QUOTE_REQUEST.value
        kind = MagnetKind(asked_kind)
        form.kind.data = kind.value
        form.show_asked_fields(magnet_service.DEFAULT_FIELDS[kind])
    if form.validate_on_submit():
        try:
            magnet = magnet_service.create_magnet(current_user.organization_id, _settings(form))
        except ValidationFailed as error:
            show_field_errors(form, error)
        else:
            flash(_("Your lead magnet is saved."), "success")
            return redirect(url_for("publishers.magnet", magnet_id=magnet.id))
    return render_template("publishers/magnet_form.html", form=form, magnet=None)


@blueprint.route("/magnets/<int:magnet_id>/edit", methods=["GET", "POST"])
@publisher_required
def edit_magnet(magnet_id: int):
    magnet = magnet_service.own_magnet(current_user.organization_id, magnet_id)
    form = MagnetForm(obj=magnet)
    form.sector_id.choices = sector_options()
    if request.method == "GET":
        form.kind.data = magnet.kind.value
        form.status.data = magnet.status.value
        form.allowed_domains.data = "\n".join(magnet.allowed_domains)
        form.show_asked_fields(magnet.fields)
    if form.validate_on_submit():
        try:
            magnet_service.update_magnet(current_user.organization_id, magnet_id, _settings(form))
        except ValidationFailed as error:
            show_field_errors(form, error)
        else:
            flash(_("Your lead magnet is saved."), "success")
            return redirect(url_for("publishers.magnet", magnet_id=magnet_id))
    return render_template("publishers/magnet_form.html", form=form, magnet=magnet)


@blueprint.route("/magnets/<int:magnet_id>")
@publisher_required
def magnet(magnet_id: int):
    organization_id = current_user.organization_id
    own = magnet_service.own_magnet(organization_id, magnet_id)
    return render_template(
        "publishers/magnet.html",
        magnet=own,
        hosted_url=url_for("magnet_pages.show", key=own.key, _external=True),
        embed_url=url_for("magnet_pages.embed_script", key=own.key, _external=True),
        stats=magnet_service.magnet_stats(own),
        consent_text=current_consent_text(own.id),
        asset=magnet_service.asset_of(own.id),
        asset_form=AssetForm(),
        needs_file=own.kind in magnet_service.KINDS_WITH_FILE,
        leads=magnets.magnet_leads(organization_id, magnet_id),
        kind_labels=KIND_LABELS,
        status_labels=STATUS_LABELS,
        field_labels=FIELD_LABELS,
    )


@blueprint.route("/magnets/<int:magnet_id>/asset", methods=["POST"])
@publisher_required
def upload_asset(magnet_id: int):
    magnet_service.own_magnet(current_user.organization_id, magnet_id)  # 404 if not ours
    form = AssetForm()
    if not form.validate_on_submit():
        flash(_("Choose a PDF file to upload."), "danger")
    else:
        upload = form.asset.data
        try:
            magnet_service.attach_asset(
                current_user.organization_id, magnet_id, upload.filename, upload.read()
            )
        except ValidationFailed as error:
            for message in error.fields.values():
                flash(str(message), "danger")
        else:
            flash(_("The file is ready: people get it after the form."), "success")
    return redirect(url_for("publishers.magnet", magnet_id=magnet_id))


@blueprint.route("/api-keys", methods=["GET", "POST"])
@publisher_required
@owner_required_to_change
def keys():
    return api_key_page(current_user.organization_id, "publishers.revoke_key")


@blueprint.route("/api-keys/<int:key_id>/revoke", methods=["POST"])
@publisher_required
@owner_required_to_change
def revoke_key(key_id: int):
    return revoke_api_key_and_return(current_user.organization_id, key_id, "publishers.keys")


@blueprint.route("/magnets/<int:magnet_id>/preview")
@publisher_required
def preview(magnet_id: int):
    """The form as people will see it, whatever the magnet's status; it sends nothing."""
    own = magnet_service.own_magnet(current_user.organization_id, magnet_id)
    variant = "b" if request.args.get("variant") == "b" else "a"
    return render_form_page(own, CaptureForm(), variant=variant, preview=True)


# The results and the statements add their routes to this blueprint.
from publishers import quality_pages as _quality_pages  # noqa: E402, F401
from publishers import results_pages as _results_pages  # noqa: E402, F401
from publishers import statements as _statement_pages  # noqa: E402, F401
