"""The team's use cases: invite by a signed link that expires, accept it, change a
role, remove someone, each written to the audit trail in the same transaction.

An organization always keeps at least one active owner: the last owner can be neither
demoted nor removed (two owners demoting each other at once are serialised by a lock
on the organization's row).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import generate_password_hash

from marketplace import audit, mail
from marketplace.accounts import normalise_account_email
from marketplace.errors import DomainError, NotAllowed, NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.models import Invitation, Organization, User, UserRole, utcnow

INVITATION_DAYS = 7
# Enough for any real team; stops an owner's session, stolen or scripted, from
# turning the outbox into a mailer.
MAX_OPEN_INVITATIONS = 50
LINK_SALT = "team-invitation"


class InvitationInvalid(DomainError):
    status = 410
    code = "invitation_invalid"
    default_message = _l(
        "This invitation link is no longer valid: it has expired, was withdrawn or was "
        "already used. Ask whoever invited you for a new one."
    )


@dataclass(frozen=True)
class TeamView:
    members: list[User]
    invitations: list[Invitation]


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=LINK_SALT)


def _owner_of(organization_id: int, actor_user_id: int) -> User:
    actor = db.session.get(User, actor_user_id)
    if actor is None or actor.organization_id != organization_id or not actor.is_owner:
        raise NotAllowed()
    return actor


def team_of(organization_id: int, now: datetime | None = None) -> TeamView:
    """Active members, owners first; invitations neither used nor withdrawn, the
    expired ones kept a week more so the owner sees why someone did not join."""
    now = now or utcnow()
    members = db.session.scalars(
        select(User)
        .where(User.organization_id == organization_id, User.is_active_account.is_(True))
        .order_by(User.role.desc(), User.full_name, User.id)
    ).all()
    invitations = db.session.scalars(
        select(Invitation)
        .where(
            Invitation.organization_id == organization_id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now - timedelta(days=7),
        )
        .order_by(Invitation.created_at.desc(), Invitation.id.desc())
    ).all()
    return TeamView(list(members), list(invitations))


def invite(
    organization_id: int,
    actor_user_id: int,
    *,
    email: str,
    role: UserRole,
    link_for: Callable[[str], str],
) -> Invitation:
    """Invite ``email`` as ``role`` and mail the link (through the outbox). Inviting an
    address again withdraws its earlier link: the newest is the one that works."""
    actor = _owner_of(organization_id, actor_user_id)
    email = normalise_account_email(email)
    member = db.session.scalar(
        select(User.id).where(
            User.email == email,
            User.organization_id == organization_id,
            User.is_active_account.is_(True),
        )
    )
    if member is not None:
        raise ValidationFailed(fields={"email": _("This person is already in your team.")})
    now = utcnow()
    open_count = db.session.scalar(
        select(func.count(Invitation.id)).where(
            Invitation.organization_id == organization_id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > now,
        )
    )
    if open_count >= MAX_OPEN_INVITATIONS:
        raise ValidationFailed(
            fields={
                "email": _(
                    "%(n)d invitations are waiting: withdraw some before sending more.",
                    n=open_count,
                )
            }
        )
    db.session.execute(
        update(Invitation)
        .where(
            Invitation.organization_id == organization_id,
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    invitation = Invitation(
        organization_id=organization_id,
        email=email,
        role=role,
        invited_by_user_id=actor.id,
        created_at=now,
        expires_at=now + timedelta(days=INVITATION_DAYS),
    )
    db.session.add(invitation)
    db.session.flush()
    audit.record(
        "team.member_invited",
        "invitation",
        invitation.id,
        actor_user_id=actor.id,
        actor_organization_id=organization_id,
        details={"role": role.value},
    )
    token = _serializer().dumps({"invitation": invitation.id})
    organization = db.session.get(Organization, organization_id)
    # queue_mail commits: the invitation, its audit event and its mail land together.
    mail.queue_mail(
        email,
        _(
            "%(name)s invites you to join %(organization)s",
            name=actor.full_name,
            organization=organization.name,
        ),
        _(
            "Hello,\n\n%(name)s invites you to join %(organization)s on the lead "
            "marketplace as %(role)s.\n\nOpen this link within %(days)d days to choose "
            "your password:\n%(link)s\n\nIf you did not expect this invitation, ignore "
            "this e-mail: nothing happens without you.\n",
            name=actor.full_name,
            organization=organization.name,
            role=_("an owner") if role is UserRole.OWNER else _("a member"),
            days=INVITATION_DAYS,
            link=link_for(token),
        ),
        topic="team.invitation",
    )
    return invitation


def invitation_from_token(token: str, now: datetime | None = None) -> Invitation:
    """The open invitation a link stands for, or InvitationInvalid."""
    try:
        payload = _serializer().loads(token, max_age=INVITATION_DAYS * 24 * 3600)
    except BadSignature:  # expired links included (SignatureExpired is a subclass)
        raise InvitationInvalid() from None
    invitation_id = payload.get("invitation") if isinstance(payload, dict) else None
    if not isinstance(invitation_id, int):
        raise InvitationInvalid()
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or not invitation.is_open(now or utcnow()):
        raise InvitationInvalid()
    return invitation


def accept_invitation(token: str, *, full_name: str, password: str, password_method: str) -> User:
    """Create the invited person's account in the organization (or bring back a
    removed member's), and close the invitation: a link works once."""
    invitation = invitation_from_token(token)
    now = utcnow()
    taken = db.session.scalar(select(User).where(User.email == invitation.email))
    if taken is not None and (taken.is_active_account or taken.is_platform_admin):
        raise ValidationFailed(
            _(
                "An account already uses this e-mail address, and a person belongs to one "
                "organization: ask whoever invited you to invite another address."
            )
        )
    user = taken or User(email=invitation.email)
    user.organization_id = invitation.organization_id
    user.full_name = full_name.strip()
    user.password_hash = generate_password_hash(password, method=password_method)
    user.role = invitation.role
    user.is_active_account = True
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:  # the same e-mail signed up a moment ago
        db.session.rollback()
        raise InvitationInvalid() from None
    # Two clicks on one link at once: only one closes it.
    closed = db.session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation.id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(accepted_at=now, accepted_user_id=user.id)
    ).rowcount
    if closed != 1:
        db.session.rollback()
        raise InvitationInvalid()
    audit.record(
        "team.invitation_accepted",
        "user",
        user.id,
        actor_user_id=user.id,
        actor_organization_id=invitation.organization_id,
        details={"invitation_id": invitation.id, "role": invitation.role.value},
    )
    db.session.commit()
    return user


def revoke_invitation(organization_id: int, actor_user_id: int, invitation_id: int) -> None:
    actor = _owner_of(organization_id, actor_user_id)
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None or invitation.organization_id != organization_id:
        raise NotFound()
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = utcnow()
        audit.record(
            "team.invitation_revoked",
            "invitation",
            invitation.id,
            actor_user_id=actor.id,
            actor_organization_id=organization_id,
        )
    db.session.commit()


def _member_to_change(organization_id: int, user_id: int) -> User:
    # The lock makes "is there another owner?" and the change one step.
    db.session.get(Organization, organization_id, with_for_update=True)
    member = db.session.get(User, user_id, populate_existing=True)
    if member is None or member.organization_id != organization_id or not member.is_active_account:
        raise NotFound()
    return member


def _is_last_owner(organization_id: int, member: User) -> bool:
    if member.role is not UserRole.OWNER:
        return False
    owners = db.session.scalar(
        select(func.count(User.id)).where(
            User.organization_id == organization_id,
            User.role == UserRole.OWNER,
            User.is_active_account.is_(True),
        )
    )
    return owners <= 1


def change_role(organization_id: int, actor_user_id: int, user_id: int, role: UserRole) -> None:
    actor = _owner_of(organization_id, actor_user_id)
    member = _member_to_change(organization_id, user_id)
    if member.role is role:
        db.session.commit()
        return
    if _is_last_owner(organization_id, member):
        raise ValidationFailed(
            _("Your organization needs at least one owner: make someone else owner first."),
            fields={"role": _("The last owner stays an owner.")},
        )
    before = member.role
    member.role = role
    audit.record(
        "team.role_changed",
        "user",
        member.id,
        actor_user_id=actor.id,
        actor_organization_id=organization_id,
        details={"from": before.value, "to": role.value},
    )
    db.session.commit()


def remove_member(organization_id: int, actor_user_id: int, user_id: int) -> None:
    """The account is closed at once (its sessions end with it); its name stays on
    what it did (ratings, outcomes, the audit trail)."""
    actor = _owner_of(organization_id, actor_user_id)
    member = _member_to_change(organization_id, user_id)
    if _is_last_owner(organization_id, member):
        raise ValidationFailed(
            _("Your organization needs at least one owner: make someone else owner first.")
        )
    member.is_active_account = False
    audit.record(
        "team.member_removed",
        "user",
        member.id,
        actor_user_id=actor.id,
        actor_organization_id=organization_id,
        details={"role": member.role.value},
    )
    db.session.commit()
