"""The buyer's dashboard: the figures in tables, and the same figures drawn as charts
(server-side SVG with pygal, shown as images: readable without JavaScript).

The page and its two images are three requests made one after the other for the same
figures: the figures are read once and remembered a few seconds (SNAPSHOT_SECONDS) by
the process, for the images that follow their page."""

from __future__ import annotations

import pygal
from flask import Response, flash, render_template, request
from flask_babel import format_date, get_timezone
from flask_babel import gettext as _
from flask_login import current_user
from pygal.style import DefaultStyle

from buyers.blueprint import blueprint
from buyers.dashboard import PERIODS_IN_WEEKS, Dashboard, dashboard
from marketplace import snapshots
from marketplace.auth.decorators import buyer_required

# The charts are images: their own inline styles, nothing else, whatever the page's policy.
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"


def _weeks() -> tuple[int, int]:
    """The chosen period in weeks, and the status to answer (422 off the list)."""
    asked = request.args.get("weeks", "12")
    if asked.isdigit() and int(asked) in PERIODS_IN_WEEKS:
        return int(asked), 200
    return 12, 422


@blueprint.route("/dashboard")
@buyer_required
def dashboard_page():
    weeks, status = _weeks()
    if status != 200:
        flash(_("Choose a period from the list."), "danger")
    figures = _figures(weeks)
    return render_template(
        "buyers/dashboard.html", figures=figures, weeks=weeks, periods=PERIODS_IN_WEEKS
    ), status


def _svg(chart) -> Response:
    response = Response(chart.render(is_unicode=True), mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = SVG_POLICY
    return response


def _chart(kind, title: str):
    return kind(
        js=[],  # no script from a CDN (nor any: an image runs none)
        disable_xml_declaration=False,
        title=title,
        style=DefaultStyle,
        height=320,
        legend_at_bottom=True,
        print_values=False,
    )


def _figures(weeks: int) -> Dashboard:
    """The organization's figures over ``weeks``, read once for a page and its images."""
    organization_id = current_user.organization_id
    return snapshots.remembered(
        "buyer-dashboard",
        (organization_id, weeks, str(get_timezone())),
        lambda: dashboard(organization_id, weeks),
    )


@blueprint.route("/dashboard/leads-per-week.svg")
@buyer_required
def leads_per_week_chart():
    figures = _figures(_weeks()[0])
    chart = _chart(pygal.Bar, _("Leads bought and won, per week"))
    chart.x_labels = [format_date(week, "d MMM") for week, _f in figures.weeks]
    chart.add(_("Bought"), [f.leads for _w, f in figures.weeks])
    chart.add(_("Contacted"), [f.contacted for _w, f in figures.weeks])
    chart.add(_("Won"), [f.won for _w, f in figures.weeks])
    return _svg(chart)


@blueprint.route("/dashboard/cost-per-lead.svg")
@buyer_required
def cost_per_lead_chart():
    figures = _figures(_weeks()[0])
    chart = _chart(pygal.HorizontalBar, _("Cost per lead, per campaign (EUR)"))
    for name, campaign in figures.by_campaign[:12]:
        chart.add(name or _("Catalogue"), [(campaign.cpl_cents or 0) / 100])
    return _svg(chart)
