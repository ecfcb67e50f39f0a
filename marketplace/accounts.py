"""Account use cases: sign up an organization with its owner, authenticate, create admins."""

from __future__ import annotations

import functools
import hashlib

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from marketplace import audit
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.models import (
    BillingStatus,
    Organization,
    OrganizationKind,
    User,
    UserRole,
    utcnow,
)


@functools.cache
def _dummy_hash(method: str) -> str:
    """Checked against when the e-mail is unknown, made with the method real passwords
    use, so a wrong e-mail costs the same time as a wrong password and does not reveal
    which accounts exist."""
    return generate_password_hash("not-a-real-password", method=method)


class EmailTaken(ValidationFailed):
    code = "email_taken"
    default_message = _l("An account already uses this e-mail address.")

    def __init__(self):
        super().__init__(fields={"email": self.default_message})


def normalise_account_email(email: str) -> str:
    return email.strip().lower()


def login_throttle_key(email: str | None) -> str:
    """The per-account login limit's key: a hash, so no e-mail sits in Redis."""
    digest = hashlib.sha256(normalise_account_email(email or "").encode()).hexdigest()
    return f"login-account:{digest[:32]}"


def sign_up(
    *,
    kind: OrganizationKind,
    company_name: str,
    full_name: str,
    email: str,
    password: str,
    password_method: str,
    revenue_share_bps: int = 5000,
    approved: bool = True,
) -> User:
    """Create an organization and its owner in one transaction."""
    email = normalise_account_email(email)
    if db.session.scalar(select(User.id).where(User.email == email)) is not None:
        raise EmailTaken()
    organization = Organization(
        kind=kind,
        name=company_name.strip(),
        revenue_share_bps=revenue_share_bps,
        approved=approved,
        # With Stripe configured, a buyer receives leads once it can pay for them.
        billing_status=BillingStatus.NO_PAYMENT_METHOD
        if kind is OrganizationKind.BUYER and current_app.config.get("STRIPE_API_KEY")
        else BillingStatus.GOOD,
    )
    user = User(
        organization=organization,
        email=email,
        full_name=full_name.strip(),
        password_hash=generate_password_hash(password, method=password_method),
        role=UserRole.OWNER,
    )
    db.session.add_all([organization, user])
    try:
        db.session.commit()
    except IntegrityError:
        # Two sign-ups with one e-mail at the same instant: the unique index decides.
        db.session.rollback()
        raise EmailTaken() from None
    return user


def authenticate(email: str, password: str) -> User | None:
    """The user when the e-mail and password match an active account, else None."""
    user = db.session.scalar(select(User).where(User.email == normalise_account_email(email)))
    if user is None:
        check_password_hash(_dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.is_active:
        return None
    return user


def record_login(user: User) -> None:
    user.last_login_at = utcnow()
    if user.is_platform_admin:
        # An admin sees everyone's data: each sign-in is in the audit trail.
        audit.record("admin.login", "user", user.id, actor_user_id=user.id)
    db.session.commit()


def create_admin(email: str, password: str, password_method: str, full_name: str = "") -> User:
    """Create a platform admin, or make an existing account one (and reset its password)."""
    email = normalise_account_email(email)
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, full_name=full_name or email.split("@")[0], password_hash="")
        db.session.add(user)
    user.is_platform_admin = True
    user.password_hash = generate_password_hash(password, method=password_method)
    db.session.commit()
    return user
