"""The admins' overview page and its two charts (server-side SVG with pygal, shown as
images beside tables of the same figures: readable without JavaScript).

The page and its images are three requests for the same figures: they are read once
and remembered a few seconds (SNAPSHOT_SECONDS) by the process."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pygal
from flask import Response, abort, render_template, request
from flask_babel import format_date, get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pygal.style import DefaultStyle
from wtforms import DateField, Form, SelectField
from wtforms.validators import Optional

from marketplace import snapshots
from marketplace.auth.decorators import admin_required
from marketplace.errors import ValidationFailed
from marketplace.forms import SaneDate, show_field_errors
from marketplace.governance import overview as service
from marketplace.governance.blueprint import blueprint
from marketplace.models import utcnow

# The charts are images: their own inline styles, nothing else, whatever the page's policy.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"


class PeriodForm(Form):
    """The period, read from the address (a view can be bookmarked): a plain form, no
    CSRF token, since a GET changes nothing. Dates given win over ``days``."""

    days = SelectField(
        _l("Period"),
        choices=[(n, _l("Last %(n)d days", n=n)) for n in service.PERIODS_IN_DAYS],
        coerce=int,
        default=service.DEFAULT_DAYS,
    )
    date_from = DateField(_l("From"), name="from", validators=[Optional(), SaneDate()])
    date_to = DateField(_l("To"), name="to", validators=[Optional(), SaneDate()])


def _zone() -> ZoneInfo:
    return ZoneInfo(str(get_timezone()))


def _period(form: PeriodForm) -> service.Period:
    """The period the form asks for, or ValidationFailed with the fields at fault."""
    if not form.validate():
        raise ValidationFailed(fields={})
    first, last = form.date_from.data, form.date_to.data
    if first is None and last is None:
        return service.Period.last(form.days.data, utcnow().astimezone(_zone()).date())
    if first is None or last is None:
        missing = "from" if first is None else "to"
        raise ValidationFailed(fields={missing: str(_l("Give both dates, or neither."))})
    return service.check_period(first, last)


def _figures(period: service.Period) -> service.Overview:
    zone = _zone()
    return snapshots.remembered(
        "admin-overview",
        (period, zone.key),
        lambda: service.overview(period, zone),
    )


def _chosen() -> tuple[PeriodForm, service.Period | None]:
    form = PeriodForm(request.args)
    try:
        return form, _period(form)
    except ValidationFailed as failed:
        aliases = {"from": "date_from", "to": "date_to"}
        show_field_errors(form, failed, aliases)
        return form, None


@blueprint.route("/overview")
@admin_required
def overview():
    form, period = _chosen()
    if period is None:
        return render_template(
            "governance/overview.html", form=form, figures=None, chart_args={}, periods=()
        ), 400
    figures = _figures(period)
    chart_args = (
        {"from": period.first_day.isoformat(), "to": period.last_day.isoformat()}
        if form.date_from.data
        else {"days": form.days.data}
    )
    return render_template(
        "governance/overview.html",
        form=form,
        figures=figures,
        chart_args=chart_args,
        periods=service.PERIODS_IN_DAYS,
        chosen_days=None if form.date_from.data else form.days.data,
    )


def _svg(chart) -> Response:
    response = Response(chart.render(is_unicode=True), mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = SVG_POLICY
    return response


def _chart(title: str, days: int):
    return pygal.Line(
        js=[],  # no script from a CDN (nor any: an image runs none)
        disable_xml_declaration=False,
        title=title,
        style=DefaultStyle,
        height=320,
        legend_at_bottom=True,
        print_values=False,
        show_minor_x_labels=False,
        x_labels_major_every=max(1, days // 10),
        x_label_rotation=30,
        dots_size=2,
    )


def _chart_figures() -> service.Overview:
    _form, period = _chosen()
    if period is None:
        abort(400)
    return _figures(period)


@blueprint.route("/overview/leads.svg")
@admin_required
def overview_leads_chart():
    figures = _chart_figures()
    chart = _chart(_("Leads captured and sold, per day"), figures.period.days)
    chart.x_labels = [format_date(day, "d MMM") for day, _f in figures.days]
    chart.add(_("Captured"), [f.leads.captured for _d, f in figures.days])
    chart.add(_("Sold"), [f.leads.sold for _d, f in figures.days])
    return _svg(chart)


@blueprint.route("/overview/revenue.svg")
@admin_required
def overview_revenue_chart():
    figures = _chart_figures()
    currency = request.args.get("currency", "")
    if currency not in figures.currencies:
        currency = figures.currencies[0]
    chart = _chart(
        _("Revenue and platform margin per day (%(currency)s)", currency=currency),
        figures.period.days,
    )
    chart.x_labels = [format_date(day, "d MMM") for day, _f in figures.days]
    money = [f.in_currency(currency) for _d, f in figures.days]
    chart.add(_("Revenue"), [m.revenue_cents / 100 for m in money])
    chart.add(_("Platform margin"), [m.margin_cents / 100 for m in money])
    return _svg(chart)
