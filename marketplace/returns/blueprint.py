"""The admins' return rules page, under /admin/returns."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("returns_admin", __name__)

from marketplace.returns import admin_pages  # noqa: E402, F401
