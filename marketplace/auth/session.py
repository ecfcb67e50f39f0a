"""Flask-Login wiring: loading users and answering the unauthenticated."""

from __future__ import annotations

from flask import Flask, flash, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import login_user

from marketplace import accounts
from marketplace.errors import json_error, wants_json
from marketplace.extensions import db, login_manager
from marketplace.models import User


def configure_login(app: Flask) -> None:
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
