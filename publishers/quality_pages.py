"""The publisher's sources as buyers judge them: its score, each magnet's, the reasons
and the trend, and what each does to its earnings."""

from __future__ import annotations

from flask import render_template
from flask_login import current_user

from marketplace.auth.decorators import publisher_required
from marketplace.quality.report import publisher_sources
from marketplace.quality.sources import neutral_score
from publishers.views import blueprint


@blueprint.route("/quality")
@publisher_required
def source_quality():
    found = publisher_sources(current_user.organization_id)
    return render_template(
        "publishers/quality.html", sources=found, neutral=neutral_score(found.settings)
    )
