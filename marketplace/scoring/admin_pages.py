"""The admins' scoring models: the defaults of each audience, the sectors' own, each
edited with a reason."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from marketplace.auth.decorators import admin_required
from marketplace.errors import NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.forms import show_field_errors
from marketplace.labels import fact_words
from marketplace.models import ScoringModel, Sector
from marketplace.scoring import rules
from marketplace.scoring.blueprint import blueprint
from marketplace.scoring.forms import ModelForm, SectorModelForm, field_name
from marketplace.sectors import sector_options

# The facts as the form groups them.
GROUPS = (
    ("intent", "intent:"),
    ("profile", ("phone_given", "company_given", "location_given", "detailed_message")),
    ("timeframe", "timeframe:"),
    ("housing", "housing:"),
    ("budget", "budget:"),
    ("company_size", "company_size:"),
    ("job_level", "job_level:"),
    ("earlier_visits", "earlier_visits:"),
)


def _groups() -> list[tuple[str, list[tuple[str, str]]]]:
    groups = []
    for name, rule in GROUPS:
        facts = [
            f for f in rules.FACTS if (f.startswith(rule) if isinstance(rule, str) else f in rule)
        ]
        groups.append((name, [(field_name(f), fact_words(f)) for f in facts]))
    return groups


def _sector_form() -> SectorModelForm:
    form = SectorModelForm()
    form.sector_id.choices = [(str(id_), label) for id_, label in sector_options()]
    return form


@blueprint.route("")
@admin_required
def models():
    return render_template("scoring/models.html", models=rules.models(), sector_form=_sector_form())


@blueprint.route("/sectors", methods=["POST"])
@admin_required
def give_sector_a_model():
    form = _sector_form()
    if not form.validate_on_submit():
        return render_template("scoring/models.html", models=rules.models(), sector_form=form), 400
    model = rules.give_sector_its_model(int(form.sector_id.data), current_user.id)
    return redirect(url_for("scoring_admin.model", model_id=model.id))


def _model_page(model: ScoringModel, form: ModelForm, status: int = 200):
    for fact in rules.FACTS:
        form[field_name(fact)].label.text = fact_words(fact)
    sector = db.session.get(Sector, model.sector_id) if model.sector_id else None
    return render_template(
        "scoring/model.html", model=model, sector=sector, form=form, groups=_groups()
    ), status


@blueprint.route("/<int:model_id>", methods=["GET", "POST"])
@admin_required
def model(model_id: int):
    found = db.session.scalar(select(ScoringModel).where(ScoringModel.id == model_id))
    if found is None:
        raise NotFound()
    form = ModelForm(
        data={
            "warm_from": found.warm_from,
            "hot_from": found.hot_from,
            "sql_from": found.sql_from,
            **{field_name(f): found.points.get(f, 0) for f in rules.FACTS},
        }
    )
    if not form.is_submitted():
        return _model_page(found, form)
    if not form.validate():
        return _model_page(found, form, 400)
    change = rules.ModelChange(
        points=form.points(),
        warm_from=form.warm_from.data,
        hot_from=form.hot_from.data,
        sql_from=form.sql_from.data,
        reason=form.reason.data or "",
    )
    try:
        rules.update_model(model_id, current_user.id, change)
    except ValidationFailed as error:
        aliases = {fact: field_name(fact) for fact in rules.FACTS}
        show_field_errors(form, error, aliases)
        return _model_page(found, form, 422)
    flash(_("Scoring model saved: the next leads are scored with it."), "success")
    return redirect(url_for("scoring_admin.models"))
