"""The demo tells a believable story: people whose name, e-mail and company agree,
messages of the trade, varied verdicts, and a demo buyer whose every page shows what
it is for. The demo is built once for the module, in a database of its own."""

from __future__ import annotations

import contextvars
import os
import random
import re
import secrets
from collections import Counter
from datetime import timedelta

import psycopg
import pytest
from faker import Faker
from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from marketplace import create_app, demo, lead_catalogue
from marketplace.capture import validate_submission
from marketplace.extensions import db
from marketplace.models import (
    Dispute,
    DisputeStatus,
    Invoice,
    Lead,
    LeadMagnet,
    LeadStatus,
    LedgerEntry,
    LedgerKind,
    MagnetKind,
    MagnetViews,
    OutcomeChange,
    Sale,
    SaleSource,
    User,
    UserRole,
    utcnow,
)
from tests.conftest import (
    DATABASE_URL,
    ON_POSTGRES,
    csrf_token_from,
    english_client,
    test_config,
)

# What a message of each form's family talks about (one of these words, at least).
TRADE_WORDS = {
    "software": ("logiciel", "ERP", "CRM", "TMS", "GED", "SIRH", "GMAO", "caisse", "outil",
                 "portail", "software", "tool"),
    "software_demo": ("démonstration", "démo", "demo", "visio"),
    "network": ("réseau", "infogérance", "serveur", "Wi-Fi", "Microsoft 365", "parc",
                "pare-feu", "network"),
    "insurance": ("assur", "multirisque", "contrat", "prime", "insurance"),
    "renovation": ("rénov", "Rénov", "travaux", "sols", "plafond", "peinture", "fenêtres",
                   "accessibilité", "Cloisonnement", "Dégât", "salle de bains", "refurbish"),
    "heat_pump": ("pompe à chaleur", "PAC", "chaudière", "Chauffage", "géothermie",
                  "heat pump"),
}  # fmt: skip


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory):
    """`marketplace demo --no-serve` once, on a database of the module's own (a SQLite
    file, or a fresh PostgreSQL database dropped afterwards)."""
    from marketplace import snapshots
    from marketplace.extensions import limiter

    saved_limiter = dict(limiter.__dict__)
    if ON_POSTGRES:
        server = make_url(DATABASE_URL).set(drivername="postgresql")
        admin_dsn = server.render_as_string(hide_password=False)
        name = f"marketplace_demo_{os.getpid()}_{secrets.token_hex(3)}"
        with psycopg.connect(admin_dsn, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        uri = server.set(database=name).render_as_string(hide_password=False)
    else:
        uri = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    application = create_app(test_config(uri, tmp_path_factory.mktemp("demo-instance")))
    snapshots.forget_all()
    runner = application.test_cli_runner()
    result = contextvars.Context().run(runner.invoke, args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    application.demo_output = result.output
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    snapshots.forget_all()
    limiter.__dict__.clear()
    limiter.__dict__.update(saved_limiter)
    if ON_POSTGRES:
        with psycopg.connect(admin_dsn, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def story(demo_app):
    with demo_app.app_context():
        yield
        db.session.remove()


def demo_buyer_id() -> int:
    return db.session.scalar(
        select(User.organization_id).where(User.email == demo.DEMO_BUYER.email)
    )


def test_every_person_s_name_e_mail_and_company_agree(story):
    leads = db.session.scalars(select(Lead)).all()
    assert len(leads) >= demo.LEADS_TO_SEED
    for lead in leads:
        local, _, domain = lead.email.partition("@")
        assert demo.normalised(lead.last_name) in demo.normalised(local), lead.email
        if lead.company:
            # Claire Martin at Boulangerie Martin: claire.martin@boulangerie-martin.fr
            assert domain.startswith(demo._slug(lead.company)), (lead.company, lead.email)
        if domain in demo.WEBMAIL_DOMAINS:
            assert lead.company is None, lead.email  # a household, with its webmail
    households = [lead for lead in leads if lead.email.partition("@")[2] in demo.WEBMAIL_DOMAINS]
    assert households and len(households) < len(leads) / 2
    # People of the demo buyer's own family-run prospects: "Transports Martin"...
    assert any(demo.normalised(lead.last_name) in demo.normalised(lead.company or "")
               for lead in leads)  # fmt: skip


def test_messages_are_sentences_of_each_form_s_trade(story):
    rows = db.session.execute(
        select(Lead.message, LeadMagnet.key, LeadMagnet.kind)
        .join(LeadMagnet, LeadMagnet.id == Lead.magnet_id)
        .where(Lead.status != LeadStatus.DUPLICATE)
    ).all()
    families = {spec.key: spec.family for spec in demo.MAGNETS}
    messages = [message for message, _key, _kind in rows if message]
    assert len(set(messages)) >= 0.9 * len(messages)
    assert len(messages) >= 0.5 * len(rows)
    for message, key, kind in rows:
        if kind in (MagnetKind.WHITEPAPER, MagnetKind.WEBINAR):
            assert message is None  # a download or a registration asks no message
        elif message:
            words = TRADE_WORDS[families[key]]
            assert any(word.lower() in message.lower() for word in words), (key, message)
            assert "{" not in message and "  " not in message, message
    assert any("pompe à chaleur" in message for message in messages)
    assert any("réseau" in message for message in messages)
    assert any("démonstration" in message for message in messages)
    english = [m for m in messages if m.startswith(("Hello", "We ", "Please", "Could"))]
    assert 0 < len(english) < 0.15 * len(messages)


def test_scores_temperatures_outcomes_ratings_and_dates_vary(story):
    temperatures = Counter(db.session.scalars(select(Lead.temperature)).all())
    assert {t.value for t in temperatures if t} >= {"cold", "warm", "hot"}
    assert db.session.scalar(select(func.count(func.distinct(Lead.score)))) >= 20
    outcomes = {o.value for o in db.session.scalars(select(Sale.outcome)) if o is not None}
    assert outcomes == {"contacted", "meeting", "won", "lost"}
    stars = set(db.session.scalars(select(Sale.rating_stars).where(Sale.rating_stars > 0)))
    assert stars == {1, 2, 3, 4, 5}
    created = db.session.scalars(select(Lead.created_at)).all()
    now = utcnow()
    assert max(created) <= now
    assert min(created) >= now - timedelta(days=demo.HISTORY_DAYS + 2)
    assert len({when.date() for when in created}) >= 30
    last_two_weeks = sum(when >= now - timedelta(days=14) for when in created)
    first_two_weeks = sum(when < now - timedelta(days=demo.HISTORY_DAYS - 14) for when in created)
    assert last_two_weeks > 1.5 * first_two_weeks  # more of them lately
    assert db.session.scalar(
        select(func.count(Lead.id)).where(Lead.status == LeadStatus.DUPLICATE)
    )  # someone filled a form twice


def test_the_demo_buyer_has_a_whole_pipeline_of_verdicts(story):
    buyer_id = demo_buyer_id()
    sales = db.session.scalars(select(Sale).where(Sale.buyer_id == buyer_id)).all()
    assert len(sales) >= 40
    rated = [sale for sale in sales if sale.rating_stars]
    assert len(rated) >= len(sales) / 2
    assert sum(bool(sale.rating_reasons) for sale in rated) >= len(rated) / 2
    assert sum(bool(sale.rating_comment) for sale in rated) >= 10
    won = [sale for sale in sales if sale.outcome and sale.outcome.value == "won"]
    assert won and all(sale.outcome_amount_cents > 0 for sale in won)
    lost = [sale for sale in sales if sale.outcome and sale.outcome.value == "lost"]
    assert lost and all(sale.outcome_lost_reason for sale in lost)
    assert {sale.outcome.value for sale in sales if sale.outcome} == {
        "contacted", "meeting", "won", "lost"
    }  # fmt: skip
    assert any(sale.outcome is None for sale in sales)  # the newest are new
    assert any(sale.first_viewed_at is None for sale in sales)  # and unread
    assert any(sale.source is SaleSource.CATALOGUE for sale in sales)
    # Every move kept, in order, each after the sale.
    changes = db.session.scalars(
        select(OutcomeChange).join(Sale).where(Sale.buyer_id == buyer_id)
    ).all()
    assert len(changes) > len([sale for sale in sales if sale.outcome])
    by_sale = {sale.id: sale for sale in sales}
    for change in changes:
        assert change.changed_at >= by_sale[change.sale_id].created_at
        assert change.changed_at <= utcnow()
    for sale in rated:
        assert sale.created_at <= sale.rated_at <= sale.created_at + timedelta(days=30)


def test_the_demo_buyer_s_team_has_an_owner_and_a_member(story):
    buyer_id = demo_buyer_id()
    member = db.session.scalar(select(User).where(User.email == "member@demo.test"))
    assert member.organization_id == buyer_id
    assert member.role is UserRole.MEMBER
    assert len(member.full_name.split()) == 2 and "demo" not in member.full_name.lower()
    owner = db.session.scalar(select(User).where(User.email == demo.DEMO_BUYER.email))
    assert owner.role is UserRole.OWNER
    raters = set(
        db.session.scalars(
            select(Sale.rated_by_user_id).where(
                Sale.buyer_id == buyer_id, Sale.rated_by_user_id.is_not(None)
            )
        )
    )
    assert raters == {owner.id, member.id}  # both work the leads


def test_disputes_invoices_and_the_catalogue(story):
    buyer_id = demo_buyer_id()
    disputes = db.session.scalars(select(Dispute).where(Dispute.buyer_id == buyer_id)).all()
    assert {d.status for d in disputes} == {
        DisputeStatus.OPEN, DisputeStatus.ACCEPTED, DisputeStatus.REJECTED
    }  # fmt: skip
    for dispute in disputes:
        assert dispute.comment
        assert dispute.created_at <= dispute.sale.created_at + timedelta(days=7)
        if dispute.status is not DisputeStatus.OPEN:
            assert dispute.resolution_note and dispute.resolved_at > dispute.created_at
    accepted = next(d for d in disputes if d.status is DisputeStatus.ACCEPTED)
    assert db.session.scalar(
        select(LedgerEntry.amount_cents).where(LedgerEntry.dispute_id == accepted.id,
                                               LedgerEntry.kind == LedgerKind.DISPUTE_CREDIT)
    ) == accepted.sale.price_cents  # fmt: skip

    invoices = db.session.scalars(select(Invoice).where(Invoice.buyer_id == buyer_id)).all()
    assert invoices and all(invoice.status == "paid" for invoice in invoices)
    for invoice in invoices:
        carried = db.session.scalars(
            select(LedgerEntry).where(LedgerEntry.invoice_id == invoice.id)
        ).all()
        assert invoice.subtotal_cents == -sum(entry.amount_cents for entry in carried) > 0
        assert invoice.total_cents == invoice.subtotal_cents + invoice.tax_cents
        assert all(entry.created_at < invoice.created_at for entry in carried)
    # The ledger balances as billing/ reads it: what is owed is what no invoice carried.
    from billing import standing

    uninvoiced = db.session.scalar(
        select(func.sum(LedgerEntry.amount_cents)).where(
            LedgerEntry.organization_id == buyer_id,
            LedgerEntry.kind.in_((LedgerKind.SALE_DEBIT, LedgerKind.DISPUTE_CREDIT)),
            LedgerEntry.invoice_id.is_(None),
        )
    )
    assert standing.owed_cents(buyer_id) == -(uninvoiced or 0)
    payments = db.session.scalar(
        select(func.sum(LedgerEntry.amount_cents)).where(
            LedgerEntry.organization_id == buyer_id, LedgerEntry.kind == LedgerKind.PAYMENT
        )
    )
    assert payments == sum(invoice.subtotal_cents for invoice in invoices)

    offers = lead_catalogue.offers_for(buyer_id, limit=200)
    assert len(offers) >= 5
    assert len({offer.temperature for offer in offers}) >= 2


def test_the_publisher_sees_views_and_submissions(story):
    publisher_id = db.session.scalar(
        select(User.organization_id).where(User.email == "publisher@demo.test")
    )
    magnets = db.session.scalars(
        select(LeadMagnet).where(LeadMagnet.publisher_id == publisher_id)
    ).all()
    assert len(magnets) >= 5
    for magnet in magnets:
        submissions = db.session.scalar(
            select(func.count(Lead.id)).where(Lead.magnet_id == magnet.id)
        )
        assert 0 < submissions < magnet.views, magnet.key
    quote = next(magnet for magnet in magnets if magnet.key == "demo-quote-it")
    assert quote.views_a and quote.views_b  # its A/B test
    # Its views per hour, for the results per day, add up to the all-time counters.
    per_variant = dict(
        db.session.execute(
            select(MagnetViews.variant, func.sum(MagnetViews.views))
            .where(MagnetViews.magnet_id == quote.id)
            .group_by(MagnetViews.variant)
        ).all()
    )
    assert per_variant == {"a": quote.views_a, "b": quote.views_b}


def test_each_page_shows_what_it_is_for(demo_app):
    assert "member@demo.test" in demo_app.demo_output

    def signed_in(email):
        http = english_client(demo_app)
        token = csrf_token_from(http.get("/login").get_data(as_text=True))
        http.post("/login", data={"email": email, "password": "demo-password",
                                  "csrf_token": token})  # fmt: skip
        return http

    with demo_app.app_context():
        buyer_id = demo_buyer_id()
        newest = db.session.scalar(
            select(Sale).where(Sale.buyer_id == buyer_id).order_by(Sale.created_at.desc())
        )
        won = db.session.scalar(
            select(Sale).where(Sale.buyer_id == buyer_id, Sale.outcome_amount_cents > 0)
        )
        # As the page writes them: "Bourgeois & Associés" is "Bourgeois &amp; Associés".
        company, won_id, won_email = str(escape(newest.lead.company)), won.id, won.lead.email
        won_company = str(escape(won.lead.company))
        waiting = db.session.scalar(
            select(Dispute.comment).where(
                Dispute.buyer_id == buyer_id, Dispute.status == DisputeStatus.OPEN
            )
        )
    for email in ("buyer@demo.test", "member@demo.test"):
        http = signed_in(email)
        inbox = http.get("/buyers/").get_data(as_text=True)
        assert company in inbox and "Contacted" in inbox and "★" in inbox
    assert won_company in http.get("/buyers/?outcome=won").get_data(as_text=True)
    dashboard = http.get("/buyers/dashboard").get_data(as_text=True)
    assert "Infogérance Auvergne-Rhône-Alpes" in dashboard and "Catalogue" in dashboard
    catalogue = http.get("/buyers/catalogue").get_data(as_text=True)
    assert catalogue.count(">Buy<") >= 5
    billing = http.get("/buyers/billing").get_data(as_text=True)
    assert "in_demo_" in billing and "No invoice yet." not in billing
    purchase = http.get(f"/buyers/purchases/{won_id}").get_data(as_text=True)
    assert won_email in purchase and "Every change, oldest first" in purchase
    publisher = signed_in("publisher@demo.test").get("/publishers/").get_data(as_text=True)
    # a conversion rate, from views and submissions, as the reader's language writes it
    assert re.search(r"\d\.\d\s?%", publisher)
    admin = signed_in("admin@demo.test").get("/admin/disputes").get_data(as_text=True)
    assert 'value="accept"' in admin and waiting.replace("'", "&#39;") in admin


def generated(count: int) -> list[tuple[demo.DemoMagnet, dict]]:
    fake = Faker("fr_FR")
    fake.seed_instance(demo.SEED)
    rng = random.Random(demo.SEED)
    used: set[str] = set()
    when = utcnow()
    return [
        (spec, demo._submission(rng, fake, spec, when, used))
        for _ in range(count)
        for spec in demo.MAGNETS
    ]


def test_the_people_are_the_same_at_every_run_and_pass_the_form_s_rules(app):
    first, again = generated(60), generated(60)
    assert [raw for _spec, raw in first] == [raw for _spec, raw in again]
    for spec, raw in first:
        validate_submission(spec, raw, consent_given=True)  # raises if not
        assert demo.normalised(raw["last_name"]) in demo.normalised(raw["email"].split("@")[0])
    assert len({raw["email"] for _spec, raw in first}) == len(first)
