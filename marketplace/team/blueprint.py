"""The team's blueprint, the same pages for buyers and publishers."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("team", __name__)

from marketplace.team import pages  # noqa: E402, F401
