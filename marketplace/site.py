"""The landing page and the health check."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, redirect, render_template
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from marketplace import __version__, jobs
from marketplace.auth.views import home_for
from marketplace.extensions import csrf, db

blueprint = Blueprint("site", __name__)
log = logging.getLogger(__name__)


@blueprint.route("/")
def index():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    return render_template("site/index.html")


@blueprint.route("/privacy")
def privacy():
    """The privacy notice every consent text links to: what we keep, why, and the rights."""
    return render_template("site/privacy.html", contact=current_app.config["PRIVACY_CONTACT"])


@blueprint.route("/healthz")
@csrf.exempt
def healthz():
    """Database and Redis reachable, and the version: 200 when all is up, 503 otherwise."""
    checks: dict[str, object] = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError:
        log.exception("health check: database unreachable")
        db.session.rollback()
        checks["database"] = "unreachable"
    if current_app.config["REDIS_URL"]:
        checks["redis"] = "ok" if jobs.redis_reachable() else "unreachable"
    else:
        checks["redis"] = "not configured (jobs run inline)"
    healthy = "unreachable" not in checks.values()
    body = {"status": "ok" if healthy else "degraded", "version": __version__, **checks}
    return jsonify(body), 200 if healthy else 503
