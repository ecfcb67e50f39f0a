"""Sign-up, login and logout pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from marketplace import accounts
from marketplace.errors import ValidationFailed
from marketplace.extensions import limiter
from marketplace.forms import show_field_errors
from marketplace.models import OrganizationKind, User

from .forms import LoginForm, SignupForm
from .session import start_session

blueprint = Blueprint("auth", __name__)


def home_for(user: User) -> str:
    if user.is_platform_admin:
        return url_for("admin.leads")
    if user.is_buyer:
        return url_for("buyers.inbox")
    return url_for("publishers.dashboard")


def _safe_next(target: str | None) -> str | None:
    """Only a path on this site: an open redirect would help phishing."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _account_key() -> str:
    return accounts.login_throttle_key(request.form.get("email"))


@blueprint.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"])
# Per account, whatever the address: a new IP does not buy an attacker more guesses.
# Only failed attempts count (a signed-in user is redirected).
@limiter.limit(
    lambda: current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"],
    key_func=_account_key,
    methods=["POST"],
    deduct_when=lambda response: response.status_code != 302,
)
def login():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is None:
            flash(_("Wrong e-mail or password."), "danger")
        else:
            start_session(user)
            return redirect(_safe_next(request.args.get("next")) or home_for(user))
    return render_template("auth/login.html", form=form)


@blueprint.route("/signup", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def signup():
    form = SignupForm(kind=request.args.get("as", "buyer"))
    if form.validate_on_submit():
        try:
            user = accounts.sign_up(
                kind=OrganizationKind(form.kind.data),
                company_name=form.company_name.data,
                full_name=form.full_name.data,
                email=form.email.data,
                password=form.password.data,
                password_method=current_app.config["PASSWORD_HASH_METHOD"],
                revenue_share_bps=current_app.config["DEFAULT_REVENUE_SHARE_BPS"],
                # A new publisher's leads are kept, not sold, until an admin approves it.
                approved=not current_app.config["APPROVE_NEW_PUBLISHERS"],
            )
        except ValidationFailed as error:
            show_field_errors(form, error)
        else:
            start_session(user)
            flash(_("Welcome! Your account is ready."), "success")
            return redirect(home_for(user))
    return render_template("auth/signup.html", form=form)


@blueprint.route("/logout", methods=["POST"])
def logout():
    logout_user()
    session.clear()
    flash(_("You are signed out."), "info")
    return redirect(url_for("site.index"))
