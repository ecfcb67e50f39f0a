"""The admins' sectors: the tree with floor prices and return windows, edited with a
reason."""

from __future__ import annotations

from decimal import Decimal

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.auth.decorators import admin_required
from marketplace.errors import NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.forms import show_field_errors
from marketplace.governance import sectors
from marketplace.governance.blueprint import blueprint
from marketplace.governance.forms import NewSectorForm, SectorForm
from marketplace.models import Sector

ERROR_FIELDS = {"floor_price_cents": "floor_price"}


def _new_form(posted: bool = True) -> NewSectorForm:
    form = NewSectorForm() if posted else NewSectorForm(formdata=None)
    form.parent_id.choices = [("", _("None: a top-level sector"))] + [
        (str(line.sector.id), line.sector.name_fr)
        for line in sectors.tree()
        if line.sector.parent_id is None
    ]
    return form


@blueprint.route("/sectors")
@admin_required
def sector_list(new_form=None, status=200):
    return render_template(
        "governance/sectors.html",
        lines=sectors.tree(),
        new_form=new_form or _new_form(posted=False),
    ), status


def _change(form: SectorForm) -> sectors.SectorChange:
    return sectors.SectorChange(
        name_fr=form.name_fr.data or "",
        name_en=form.name_en.data or "",
        floor_price_cents=int((form.floor_price.data or Decimal(0)) * 100),
        return_window_days=form.return_window_days.data,
        reason=form.reason.data or "",
        audience=form.audience.data or "",
    )


def _sector_page(sector: Sector, form: SectorForm, status: int = 200):
    line = next(line for line in sectors.tree() if line.sector.id == sector.id)
    return render_template("governance/sector.html", line=line, form=form), status


@blueprint.route("/sectors/<int:sector_id>", methods=["GET", "POST"])
@admin_required
def sector(sector_id: int):
    found = db.session.get(Sector, sector_id)
    if found is None:
        raise NotFound()
    form = SectorForm(
        name_fr=found.name_fr,
        name_en=found.name_en,
        floor_price=Decimal(found.floor_price_cents) / 100,
        return_window_days=found.return_window_days,
        audience=found.audience,
    )
    if not form.is_submitted():
        return _sector_page(found, form)
    if not form.validate():
        return _sector_page(found, form, 400)
    try:
        sectors.update_sector(sector_id, current_user.id, _change(form))
    except ValidationFailed as error:
        show_field_errors(form, error, ERROR_FIELDS)
        return _sector_page(found, form, 422)
    flash(_("Sector saved: new campaigns and the next leads follow it."), "success")
    return redirect(url_for("governance.sector_list"))


@blueprint.route("/sectors/new", methods=["POST"])
@admin_required
def add_sector():
    form = _new_form()
    if not form.validate():
        return sector_list(new_form=form, status=400)
    try:
        sectors.add_sector(
            int(form.parent_id.data) if form.parent_id.data else None,
            form.slug.data,
            current_user.id,
            _change(form),
        )
    except ValidationFailed as error:
        show_field_errors(form, error, ERROR_FIELDS)
        return sector_list(new_form=form, status=422)
    flash(_("Sector added."), "success")
    return redirect(url_for("governance.sector_list"))
