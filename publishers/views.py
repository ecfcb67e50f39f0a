"""The publisher portal: magnets, their links and snippets, their leads."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from billing.ledger import balances
from marketplace import magnets as magnet_service
from marketplace.auth.decorators import publisher_required
from marketplace.errors import ValidationFailed
from marketplace.forms import show_field_errors
from marketplace.models import MagnetKind
from marketplace.sectors import sector_options
from publishers import magnets
from publishers.forms import KIND_LABELS, MagnetForm

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
    )


@blueprint.route("/magnets/new", methods=["GET", "POST"])
@publisher_required
def new_magnet():
    form = MagnetForm()
    form.sector_id.choices = sector_options()
    if form.validate_on_submit():
        try:
            magnet = magnet_service.create_magnet(
                current_user.organization_id,
                title=form.title.data,
                kind=MagnetKind(form.kind.data),
                sector_id=form.sector_id.data,
                max_buyers=form.max_buyers.data,
                language=form.language.data,
                consent_extra=form.consent_extra.data,
            )
        except ValidationFailed as error:
            show_field_errors(form, error)
        else:
            flash(_("Your lead magnet is live."), "success")
            return redirect(url_for("publishers.magnet", magnet_id=magnet.id))
    return render_template("publishers/magnet_form.html", form=form)


@blueprint.route("/magnets/<int:magnet_id>")
@publisher_required
def magnet(magnet_id: int):
    organization_id = current_user.organization_id
    own = magnets.own_magnet(organization_id, magnet_id)
    hosted_url = url_for("magnet_pages.show", key=own.key, _external=True)
    return render_template(
        "publishers/magnet.html",
        magnet=own,
        hosted_url=hosted_url,
        leads=magnets.magnet_leads(organization_id, magnet_id),
        kind_labels=KIND_LABELS,
    )
