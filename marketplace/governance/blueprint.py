"""The admins' console of governance, under /admin."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("governance", __name__)

from marketplace.governance import (  # noqa: E402, F401
    audit_pages,
    organization_pages,
    overview_pages,
    sector_pages,
)
