"""The platform report's page, its CSV file and its two charts (server-side SVG by
pygal, shown as images beside tables of the same figures: readable without
JavaScript). The four answers read the same figures: read once and remembered a few
seconds (SNAPSHOT_SECONDS) by the process."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pygal
from babel.numbers import format_percent
from flask import Response, abort, render_template, request
from flask_babel import format_date, get_locale, get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pygal.style import DefaultStyle
from wtforms import DateField, Form, SelectField, StringField
from wtforms.validators import Optional, Regexp

from marketplace import csv_files, snapshots
from marketplace.auth.decorators import admin_required
from marketplace.errors import ValidationFailed
from marketplace.forms import SaneDate, show_field_errors
from marketplace.governance.overview import Period, check_period
from marketplace.models import utcnow
from marketplace.platform_reports import report as service
from marketplace.platform_reports.blueprint import blueprint

# The charts are images: their own inline styles, nothing else, whatever the page's policy.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"


class ReportForm(Form):
    """What to show, read from the address (a report can be bookmarked): a plain form,
    no CSRF token, since a GET changes nothing."""

    date_from = DateField(_l("From"), name="from", validators=[Optional(), SaneDate()])
    date_to = DateField(_l("To"), name="to", validators=[Optional(), SaneDate()])
    dimension = SelectField(
        _l("Group by"),
        choices=[(d.value, label) for d, label in service.DIMENSION_LABELS.items()],
        default=service.Dimension.SECTOR.value,
    )
    figure = SelectField(
        _l("Figure per week"),
        choices=[(column.name, column.label) for column in service.COLUMNS],
        default=service.DEFAULT_WEEKLY,
    )
    currency = StringField(
        _l("Currency"),
        validators=[
            Optional(),
            Regexp(r"^[A-Z]{3}\Z", message=_l("A currency is three capital letters, such as EUR.")),
        ],
    )


def _zone() -> ZoneInfo:
    return ZoneInfo(str(get_timezone()))


def _period(form: ReportForm) -> Period:
    """The period the form asks for (the last 30 days, today included, by default), or
    ValidationFailed with the fields at fault."""
    if not form.validate():
        raise ValidationFailed(fields={})
    first, last = form.date_from.data, form.date_to.data
    if first is None and last is None:
        return Period.last(service.DEFAULT_DAYS, utcnow().astimezone(_zone()).date())
    if first is None or last is None:
        missing = "from" if first is None else "to"
        raise ValidationFailed(fields={missing: str(_l("Give both dates, or neither."))})
    return check_period(first, last)


def _chosen() -> tuple[ReportForm, service.Report | None]:
    """The form and the report it asks for; None when the form is at fault (its fields
    then carry the errors)."""
    form = ReportForm(request.args)
    try:
        period = _period(form)
    except ValidationFailed as failed:
        show_field_errors(form, failed, {"from": "date_from", "to": "date_to"})
        return form, None
    dimension = service.Dimension(form.dimension.data)
    zone = _zone()
    locale = get_locale().language
    found = snapshots.remembered(
        "platform-report",
        (period, dimension, zone.key, locale),
        lambda: service.report(period, dimension, zone, locale=locale),
    )
    return form, found


def _currency(form: ReportForm, found: service.Report) -> str:
    return form.currency.data or found.currencies[0]


def _arguments(form: ReportForm, found: service.Report, currency: str) -> dict:
    """The address's arguments of this report (for its charts, its CSV, its links)."""
    return {
        "from": found.period.first_day.isoformat(),
        "to": found.period.last_day.isoformat(),
        "dimension": found.dimension.value,
        "figure": form.figure.data,
        "currency": currency,
    }


@blueprint.route("/reports")
@admin_required
def platform_report():
    form, found = _chosen()
    if found is None:
        return render_template("platform_reports/report.html", form=form, found=None), 400
    currency = _currency(form, found)
    if form.date_from.data is None:  # show the default period's dates in the form
        form.date_from.data, form.date_to.data = found.period.first_day, found.period.last_day
    figure = service.COLUMNS_BY_NAME[form.figure.data]
    chart_groups = found.chart_groups(currency)
    return render_template(
        "platform_reports/report.html",
        form=form,
        found=found,
        currency=currency,
        columns=service.COLUMNS,
        dimension_label=service.DIMENSION_LABELS[found.dimension],
        figure=figure,
        chart_rows=[(label, _added(found, keys)) for label, keys in chart_groups],
        weekly=[found.weekly(keys) for _label, keys in chart_groups],
        weekly_total=found.weekly([group.key for group in found.groups]),
        arguments=_arguments(form, found, currency),
    )


@blueprint.route("/reports.csv")
@admin_required
def platform_report_csv():
    """The report's table as CSV: the same rows and figures as the page, then the
    totals; UTF-8 with a BOM, ``sep=semicolon`` for French Excel (decimal commas)."""
    form, found = _chosen()
    if found is None:
        return render_template("platform_reports/report.html", form=form, found=None), 400
    currency = _currency(form, found)
    chosen = csv_files.csv_format(request.args.get("sep"))
    body = csv_files.header_line(_csv_header(found, currency), chosen.delimiter)
    body += csv_files.lines(_csv_rows(found, currency, chosen.decimal), chosen.delimiter)
    filename = (
        f"platform-report-{found.dimension.value}-{found.period.first_day.isoformat()}"
        f"-{found.period.last_day.isoformat()}.csv"
    )
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _csv_header(found: service.Report, currency: str) -> list[str]:
    header = [str(service.DIMENSION_LABELS[found.dimension])]
    for column in service.COLUMNS:
        if column.kind is service.Kind.MONEY:
            header.append(f"{column.label} ({currency})")
        elif column.kind is service.Kind.RATE:
            header.append(f"{column.label} (%)")
        else:
            header.append(str(column.label))
    return header


def _csv_rows(found: service.Report, currency: str, decimal: str) -> list[list[str]]:
    rows = [(csv_files.text_cell(group.label), group.figures) for group in found.groups]
    rows.append((_("Total"), found.total))
    return [
        [label, *(_csv_cell(column, figures, currency, decimal) for column in service.COLUMNS)]
        for label, figures in rows
    ]


def _csv_cell(column: service.Column, figures: service.Figures, currency: str, decimal: str):
    value = column.value(figures, currency)
    if value is None:
        return ""  # a rate or a CPL without a denominator: an empty cell, not 0
    if column.kind is service.Kind.MONEY:
        return csv_files.cents_cell(value, decimal)
    if column.kind is service.Kind.RATE:
        # The page's rounding (Babel's, half-even to one decimal), without the sign.
        shown = format_percent(value, "0.0%", locale="en").rstrip("%").strip()
        return shown.replace(".", decimal)
    return str(value)


def _svg(chart) -> Response:
    response = Response(chart.render(is_unicode=True), mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = SVG_POLICY
    return response


def _chart_report() -> tuple[ReportForm, service.Report, str]:
    form, found = _chosen()
    if found is None:
        abort(400)
    return form, found, _currency(form, found)


def _style(**options) -> dict:
    return {
        "js": [],  # no script from a CDN (nor any: an image runs none)
        "disable_xml_declaration": False,
        "style": DefaultStyle,
        "height": 360,
        "legend_at_bottom": True,
        "print_values": False,
        "x_label_rotation": 30,
        **options,
    }


@blueprint.route("/reports/groups.svg")
@admin_required
def platform_report_groups_chart():
    """Revenue and platform margin per group: the first groups by revenue, the rest as
    "others"."""
    _form, found, currency = _chart_report()
    chart = pygal.Bar(
        **_style(
            title=_("Revenue and platform margin per group (%(currency)s)", currency=currency),
            x_title=str(service.DIMENSION_LABELS[found.dimension]),
            y_title=currency,
        )
    )
    named = found.chart_groups(currency)
    chart.x_labels = [label for label, _keys in named]
    money = [_added(found, keys).in_currency(currency) for _label, keys in named]
    chart.add(_("Revenue"), [m.revenue_cents / 100 for m in money])
    chart.add(_("Platform margin"), [m.margin_cents / 100 for m in money])
    return _svg(chart)


@blueprint.route("/reports/weeks.svg")
@admin_required
def platform_report_weeks_chart():
    """The chosen figure per week, a line per group (the first groups by revenue, the
    rest as "others")."""
    form, found, currency = _chart_report()
    column = service.COLUMNS_BY_NAME[form.figure.data]
    title = (
        _("%(figure)s per week (%(currency)s)", figure=column.label, currency=currency)
        if column.kind is service.Kind.MONEY
        else _("%(figure)s per week", figure=column.label)
    )
    y_title = {service.Kind.MONEY: currency, service.Kind.RATE: "%"}.get(column.kind)
    chart = pygal.Line(**_style(title=title, dots_size=3, y_title=y_title))
    chart.x_labels = [format_date(day, "d MMM") for day, _groups in found.weeks]
    for label, keys in found.chart_groups(currency):
        chart.add(label, [_plotted(column, figures, currency) for figures in found.weekly(keys)])
    return _svg(chart)


def _added(found: service.Report, keys: list) -> service.Figures:
    figures, wanted = service.Figures(), set(keys)
    for group in found.groups:
        if group.key in wanted:
            figures.add(group.figures)
    return figures


def _plotted(column: service.Column, figures: service.Figures, currency: str):
    value = column.value(figures, currency)
    if value is None:
        return None  # pygal leaves a gap: no rate that week
    if column.kind is service.Kind.MONEY:
        return value / 100
    if column.kind is service.Kind.RATE:
        return round(value * 100, 1)
    return value
