"""The privacy centre's blueprint (the person's pages) and the admins' queue's."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("privacy", __name__)
admin_blueprint = Blueprint("privacy_admin", __name__)

from marketplace.privacy import admin_pages, pages  # noqa: E402, F401
