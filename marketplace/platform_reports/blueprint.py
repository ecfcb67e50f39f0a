"""The platform reports' pages, under /admin."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("platform_reports", __name__)

from marketplace.platform_reports import pages  # noqa: E402, F401
