"""Role gates: the portal of each role is closed to the others.

Unauthenticated visitors are sent to the login page (401 JSON for API calls);
a signed-in user of another role gets a 403.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user

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
