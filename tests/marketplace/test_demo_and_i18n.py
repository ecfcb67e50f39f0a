"""`marketplace demo` on a fresh database, and the French catalogue."""

from __future__ import annotations

import contextvars
from gettext import GNUTranslations
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from sqlalchemy import func, select

from marketplace import create_app
from marketplace.extensions import db
from marketplace.models import ApiKey, Dispute, Lead, LeadMagnet, LedgerEntry, Sale, User
from tests.conftest import csrf_token_from, english_client, test_config

TRANSLATIONS = Path(__file__).parents[2] / "marketplace" / "translations" / "fr" / "LC_MESSAGES"


def test_demo_builds_a_database_with_working_logins_and_is_idempotent(
    tmp_path, database_uri, own_limiter
):
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
        statuses = {d.status.value for d in db.session.scalars(select(Dispute))}
        # The admin's queue, a credit and a refusal to see (the story: test_demo_story.py).
        assert statuses == {"accepted", "open", "rejected"}

    second = invoke()
    assert second.exit_code == 0, second.output
    with demo_app.app_context():
        assert counts == (
            db.session.scalar(select(func.count(Lead.id))),
            db.session.scalar(select(func.count(Sale.id))),
            db.session.scalar(select(func.count(LedgerEntry.id))),
        )
        # admin, 2 publishers, 6 buyers, and a member of the demo buyer's team
        assert db.session.scalar(select(func.count(User.id))) == 10

    for email, home in [
        ("buyer@demo.test", "/buyers/"),
        ("member@demo.test", "/buyers/"),
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


def _source_messages() -> set[str]:
    """Every message id the code and templates ask to translate, as babel.cfg extracts them."""
    root = Path(__file__).parents[2]
    with open(root / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        root, method_map, options_map, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_of_the_source_is_translated_and_compiled():
    """What matters, not the bytes: a newer Babel writes another header into the .mo."""
    with open(TRANSLATIONS / "messages.po", "rb") as source:
        catalog = read_po(source)
    untranslated = [
        m.id
        for m in catalog
        if m.id and not (m.string if isinstance(m.string, str) else all(m.string))
    ]
    assert untranslated == []
    missing = sorted(
        _source_messages() - {m.id if isinstance(m.id, str) else m.id[0] for m in catalog}
    )
    assert missing == [], "run pybabel extract and update (README), then translate"
    with open(TRANSLATIONS / "messages.mo", "rb") as compiled_file:
        compiled = GNUTranslations(compiled_file)
    stale = []
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, str):
            if compiled.gettext(message.id) != message.string:
                stale.append(message.id)
        elif compiled.ngettext(message.id[0], message.id[1], 1) != message.string[0]:
            stale.append(message.id[0])
    assert stale == [], "run: pybabel compile -d marketplace/translations"


def test_pages_speak_french_by_default_and_english_when_asked(app):
    http = app.test_client()  # no Accept-Language: the first market's language
    assert "Se connecter" in http.get("/login").get_data(as_text=True)
    assert "Sign in" in http.get("/login?lang=en").get_data(as_text=True)
    assert "Sign in" in http.get("/login").get_data(as_text=True)  # remembered
