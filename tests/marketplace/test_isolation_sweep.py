"""Another organization's object is a 404, on every route that names one: a sweep
generated from ``app.url_map``, so a route added later is covered without anyone
listing it. Organization A owns the objects; organization B, of the same role, asks
for them by id (session pages with a valid CSRF token, and the API with B's key)."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from marketplace.api_keys import issue_api_key
from marketplace.extensions import db, limiter
from marketplace.models import Delivery, Invitation, Sale, User, UserRole, utcnow
from tests import factories
from tests.conftest import csrf_token_from

# The URL arguments naming an organization's object, per role.
ROLE_PREFIXES = {
    "buyer": ("/buyers/", "/api/v1/purchases", "/api/v1/catalog", "/team/"),
    "publisher": ("/publishers/", "/api/v1/leads", "/team/"),
}


# Valid values for what a route reads besides the id, so that it reaches its lookup
# (a body refused at its fields first would say nothing of the object).
VALID_INPUT = {
    "dispute": {"reason": "fake", "comment": "Not a real person."},
    "rating": {"stars": 4},
    "outcome": {"status": "contacted"},
    "status": {"status": "paused"},
    "role": {"role": "owner"},
}


def _team_of(organization) -> dict:
    """A member of the organization and an open invitation to it."""
    member = factories.UserFactory(organization=organization, role=UserRole.MEMBER)
    invitation = Invitation(
        organization_id=organization.id,
        email="invited@example.com",
        role=UserRole.MEMBER,
        expires_at=utcnow() + timedelta(days=7),
    )
    db.session.add(invitation)
    db.session.commit()
    return {"user_id": member.id, "invitation_id": invitation.id}


def owned_objects():
    """Objects of buyer A and publisher A, by URL argument name."""
    publisher = factories.PublisherFactory()
    buyer = factories.BuyerFactory()
    magnet = factories.magnet(publisher, language="en")
    campaign = factories.campaign(buyer, webhook_url="http://127.0.0.1:9/hook")
    captured = factories.lead(magnet, company="Secret Client SA")
    sale = db.session.scalar(select(Sale).where(Sale.lead_id == captured.lead_id))
    delivery_id = db.session.scalar(select(Delivery.id).where(Delivery.sale_id == sale.id))
    return {
        "buyer": {
            "sale_id": sale.id,
            "campaign_id": campaign.id,
            "delivery_id": delivery_id,
            "key_id": issue_api_key(buyer.id, "a")[0].id,
            **_team_of(buyer),
        },
        "publisher": {
            "magnet_id": magnet.id,
            "lead_id": captured.lead_id,
            "key_id": issue_api_key(publisher.id, "a")[0].id,
            **_team_of(publisher),
        },
    }


def test_every_route_naming_an_object_answers_404_to_another_organization(
    app, login_as, monkeypatch
):
    monkeypatch.setattr(limiter, "enabled", False)
    owned = owned_objects()
    strangers = {"buyer": factories.buyer_user(), "publisher": factories.publisher_user()}
    leaks, sent = [], 0
    for role, objects in owned.items():
        http = login_as(strangers[role])
        key = issue_api_key(strangers[role].organization_id, "b")[1]
        token = csrf_token_from(
            http.get("/buyers/api-keys" if role == "buyer" else "/publishers/api-keys").get_data(
                as_text=True
            )
        )
        for rule in app.url_map.iter_rules():
            arguments = set(rule.arguments)
            if not arguments or not arguments <= set(objects):
                continue
            if not str(rule).startswith(ROLE_PREFIXES[role]):
                continue
            path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(objects[m.group(1)]), str(rule))
            valid = VALID_INPUT.get(path.rsplit("/", 1)[-1], {})
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                if path.startswith("/api/"):
                    answer = http.open(
                        path,
                        method=method,
                        json=valid,
                        headers={"Authorization": f"Bearer {key}"},
                    )
                else:
                    data = {**valid, "csrf_token": token} if method == "POST" else None
                    answer = http.open(path, method=method, data=data)
                sent += 1
                body = answer.get_data(as_text=True)
                if answer.status_code != 404 or "Secret Client SA" in body:
                    leaks.append((role, method, path, answer.status_code))
    assert sent >= 20, sent  # the sweep reached the routes, not nothing
    assert leaks == [], leaks
    # Nothing of A's team changed.
    assert db.session.scalar(select(User.id).where(User.is_active_account.is_(False))) is None
    assert (
        db.session.scalar(select(Invitation.id).where(Invitation.revoked_at.is_not(None))) is None
    )
