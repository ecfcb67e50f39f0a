"""A magnet's results over a chosen period: figures per variant, the A/B test's verdict,
views and submissions per day as charts (server-side SVG with pygal, shown as images
beside tables of the same figures: readable without JavaScript)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pygal
from flask import Response, abort, render_template, request
from flask_babel import format_date, get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from pygal.style import DefaultStyle

from marketplace.analytics.ab_test import Verdict
from marketplace.analytics.magnet_results import LineFigures, MagnetResults, magnet_results
from marketplace.auth.decorators import publisher_required
from marketplace.errors import ValidationFailed
from marketplace.forms import show_field_errors
from marketplace.governance.overview import PERIODS_IN_DAYS, Period, check_period
from marketplace.governance.overview_pages import SVG_POLICY, PeriodForm
from marketplace.magnets import own_magnet
from marketplace.models import utcnow
from marketplace.quality.sources import magnet_standing
from publishers.views import blueprint

VERDICTS = {
    Verdict.A_BETTER: _l("A converts better, at a confidence level of 95 %."),
    Verdict.B_BETTER: _l("B converts better, at a confidence level of 95 %."),
    Verdict.NO_DIFFERENCE: _l("No difference shown yet."),
    Verdict.NOT_ENOUGH_DATA: _l("Not enough data yet: keep both variants running."),
}


def _zone() -> ZoneInfo:
    return ZoneInfo(str(get_timezone()))


def _chosen() -> tuple[PeriodForm, Period | None]:
    """The period the address asks for (the admins' overview's rules), or None with
    the fields at fault marked on the form."""
    form = PeriodForm(request.args)
    try:
        if not form.validate():
            raise ValidationFailed(fields={})
        first, last = form.date_from.data, form.date_to.data
        if first is None and last is None:
            return form, Period.last(form.days.data, utcnow().astimezone(_zone()).date())
        if first is None or last is None:
            missing = "from" if first is None else "to"
            raise ValidationFailed(fields={missing: str(_l("Give both dates, or neither."))})
        return form, check_period(first, last)
    except ValidationFailed as failed:
        show_field_errors(form, failed, {"from": "date_from", "to": "date_to"})
        return form, None


def _results(magnet_id: int, period: Period) -> MagnetResults:
    return magnet_results(current_user.organization_id, magnet_id, period, _zone())


@blueprint.route("/magnets/<int:magnet_id>/results")
@publisher_required
def magnet_results_page(magnet_id: int):
    magnet = own_magnet(current_user.organization_id, magnet_id)  # 404 if not ours
    form, period = _chosen()
    if period is None:
        return render_template(
            "publishers/magnet_results.html",
            magnet=magnet,
            form=form,
            results=None,
            chart_args={},
            periods=PERIODS_IN_DAYS,
            chosen_days=None,
            standing=magnet_standing(magnet_id),
        ), 400
    chart_args = (
        {"from": period.first_day.isoformat(), "to": period.last_day.isoformat()}
        if form.date_from.data
        else {"days": form.days.data}
    )
    return render_template(
        "publishers/magnet_results.html",
        magnet=magnet,
        form=form,
        results=_results(magnet_id, period),
        chart_args=chart_args,
        periods=PERIODS_IN_DAYS,
        chosen_days=None if form.date_from.data else form.days.data,
        verdicts=VERDICTS,
        standing=magnet_standing(magnet_id),
    )


@blueprint.route("/magnets/<int:magnet_id>/results/chart.svg")
@publisher_required
def magnet_results_chart(magnet_id: int):
    """Views and submissions per day of one variant (``?variant=a`` or ``b``)."""
    own_magnet(current_user.organization_id, magnet_id)  # 404 if not ours
    _form, period = _chosen()
    if period is None:
        abort(400)
    results = _results(magnet_id, period)
    variant = "b" if request.args.get("variant") == "b" else "a"
    chart = pygal.Line(
        js=[],  # no script from a CDN (nor any: an image runs none)
        disable_xml_declaration=False,
        title=_("Variant %(variant)s: views and submissions per day", variant=variant.upper()),
        style=DefaultStyle,
        height=320,
        legend_at_bottom=True,
        show_minor_x_labels=False,
        x_labels_major_every=max(1, period.days // 10),
        x_label_rotation=30,
        dots_size=2,
    )
    chart.x_labels = [format_date(day, "d MMM") for day, _lines in results.days]
    empty = LineFigures()
    per_day = [lines.get(variant, empty) for _day, lines in results.days]
    chart.add(_("Views"), [figures.views for figures in per_day])
    chart.add(_("Submissions"), [figures.form_submissions for figures in per_day])
    response = Response(chart.render(is_unicode=True), mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = SVG_POLICY
    return response
