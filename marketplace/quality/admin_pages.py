"""The admins' view of source quality: the priors and payout bounds, the sources worst
first."""

from __future__ import annotations

from decimal import Decimal

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from marketplace.auth.decorators import admin_required
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.forms import show_field_errors
from marketplace.models import Organization
from marketplace.quality import report, sources
from marketplace.quality.blueprint import blueprint
from marketplace.quality.forms import QualitySettingsForm


def _page(form: QualitySettingsForm, status: int = 200):
    ranked = report.ranked_sources()
    names = dict(
        db.session.execute(
            select(Organization.id, Organization.name).where(
                Organization.id.in_([row.publisher_id for row in ranked])
            )
        ).all()
    )
    settings = sources.current_settings()
    return render_template(
        "quality/admin.html",
        form=form,
        ranked=ranked,
        names=names,
        neutral=sources.neutral_score(settings),
    ), status


@blueprint.route("", methods=["GET", "POST"])
@admin_required
def settings_page():
    settings = sources.current_settings()
    form = QualitySettingsForm(
        data={
            "prior_rating": Decimal(str(settings.prior_rating)),
            "prior_weight": settings.prior_weight,
            "payout_min": Decimal(settings.payout_min_bps) / 10_000,
            "payout_max": Decimal(settings.payout_max_bps) / 10_000,
        }
    )
    if not form.is_submitted():
        return _page(form)
    if not form.validate():
        return _page(form, 400)
    try:
        sources.update_settings(
            current_user.id,
            prior_rating_tenths=round(form.prior_rating.data * 10),
            prior_weight=form.prior_weight.data,
            payout_min_bps=round(form.payout_min.data * 10_000),
            payout_max_bps=round(form.payout_max.data * 10_000),
            reason=form.reason.data or "",
        )
    except ValidationFailed as error:
        show_field_errors(form, error)
        return _page(form, 422)
    flash(_("Saved: every source's score and multiplier are being recomputed."), "success")
    return redirect(url_for("quality_admin.settings_page"))
