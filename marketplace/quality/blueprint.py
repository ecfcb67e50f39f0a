"""The admins' source quality pages, under /admin/quality."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("quality_admin", __name__)

from marketplace.quality import admin_pages  # noqa: E402, F401
