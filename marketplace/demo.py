"""Demo data for `marketplace demo`: idempotent, and only ever on a demo database.

Every object is found by its natural key before it is created, so running the
command again changes nothing. The leads go through the real capture and
distribution use cases, at past times, so the ledger and caps are consistent.
"""

from __future__ import annotations

import random
from datetime import timedelta

from faker import Faker
from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from marketplace import api_keys, campaigns, disputes, magnets, quality
from marketplace.capture import CaptureContext, capture_lead, capture_target, validate_submission
from marketplace.distribution import distribute_lead
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.models import (
    ApiKey,
    Campaign,
    Dispute,
    Lead,
    LeadMagnet,
    LeadStatus,
    MagnetKind,
    Organization,
    OrganizationKind,
    Sale,
    Sector,
    User,
    utcnow,
)

DEMO_PASSWORD = "demo-password"  # noqa: S105 - printed to the user on purpose
LEADS_TO_SEED = 300

PUBLISHERS = [
    ("publisher@demo.test", "Claire Martin", "Comparatif Pro"),
    ("publisher2@demo.test", "Hugo Lefèvre", "Chantiers & Devis"),
]
BUYERS = [
    # email, person, company, campaign name, sector slugs, price in cents
    (
        "buyer@demo.test",
        "Julie Bernard",
        "Logiciels Durand",
        "Software leads France",
        ["it/software"],
        4500,
    ),
    (
        "buyer2@demo.test",
        "Marc Petit",
        "Numérique Conseil",
        "IT projects",
        ["it/software", "it/managed-services"],
        4000,
    ),
    ("cyber@demo.test", "Nadia Roux", "CyberSécu Plus", "All IT", ["it"], 3500),
    (
        "renov@demo.test",
        "Paul Girard",
        "Rénov'Habitat",
        "Renovation Île-de-France",
        ["btp/renovation"],
        3000,
    ),
    ("solaire@demo.test", "Inès Moreau", "Soleil Énergie", "Solar B2B", ["energy/solar"], 5500),
]
MAGNETS = [
    # key, publisher e-mail, title, kind, sector, max buyers
    (
        "demo-quote-it",
        "publisher@demo.test",
        "Compare business software quotes",
        MagnetKind.QUOTE_REQUEST,
        "it/software",
        3,
    ),
    (
        "demo-guide-solar",
        "publisher@demo.test",
        "The 2026 buying guide to solar panels",
        MagnetKind.WHITEPAPER,
        "energy/solar",
        2,
    ),
    (
        "demo-renovation-quote",
        "publisher2@demo.test",
        "Renovation quotes for your premises",
        MagnetKind.QUOTE_REQUEST,
        "btp/renovation",
        4,
    ),
]
# The demo quote form runs an A/B test of its title and button.
VARIANTS = {
    "demo-quote-it": {
        "cta_a": "Receive my quotes",
        "title_b": "Three software quotes in 48 hours",
        "cta_b": "Compare now",
    }
}
API_KEYS = [("publisher@demo.test", "demo-publisher-key"), ("buyer@demo.test", "demo-buyer-key")]


def seed() -> dict:
    """Create whatever part of the demo data is missing; return counts."""
    method = current_app.config["PASSWORD_HASH_METHOD"]
    password_hash = generate_password_hash(DEMO_PASSWORD, method=method)
    admin = _user("admin@demo.test", "Alice Admin", password_hash, organization=None)
    admin.is_platform_admin = True
    for email, person, company in PUBLISHERS:
        _user(email, person, password_hash, _organization(company, OrganizationKind.PUBLISHER))
    for email, person, company, campaign_name, slugs, price in BUYERS:
        buyer = _organization(company, OrganizationKind.BUYER)
        _user(email, person, password_hash, buyer)
        db.session.commit()
        if not db.session.scalar(select(Campaign.id).where(Campaign.buyer_id == buyer.id)):
            campaigns.create_campaign(
                buyer.id,
                name=campaign_name,
                sector_ids=[_sector(s).id for s in slugs],
                price_cents=price,
            )
    db.session.commit()
    for key, owner_email, title, kind, slug, max_buyers in MAGNETS:
        if magnets.magnet_by_key(key) is None:
            publisher_id = _org_of(owner_email)
            magnet = magnets.create_magnet(
                publisher_id,
                magnets.MagnetSettings(
                    title=title,
                    kind=kind,
                    sector_id=_sector(slug).id,
                    max_buyers=max_buyers,
                    **VARIANTS.get(key, {}),
                ),
                key=key,
            )
            if kind in magnets.KINDS_WITH_FILE:
                magnets.attach_asset(publisher_id, magnet.id, f"{key}.pdf", demo_pdf(title))
    for owner_email, raw in API_KEYS:
        if (
            db.session.scalar(select(ApiKey.id).where(ApiKey.key_hash == api_keys.hash_key(raw)))
            is None
        ):
            api_keys.issue_api_key(_org_of(owner_email), "Demo key", raw=raw)
    _seed_leads()
    _seed_billing_details()
    _seed_disputes(admin.id)
    _seed_verdicts()
    return {
        "leads": db.session.scalar(select(func.count(Lead.id))),
        "distributed": db.session.scalar(
            select(func.count(Lead.id)).where(Lead.status == LeadStatus.DISTRIBUTED)
        ),
    }


def _seed_billing_details() -> None:
    """Billing details for the demo buyers, as they would enter them on /buyers/billing."""
    for n, (email, _person, company, *_rest) in enumerate(BUYERS):
        buyer = db.session.get(Organization, _org_of(email))
        if buyer.billing_email is None:
            buyer.billing_email = f"compta@{company.lower().replace(' ', '-')}.example"
            buyer.billing_address = {
                "line1": f"{10 + n} rue de la République",
                "postal_code": "69002",
                "city": "Lyon",
                "country": "FR",
            }
    db.session.commit()


def _seed_disputes(admin_id: int) -> None:
    """One dispute waiting for the admin, one accepted (its credit on the ledger)."""
    if db.session.scalar(select(func.count(Dispute.id))):
        return
    buyer_id = _org_of(BUYERS[0][0])
    recent = db.session.scalars(
        select(Sale.id)
        .where(Sale.buyer_id == buyer_id, Sale.created_at >= utcnow() - timedelta(days=6))
        .order_by(Sale.created_at.desc())
        .limit(2)
    ).all()
    if len(recent) < 2:
        return
    waiting, accepted = recent
    disputes.open_dispute(buyer_id, waiting, "invalid_contact", "The phone number rings nowhere.")
    dispute = disputes.open_dispute(buyer_id, accepted, "duplicate", "Already bought last week.")
    disputes.resolve_dispute(
        dispute.id, admin_user_id=admin_id, accept=True, note="Duplicate confirmed."
    )


def _seed_verdicts() -> None:
    """The demo buyers' ratings and deals, through the use cases, at the sale's own pace:
    every other lead rated, a third of them further along the pipeline. Once."""
    if db.session.scalar(select(Sale.id).where(Sale.rated_at.is_not(None)).limit(1)):
        return
    rng = random.Random(12)
    for email, *_rest in BUYERS:
        buyer_id = _org_of(email)
        owner = db.session.scalar(select(User.id).where(User.email == email))
        sales = db.session.execute(
            select(Sale.id, Sale.created_at).where(Sale.buyer_id == buyer_id).order_by(Sale.id)
        ).all()
        for n, (sale_id, sold_at) in enumerate(sales):
            when = min(utcnow(), sold_at + timedelta(hours=rng.randint(1, 72)))
            if n % 2 == 0 and utcnow() - sold_at < timedelta(days=29):
                stars = rng.choice((2, 3, 4, 4, 5, 5))
                good = ["reachable", "real_need", "right_budget"]
                bad = ["wrong_number", "not_decision_maker", "already_equipped"]
                quality.rate_purchase(
                    buyer_id,
                    sale_id,
                    stars=stars,
                    reasons=rng.sample(good if stars >= 4 else bad, k=rng.randint(1, 2)),
                    user_id=owner,
                    now=when,
                )
            if n % 3 == 0:
                step = rng.choice(("contacted", "meeting", "won", "lost"))
                quality.record_outcome(
                    buyer_id,
                    sale_id,
                    status=step,
                    amount_cents=rng.randint(20, 400) * 10_000 if step == "won" else None,
                    lost_reason=rng.choice(("no_budget", "competitor", "timing"))
                    if step == "lost"
                    else None,
                    user_id=owner,
                    now=when,
                )


def describe(summary: dict, database_url: str) -> str:
    lines = [
        f"Demo database: {database_url}",
        f"Leads: {summary['leads']} ({summary['distributed']} distributed)",
        f"Logins (password '{DEMO_PASSWORD}'):",
        "  admin@demo.test      platform admin",
        "  publisher@demo.test  publisher (magnet demo-quote-it: /m/demo-quote-it)",
        "  buyer@demo.test      buyer",
        "  buyer2@demo.test     a second buyer sharing IT > software leads",
        "API keys: demo-publisher-key (publisher), demo-buyer-key (buyer)",
    ]
    return "\n".join(lines)


def demo_pdf(title: str) -> bytes:
    """A one-page PDF with the guide's title: the file the demo whitepaper gives away."""
    text = title.encode("latin-1", "replace").replace(b"(", b"[").replace(b")", b"]")
    stream = b"BT /F1 18 Tf 72 720 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += str(number).encode() + b" 0 obj\n" + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 " + str(len(objects) + 1).encode() + b"\n0000000000 65535 f \n"
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size " + str(len(objects) + 1).encode() + b" /Root 1 0 R >>\n"
    return out + b"startxref\n" + str(xref).encode() + b"\n%%EOF\n"


def _organization(name: str, kind: OrganizationKind) -> Organization:
    organization = db.session.scalar(
        select(Organization).where(Organization.name == name, Organization.kind == kind)
    )
    if organization is None:
        organization = Organization(
            name=name,
            kind=kind,
            revenue_share_bps=current_app.config["DEFAULT_REVENUE_SHARE_BPS"],
        )
        db.session.add(organization)
    return organization


def _user(email, full_name, password_hash, organization) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(
            email=email, full_name=full_name, password_hash=password_hash, organization=organization
        )
        db.session.add(user)
    return user


def _org_of(email: str) -> int:
    return db.session.scalar(select(User.organization_id).where(User.email == email))


def _sector(slug: str) -> Sector:
    sector = db.session.scalar(select(Sector).where(Sector.slug == slug))
    if sector is None:
        raise RuntimeError(f"sector {slug} missing: run the migrations first")
    return sector


def _seed_leads() -> None:
    demo_magnets = list(
        db.session.scalars(select(LeadMagnet).where(LeadMagnet.key.in_([m[0] for m in MAGNETS])))
    )
    already = db.session.scalar(
        select(func.count(Lead.id)).where(Lead.magnet_id.in_([m.id for m in demo_magnets]))
    )
    if already:
        return
    fake = Faker("fr_FR")
    Faker.seed(2026)
    rng = random.Random(2026)
    now = utcnow()
    created = 0
    while created < LEADS_TO_SEED:
        magnet = rng.choice(demo_magnets)
        when = now - timedelta(minutes=rng.randint(10, 45 * 24 * 60))
        raw = {
            "first_name": fake.first_name(),
            "last_name": fake.last_name(),
            "email": fake.unique.email(),
            "phone": f"06{rng.randint(10_000_000, 99_999_999)}",
            "company": fake.company(),
            "job_title": fake.job()[:120],
            "postcode": fake.postcode(),
            "message": fake.sentence(nb_words=14),
        }
        try:
            cleaned = validate_submission(magnet, raw, consent_given=True)
        except ValidationFailed:
            continue  # Faker sometimes makes a postcode we refuse, as a visitor might
        target = capture_target(magnet.key)
        captured = capture_lead(
            target,
            cleaned,
            consent_text=target.consent_texts[-1],
            consent_given=True,
            context=CaptureContext(
                ip=fake.ipv4_public(),
                user_agent=fake.user_agent(),
                page_url=f"https://www.example.fr/{magnet.key}",
                utm={"utm_source": rng.choice(["google", "linkedin", "newsletter"])},
            ),
            now=when,
            enqueue_distribution=False,
        )
        distribute_lead(captured.lead_id, now=when)
        created += 1
