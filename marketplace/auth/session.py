"""Flask-Login wiring: loading users and answering the unauthenticated."""

from __future__ import annotations

from flask import Flask, flash, redirect, request, url_for
from flask_babel import lazy_gettext as _l

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
        return db.session.get(User, int(user_id))

    @login_manager.unauthorized_handler
    def unauthorized():
        if wants_json():
            return json_error(401, "unauthenticated", "Sign in or send an API key.")
        flash(_l("Please sign in to see this page."), "warning")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
