"""The landing page and the health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template
from flask_login import current_user

from marketplace import health
from marketplace.auth.views import home_for
from marketplace.extensions import csrf

blueprint = Blueprint("site", __name__)


@blueprint.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return render_template("site/index.html")


@blueprint.route("/healthz")
@csrf.exempt
def healthz():
    """200 while the database answers (ready), 503 otherwise; what is degraded in the body."""
    ready, body = health.report()
    return jsonify(body), 200 if ready else 503
