"""Sign-up, login, logout, and the role gates."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.extensions import db
from marketplace.models import Organization, OrganizationKind, User
from tests import factories
from tests.conftest import english_client

GOOD_SIGNUP = {
    "kind": "buyer",
    "company_name": "Acme Logiciels",
    "full_name": "Jeanne Dupont",
    "email": "Jeanne@Acme.example",
    "password": "a-long-password",
    "confirm": "a-long-password",
}


def user_count() -> int:
    return db.session.scalar(select(func.count(User.id)))


@pytest.mark.parametrize(("kind", "home"), [("buyer", "/buyers/"), ("publisher", "/publishers/")])
def test_signing_up_creates_the_organization_and_its_owner_and_signs_in(
    client, submit_form, kind, home
):
    response = submit_form("/signup", {**GOOD_SIGNUP, "kind": kind})

    assert response.status_code == 302
    assert response.headers["Location"] == home
    user = db.session.scalar(select(User).where(User.email == "jeanne@acme.example"))
    assert user.role.value == "owner"
    assert user.organization.kind is OrganizationKind(kind)
    assert user.password_hash != "a-long-password"
    assert client.get(home).status_code == 200


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"password": "short", "confirm": "short"}, "password", "at least 10 characters"),
        ({"confirm": "something-else"}, "confirm", "The passwords differ"),
        ({"company_name": ""}, "company_name", "This field is required"),
        ({"full_name": ""}, "full_name", "This field is required"),
        ({"email": ""}, "email", "This field is required"),
        ({"email": "not-an-address"}, "email", "Invalid email address"),
        ({"kind": "admin"}, "kind", "Not a valid choice"),
        ({"company_name": "x" * 5000}, "company_name", "between 2 and 200"),
    ],
)
def test_a_bad_sign_up_answers_with_the_field_in_error(submit_form, change, field, message):
    before = user_count()
    response = submit_form("/signup", {**GOOD_SIGNUP, **change})

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page
    assert f'name="{field}"' in page
    assert user_count() == before


def test_signing_up_with_an_e_mail_already_used_is_refused(submit_form):
    factories.buyer_user(email="jeanne@acme.example")
    response = submit_form("/signup", GOOD_SIGNUP)  # same address, other case

    assert response.status_code == 200
    assert "An account already uses this e-mail address." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Organization.id))) == 1


def test_a_forged_csrf_token_is_refused_with_a_clear_message(client):
    response = client.post("/signup", data={**GOOD_SIGNUP, "csrf_token": "forged"})

    assert response.status_code == 400
    assert "did not come from this site" in response.get_data(as_text=True)
    assert user_count() == 0


def test_login_with_a_wrong_password_says_so_without_saying_which_part(submit_form):
    user = factories.buyer_user()
    wrong_password = submit_form("/login", {"email": user.email, "password": "nope-nope-nope"})
    unknown_email = submit_form("/login", {"email": "ghost@example.test", "password": "x" * 12})

    for response in (wrong_password, unknown_email):
        assert response.status_code == 200
        assert "Wrong e-mail or password." in response.get_data(as_text=True)


def test_login_follows_next_only_on_this_site(app, submit_form):
    user = factories.buyer_user()
    http = english_client(app)
    local = submit_form(
        "/login?next=/buyers/campaigns",
        {"email": user.email, "password": factories.PASSWORD},
        http=http,
    )
    assert local.headers["Location"] == "/buyers/campaigns"

    http = english_client(app)
    outside = submit_form(
        "/login?next=https://evil.example/",
        {"email": user.email, "password": factories.PASSWORD},
        http=http,
    )
    assert outside.headers["Location"] == "/buyers/"


def test_logout_needs_a_post_and_ends_the_session(login_as, submit_form):
    http = login_as(factories.buyer_user())
    assert http.get("/logout").status_code == 405
    response = submit_form("/logout", {}, page_url="/buyers/", http=http)
    assert response.status_code == 302
    assert http.get("/buyers/").status_code == 302  # back to the login page


ROLE_PAGES = {
    "buyer": ["/buyers/", "/buyers/campaigns", "/buyers/campaigns/new"],
    "publisher": ["/publishers/", "/publishers/magnets/new"],
    "admin": ["/admin/"],
}
USERS = {
    "buyer": factories.buyer_user,
    "publisher": factories.publisher_user,
    "admin": factories.admin_user,
}


@pytest.mark.parametrize("role", list(ROLE_PAGES))
@pytest.mark.parametrize("visitor", list(USERS))
def test_each_portal_is_closed_to_the_other_roles(login_as, role, visitor):
    http = login_as(USERS[visitor]())
    for url in ROLE_PAGES[role]:
        expected = 200 if role == visitor else 403
        assert http.get(url).status_code == expected, url


@pytest.mark.parametrize("url", [url for urls in ROLE_PAGES.values() for url in urls])
def test_anonymous_visitors_are_sent_to_the_login_page(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_create_admin_command_makes_a_platform_admin(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-admin", "root@example.test", "--password", "-"])

    assert result.exit_code == 0, result.output
    assert "Generated password: " in result.output
    admin = db.session.scalar(select(User).where(User.email == "root@example.test"))
    assert admin.is_platform_admin and admin.organization_id is None


def test_create_admin_refuses_a_short_password(app):
    result = app.test_cli_runner().invoke(
        args=["create-admin", "a@example.test", "--password", "123"]
    )
    assert result.exit_code != 0
    assert "at least 10 characters" in result.output


def test_an_unknown_e_mail_costs_the_hash_of_the_configured_method(app, monkeypatch):
    """Timing would reveal which accounts exist: the dummy check uses the real method."""
    from marketplace import accounts

    checked = []
    real_check = accounts.check_password_hash

    def spy(pwhash, password):
        checked.append(pwhash.split("$", 1)[0])
        return real_check(pwhash, password)

    monkeypatch.setattr(accounts, "check_password_hash", spy)
    user = factories.buyer_user()
    accounts.authenticate("ghost@example.test", "x" * 12)
    accounts.authenticate(user.email, "x" * 12)
    assert checked[0] == app.config["PASSWORD_HASH_METHOD"]
    assert checked == [checked[1]] * 2


def test_failed_logins_are_throttled_per_account_whatever_the_address(app, submit_form):
    user = factories.buyer_user()
    other = factories.buyer_user()
    http = english_client(app)
    answers = []
    for attempt in range(11):
        http.environ_base["REMOTE_ADDR"] = f"198.51.100.{attempt + 1}"  # a new address each time
        answers.append(
            submit_form("/login", {"email": user.email, "password": "wrong-guess"}, http=http)
        )
    assert [a.status_code for a in answers] == [200] * 10 + [429]
    # The right password waits too: the attacker does not learn it was right.
    from tests.factories import PASSWORD

    right = submit_form("/login", {"email": user.email.upper(), "password": PASSWORD}, http=http)
    assert right.status_code == 429
    # Another account is not held back by this one's attacker.
    assert (
        submit_form("/login", {"email": other.email, "password": PASSWORD}, http=http).status_code
        == 302
    )
