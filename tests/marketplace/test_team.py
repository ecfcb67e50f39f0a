"""Teams: an owner invites colleagues by a signed link that expires, sets their role,
removes them; a member works leads but is refused what only an owner may do."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import (
    ApiKey,
    AuditEvent,
    Invitation,
    Organization,
    OutboxMail,
    User,
    UserRole,
    utcnow,
)
from tests.conftest import csrf_token_from, english_client
from tests.factories import BuyerFactory, PublisherFactory, UserFactory

LINK = re.compile(r"https?://[^/\s]+(/team/join/\S+)")


def _post(http, url, data=None, page="/team"):
    token = csrf_token_from(http.get(page).get_data(as_text=True))
    return http.post(url, data={**(data or {}), "csrf_token": token})


def _invite(http, email, role="member"):
    return _post(http, "/team/invitations", {"email": email, "role": role})


def _link_sent_to(email: str) -> str:
    mail = db.session.scalars(
        select(OutboxMail)
        .where(OutboxMail.to_address == email, OutboxMail.topic == "team.invitation")
        .order_by(OutboxMail.id.desc())
    ).first()
    assert mail is not None, "no invitation in the outbox"
    return LINK.search(mail.body_text).group(1)


def _join(app, link, name="Chloé Bernard", password="a-long-enough-password"):
    http = english_client(app)
    page = http.get(link)
    assert page.status_code == 200, page.get_data(as_text=True)
    token = csrf_token_from(page.get_data(as_text=True))
    response = http.post(
        link,
        data={"full_name": name, "password": password, "confirm": password, "csrf_token": token},
    )
    return http, response


def _actions(organization_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.actor_organization_id == organization_id)
            .where(AuditEvent.action.like("team.%"))
            .order_by(AuditEvent.id)
        )
    )


@pytest.fixture
def owner():
    return UserFactory(organization=BuyerFactory(), role=UserRole.OWNER)


@pytest.fixture
def member(owner):
    return UserFactory(
        organization=owner.organization, role=UserRole.MEMBER, email="member@example.com"
    )


def test_an_owner_invites_a_colleague_who_joins_by_the_link_once(app, owner, login_as):
    http = login_as(owner)
    response = _invite(http, "Chloe.Bernard@Example.com")
    assert response.status_code == 302
    page = http.get("/team").get_data(as_text=True)
    assert "chloe.bernard@example.com" in page

    link = _link_sent_to("chloe.bernard@example.com")
    joined, response = _join(app, link)
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "chloe.bernard@example.com"))
    assert user.organization_id == owner.organization_id
    assert user.role is UserRole.MEMBER
    # Signed in at once, in the organization's portal.
    assert joined.get("/buyers/").status_code == 200

    # The link works once.
    again = english_client(app).get(link)
    assert again.status_code == 410
    assert "no longer valid" in again.get_data(as_text=True)
    assert _actions(owner.organization_id) == ["team.member_invited", "team.invitation_accepted"]


def test_a_link_that_is_expired_tampered_or_withdrawn_is_refused(app, owner, login_as):
    http = login_as(owner)
    _invite(http, "late@example.com")
    link = _link_sent_to("late@example.com")
    invitation = db.session.scalar(select(Invitation).where(Invitation.email == "late@example.com"))

    assert english_client(app).get(link[:-3] + "abc").status_code == 410
    assert english_client(app).get("/team/join/not-a-token").status_code == 410

    invitation.expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert english_client(app).get(link).status_code == 410

    invitation.expires_at = utcnow() + timedelta(days=1)
    db.session.commit()
    assert english_client(app).get(link).status_code == 200
    _post(http, f"/team/invitations/{invitation.id}/revoke")
    assert english_client(app).get(link).status_code == 410
    assert (
        db.session.scalar(select(func.count(User.id)).where(User.email == "late@example.com")) == 0
    )


def test_inviting_the_same_address_again_withdraws_the_first_link(app, owner, login_as):
    http = login_as(owner)
    _invite(http, "twice@example.com")
    first = _link_sent_to("twice@example.com")
    _invite(http, "twice@example.com", role="owner")
    second = _link_sent_to("twice@example.com")
    assert first != second
    assert english_client(app).get(first).status_code == 410
    _, response = _join(app, second)
    assert response.status_code == 302
    user = db.session.scalar(select(User).where(User.email == "twice@example.com"))
    assert user.role is UserRole.OWNER


def test_the_invite_form_reports_field_errors(owner, login_as):
    http = login_as(owner)
    response = _invite(http, "not-an-address", role="admin")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "invalid-feedback" in page
    colleague = UserFactory(
        organization=owner.organization, role=UserRole.MEMBER, email="colleague@example.com"
    )
    response = _invite(http, colleague.email)
    assert response.status_code == 422
    assert "already in your team" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Invitation.id))) == 0


def test_an_address_with_an_account_elsewhere_cannot_join(app, owner, login_as):
    elsewhere = UserFactory(organization=PublisherFactory(), email="taken@example.com")
    _invite(login_as(owner), elsewhere.email)
    _, response = _join(app, _link_sent_to(elsewhere.email))
    assert response.status_code == 200
    assert "already uses this e-mail" in response.get_data(as_text=True)
    db.session.refresh(elsewhere)
    assert elsewhere.organization.kind.value == "publisher"


def test_a_member_is_refused_what_only_an_owner_may_do(app, owner, member, login_as):
    http = login_as(member)
    organization = db.session.get(Organization, owner.organization_id)
    name_before = organization.name

    assert http.get("/team").status_code == 200
    page = http.get("/team").get_data(as_text=True)
    assert 'id="invite-form"' not in page

    refused = [
        _invite(http, "friend@example.com"),
        _post(http, f"/team/members/{owner.id}/role", {"role": "member"}),
        _post(http, f"/team/members/{owner.id}/remove"),
        _post(http, "/team/settings", {"name": "Hijacked", "timezone": "UTC"}),
        _post(
            http,
            "/buyers/billing",
            {"company_name": "Hijacked", "email": "x@example.com"},
            page="/buyers/billing",
        ),
        _post(http, "/buyers/billing/payment-method", page="/buyers/billing"),
        _post(http, "/buyers/api-keys", {"name": "mine"}, page="/buyers/api-keys"),
    ]
    assert [response.status_code for response in refused] == [403] * len(refused)
    assert "Only an owner" in refused[0].get_data(as_text=True)

    db.session.expire_all()
    assert db.session.get(Organization, owner.organization_id).name == name_before
    assert db.session.get(User, owner.id).role is UserRole.OWNER
    assert db.session.scalar(select(func.count(Invitation.id))) == 0
    assert (
        db.session.scalar(
            select(func.count(ApiKey.id)).where(ApiKey.organization_id == owner.organization_id)
        )
        == 0
    )
    # What a member may do: read billing and the keys, work the leads.
    assert http.get("/buyers/billing").status_code == 200
    assert "Only an owner" in http.get("/buyers/api-keys").get_data(as_text=True)
    assert http.get("/buyers/").status_code == 200


def test_a_publisher_member_is_refused_keys_and_team(app, login_as):
    publisher = PublisherFactory()
    UserFactory(organization=publisher, role=UserRole.OWNER)
    member = UserFactory(organization=publisher, role=UserRole.MEMBER)
    http = login_as(member)
    assert http.get("/team").status_code == 200
    response = _post(http, "/publishers/api-keys", {"name": "mine"}, page="/publishers/api-keys")
    assert response.status_code == 403
    assert _invite(http, "friend@example.com").status_code == 403
    assert http.get("/publishers/").status_code == 200


def test_roles_change_and_the_last_owner_stays(owner, member, login_as):
    http = login_as(owner)
    response = _post(http, f"/team/members/{owner.id}/role", {"role": "member"})
    assert response.status_code == 302
    assert "at least one owner" in http.get("/team").get_data(as_text=True)
    assert db.session.get(User, owner.id).role is UserRole.OWNER
    _post(http, f"/team/members/{owner.id}/remove")
    db.session.expire_all()
    assert db.session.get(User, owner.id).is_active_account

    _post(http, f"/team/members/{member.id}/role", {"role": "owner"})
    db.session.expire_all()
    assert db.session.get(User, member.id).role is UserRole.OWNER
    # With a second owner, the first may step down.
    _post(http, f"/team/members/{owner.id}/role", {"role": "member"})
    db.session.expire_all()
    assert db.session.get(User, owner.id).role is UserRole.MEMBER
    assert _actions(owner.organization_id) == ["team.role_changed", "team.role_changed"]
    event = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "team.role_changed").order_by(AuditEvent.id)
    ).first()
    assert event.details == {"from": "member", "to": "owner"}
    assert event.actor_user_id == owner.id


def test_a_removed_member_is_signed_out_and_can_be_invited_back(app, owner, member, login_as):
    their_session = login_as(member)
    assert their_session.get("/buyers/").status_code == 200
    http = login_as(owner)
    assert _post(http, f"/team/members/{member.id}/remove").status_code == 302
    gone = their_session.get("/buyers/")
    assert gone.status_code == 302 and "/login" in gone.headers["Location"]
    assert member.email not in http.get("/team").get_data(as_text=True)
    assert _actions(owner.organization_id) == ["team.member_removed"]

    _invite(http, member.email)
    _, response = _join(app, _link_sent_to(member.email), name="Back Again")
    assert response.status_code == 302
    db.session.expire_all()
    back = db.session.get(User, member.id)
    assert back.is_active_account and back.full_name == "Back Again"


def test_another_organizations_people_and_invitations_are_404(owner, login_as):
    other_owner = UserFactory(organization=BuyerFactory(), role=UserRole.OWNER)
    other_member = UserFactory(organization=other_owner.organization, role=UserRole.MEMBER)
    _invite(login_as(other_owner), "theirs@example.com")
    theirs = db.session.scalar(select(Invitation).where(Invitation.email == "theirs@example.com"))

    http = login_as(owner)
    responses = [
        _post(http, f"/team/members/{other_member.id}/role", {"role": "owner"}),
        _post(http, f"/team/members/{other_member.id}/remove"),
        _post(http, f"/team/invitations/{theirs.id}/revoke"),
    ]
    assert [response.status_code for response in responses] == [404, 404, 404]
    assert other_member.email not in http.get("/team").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, other_member.id).is_active_account
    assert db.session.get(Invitation, theirs.id).revoked_at is None


def test_the_organizations_timezone_is_the_one_its_pages_show(owner, login_as):
    http = login_as(owner)
    assert "UTC+1" in http.get("/team").get_data(as_text=True) or "UTC+2" in http.get(
        "/team"
    ).get_data(as_text=True)
    bad = _post(
        http, "/team/settings", {"name": owner.organization.name, "timezone": "Mars/Olympus"}
    )
    assert bad.status_code == 422
    assert "invalid-feedback" in bad.get_data(as_text=True)
    response = _post(
        http, "/team/settings", {"name": "Renamed Ltd", "timezone": "America/Montreal"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    organization = db.session.get(Organization, owner.organization_id)
    assert (organization.name, organization.timezone) == ("Renamed Ltd", "America/Montreal")
    page = http.get("/team").get_data(as_text=True)
    assert "UTC-5" in page or "UTC-4" in page
    event = db.session.scalar(
        select(AuditEvent).where(AuditEvent.action == "organization.settings_changed")
    )
    assert event.details["timezone"] == {"from": "Europe/Paris", "to": "America/Montreal"}
