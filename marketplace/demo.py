"""Demo data for `marketplace demo`: idempotent, and only ever on a demo database.

Every object is found by its natural key before it is created, so running the
command again changes nothing. The leads go through the real capture and
distribution use cases, at past times, so the ledger, caps, consent records and
deliveries are what the product itself writes; ratings, deals and disputes go
through their use cases too, at the times the buyers would have made them.

The story it tells, reproducibly (Faker ``fr_FR`` and ``random`` seeded with
``SEED``; the times follow today's calendar): over the last weeks, more of them
lately, people of real-looking French businesses (or, for a heat pump, households
with a webmail address) fill the publishers' forms. Each person's e-mail is made of
their own name, at their company's domain; each message is a sentence of the trade
of the form (a software quote, a network install, a call-back about insurance...),
consistent with what they answered (size, budget, timeframe, town). Buyers work
their leads along the pipeline, rate them, dispute a few; past months are invoiced.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from faker import Faker
from flask import current_app
from sqlalchemy import event, func, select, update
from stdnum import luhn
from stdnum.fr import siren as siren_number
from werkzeug.security import generate_password_hash

from marketplace import api_keys, campaigns, disputes, lead_catalogue, magnets, quality
from marketplace.capture import CaptureContext, capture_lead, capture_target, validate_submission
from marketplace.distribution import distribute_lead
from marketplace.extensions import db
from marketplace.models import (
    ApiKey,
    Campaign,
    ConsentRecord,
    ConsentText,
    Dispute,
    Invoice,
    Lead,
    LeadMagnet,
    LeadStatus,
    LedgerEntry,
    LedgerKind,
    MagnetKind,
    MagnetViews,
    Organization,
    OrganizationKind,
    PartnerList,
    Sale,
    SaleSource,
    Sector,
    User,
    UserRole,
    VatTreatment,
    utcnow,
)
from marketplace.quality import sources as quality_sources
from marketplace.validation import FieldInvalid, normalise_phone

DEMO_PASSWORD = "demo-password"  # noqa: S105 - printed to the user on purpose
LEADS_TO_SEED = 300
SEED = 2026
HISTORY_DAYS = 45
PARIS = ZoneInfo("Europe/Paris")
FRENCH_VAT_BPS = 2000  # what the invoice run's Stripe tax rate charges a French buyer

# --------------------------------------------------------------------------- accounts

ADMIN = ("admin@demo.test", "Alice Garnier")
PUBLISHERS = [
    ("publisher@demo.test", "Claire Martin", "Comparatif Pro"),
    ("publisher2@demo.test", "Hugo Lefèvre", "Chantiers & Devis"),
]
AUVERGNE_RHONE_ALPES = ["01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74"]


@dataclass(frozen=True)
class DemoCampaign:
    name: str
    sectors: tuple[str, ...]
    price_cents: int
    settings: dict = field(default_factory=dict)


@dataclass(frozen=True)
class DemoBuyer:
    email: str
    person: str
    company: str
    campaigns: tuple[DemoCampaign, ...]
    address: tuple[str, str, str]  # street, postcode, city
    siren_base: str  # 8 digits; the Luhn key makes the SIREN, the SIREN the VAT number


BUYERS = [
    DemoBuyer(
        "buyer@demo.test",
        "Julie Bernard",
        "Logiciels Durand",
        (
            # Quote and demo requests (and the warmer guide readers), a few a day: what
            # the cap or the score leaves waits in the catalogue.
            DemoCampaign(
                "Logiciels de gestion - France",
                ("it/software",),
                4500,
                {"min_score": 40, "daily_cap": 4},
            ),
            DemoCampaign(
                "Infogérance Auvergne-Rhône-Alpes",
                ("it/managed-services",),
                4200,
                {"departments": AUVERGNE_RHONE_ALPES},
            ),
        ),
        ("18 rue de la République", "69002", "Lyon"),
        "41293847",
    ),
    DemoBuyer(
        "buyer2@demo.test",
        "Marc Petit",
        "Numérique Conseil",
        (DemoCampaign("Projets informatiques", ("it/software", "it/managed-services"), 4000),),
        ("42 allées Jean Jaurès", "31000", "Toulouse"),
        "52038471",
    ),
    DemoBuyer(
        "cyber@demo.test",
        "Nadia Roux",
        "CyberSécu Plus",
        (DemoCampaign("Toute l'informatique", ("it",), 3500),),
        ("7 rue de Bercy", "75012", "Paris"),
        "81726354",
    ),
    DemoBuyer(
        "renov@demo.test",
        "Paul Girard",
        "Rénov'Habitat",
        (
            DemoCampaign("Rénovation de locaux professionnels", ("btp/renovation",), 3000),
            DemoCampaign("Pompes à chaleur - particuliers", ("energy/heat-pumps",), 4200),
        ),
        ("3 rue des Tanneurs", "44000", "Nantes"),
        "79315826",
    ),
    DemoBuyer(
        "solaire@demo.test",
        "Inès Moreau",
        "Soleil Énergie",
        (
            DemoCampaign("Solaire pour entreprises", ("energy/solar",), 5500),
            DemoCampaign("Pompes à chaleur", ("energy/heat-pumps",), 4500),
        ),
        ("25 boulevard du Roi René", "13100", "Aix-en-Provence"),
        "83649172",
    ),
    DemoBuyer(
        "assurance@demo.test",
        "Sophie Vasseur",
        "Vasseur Assurances",
        (
            DemoCampaign(
                "Multirisque et RC des pros", ("insurance/business", "insurance/liability"), 3200
            ),
        ),
        ("11 place Kléber", "67000", "Strasbourg"),
        "44982713",
    ),
]
DEMO_BUYER = BUYERS[0]
# A second person in the demo buyer's company: a sales rep who works the leads too.
MEMBER = ("member@demo.test", "Antoine Roussel")
API_KEYS = [("publisher@demo.test", "demo-publisher-key"), ("buyer@demo.test", "demo-buyer-key")]

# ---------------------------------------------------------------------------- magnets


def _asks(*names: str, required: tuple[str, ...] = ()) -> list[dict]:
    return [{"name": name, "required": name in required} for name in names]


@dataclass(frozen=True)
class DemoMagnet:
    key: str
    publisher: str
    title: str
    kind: MagnetKind
    sector: str
    max_buyers: int
    fields: list[dict]
    weight: int  # its share of the leads
    audience: str  # "b2b", "b2c", or "mixed" (a business or a private person)
    family: str  # which messages, companies and job titles fit it
    page_url: str
    channel: str = "form"  # "api": the publisher's server posts its leads
    variants: dict = field(default_factory=dict)


MAGNETS = [
    DemoMagnet(
        "demo-quote-it",
        "publisher@demo.test",
        "Comparez les devis de logiciels de gestion",
        MagnetKind.QUOTE_REQUEST,
        "it/software",
        3,
        _asks(
            "company",
            "company_size",
            "budget",
            "timeframe",
            "postcode",
            "message",
            required=("company", "postcode"),
        ),
        20,
        "b2b",
        "software",
        "https://www.comparatif-pro.fr/logiciels/devis-logiciel-de-gestion",
        # The form runs an A/B test of its title and button.
        variants={
            "cta_a": "Recevoir mes devis",
            "title_b": "Trois devis de logiciels en 48 heures",
            "cta_b": "Comparer maintenant",
        },
    ),
    DemoMagnet(
        "demo-software-demo",
        "publisher@demo.test",
        "Demandez une démonstration de logiciel de gestion",
        MagnetKind.DEMO_REQUEST,
        "it/software",
        2,
        _asks("company", "job_title", "company_size", "postcode", "message", required=("company",)),
        9,
        "b2b",
        "software_demo",
        "https://www.comparatif-pro.fr/logiciels/demonstration",
    ),
    DemoMagnet(
        "demo-guide-erp",
        "publisher@demo.test",
        "Le guide 2026 pour choisir son ERP",
        MagnetKind.WHITEPAPER,
        "it/software",
        3,
        _asks("company", "job_title", "company_size", required=("company",)),
        10,
        "b2b",
        "it_reader",
        "https://www.comparatif-pro.fr/guides/choisir-son-erp",
    ),
    DemoMagnet(
        "demo-network-quote",
        "publisher@demo.test",
        "Devis installation réseau et infogérance",
        MagnetKind.QUOTE_REQUEST,
        "it/managed-services",
        3,
        _asks(
            "company",
            "company_size",
            "budget",
            "timeframe",
            "postcode",
            "message",
            required=("company", "postcode"),
        ),
        10,
        "b2b",
        "network",
        "https://www.comparatif-pro.fr/informatique/devis-reseau-infogerance",
    ),
    DemoMagnet(
        "demo-webinar-cyber",
        "publisher@demo.test",
        "Webinaire : protéger sa PME des rançongiciels",
        MagnetKind.WEBINAR,
        "it/cybersecurity",
        3,
        _asks("company", "job_title"),
        7,
        "b2b",
        "cyber_reader",
        "https://www.comparatif-pro.fr/webinaires/rancongiciels-pme",
    ),
    DemoMagnet(
        "demo-guide-solar",
        "publisher@demo.test",
        "Le guide d'achat 2026 des panneaux solaires pour entreprises",
        MagnetKind.WHITEPAPER,
        "energy/solar",
        2,
        _asks("company", "job_title", "company_size", required=("company",)),
        7,
        "b2b",
        "energy_reader",
        "https://www.comparatif-pro.fr/guides/panneaux-solaires-entreprise",
    ),
    DemoMagnet(
        "demo-insurance-callback",
        "publisher@demo.test",
        "Être rappelé par un courtier en assurance professionnelle",
        MagnetKind.CALLBACK_REQUEST,
        "insurance/business",
        2,
        _asks("company", "company_size", "postcode", "message", required=("postcode",)),
        9,
        "b2b",
        "insurance",
        "https://www.comparatif-pro.fr/assurance/multirisque-professionnelle",
    ),
    DemoMagnet(
        "demo-renovation-quote",
        "publisher2@demo.test",
        "Devis de rénovation pour vos locaux",
        MagnetKind.QUOTE_REQUEST,
        "btp/renovation",
        4,
        _asks(
            "company",
            "budget",
            "timeframe",
            "housing",
            "postcode",
            "message",
            required=("postcode",),
        ),
        12,
        "mixed",
        "renovation",
        "https://www.chantiers-et-devis.fr/renovation/locaux-professionnels",
    ),
    DemoMagnet(
        "demo-heat-pump-quote",
        "publisher2@demo.test",
        "Devis pompe à chaleur : remplacez votre chaudière",
        MagnetKind.QUOTE_REQUEST,
        "energy/heat-pumps",
        3,
        _asks("budget", "timeframe", "housing", "postcode", "message", required=("postcode",)),
        14,
        "b2c",
        "heat_pump",
        "https://www.chantiers-et-devis.fr/chauffage/devis-pompe-a-chaleur",
        channel="api",
    ),
]
# Submissions per view of each kind of form: what the publishers' dashboards show.
API_POSTED = {spec.key for spec in MAGNETS if spec.channel == "api"}
CONVERSION = {
    MagnetKind.QUOTE_REQUEST: 0.085,
    MagnetKind.DEMO_REQUEST: 0.05,
    MagnetKind.WHITEPAPER: 0.24,
    MagnetKind.WEBINAR: 0.16,
    MagnetKind.CALLBACK_REQUEST: 0.07,
}


# ------------------------------------------------------------------------------ seed


def seed() -> dict:
    """Create whatever part of the demo data is missing; return counts."""
    with _scratch_sqlite():
        return _seed(utcnow())


@contextmanager
def _scratch_sqlite():
    """On a SQLite file, commit without waiting for the disk while seeding: the demo's
    thousands of small transactions then take seconds, not half a minute. A demo
    database is scratch: were the machine to crash meanwhile, delete it and run again."""
    engine = db.engine
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        yield
        return

    def relaxed(dbapi_connection, _record) -> None:
        dbapi_connection.execute("PRAGMA synchronous = OFF")

    db.session.remove()
    engine.dispose()  # every connection from now on is a relaxed one
    event.listen(engine, "connect", relaxed)
    try:
        yield
    finally:
        db.session.remove()
        event.remove(engine, "connect", relaxed)
        engine.dispose()  # and none of them serves the site afterwards


def _seed(now: datetime) -> dict:
    method = current_app.config["PASSWORD_HASH_METHOD"]
    password_hash = generate_password_hash(DEMO_PASSWORD, method=method)
    since = now - timedelta(days=HISTORY_DAYS + 30)  # the accounts predate the leads
    admin = _user(*ADMIN, password_hash, organization=None, since=since)
    admin.is_platform_admin = True
    for email, person, company in PUBLISHERS:
        publisher = _organization(company, OrganizationKind.PUBLISHER, since)
        _user(email, person, password_hash, publisher, since=since)
    for spec in BUYERS:
        buyer = _organization(spec.company, OrganizationKind.BUYER, since)
        _user(spec.email, spec.person, password_hash, buyer, since=since)
        db.session.commit()
        if not db.session.scalar(select(Campaign.id).where(Campaign.buyer_id == buyer.id)):
            for order in spec.campaigns:
                campaign = campaigns.create_campaign(
                    buyer.id,
                    name=order.name,
                    sector_ids=[_sector(slug).id for slug in order.sectors],
                    price_cents=order.price_cents,
                    **order.settings,
                )
                campaign.created_at = since + timedelta(days=20)
    _user(
        *MEMBER,
        password_hash,
        db.session.get(Organization, _org_of(DEMO_BUYER.email)),
        role=UserRole.MEMBER,
        since=since + timedelta(days=10),
    )
    db.session.commit()
    _seed_magnets(since + timedelta(days=10))
    for owner_email, raw in API_KEYS:
        if (
            db.session.scalar(select(ApiKey.id).where(ApiKey.key_hash == api_keys.hash_key(raw)))
            is None
        ):
            api_keys.issue_api_key(_org_of(owner_email), "Demo key", raw=raw)
    _seed_billing_details()
    _seed_leads(now)
    _seed_catalogue_purchases(now)
    _seed_disputes(admin.id, now)
    _seed_verdicts(now)
    _seed_invoices(now)
    _seed_magnet_views()
    # Every source assessed from the verdicts above, whatever the job queue did with them.
    quality_sources.refresh_all()
    return {
        "leads": db.session.scalar(select(func.count(Lead.id))),
        "distributed": db.session.scalar(
            select(func.count(Lead.id)).where(Lead.status == LeadStatus.DISTRIBUTED)
        ),
        "sales": db.session.scalar(select(func.count(Sale.id))),
        "demo_buyer_sales": db.session.scalar(
            select(func.count(Sale.id)).where(Sale.buyer_id == _org_of(DEMO_BUYER.email))
        ),
        "on_sale_to_demo_buyer": len(
            lead_catalogue.offers_for(_org_of(DEMO_BUYER.email), limit=200)
        ),
    }


def describe(summary: dict, database_url: str) -> str:
    lines = [
        f"Demo database: {database_url}",
        f"Leads: {summary['leads']} ({summary['distributed']} distributed), "
        f"{summary['sales']} sales; buyer@demo.test bought {summary['demo_buyer_sales']} "
        f"and has {summary['on_sale_to_demo_buyer']} on offer in its catalogue",
        f"Logins (password '{DEMO_PASSWORD}'):",
        "  admin@demo.test      platform admin (a dispute waits for a decision)",
        "  publisher@demo.test  publisher (magnet demo-quote-it: /m/demo-quote-it)",
        "  buyer@demo.test      buyer, owner of Logiciels Durand",
        "  member@demo.test     a member of the same buyer company",
        "  buyer2@demo.test     a second buyer sharing IT > software leads",
        "API keys: demo-publisher-key (publisher), demo-buyer-key (buyer)",
    ]
    return "\n".join(lines)


def _seed_magnets(since: datetime) -> None:
    for spec in MAGNETS:
        if magnets.magnet_by_key(spec.key) is not None:
            continue
        publisher_id = _org_of(spec.publisher)
        magnet = magnets.create_magnet(
            publisher_id,
            magnets.MagnetSettings(
                title=spec.title,
                kind=spec.kind,
                sector_id=_sector(spec.sector).id,
                max_buyers=spec.max_buyers,
                fields=spec.fields,
                **spec.variants,
            ),
            key=spec.key,
        )
        if spec.kind in magnets.KINDS_WITH_FILE:
            magnets.attach_asset(publisher_id, magnet.id, f"{spec.key}.pdf", demo_pdf(spec.title))
        # Online before its first lead, and its consent wording with it.
        magnet.created_at = since
        db.session.execute(
            update(ConsentText).where(ConsentText.magnet_id == magnet.id).values(created_at=since)
        )
        db.session.commit()


def _seed_billing_details() -> None:
    """Billing details for the demo buyers, as they would enter them on /buyers/billing."""
    for spec in BUYERS:
        buyer = db.session.get(Organization, _org_of(spec.email))
        if buyer.billing_email is None:
            siren = spec.siren_base + luhn.calc_check_digit(spec.siren_base)
            street, postcode, city = spec.address
            buyer.billing_email = f"compta@{_slug(spec.company)}.fr"
            buyer.billing_address = {
                "line1": street,
                "postal_code": postcode,
                "city": city,
                "country": "FR",
            }
            buyer.legal_id = siren
            buyer.vat_number = f"FR{siren_number.to_tva(siren)}"
    db.session.commit()


# ------------------------------------------------------------------------------ leads


def _seed_leads(now: datetime) -> None:
    """The leads, oldest first, each captured then distributed at its own past time."""
    already = db.session.scalar(
        select(func.count(Lead.id))
        .join(LeadMagnet, LeadMagnet.id == Lead.magnet_id)
        .where(LeadMagnet.key.in_([spec.key for spec in MAGNETS]))
    )
    if already:
        return
    fake = Faker("fr_FR")
    fake.seed_instance(SEED)
    people = random.Random(SEED)  # who they are and what they write
    clock = random.Random(SEED + 1)  # when they come
    used_emails: set[str] = set()
    earlier: list[tuple[datetime, DemoMagnet, dict]] = []
    for when, spec in _schedule(clock, now):
        raw = _repeat(people, earlier, spec, when)
        if raw is None:
            raw = _submission(people, fake, spec, when, used_emails)
        earlier.append((when, spec, raw))
        target = capture_target(spec.key)  # what the form and the API capture through
        cleaned = validate_submission(target, raw, consent_given=True)
        variant = None
        if spec.channel == "form":
            variant = people.choice("ab") if spec.variants else "a"
        source = people.choices(*UTM_SOURCES[spec.audience])[0]
        captured = capture_lead(
            target,
            cleaned,
            consent_text=target.consent_texts[-1],
            consent_given=True,
            context=CaptureContext(
                ip=fake.ipv4_public(),
                user_agent=people.choices(*USER_AGENTS[spec.audience])[0],
                page_url=spec.page_url,
                referrer=source[2],
                utm={"utm_source": source[0], "utm_medium": source[1]},
                variant=variant,
                channel=spec.channel,
            ),
            now=when,
            enqueue_distribution=False,
        )
        distribute_lead(captured.lead_id, now=when)
    # A partner list is stored when a form first shows it: as of its first consent.
    first_shown = dict(
        db.session.execute(
            select(ConsentRecord.partner_list_id, func.min(ConsentRecord.consented_at)).group_by(
                ConsentRecord.partner_list_id
            )
        ).all()
    )
    for list_id, shown_at in first_shown.items():
        db.session.execute(
            update(PartnerList).where(PartnerList.id == list_id).values(created_at=shown_at)
        )
    db.session.commit()


def _schedule(clock: random.Random, now: datetime) -> list[tuple[datetime, DemoMagnet]]:
    """When each lead comes, oldest first: over HISTORY_DAYS, more of them lately, in
    office hours for businesses (rarely at weekends), evenings too for households."""
    slots = []
    weights = [spec.weight for spec in MAGNETS]
    for _ in range(LEADS_TO_SEED):
        spec = clock.choices(MAGNETS, weights)[0]
        while True:
            day = (now - timedelta(days=HISTORY_DAYS * clock.random() ** 1.5)).astimezone(PARIS)
            if spec.audience == "b2c" or day.weekday() < 5 or clock.random() < 0.2:
                break  # businesses write during the week
        hours = HOURS_HOUSEHOLD if spec.audience == "b2c" else HOURS_OFFICE
        hour = clock.choices(range(24), hours)[0]
        minute, second = clock.randrange(60), clock.randrange(60)
        when = day.replace(hour=hour, minute=minute, second=second, microsecond=0).astimezone(UTC)
        while when > now - timedelta(minutes=5):
            when -= timedelta(days=1)
        slots.append((when, spec))
    return sorted(slots, key=lambda slot: slot[0])


def _repeat(rng: random.Random, earlier: list, spec: DemoMagnet, when: datetime) -> dict | None:
    """Now and then a person fills the same form again a few days later (a duplicate
    for the marketplace, never sold twice)."""
    if rng.random() >= 0.02:
        return None
    candidates = [
        raw
        for at, other, raw in earlier
        if other.key == spec.key and timedelta(days=2) <= when - at <= timedelta(days=20)
    ]
    if not candidates:
        return None
    raw = dict(rng.choice(candidates))
    if "message" in raw:
        raw["message"] = rng.choice(RELANCES)
    return raw


@dataclass
class Person:
    first_name: str
    last_name: str
    female: bool
    town: Town
    trade: Trade | None = None  # None: a private person
    company: str | None = None
    domain: str | None = None
    size: str | None = None
    owner: bool = False
    email: str = ""


def _person(rng: random.Random, fake: Faker, spec: DemoMagnet, used_emails: set[str]) -> Person:
    female = rng.random() < 0.5
    first = _first_name(fake, female)
    last = fake.last_name()
    private = spec.audience == "b2c" or (spec.audience == "mixed" and rng.random() < 0.2)
    towns = TOWNS if private else CITIES
    person = Person(first, last, female, rng.choice(towns))
    if not private:
        trade = rng.choice([trade for trade in TRADES if spec.family in trade.families])
        pattern = rng.choice(trade.names)
        family_name = last if "{last}" in pattern and rng.random() < trade.family_run else None
        name = pattern.format(
            last=family_name or fake.last_name(),
            place=rng.choice(PLACES),
            brand=rng.choice(BRANDS),
        )
        domain = _slug(name)
        if "{place}" in pattern or "{brand}" in pattern:
            domain += "-" + _slug(person.town.city)  # "Hôtel de la Gare": which one
        person.trade, person.company, person.owner = trade, name, family_name is not None
        person.size = rng.choice(trade.sizes)
        person.domain = f"{domain}.{'com' if rng.random() < 0.15 else 'fr'}"
        person.owner = person.owner or (person.size in ("1", "2_9") and rng.random() < 0.5)
    person.email = _email(rng, person, used_emails)
    return person


def _first_name(fake: Faker, female: bool) -> str:
    while True:
        name = fake.first_name_female() if female else fake.first_name_male()
        if name not in OLD_FASHIONED:
            return name


def _email(rng: random.Random, person: Person, used: set[str]) -> str:
    """The person's own name at their company's domain, or at a webmail."""
    first, last = _slug(person.first_name), _slug(person.last_name, "")
    if person.domain:
        local = rng.choices(
            [f"{first}.{last}", f"{first[0]}.{last}", f"{first[0]}{last}", f"{last}.{first}"],
            [60, 15, 15, 10],
        )[0]
        domain = person.domain
    else:
        year = rng.randint(55, 99) if rng.random() < 0.8 else rng.randint(0, 5)
        local = rng.choices(
            [
                f"{first}.{last}",
                f"{first}.{last}{year:02d}",
                f"{first[0]}{last}",
                f"{last}.{first}",
                f"{first}{last}{rng.randint(1, 99)}",
            ],
            [35, 20, 15, 10, 20],
        )[0]
        domain = rng.choices(*zip(*WEBMAILS, strict=True))[0]
    email = f"{local}@{domain}"
    while email in used:
        email = f"{local}{rng.randint(2, 99)}@{domain}"
    used.add(email)
    return email


def _submission(
    rng: random.Random, fake: Faker, spec: DemoMagnet, when: datetime, used_emails: set[str]
) -> dict:
    """What one person typed in the form: the answers agree with each other."""
    person = _person(rng, fake, spec, used_emails)
    asked = {item["name"] for item in spec.fields}
    raw = {
        "first_name": person.first_name,
        "last_name": person.last_name,
        "email": person.email,
        "phone": _phone(rng, person),
    }
    if (
        "company" in asked
        and person.company
        and (_required(spec, "company") or rng.random() < 0.75)
    ):
        raw["company"] = person.company
    if "company_size" in asked and person.size and rng.random() < 0.8:
        raw["company_size"] = person.size
    if "job_title" in asked and person.trade and rng.random() < 0.85:
        raw["job_title"] = _job_title(rng, person, spec.family)
    if "postcode" in asked:
        raw["postcode"] = person.town.postcode
    timeframe = rng.choices(TIMEFRAME_CODES, TIMEFRAME_WEIGHTS)[0]
    if "timeframe" in asked and rng.random() < 0.75:
        raw["timeframe"] = timeframe
    else:
        timeframe = None
    # The form asks about "the home": a business asking for its premises leaves it.
    if "housing" in asked and person.trade is None and rng.random() < 0.85:
        raw["housing"] = rng.choices(HOUSING_CODES, HOUSING_WEIGHTS)[0]
    if "message" in asked:
        message, budget = _message(rng, spec, person, timeframe, when)
        if message:
            raw["message"] = message
        if "budget" in asked and budget and rng.random() < 0.6:
            raw["budget"] = budget
    return raw


def _required(spec: DemoMagnet, name: str) -> bool:
    return any(item["name"] == name and item["required"] for item in spec.fields)


def _phone(rng: random.Random, person: Person) -> str:
    """A mobile, or for a business often its landline of the town's region, as typed;
    a number of metropolitan France."""
    landline = person.trade is not None and rng.random() < 0.5
    while True:
        if landline:
            prefix = f"0{person.town.zone}{rng.randint(1, 5)}"
        else:
            prefix = rng.choice(["06", "06", "07"]) + str(rng.randint(1, 8))
        digits = f"{prefix}{rng.randrange(10**7):07d}"
        try:
            normalise_phone(digits)  # 06 39 (Mayotte) and the like are refused: draw again
        except FieldInvalid:
            continue
        break
    pairs = [digits[i : i + 2] for i in range(0, 10, 2)]
    return rng.choices(
        [" ".join(pairs), digits, "+33 " + digits[1] + " " + " ".join(pairs[1:])], [70, 20, 10]
    )[0]


def _job_title(rng: random.Random, person: Person, family: str) -> str:
    trade = person.trade
    if person.owner:
        titles = trade.owner_titles or OWNER_TITLES
    else:
        titles = STAFF_TITLES[family]
        if person.size in ("1", "2_9"):
            titles = [*titles[:2], *SMALL_STAFF_TITLES]
    masculine, feminine = rng.choice(titles)
    return feminine if person.female else masculine


# --------------------------------------------------------------------------- messages


def _message(
    rng: random.Random, spec: DemoMagnet, person: Person, timeframe: str | None, when: datetime
) -> tuple[str | None, str | None]:
    """A sentence of the trade for the form's family, and the budget it implies."""
    if rng.random() < 0.1:
        return None, _budget_for(rng, spec.family, person, None)
    family = spec.family
    if family == "renovation" and person.trade is None:
        family = "renovation_home"  # a private person, on a form meant for businesses
    english = family in ENGLISH and rng.random() < (0.03 if family == "heat_pump" else 0.07)
    template = rng.choice((ENGLISH if english else FRENCH)[family])
    budget = _budget_for(rng, family, person, template.budgets)
    values = _fillers(rng, spec, person, timeframe, budget, when, english)
    return " ".join(template.text.format(**values).split()), budget


def _budget_for(rng, family, person, budgets) -> str | None:
    if budgets:
        return rng.choice(budgets)
    if family in ("software", "network"):
        return rng.choice(SIZE_BUDGETS[person.size or "2_9"])
    if family == "renovation":
        return rng.choice(("5k_20k", "5k_20k", "20k_100k", "1k_5k"))
    if family == "heat_pump":
        return rng.choice(("5k_20k", "5k_20k", "5k_20k", "1k_5k"))
    return None


def _fillers(rng, spec, person, timeframe, budget, when, english) -> dict:
    size = person.size or "2_9"
    low, high = HEADCOUNT[size]
    headcount = rng.randint(low, high)
    users = min(headcount, rng.randint(max(1, low // 2), max(2, high // 2)), 300)
    trade = person.trade
    renewal = _first_of_month(when, rng.randint(1, 4))
    other = rng.choice([town for town in CITIES if town.city != person.town.city])
    amount = _amount_in(rng, budget) if budget else None
    if english:
        when_words = WHEN_EN.get(timeframe, "soon")
        budget_words = f"Our budget is around €{amount:,}." if amount else "Budget to be confirmed."
    else:
        when_words = rng.choice(WHEN_FR.get(timeframe, ("prochainement",)))
        budget_words = _budget_sentence(rng, budget, amount)
    need = rng.choice(trade.software) if trade else ""
    premises = rng.choice(trade.premises) if trade else "la maison"
    return {
        "need": need,
        "de_need": _de(need),
        "de_premises": _de(premises),
        "need_en": rng.choice(NEEDS_EN),
        "feature": rng.choice(FEATURES),
        "current": rng.choice(CURRENT_TOOLS_LARGE if low >= 250 else CURRENT_TOOLS),
        "users": "un seul poste" if users == 1 else f"{users} utilisateurs",
        "users_en": "a single user" if users == 1 else f"{users} users",
        "posts": f"{max(2, users)} postes",
        "posts_n": max(2, users),
        "staff": _staff(headcount, person.female),
        "employees": "sans salarié" if headcount == 1 else f"{_number(headcount)} salariés",
        "staff_en": "I work on my own" if headcount == 1 else f"{headcount} people work here",
        "premises": premises,
        "premises_en": rng.choice(PREMISES_EN),
        "surface": rng.choice(SURFACES["house" if trade is None else "premises"]),
        "year": rng.randint(1955, 2004),
        "recent_year": rng.randint(2008, 2019),
        "boiler_age": rng.randint(15, 32),
        "city": person.town.city,
        "other_city": other.city,
        "renewal": f"1er {MONTHS_FR[renewal.month - 1]}",
        "renewal_en": f"{MONTHS_EN[renewal.month - 1]} 1",
        "month": MONTHS_FR[_first_of_month(when, rng.randint(2, 4)).month - 1],
        "increase": rng.randint(9, 24),
        "equipment": _euros(rng.randrange(15_000, 120_000, 5_000)),
        "when": when_words,
        "when_sentence": rng.choice(WHEN_SENTENCES).format(when=when_words) if timeframe else "",
        "budget_sentence": budget_words,
        "company": person.company or "",
        "fleet": rng.randint(3, 25),
    }


def _de(words: str) -> str:
    """French "de" before a noun group: "de la boutique", "du cabinet", "d'un ERP"."""
    if words.startswith("le "):
        return "du " + words[3:]
    if words.startswith("les "):
        return "des " + words[4:]
    if words[:1] in "aeiouhéAEIOUH" or words.startswith(("un ", "une ")):
        return "d'" + words
    return "de " + words


def _staff(headcount: int, female: bool) -> str:
    if headcount == 1:
        return "Je travaille seule" if female else "Je travaille seul"
    return f"Nous sommes {_number(headcount)} salariés"


def _budget_sentence(rng, budget: str | None, amount: int | None) -> str:
    if not budget:
        return ""
    if budget == "lt_1k":
        return "Budget serré, moins de 1\u00a0000\u00a0€."
    return rng.choice(
        (
            f"Budget d'environ {_euros(amount)} HT.",
            f"Nous avons prévu autour de {_euros(amount)}.",
            f"Enveloppe maximale : {_euros(amount)}.",
        )
    )


def _amount_in(rng: random.Random, budget: str) -> int:
    """Euros within a budget bracket, rounded as people round them."""
    low, high, step = BUDGET_EUROS[budget]
    return rng.randrange(low, high + step, step)


def _euros(amount: int) -> str:
    return _number(amount) + "\u00a0€"


def _number(value: int) -> str:
    return f"{value:,}".replace(",", "\u00a0")


def _first_of_month(when: datetime, months_ahead: int) -> datetime:
    month = when.month - 1 + months_ahead
    return when.replace(year=when.year + month // 12, month=month % 12 + 1, day=1)


# ------------------------------------------------------------------- catalogue, disputes


def _seed_catalogue_purchases(now: datetime) -> None:
    """The demo buyer went shopping in its catalogue a few times: the best lead on offer."""
    buyer_id = _org_of(DEMO_BUYER.email)
    if db.session.scalar(
        select(Sale.id).where(Sale.buyer_id == buyer_id, Sale.source == SaleSource.CATALOGUE)
    ):
        return
    for days_ago in (11, 6, 2):
        at = _office_time(now - timedelta(days=days_ago), hour=10)
        offers = [
            offer
            for offer in lead_catalogue.offers_for(buyer_id, now=at, sort="score", limit=50)
            if offer.created_at < at - timedelta(hours=2)
        ]
        if offers:
            lead_catalogue.buy(buyer_id, offers[0].lead_id, now=at)


def _seed_disputes(admin_id: int, now: datetime) -> None:
    """The demo buyer's disputes: one accepted (its credit on the ledger), one rejected,
    one waiting for the admin; and another buyer's, waiting too."""
    if db.session.scalar(select(func.count(Dispute.id))):
        return
    taken: set[int] = set()
    for story in DISPUTES:
        owner = story.get("buyer", DEMO_BUYER.email)
        sale = _sale_for_dispute(_org_of(owner), story, now, taken)
        if sale is None:
            continue
        taken.add(sale.id)
        opened_at = min(_at_work(sale.created_at + timedelta(hours=story["after_hours"])), now)
        dispute = disputes.open_dispute(
            sale.buyer_id, sale.id, story["reason"], story["comment"], now=opened_at
        )
        if "accept" in story:
            decided_at = min(_at_work(opened_at + timedelta(hours=20)), now)
            disputes.resolve_dispute(
                dispute.id,
                admin_user_id=admin_id,
                accept=story["accept"],
                note=story["note"],
                now=decided_at,
            )
    db.session.commit()


def _sale_for_dispute(buyer_id: int, story: dict, now: datetime, taken: set[int]) -> Sale | None:
    low, high = story["age_days"]
    sales = db.session.scalars(
        select(Sale)
        .join(Lead, Lead.id == Sale.lead_id)
        .where(
            Sale.buyer_id == buyer_id,
            Sale.created_at <= now - timedelta(days=low),
            Sale.created_at >= now - timedelta(days=high),
            Sale.source == SaleSource.CAMPAIGN,
        )
        .order_by(Sale.created_at)
    ).all()
    for sale in sales:
        if sale.id not in taken and story.get("fits", lambda lead: True)(sale.lead):
            return sale
    return None


# ------------------------------------------------------------------- ratings and deals


def _seed_verdicts(now: datetime) -> None:
    """Every buyer works its leads along the pipeline, at the sale's own pace; the demo
    buyer's two people rate most of theirs, with reasons and often a comment. Once."""
    if db.session.scalar(select(Sale.id).where(Sale.rated_at.is_not(None)).limit(1)):
        return
    rng = random.Random(SEED + 2)
    disputed = {
        sale_id: (reason, opened_at)
        for sale_id, reason, opened_at in db.session.execute(
            select(Dispute.sale_id, Dispute.reason, Dispute.created_at)
        )
    }
    for spec in BUYERS:
        buyer_id = _org_of(spec.email)
        demo_buyer = spec is DEMO_BUYER
        people = list(
            db.session.scalars(
                select(User.id).where(User.organization_id == buyer_id).order_by(User.id)
            )
        )
        sales = db.session.execute(
            select(Sale.id, Sale.created_at, Lead.temperature, Lead.budget, Lead.sector_id)
            .join(Lead, Lead.id == Sale.lead_id)
            .where(Sale.buyer_id == buyer_id)
            .order_by(Sale.created_at, Sale.id)
        ).all()
        first_views = []
        newest_new = None  # the newest lead nobody has called yet
        for sale_id, sold_at, temperature, budget, sector_id in sales:
            who = rng.choice(people)
            if sale_id in disputed:
                plan = _disputed_plan(rng, sold_at, *disputed[sale_id])
            else:
                plan = _pipeline(rng, sold_at, temperature, budget, sector_id, now)
            steps, last = plan
            steps = [step for step in steps if step[0] < now - timedelta(minutes=10)]
            # Every move of the demo buyer's deals; where the others' stand (quicker).
            for at, status, amount, lost_reason in steps if demo_buyer else steps[-1:]:
                quality.record_outcome(
                    buyer_id,
                    sale_id,
                    status=status,
                    amount_cents=amount,
                    lost_reason=lost_reason,
                    user_id=who,
                    now=at,
                )
            state = steps[-1][1:] if steps else None
            _rate(rng, buyer_id, sale_id, sold_at, steps, state, last, who, demo_buyer, now)
            if not steps and sale_id not in disputed:
                newest_new = sale_id
            seen = _first_view(sold_at, steps, rng, now)
            if seen is not None:
                first_views.append({"id": sale_id, "first_viewed_at": seen})
        if demo_buyer:  # it is still unread, whatever the hour the demo is made at
            first_views = [view for view in first_views if view["id"] != newest_new]
        if first_views:
            db.session.execute(update(Sale), first_views)
        db.session.commit()


def _pipeline(rng, sold_at, temperature, budget, sector_id, now):
    """Where the deal went, step by step, by the lead's temperature; the steps still to
    come are cut at ``now`` by the caller."""
    temperature = getattr(temperature, "value", temperature) or "cold"
    fate = rng.choices(list(FATES), FATES_BY_TEMPERATURE[temperature])[0]
    steps = []
    at = _at_work(sold_at + timedelta(hours=rng.uniform(0.3, 26)))
    if fate == "untouched":
        return steps, fate
    steps.append((at, "contacted", None, None))
    if fate == "lost_at_contact":
        reason = rng.choices(("unreachable", "no_need", "timing", "no_budget"), (4, 3, 2, 1))[0]
        steps.append((_at_work(at + timedelta(days=rng.uniform(1, 6))), "lost", None, reason))
    elif fate in ("won", "lost_after_meeting", "meeting"):
        at = _at_work(at + timedelta(days=rng.uniform(1, 7)))
        steps.append((at, "meeting", None, None))
        at = _at_work(at + timedelta(days=rng.uniform(3, 16)))
        if fate == "won":
            steps.append((at, "won", _deal_cents(rng, budget, sector_id), None))
        elif fate == "lost_after_meeting":
            reason = rng.choices(("competitor", "no_budget", "timing", "other"), (5, 3, 3, 1))[0]
            steps.append((at, "lost", None, reason))
    return steps, fate


def _disputed_plan(rng, sold_at, reason, disputed_at):
    """A disputed lead: called soon after the sale, given up on before the dispute."""
    contacted = _at_work(sold_at + timedelta(hours=rng.uniform(0.5, 3)))
    if contacted > disputed_at - timedelta(hours=1):
        contacted = max(sold_at, disputed_at - timedelta(hours=2))
    if reason == "invalid_contact":
        lost = [(disputed_at - timedelta(minutes=30), "lost", None, "unreachable")]
        return [(contacted, "contacted", None, None), *lost], "disputed_invalid"
    if reason == "out_of_target":
        lost = [(disputed_at - timedelta(minutes=30), "lost", None, "no_need")]
        return [(contacted, "contacted", None, None), *lost], "disputed_target"
    return [(contacted, "contacted", None, None)], "disputed_fake"


def _at_work(when: datetime) -> datetime:
    """The same moment, or the next working morning: people call, meet and rate in
    office hours, Monday to Friday."""
    local = when.astimezone(PARIS)
    if local.hour >= 19:
        local += timedelta(days=1)
    if local.hour >= 19 or local.hour < 8:
        local = local.replace(hour=8, minute=30) + timedelta(minutes=(local.second * 7) % 90)
    while local.weekday() >= 5:
        local += timedelta(days=1)
    return local.astimezone(UTC)


def _deal_cents(rng: random.Random, budget: str | None, sector_id: int) -> int:
    if budget in BUDGET_EUROS:
        low, high, step = BUDGET_EUROS[budget]
    else:
        slug = db.session.scalar(select(Sector.slug).where(Sector.id == sector_id))
        low, high, step = DEAL_EUROS.get(slug, (2_000, 20_000, 500))
    return rng.randrange(low, high + step, step) * 100


def _rate(rng, buyer_id, sale_id, sold_at, steps, state, fate, who, demo_buyer, now) -> None:
    disputed = fate.startswith("disputed")  # a disputed lead is always rated, badly
    if not disputed and (not steps or rng.random() >= (0.8 if demo_buyer else 0.4)):
        return
    key = _verdict_key(state, fate)
    if key is None:
        return
    stars, reasons = RATINGS[key]
    stars = rng.choice(stars)
    reasons = rng.sample(reasons, k=min(len(reasons), rng.randint(1, 2))) if reasons else []
    comment = None
    if disputed or rng.random() < (0.5 if demo_buyer else 0.15):
        comment = rng.choice(COMMENTS[key])
    last_move = steps[-1][0] if steps else sold_at
    at = min(
        _at_work(last_move + timedelta(hours=rng.uniform(0.2, 5))),
        sold_at + timedelta(days=29),
        now - timedelta(minutes=5),
    )
    quality.rate_purchase(
        buyer_id, sale_id, stars=stars, reasons=reasons, comment=comment, user_id=who, now=at
    )


def _verdict_key(state, fate: str) -> str | None:
    if fate.startswith("disputed"):
        return fate
    if state is None:
        return None
    status, _amount, lost_reason = state
    if status == "lost":
        return f"lost_{lost_reason}"
    return status


def _first_view(sold_at, steps, rng, now) -> datetime | None:
    """When someone first opened the lead: before calling; the newest are still unread."""
    if steps:
        return max(sold_at, steps[0][0] - timedelta(minutes=rng.uniform(2, 40)))
    if now - sold_at > timedelta(hours=20) and rng.random() < 0.8:
        return sold_at + timedelta(hours=rng.uniform(0.5, 12))
    return None


# ----------------------------------------------------------------------- invoices, views


def _seed_invoices(now: datetime) -> None:
    """The buyers' invoices, as the invoice run (every 10 minutes, billing/invoicing.py)
    would have made them had Stripe been configured: one as soon as a buyer's
    uninvoiced total passes its threshold, one on the 1st for what the past month left,
    each charged at once.

    Without Stripe the run itself waits (README); the demo writes what it would have
    recorded: the invoice, the ledger entries it carried (mirrored as invoice items a
    minute after they were booked), and the payment on the ledger, net of VAT, as
    ``billing.standing.book_payment`` books it. What came since the last run stays owed.
    """
    if db.session.scalar(select(Invoice.id).limit(1)):
        return
    for spec in BUYERS:
        buyer = db.session.get(Organization, _org_of(spec.email))
        entries = db.session.scalars(
            select(LedgerEntry)
            .where(
                LedgerEntry.organization_id == buyer.id,
                LedgerEntry.kind.in_((LedgerKind.SALE_DEBIT, LedgerKind.DISPUTE_CREDIT)),
            )
            .order_by(LedgerEntry.created_at, LedgerEntry.id)
        ).all()
        pending: list[LedgerEntry] = []
        invoices = 0
        for entry in [*entries, None]:  # None: the runs after the last entry, up to now
            at = entry.created_at if entry is not None else now
            if pending and _month(at) != _month(pending[0].created_at):
                month_run = _month_start(at) + timedelta(minutes=10)
                run_key = f"month:{_month(pending[0].created_at)}:{pending[-1].id}"
                if month_run <= now and _invoice(buyer, pending, run_key, month_run, invoices):
                    pending, invoices = [], invoices + 1
            if entry is None:
                break
            pending.append(entry)
            run = entry.created_at.replace(second=0, microsecond=0) + timedelta(
                minutes=10 - entry.created_at.minute % 10
            )
            owed = -sum(item.amount_cents for item in pending)
            if owed >= buyer.invoice_threshold_cents and run <= now:
                _invoice(buyer, pending, f"threshold:{entry.id}", run, invoices)
                pending, invoices = [], invoices + 1
    db.session.commit()


def _invoice(
    buyer: Organization, carried: list[LedgerEntry], run_key: str, at: datetime, number: int
) -> bool:
    """One invoice of the run, charged: False when credits leave nothing to invoice."""
    subtotal = -sum(entry.amount_cents for entry in carried)
    if subtotal <= 0:
        return False  # the credit is carried to the next invoice
    stripe_id = f"in_demo_{buyer.id}_{number + 1:03d}"
    tax = subtotal * FRENCH_VAT_BPS // 10_000
    paid = at + timedelta(minutes=1)
    invoice = Invoice(
        buyer_id=buyer.id,
        run_key=run_key,
        stripe_invoice_id=stripe_id,
        status="paid",
        vat=VatTreatment.FRENCH_VAT,  # the demo buyers are French companies
        currency="EUR",
        subtotal_cents=subtotal,
        tax_cents=tax,
        total_cents=subtotal + tax,
        created_at=at,
        paid_at=paid,
    )
    db.session.add(invoice)
    db.session.flush()
    for entry in carried:
        entry.invoice_id = invoice.id
        entry.stripe_object_id = f"ii_demo_{entry.id}"
        entry.mirrored_at = entry.created_at + timedelta(minutes=1)
    db.session.add(
        LedgerEntry(
            entry_key=f"stripe:{stripe_id}:paid",
            organization_id=buyer.id,
            kind=LedgerKind.PAYMENT,
            amount_cents=subtotal,
            currency="EUR",
            description=f"Payment of invoice {stripe_id}",
            stripe_object_id=stripe_id,
            created_at=paid,
            mirrored_at=paid,
        )
    )
    return True


def _month(when: datetime) -> str:
    return f"{when.astimezone(PARIS):%Y-%m}"


def _month_start(when: datetime) -> datetime:
    local = when.astimezone(PARIS)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def _seed_magnet_views() -> None:
    """The forms' views, from their submissions and each kind's usual conversion; the
    quote form's variant B converts a little better. Counted per hour (magnet_views)
    in the hours the leads came in, so that the results per day have views too; the
    all-time counters are their sums."""
    rng = random.Random(SEED + 3)
    for magnet in db.session.scalars(
        select(LeadMagnet).where(LeadMagnet.key.in_([spec.key for spec in MAGNETS]))
    ):
        if magnet.views or magnet.key in API_POSTED:
            continue
        per_hour = Counter(
            ("b" if variant == "b" else "a", at.replace(minute=0, second=0, microsecond=0))
            for variant, at in db.session.execute(
                select(Lead.variant, Lead.created_at).where(Lead.magnet_id == magnet.id)
            )
        )
        rate = CONVERSION[magnet.kind] * rng.uniform(0.85, 1.15)
        totals = {"a": 0, "b": 0}
        for (variant, hour), submissions in sorted(per_hour.items()):
            better = 1.3 if variant == "b" else 1
            views = max(submissions, round(submissions / (rate * better))) + rng.randint(0, 2)
            db.session.add(
                MagnetViews(magnet_id=magnet.id, hour=hour, variant=variant, views=views)
            )
            totals[variant] += views
        magnet.views_a, magnet.views_b = totals["a"], totals["b"]
    db.session.commit()


# ---------------------------------------------------------------------------- helpers


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


def normalised(text: str) -> str:
    """Lower-case ASCII letters and digits only: how a name shows in an e-mail address."""
    return _slug(text, "")


def _slug(text: str, separator: str = "-") -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    ascii_text = ascii_text.lower().replace("&", " et ").replace("'", " ")
    return re.sub(r"[^a-z0-9]+", separator, ascii_text).strip(separator)


def _office_time(day: datetime, hour: int) -> datetime:
    return day.astimezone(PARIS).replace(hour=hour, minute=30, second=0).astimezone(UTC)


def _organization(name: str, kind: OrganizationKind, since: datetime) -> Organization:
    organization = db.session.scalar(
        select(Organization).where(Organization.name == name, Organization.kind == kind)
    )
    if organization is None:
        organization = Organization(
            name=name,
            kind=kind,
            revenue_share_bps=current_app.config["DEFAULT_REVENUE_SHARE_BPS"],
            created_at=since,
        )
        db.session.add(organization)
    return organization


def _user(
    email, full_name, password_hash, organization, *, role=UserRole.OWNER, since=None
) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(
            email=email,
            full_name=full_name,
            password_hash=password_hash,
            organization=organization,
            role=role,
            created_at=since or utcnow(),
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


# ------------------------------------------------------------------------------ words
# What the people of the story are, do and write. French first (the first market),
# with a few messages in English, as an international company's staff would write.


@dataclass(frozen=True)
class Town:
    postcode: str
    city: str
    zone: int  # the first digit of its landlines: 1 Paris region ... 5 south-west


def _towns(rows: str) -> list[Town]:
    return [
        Town(postcode, city, int(zone))
        for postcode, city, zone in (line.split("|") for line in rows.strip().splitlines())
    ]


# Where businesses are (cities), and where the houses with a boiler to replace are.
CITIES = _towns(
    """
75011|Paris|1
75015|Paris|1
75009|Paris|1
75017|Paris|1
92100|Boulogne-Billancourt|1
92300|Levallois-Perret|1
93100|Montreuil|1
94300|Vincennes|1
78000|Versailles|1
91300|Massy|1
95000|Cergy|1
69003|Lyon|4
69007|Lyon|4
69100|Villeurbanne|4
38000|Grenoble|4
42000|Saint-Étienne|4
73000|Chambéry|4
74000|Annecy|4
63000|Clermont-Ferrand|4
13006|Marseille|4
13100|Aix-en-Provence|4
06000|Nice|4
34000|Montpellier|4
83000|Toulon|4
84000|Avignon|4
31000|Toulouse|5
33000|Bordeaux|5
33700|Mérignac|5
64100|Bayonne|5
87000|Limoges|5
17000|La Rochelle|5
44000|Nantes|2
35000|Rennes|2
29200|Brest|2
49000|Angers|2
37000|Tours|2
76000|Rouen|2
14000|Caen|2
45000|Orléans|2
59000|Lille|3
59200|Tourcoing|3
67000|Strasbourg|3
57000|Metz|3
54000|Nancy|3
51100|Reims|3
21000|Dijon|3
25000|Besançon|3
"""
)
TOWNS = _towns(
    """
77100|Meaux|1
78200|Mantes-la-Jolie|1
91150|Étampes|1
45200|Montargis|2
49300|Cholet|2
35400|Saint-Malo|2
27000|Évreux|2
28000|Chartres|2
18000|Bourges|2
56000|Vannes|2
72000|Le Mans|2
60200|Compiègne|3
62100|Calais|3
71100|Chalon-sur-Saône|3
88000|Épinal|3
10000|Troyes|3
38300|Bourgoin-Jallieu|4
26200|Montélimar|4
03100|Montluçon|4
01000|Bourg-en-Bresse|4
30000|Nîmes|4
84300|Cavaillon|4
40100|Dax|5
24000|Périgueux|5
81000|Albi|5
86000|Poitiers|5
47000|Agen|5
"""
)
WEBMAILS = [
    ("gmail.com", 34),
    ("orange.fr", 18),
    ("hotmail.fr", 9),
    ("free.fr", 9),
    ("yahoo.fr", 6),
    ("sfr.fr", 6),
    ("laposte.net", 6),
    ("wanadoo.fr", 5),
    ("outlook.fr", 4),
    ("icloud.com", 3),
]
WEBMAIL_DOMAINS = frozenset(domain for domain, _weight in WEBMAILS)
# Given names the people of a 2026 form are unlikely to carry.
OLD_FASHIONED = {
    "Adélaïde", "Adrienne", "Aimée", "Alexandria", "Alexandrie", "Anastasie", "Antoinette",
    "Arnaude", "Célina", "Henriette", "Hortense", "Jeannine", "Josette", "Lorraine", "Luce",
    "Lucy", "Maggie", "Marcelle", "Margaret", "Margaud", "Marguerite", "Marthe", "Nath",
    "Noémi", "Odette", "Olivie", "Paulette", "Philippine", "Susan", "Thérèse", "Victoire",
    "Aimé", "Alfred", "Alphonse", "Auguste", "Eugène", "Honoré", "Isaac", "Théophile",
    "Zacharie", "William", "Gilbert", "Raymond", "Roger", "Maurice", "Marcel", "Noël",
}  # fmt: skip


@dataclass(frozen=True)
class Trade:
    """A kind of business: how such companies are named, how big they are, what their
    premises are called and what software they look for."""

    names: tuple[str, ...]  # {last}: a family name, {place}: "de la Gare", {brand}
    sizes: tuple[str, ...]
    premises: tuple[str, ...]
    software: tuple[str, ...]
    families: frozenset[str]  # the forms such a business fills
    owner_titles: tuple[tuple[str, str], ...] = ()
    family_run: float = 0.6  # how often {last} is the person's own name


ALL_B2B = frozenset(
    ("software", "software_demo", "it_reader", "network", "cyber_reader", "insurance",
     "renovation", "energy_reader")
)  # fmt: skip
TRADES = [
    Trade(
        ("Boulangerie {last}", "Boulangerie-pâtisserie {last}", "Maison {last}"),
        ("2_9", "2_9", "10_49"),
        ("la boutique", "le fournil", "le magasin"),
        (
            "un logiciel de caisse avec gestion des stocks",
            "une caisse certifiée NF525 avec le suivi des ventes par produit",
        ),
        ALL_B2B - {"it_reader", "energy_reader"},
        (("Artisan boulanger", "Artisane boulangère"), ("Gérant", "Gérante")),
    ),
    Trade(
        ("Pharmacie {last}", "Pharmacie {place}"),
        ("2_9", "10_49"),
        ("l'officine", "la pharmacie"),
        ("un logiciel de gestion d'officine", "un outil de planning pour l'équipe"),
        ALL_B2B - {"energy_reader"},
        (("Pharmacien titulaire", "Pharmacienne titulaire"),),
    ),
    Trade(
        ("Transports {last}", "{last} Logistique", "{last} Express"),
        ("10_49", "50_249", "50_249", "250_999"),
        ("l'entrepôt", "nos bureaux d'exploitation", "le quai de chargement"),
        (
            "un TMS pour planifier les tournées",
            "un logiciel de gestion de flotte et de facturation transport",
        ),
        ALL_B2B,
    ),
    Trade(
        ("Garage {last}", "Garage {place}", "Carrosserie {last}"),
        ("2_9", "2_9", "10_49"),
        ("l'atelier", "le showroom", "le garage"),
        ("un logiciel de gestion d'atelier (devis, ordres de réparation, factures)",),
        ALL_B2B,
        (("Garagiste", "Garagiste"), ("Gérant", "Gérante")),
    ),
    Trade(
        ("Cabinet {last}", "{last} & Associés", "{last} Expertise"),
        ("2_9", "10_49", "10_49", "50_249"),
        ("le cabinet", "nos bureaux"),
        (
            "un outil de gestion des temps passés et de facturation",
            "une GED pour les dossiers de nos clients",
            "un portail d'échange de documents avec nos clients",
        ),
        ALL_B2B - {"energy_reader"},
        (("Expert-comptable associé", "Experte-comptable associée"),),
    ),
    Trade(
        ("{last} Avocats", "Cabinet {last} Avocats"),
        ("2_9", "10_49"),
        ("le cabinet", "nos bureaux"),
        (
            "un logiciel de gestion de cabinet d'avocats",
            "un outil de suivi des dossiers et de facturation des honoraires",
        ),
        ALL_B2B - {"energy_reader"},
        (("Avocat associé", "Avocate associée"),),
    ),
    Trade(
        ("{last} Bâtiment", "Entreprise {last}", "Menuiserie {last}"),
        ("2_9", "10_49", "10_49", "50_249"),
        ("l'atelier", "le dépôt", "nos bureaux"),
        (
            "un logiciel de devis et de suivi de chantier",
            "un outil de planning des équipes sur les chantiers",
        ),
        ALL_B2B - {"renovation"},
        (("Gérant", "Gérante"), ("Chef d'entreprise", "Cheffe d'entreprise")),
    ),
    Trade(
        ("Hôtel {place}", "Hôtel {last}", "Hôtel Le {brand}"),
        ("10_49", "10_49", "50_249"),
        ("l'hôtel", "la réception et le salon", "les chambres"),
        ("un logiciel de gestion hôtelière (PMS) relié aux plateformes de réservation",),
        ALL_B2B,
        (("Directeur de l'hôtel", "Directrice de l'hôtel"),),
        0.3,
    ),
    Trade(
        ("Restaurant Le {brand}", "Brasserie {last}", "Brasserie {place}"),
        ("2_9", "10_49"),
        ("la salle du restaurant", "le restaurant", "la cuisine"),
        (
            "une caisse tactile avec prise de commande en salle",
            "un logiciel de réservation et de caisse",
        ),
        ALL_B2B - {"it_reader", "energy_reader"},
        (("Restaurateur", "Restauratrice"), ("Gérant", "Gérante")),
    ),
    Trade(
        ("{last} Industries", "Mécanique {last}", "Ateliers {last}"),
        ("50_249", "50_249", "250_999"),
        ("l'usine", "l'atelier de production", "nos bureaux"),
        (
            "un ERP pour la production, les achats et les stocks",
            "une GMAO pour la maintenance des machines",
        ),
        ALL_B2B - {"renovation"},
        family_run=0.15,
    ),
    Trade(
        ("{last} Immobilier", "Agence {last} Immobilier"),
        ("2_9", "10_49"),
        ("l'agence", "nos bureaux"),
        ("un logiciel de transaction et de gestion locative",),
        ALL_B2B - {"energy_reader"},
    ),
    Trade(
        ("Clinique vétérinaire {last}", "Clinique vétérinaire {place}"),
        ("2_9", "10_49"),
        ("la clinique",),
        ("un logiciel de gestion de clinique (agenda, dossiers, facturation)",),
        ALL_B2B - {"energy_reader"},
        (("Vétérinaire associé", "Vétérinaire associée"),),
    ),
    Trade(
        ("{last} Distribution", "Comptoir {last}", "Établissements {last}"),
        ("10_49", "50_249", "50_249"),
        ("l'entrepôt", "le magasin", "nos bureaux"),
        (
            "un ERP de négoce (achats, stocks, ventes)",
            "un logiciel de gestion commerciale avec le suivi des stocks",
        ),
        ALL_B2B,
        family_run=0.3,
    ),
    Trade(
        ("Groupe {last}",),
        ("250_999", "1000_plus"),
        ("le siège", "nos bureaux du siège"),
        (
            "un CRM pour nos équipes commerciales",
            "un SIRH pour les congés et les entretiens annuels",
            "un outil de gestion des notes de frais",
        ),
        ALL_B2B - {"renovation"},
        family_run=0.05,
    ),
    Trade(
        ("{last} Optique", "Fleurs {last}", "Librairie {last}"),
        ("1", "2_9"),
        ("la boutique", "le magasin"),
        ("une caisse avec boutique en ligne", "un logiciel de caisse et de fidélité"),
        ALL_B2B - {"it_reader", "energy_reader", "network"},
        (("Gérant", "Gérante"), ("Commerçant", "Commerçante")),
    ),
    Trade(
        ("Cabinet dentaire {last}", "Centre dentaire {place}"),
        ("2_9", "10_49"),
        ("le cabinet", "la salle d'attente"),
        ("un logiciel de cabinet dentaire avec prise de rendez-vous en ligne",),
        ALL_B2B - {"energy_reader"},
        (("Chirurgien-dentiste", "Chirurgienne-dentiste"),),
    ),
    Trade(
        ("EARL {last}", "GAEC {last}", "Domaine {last}"),
        ("1", "2_9", "10_49"),
        ("le hangar", "le chai", "les bâtiments d'exploitation"),
        ("un logiciel de gestion d'exploitation agricole",),
        frozenset(("energy_reader", "insurance", "software")),
        (("Exploitant agricole", "Exploitante agricole"), ("Viticulteur", "Viticultrice")),
        0.8,
    ),
    Trade(
        ("Supermarché {place}",),
        ("50_249",),
        ("le magasin", "la surface de vente"),
        ("un logiciel de gestion des plannings du personnel",),
        frozenset(("energy_reader", "network", "cyber_reader")),
        (("Directeur du magasin", "Directrice du magasin"),),
    ),
]
PLACES = (
    "de la Gare", "du Centre", "de la Mairie", "du Port", "des Halles", "du Parc", "des Tilleuls",
)  # fmt: skip
BRANDS = ("Comptoir", "Relais", "Central", "Lion d'Or", "Cèdre", "Marronnier")
OWNER_TITLES = (("Gérant", "Gérante"), ("Dirigeant", "Dirigeante"), ("Président", "Présidente"))
SMALL_STAFF_TITLES = (
    ("Assistant de direction", "Assistante de direction"),
    ("Responsable administratif", "Responsable administrative"),
    ("Comptable", "Comptable"),
)
IT_TITLES = [
    ("Responsable informatique", "Responsable informatique"),
    ("Directeur administratif et financier", "Directrice administrative et financière"),
    ("Directeur des systèmes d'information", "Directrice des systèmes d'information"),
    ("Office manager", "Office manager"),
    ("Directeur commercial", "Directrice commerciale"),
    ("Contrôleur de gestion", "Contrôleuse de gestion"),
    ("Responsable des achats", "Responsable des achats"),
]
STAFF_TITLES = {
    "software_demo": IT_TITLES,
    "it_reader": IT_TITLES,
    "cyber_reader": [
        ("Responsable informatique", "Responsable informatique"),
        ("Responsable de la sécurité informatique", "Responsable de la sécurité informatique"),
        *IT_TITLES[1:4],
    ],
    "energy_reader": [
        ("Responsable maintenance", "Responsable maintenance"),
        ("Responsable RSE", "Responsable RSE"),
        ("Directeur technique", "Directrice technique"),
        ("Responsable des services généraux", "Responsable des services généraux"),
        IT_TITLES[1],
    ],
}
HEADCOUNT = {
    "1": (1, 1),
    "2_9": (2, 9),
    "10_49": (10, 49),
    "50_249": (50, 249),
    "250_999": (250, 999),
    "1000_plus": (1000, 4000),
}
SIZE_BUDGETS = {
    "1": ("lt_1k", "1k_5k"),
    "2_9": ("lt_1k", "1k_5k", "1k_5k"),
    "10_49": ("1k_5k", "5k_20k", "5k_20k"),
    "50_249": ("5k_20k", "20k_100k", "20k_100k"),
    "250_999": ("20k_100k", "20k_100k", "gt_100k"),
    "1000_plus": ("20k_100k", "gt_100k"),
}
BUDGET_EUROS = {  # low, high, rounded to
    "lt_1k": (400, 900, 100),
    "1k_5k": (1_500, 4_500, 500),
    "5k_20k": (6_000, 18_000, 1_000),
    "20k_100k": (25_000, 90_000, 5_000),
    "gt_100k": (120_000, 300_000, 10_000),
}
DEAL_EUROS = {  # a won deal's amount where the form asked no budget
    "it/software": (3_000, 40_000, 500),
    "it/managed-services": (4_000, 45_000, 500),
    "it/cybersecurity": (5_000, 60_000, 1_000),
    "energy/solar": (25_000, 250_000, 5_000),
    "insurance/business": (1_500, 18_000, 100),
}
TIMEFRAME_CODES = ("now", "3_months", "6_months", "later")
TIMEFRAME_WEIGHTS = (30, 35, 20, 15)
# Who asks for a renovation or a heat pump quote: mostly owners, who decide on the works.
HOUSING_CODES = ("owner", "tenant", "other")
HOUSING_WEIGHTS = (78, 15, 7)
WHEN_FR = {
    "now": ("dès que possible", "au plus vite", "dans les prochaines semaines"),
    "3_months": ("dans les trois mois", "d'ici trois mois", "ce trimestre"),
    "6_months": ("d'ici six mois", "dans les six prochains mois"),
    "later": ("l'an prochain", "sans urgence", "à moyen terme"),
}
WHEN_EN = {
    "now": "as soon as possible",
    "3_months": "within three months",
    "6_months": "within six months",
    "later": "next year",
}
WHEN_SENTENCES = (
    "Projet à lancer {when}.",
    "Démarrage souhaité {when}.",
    "Nous voudrions avancer {when}.",
    "Mise en place prévue {when}.",
)
MONTHS_FR = (
    "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
    "octobre", "novembre", "décembre",
)  # fmt: skip
MONTHS_EN = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
CURRENT_TOOLS = (
    "Excel",
    "un fichier Excel partagé",
    "un vieux logiciel installé sur un seul poste",
    "EBP",
    "Sage",
    "Ciel",
    "un logiciel développé en interne",
    "un vieux logiciel sous Windows XP",
)
CURRENT_TOOLS_LARGE = (
    "un ERP vieillissant",
    "un outil développé en interne",
    "des fichiers Excel différents dans chaque service",
    "Sage 100",
)
FEATURES = (
    "facturation",
    "gestion des stocks",
    "tableaux de bord",
    "planning",
    "application mobile",
    "relances clients",
    "connexion bancaire",
    "facturation électronique",
)
NEEDS_EN = (
    "a cloud CRM for our sales team",
    "an ERP covering purchasing, stock and invoicing",
    "invoicing software compliant with the French e-invoicing reform",
    "a project management and timesheet tool",
)
PREMISES_EN = ("our offices", "the shop", "our premises", "the showroom")
SURFACES = {
    "premises": (45, 60, 80, 120, 150, 200, 250, 350, 500),
    "house": (85, 95, 110, 120, 130, 140, 160, 180),
}


@dataclass(frozen=True)
class Template:
    text: str
    budgets: tuple[str, ...] = ()  # the brackets this request implies, when it implies one


T = Template
FRENCH = {
    "software": [
        T(
            "Bonjour, nous cherchons {need} pour {users}. Aujourd'hui tout est suivi sur "
            "{current}. {when_sentence}"
        ),
        T("Nous voulons remplacer {current} par {need}. {staff}. {budget_sentence}"),
        T(
            "Merci de m'envoyer des devis pour {need}, en mode SaaS si possible, pour {users}. "
            "{budget_sentence}"
        ),
        T(
            "Notre logiciel actuel n'est plus maintenu : nous cherchons {need} avec reprise de "
            "l'historique. {when_sentence}"
        ),
        T(
            "Besoin {de_need}, accessible au bureau comme en déplacement ({users}). "
            "{budget_sentence} Merci de me rappeler plutôt le matin."
        ),
        T(
            "Ouverture d'un second site à {other_city} : même outil pour les deux sites, il "
            "nous faut {need}. {when_sentence}"
        ),
        T(
            "Nous comparons plusieurs solutions pour {need}. Indispensable : la facturation "
            "électronique, l'export vers notre expert-comptable et un support en français."
        ),
        T(
            "Demande de devis : {need}, {users}, formation de l'équipe comprise. "
            "{when_sentence} {budget_sentence}"
        ),
        T(
            "Avec la croissance de l'activité, {current} ne suffit plus. Nous voudrions {need}. "
            "{budget_sentence}"
        ),
        T(
            "Pouvez-vous me faire une proposition pour {need} ? {staff} et l'outil actuel est "
            "{current}."
        ),
        T(
            "La réforme de la facture électronique nous oblige à changer d'outil : nous "
            "cherchons {need}. {when_sentence}"
        ),
    ],
    "software_demo": [
        T("Nous aimerions une démonstration {de_need}, idéalement un mardi ou un jeudi matin."),
        T(
            "Pouvez-vous présenter votre solution en visio ? {staff} ; notre outil actuel : "
            "{current}."
        ),
        T("Démonstration souhaitée pour {users}. Nous voulons surtout voir la partie {feature}."),
        T(
            "Vu votre logiciel dans un comparatif : je souhaite une démonstration avec notre "
            "comptable, de préférence en fin de journée."
        ),
        T("Nous remplaçons {current} {when}. Une démonstration {de_need} nous aiderait à décider."),
        T(
            "Merci de me contacter pour organiser une démonstration : nous serons trois à "
            "valider le choix, dont la direction."
        ),
        T("Démo {de_need} souhaitée. Point important pour nous : {feature}."),
    ],
    "network": [
        T(
            "Nous emménageons dans de nouveaux locaux à {city} : câblage réseau de {posts}, "
            "baie de brassage et Wi-Fi. {when_sentence}"
        ),
        T(
            "Demande de devis pour un contrat d'infogérance : {posts}, un serveur, sauvegarde "
            "externalisée. {budget_sentence}"
        ),
        T(
            "Notre serveur a dix ans et la sauvegarde se fait sur un disque USB. Nous voulons "
            "une solution fiable et un contrat de maintenance. {budget_sentence}"
        ),
        T(
            "Wi-Fi à refaire dans {premises} : coupures fréquentes, et il nous faut un réseau "
            "invités séparé. {when_sentence}"
        ),
        T(
            "Migration de nos messageries vers Microsoft 365 pour {posts}, avec reprise des "
            "archives. {when_sentence}"
        ),
        T(
            "Nous cherchons un prestataire pour gérer notre parc informatique ({posts}) : "
            "assistance à distance et intervention sur site à {city}."
        ),
        T(
            "Un confrère a subi un rançongiciel : nous voulons faire auditer notre réseau et "
            "installer un pare-feu. {budget_sentence}"
        ),
        T(
            "Installation réseau pour {premises} : {posts_n} prises RJ45, deux bornes Wi-Fi et "
            "la téléphonie sur IP. {when_sentence}"
        ),
    ],
    "insurance": [
        T(
            "Notre contrat multirisque arrive à échéance le {renewal}. Nous voulons comparer "
            "avant de renouveler."
        ),
        T(
            "Ouverture d'un second établissement à {other_city} en {month} : il faut l'assurer "
            "(locaux, matériel, responsabilité civile)."
        ),
        T(
            "Après un dégât des eaux dans {premises}, notre assureur a résilié le contrat. Nous "
            "cherchons une nouvelle multirisque rapidement."
        ),
        T(
            "Je souhaite un rappel pour une multirisque professionnelle : {premises}, "
            "{employees}, environ {equipment} de matériel."
        ),
        T(
            "Notre prime a augmenté de {increase} % cette année, je voudrais un autre devis. "
            "Disponible le matin avant 10 h."
        ),
        T(
            "Création de société en cours : besoin d'une assurance pour {premises} et d'une "
            "RC professionnelle."
        ),
        T(
            "Merci de me rappeler entre 12 h et 14 h : nous voulons revoir toutes nos "
            "assurances (locaux, {fleet} véhicules, RC)."
        ),
    ],
    "renovation": [
        T(
            "Rénovation complète {de_premises} ({surface} m²) : peinture, sols et faux plafond. "
            "{when_sentence} {budget_sentence}",
            ("5k_20k", "20k_100k"),
        ),
        T(
            "Nous reprenons {premises} à {city} et voulons tout refaire avant l'ouverture : "
            "électricité, sols, sanitaires. {budget_sentence}",
            ("20k_100k",),
        ),
        T(
            "Mise aux normes d'accessibilité : rampe d'accès, sanitaires adaptés, porte "
            "d'entrée élargie. {when_sentence}",
            ("5k_20k", "20k_100k"),
        ),
        T(
            "Remplacement des fenêtres et de la porte d'entrée {de_premises} : simple vitrage, "
            "on chauffe la rue. {budget_sentence}",
            ("5k_20k",),
        ),
        T(
            "Cloisonnement de nos bureaux ({surface} m² en open space) pour créer trois bureaux "
            "fermés et une salle de réunion. {when_sentence}",
            ("20k_100k", "5k_20k"),
        ),
        T(
            "Dégât des eaux dans {premises} : plafond et murs à reprendre, l'expert de "
            "l'assurance est déjà passé. {when_sentence}",
            ("1k_5k", "5k_20k"),
        ),
        T(
            "Faux plafond acoustique et nouvel éclairage LED dans {premises}, le bruit gêne nos "
            "clients. {budget_sentence}",
            ("5k_20k",),
        ),
        T(
            "Réfection des sols {de_premises} ({surface} m²), travaux possibles le week-end "
            "seulement. {when_sentence}",
            ("5k_20k", "1k_5k"),
        ),
    ],
    "renovation_home": [
        T(
            "Rénovation de notre maison de {surface} m² : cuisine, salle de bains et peintures. "
            "{when_sentence} {budget_sentence}",
            ("20k_100k", "5k_20k"),
        ),
        T(
            "Nous achetons une maison de {year} à rénover entièrement (électricité, isolation, "
            "sols). {budget_sentence}",
            ("20k_100k",),
        ),
        T(
            "Salle de bains à refaire : la baignoire remplacée par une douche à l'italienne. "
            "{when_sentence} {budget_sentence}",
            ("5k_20k",),
        ),
    ],
    "heat_pump": [
        T(
            "Maison de {surface} m² construite en {year}, chauffée au fioul. Nous voulons "
            "remplacer la chaudière par une pompe à chaleur air/eau. {when_sentence}",
            ("5k_20k",),
        ),
        T(
            "Chaudière gaz de {boiler_age} ans à remplacer, radiateurs en fonte. Une pompe à "
            "chaleur est-elle adaptée ? Nous voudrions aussi connaître les aides "
            "(MaPrimeRénov', CEE).",
            ("5k_20k",),
        ),
        T(
            "Projet de pompe à chaleur air/air pour chauffer et climatiser la maison "
            "({surface} m² de plain-pied). {budget_sentence}",
            ("1k_5k", "5k_20k"),
        ),
        T(
            "Nous venons d'acheter une maison de {year} avec des convecteurs électriques, la "
            "facture est énorme. Nous étudions une pompe à chaleur air/eau. {when_sentence}",
            ("5k_20k",),
        ),
        T(
            "Notre pompe à chaleur installée en {recent_year} est en panne et n'est plus "
            "réparable. Devis pour la remplacer {when}.",
            ("5k_20k",),
        ),
        T(
            "Devis pour une pompe à chaleur avec production d'eau chaude, maison de {surface} "
            "m² à {city}. {budget_sentence}",
            ("5k_20k",),
        ),
        T(
            "Nous souhaitons plusieurs devis pour une PAC air/eau ; l'installateur doit être "
            "RGE pour les aides. {budget_sentence}",
            ("5k_20k",),
        ),
        T(
            "Chauffage au fioul à remplacer {when}, maison de {surface} m² bien isolée (combles "
            "refaits en {recent_year}).",
            ("5k_20k",),
        ),
        T(
            "Terrain assez grand : nous aimerions étudier la géothermie pour une maison de "
            "{surface} m². {budget_sentence}",
            ("20k_100k",),
        ),
    ],
}
ENGLISH = {
    "software": [
        T(
            "Hello, we are looking for {need_en} for {users_en}. We currently use spreadsheets. "
            "We would like to start {when}."
        ),
        T(
            "We need quotes for {need_en}, cloud-based, with French and English interfaces. "
            "{budget_sentence}"
        ),
    ],
    "software_demo": [
        T(
            "Could you show us a demo of {need_en}? {staff_en}; the decision is mine and our "
            "accountant's."
        ),
    ],
    "network": [
        T(
            "We are moving into new offices in {city} and need network cabling for {posts_n} "
            "desks, Wi-Fi and a support contract. We would like to start {when}."
        ),
    ],
    "insurance": [
        T(
            "Please call me back about business insurance for our premises in {city}: our "
            "current policy ends on {renewal_en}."
        ),
    ],
    "renovation": [
        T(
            "We need a quote to refurbish {premises_en} ({surface} m²): paint, flooring and "
            "lighting. We would like the works done {when}.",
            ("5k_20k", "20k_100k"),
        ),
    ],
    "heat_pump": [
        T(
            "We bought a {surface} m² house near {city} with an old oil boiler and would like "
            "a quote for an air-to-water heat pump.",
            ("5k_20k",),
        ),
    ],
}
RELANCES = (
    "Je relance ma demande de la semaine dernière : nous sommes toujours intéressés.",
    "Deuxième demande : je n'ai reçu aucun appel pour l'instant.",
    "Je renouvelle ma demande, merci de me rappeler en fin de journée.",
)
UTM_SOURCES = {  # (source, medium, referrer), weights
    "b2b": (
        [
            ("google", "cpc", "https://www.google.fr/"),
            ("linkedin", "social", "https://www.linkedin.com/"),
            ("newsletter", "email", None),
            ("bing", "cpc", "https://www.bing.com/"),
        ],
        [50, 25, 15, 10],
    ),
    "b2c": (
        [
            ("google", "cpc", "https://www.google.fr/"),
            ("facebook", "social", "https://www.facebook.com/"),
            ("newsletter", "email", None),
        ],
        [55, 35, 10],
    ),
}
UTM_SOURCES["mixed"] = UTM_SOURCES["b2b"]
_DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
_EDGE = _DESKTOP + " Edg/131.0.0.0"
_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15"
)
_FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; SM-A546B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
USER_AGENTS = {
    "b2b": ([_DESKTOP, _EDGE, _MAC, _FIREFOX, _IPHONE, _ANDROID], [40, 20, 12, 8, 12, 8]),
    "b2c": ([_DESKTOP, _MAC, _IPHONE, _ANDROID], [25, 10, 35, 30]),
}
USER_AGENTS["mixed"] = USER_AGENTS["b2b"]
# When forms are filled, per hour of the day in Paris.
HOURS_OFFICE = [0.1, 0, 0, 0, 0, 0.1, 0.3, 1, 3, 6, 8, 8, 4, 4, 7, 8, 7, 5, 3, 2, 1.5, 1.5, 1, 0.4]
HOURS_HOUSEHOLD = [0.8, 0.2, 0, 0, 0, 0, 0.3, 1, 2, 3, 4, 4, 5, 5, 4, 3, 3, 3, 4, 5, 7, 8, 6, 3]

# Where a deal goes, by the lead's temperature (weights in the order of FATES).
FATES = ("won", "lost_after_meeting", "meeting", "lost_at_contact", "contacted", "untouched")
FATES_BY_TEMPERATURE = {
    "hot": (30, 20, 8, 17, 13, 12),
    "warm": (15, 18, 8, 30, 15, 14),
    "cold": (5, 10, 5, 42, 18, 20),
}
# A verdict, by where the deal stands: the stars one gives and the reasons one ticks.
RATINGS = {
    "won": ((5, 5, 4), ["reachable", "real_need", "right_budget"]),
    "meeting": ((4, 5), ["reachable", "real_need"]),
    "contacted": ((3, 4), ["reachable"]),
    "lost_competitor": ((3, 4), ["reachable", "real_need"]),
    "lost_no_budget": ((2, 3), ["reachable"]),
    "lost_timing": ((3,), ["reachable", "real_need"]),
    "lost_other": ((3,), ["reachable"]),
    "lost_unreachable": ((1, 2), ["wrong_number"]),
    "lost_no_need": ((2,), ["not_decision_maker", "already_equipped"]),
    "disputed_invalid": ((1,), ["wrong_number"]),
    "disputed_target": ((2,), []),
    "disputed_fake": ((1,), ["fake_or_test"]),
}
COMMENTS = {
    "won": (
        "Signé après la démonstration, projet bien qualifié.",
        "Très bon contact, décisionnaire, besoin clair : devis signé.",
        "Signé en deux rendez-vous. Client ravi d'avoir été rappelé vite.",
        "Commande passée, démarrage le mois prochain.",
    ),
    "meeting": (
        "Rendez-vous pris avec la direction, besoin réel.",
        "Démonstration planifiée avec le gérant et sa comptable.",
        "Visite sur site prévue, projet concret.",
    ),
    "contacted": (
        "Premier échange correct, à relancer.",
        "Intéressé mais veut d'abord comparer les offres.",
        "Joint rapidement, attend notre proposition.",
    ),
    "lost_competitor": (
        "Bon contact mais a choisi un concurrent moins cher.",
        "Projet réel, perdu face au prestataire en place.",
    ),
    "lost_no_budget": (
        "Besoin réel mais budget très en dessous de nos tarifs.",
        "Budget pas encore validé par la direction.",
    ),
    "lost_timing": (
        "Projet repoussé à l'an prochain.",
        "Pas le bon moment, à recontacter dans six mois.",
    ),
    "lost_other": ("Le projet a été abandonné après le rachat de la société.",),
    "lost_unreachable": (
        "Numéro sur messagerie, aucune réponse aux e-mails.",
        "Jamais réussi à le joindre après quatre appels.",
    ),
    "lost_no_need": (
        "Cherchait seulement de la documentation, pas de projet.",
        "Déjà équipé, renouvellement dans deux ans.",
        "Stagiaire qui faisait une veille, ne décide pas.",
    ),
    "disputed_invalid": ("Numéro non attribué et e-mail en erreur : contact inexploitable.",),
    "disputed_target": ("Structure trop petite pour notre offre.",),
    "disputed_fake": ("La société dit n'avoir jamais fait de demande.",),
}
# The disputes of the story: which sale (its age in days, what its lead looks like),
# what the buyer said, and what the admin decided (no "accept": still open).
DISPUTES = [
    {
        "reason": "invalid_contact",
        "age_days": (3, 12),
        "after_hours": 22,
        "comment": "Le numéro n'est pas attribué et l'e-mail nous revient en erreur.",
        "accept": True,
        "note": "Numéro vérifié : non attribué. Avoir accordé sur la prochaine facture.",
    },
    {
        "reason": "out_of_target",
        "age_days": (2, 20),
        "after_hours": 26,
        "fits": lambda lead: lead.company_size in ("1", "2_9"),
        "comment": "Société de moins de dix salariés : nos logiciels visent les PME plus grandes.",
        "accept": False,
        "note": "Votre campagne ne filtre pas la taille des entreprises et ce contact y "
        "correspond. Ajoutez un filtre de taille pour ne plus recevoir ces demandes.",
    },
    {
        "reason": "fake",
        "age_days": (1, 4),
        "after_hours": 20,
        "comment": "Nous avons appelé le standard de la société : personne ne connaît ce "
        "contact et aucune demande n'a été faite.",
    },
    {
        "buyer": "renov@demo.test",
        "reason": "out_of_target",
        "age_days": (1, 6),
        "after_hours": 18,
        "fits": lambda lead: (
            lead.sector.slug == "btp/renovation"
            and lead.email.rpartition("@")[2] in WEBMAIL_DOMAINS
        ),
        "comment": "Demande d'un particulier pour sa maison : nous ne rénovons que des "
        "locaux professionnels.",
    },
]
