"""The admins' scoring pages, under /admin/scoring."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("scoring_admin", __name__)

from marketplace.scoring import admin_pages  # noqa: E402, F401
