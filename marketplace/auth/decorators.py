"""Role gates: the portal of each role is closed to the others.

Unauthenticated visitors are sent to the login page (401 JSON for API calls);
a signed-in user of another role gets a 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort, request
from flask_login import current_user

from marketplace.errors import NotAllowed
from marketplace.extensions import login_manager


def _gate(allowed: Callable[[object], bool]):
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not allowed(current_user):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


buyer_required = _gate(lambda user: user.is_buyer)
publisher_required = _gate(lambda user: user.is_publisher)
admin_required = _gate(lambda user: user.is_platform_admin)
organization_required = _gate(lambda user: user.organization_id is not None)

# What reads stays open to every member; what changes needs an owner.
READING_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def owner_required_to_change(view):
    """A member sees the page; only an owner may post to it (billing, API keys)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if (
            current_user.is_authenticated
            and request.method not in READING_METHODS
            and not current_user.is_owner
        ):
            raise NotAllowed()
        return view(*args, **kwargs)

    return wrapped
