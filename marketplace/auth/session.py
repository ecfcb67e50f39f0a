"""Flask-Login wiring: loading users and answering the unauthenticated; the session
cookie's interface."""

from __future__ import annotations

from flask import Flask, flash, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_babel import lazy_gettext as _l
from flask_login import login_user

from marketplace import accounts
from marketplace.errors import is_api_path, json_error, wants_json
from marketplace.extensions import db, login_manager
from marketplace.models import User


class CookieSessionInterface(SecureCookieSessionInterface):
    """Flask's signed session cookie, without building its signer for a request that
    brings no session cookie and leaves the session empty (building the signer was 8
    of the 14 µs a call spent on its session: bench/request_hooks.py,
    docs/benchmarks.md).

    An API call is authenticated by its key alone: a session cookie it brings (a
    browser signed in to the portal) is not read, and it is answered none, nor a
    ``Vary: Cookie``. Its session lasts the call (a ``?lang=`` is heard, not kept)."""

    def open_session(self, app, request):
        if is_api_path(request.path) or (
            app.secret_key and not request.cookies.get(self.get_cookie_name(app))
        ):
            return self.session_class()  # what Flask answers then, past the signer
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        if is_api_path(request.path):
            return
        if not session and not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return  # Flask sets and deletes nothing then either
        super().save_session(app, session, response)


def configure_login(app: Flask) -> None:
    app.session_interface = CookieSessionInterface()
    login_manager.init_app(app)
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        if not user_id.isdigit():
            return None
        user = db.session.get(User, int(user_id))
        # A removed member's open sessions end with its account.
        return user if user is not None and user.is_active else None

    @login_manager.unauthorized_handler
    def unauthorized():
        if wants_json():
            return json_error(401, "unauthenticated", "Sign in or send an API key.")
        flash(_l("Please sign in to see this page."), "warning")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def start_session(user: User) -> None:
    """Sign ``user`` in on a fresh session: nothing from before sign-in survives
    (session fixation), except the language chosen."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    login_user(user)
    accounts.record_login(user)
