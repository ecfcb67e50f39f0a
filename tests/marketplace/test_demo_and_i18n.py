"""`marketplace demo` on a fresh database, and the French catalogue."""

from __future__ import annotations

import contextvars
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from sqlalchemy import func, select

from marketplace import create_app
from marketplace.extensions import db
from marketplace.models import ApiKey, Dispute, Lead, LeadMagnet, LedgerEntry, Sale, User
from tests.conftest import csrf_token_from, english_client, test_config

TRANSLATIONS = Path(__file__).parents[2] / "marketplace" / "translations" / "fr" / "LC_MESSAGES"


def test_demo_builds_a_database_with_working_logins_and_is_idempotent(tmp_path, database_uri):
    if database_uri.startswith("postgresql"):
        uri = database_uri  # the run's own fresh database, emptied after the test
    else:
        uri = f"sqlite:///{tmp_path / 'demo.db'}"
    demo_app = create_app(test_config(uri, tmp_path))
    runner = demo_app.test_cli_runner()

    def invoke():  # outside the test app's context, as from a shell
        return contextvars.Context().run(runner.invoke, args=["demo", "--no-serve"])

    first = invoke()
    assert first.exit_code == 0, first.output
    assert "buyer@demo.test" in first.output and "demo-password" in first.output
    with demo_app.app_context():
        counts = (
            db.session.scalar(select(func.count(Lead.id))),
            db.session.scalar(select(func.count(Sale.id))),
            db.session.scalar(select(func.count(LedgerEntry.id))),
        )
        assert counts[0] >= 300 and counts[1] >= 300
        assert db.session.scalar(select(LeadMagnet).where(LeadMagnet.key == "demo-quote-it"))
        assert db.session.scalar(select(func.count(ApiKey.id))) == 2
        statuses = sorted(d.status.value for d in db.session.scalars(select(Dispute)))
        assert statuses == ["accepted", "open"]  # the admin's queue and a credit to see

    second = invoke()
    assert second.exit_code == 0, second.output
    with demo_app.app_context():
        assert counts == (
            db.session.scalar(select(func.count(Lead.id))),
            db.session.scalar(select(func.count(Sale.id))),
            db.session.scalar(select(func.count(LedgerEntry.id))),
        )
        assert db.session.scalar(select(func.count(User.id))) == 8

    for email, home in [
        ("buyer@demo.test", "/buyers/"),
        ("buyer2@demo.test", "/buyers/"),
        ("publisher@demo.test", "/publishers/"),
        ("admin@demo.test", "/admin/"),
    ]:
        http = english_client(demo_app)
        token = csrf_token_from(http.get("/login").get_data(as_text=True))
        response = http.post(
            "/login", data={"email": email, "password": "demo-password", "csrf_token": token}
        )
        assert response.headers["Location"] == home, email
        assert http.get(home).status_code == 200
        if home == "/buyers/":
            assert http.get("/buyers/billing").status_code == 200
    with demo_app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_the_compiled_french_catalogue_matches_its_source():
    with open(TRANSLATIONS / "messages.po", "rb") as source:
        catalog = read_po(source)
    untranslated = [m.id for m in catalog if m.id and not m.string]
    assert untranslated == []
    compiled = BytesIO()
    write_mo(compiled, catalog)
    assert compiled.getvalue() == (TRANSLATIONS / "messages.mo").read_bytes(), (
        "run: pybabel compile -d marketplace/translations"
    )


def test_pages_speak_french_by_default_and_english_when_asked(app):
    http = app.test_client()  # no Accept-Language: the first market's language
    assert "Se connecter" in http.get("/login").get_data(as_text=True)
    assert "Sign in" in http.get("/login?lang=en").get_data(as_text=True)
    assert "Sign in" in http.get("/login").get_data(as_text=True)  # remembered
