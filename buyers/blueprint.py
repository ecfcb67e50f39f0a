"""The buyer portal's blueprint. Each page module adds its routes to it, and none of
them imports another: what two pages share lives in a use case or in the labels."""

from __future__ import annotations

from flask import Blueprint

blueprint = Blueprint("buyers", __name__)

# Imported for their routes, once the blueprint exists.
from buyers import (  # noqa: E402, F401
    billing_pages,
    dashboard_pages,
    inbox_pages,
    purchase_pages,
    views,
)
