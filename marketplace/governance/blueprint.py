"""The admins' console of governance, under /admin."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("governance", __name__)
