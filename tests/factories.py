"""Factories for the domain's objects. Magnets, campaigns and leads go through the
use cases, so a factory-made object is exactly what the product would make."""

from __future__ import annotations

import factory
from faker import Faker
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from marketplace import campaigns, magnets
from marketplace.capture import CaptureContext, capture_lead, capture_target, validate_submission
from marketplace.extensions import db
from marketplace.models import (
    MagnetKind,
    Organization,
    OrganizationKind,
    Sector,
    User,
)

PASSWORD = "correct-horse-battery"
_fake = Faker("fr_FR")


class SessionFactory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


class OrganizationFactory(SessionFactory):
    class Meta:
        model = Organization

    kind = OrganizationKind.BUYER
    name = factory.Sequence(lambda n: f"Company {n}")
    revenue_share_bps = 5000


class BuyerFactory(OrganizationFactory):
    kind = OrganizationKind.BUYER
    name = factory.Sequence(lambda n: f"Buyer {n}")


class PublisherFactory(OrganizationFactory):
    kind = OrganizationKind.PUBLISHER
    name = factory.Sequence(lambda n: f"Publisher {n}")


class UserFactory(SessionFactory):
    class Meta:
        model = User

    organization = factory.SubFactory(BuyerFactory)
    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Faker("name", locale="fr_FR")
    password_hash = factory.LazyFunction(
        lambda: generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    )


def buyer_user(**kwargs) -> User:
    return UserFactory(organization=BuyerFactory(), **kwargs)


def publisher_user(**kwargs) -> User:
    return UserFactory(organization=PublisherFactory(), **kwargs)


def admin_user(**kwargs) -> User:
    return UserFactory(organization=None, is_platform_admin=True, **kwargs)


def sector(slug: str = "it/software") -> Sector:
    return db.session.scalar(select(Sector).where(Sector.slug == slug))


def magnet(
    publisher=None,
    *,
    slug="it/software",
    max_buyers=3,
    kind=MagnetKind.QUOTE_REQUEST,
    key=None,
    **settings,
):
    """A magnet made through the use case; ``settings`` are MagnetSettings fields."""
    publisher = publisher or PublisherFactory()
    return magnets.create_magnet(
        publisher.id,
        magnets.MagnetSettings(
            title=settings.pop("title", "Compare software quotes"),
            kind=kind,
            sector_id=sector(slug).id,
            max_buyers=max_buyers,
            **settings,
        ),
        key=key,
    )


def campaign(buyer=None, *, slugs=("it/software",), price_cents=5000, **kwargs):
    buyer = buyer or BuyerFactory()
    return campaigns.create_campaign(
        buyer.id,
        name=kwargs.pop("name", f"Campaign of {buyer.name}"),
        sector_ids=[sector(slug).id for slug in slugs],
        price_cents=price_cents,
        **kwargs,
    )


def submission(**overrides) -> dict:
    """A valid form submission, as a visitor would type it."""
    values = {
        "first_name": _fake.first_name(),
        "last_name": _fake.last_name(),
        "email": _fake.unique.email(),
        "phone": _fake.numerify("06 12 ## ## ##"),
        "company": _fake.company(),
        "postcode": "75011",
        "message": "We need a CRM for 20 people before spring.",
    }
    values.update(overrides)
    return values


def lead(magnet_=None, *, distribute=True, now=None, utm=None, **overrides):
    """A lead captured through the real use case; distributed (inline) unless told not to.
    ``utm``: the tracking parameters of the link it came by ({"utm_source": ...})."""
    magnet_ = magnet_ or magnet()
    cleaned = validate_submission(magnet_, submission(**overrides), consent_given=True)
    target = capture_target(magnet_.key)
    captured = capture_lead(
        target,
        cleaned,
        consent_text=target.consent_texts[-1],
        consent_given=True,
        context=CaptureContext(
            ip="203.0.113.7",
            user_agent="pytest",
            page_url="https://pub.example/",
            utm=dict(utm or {}),
        ),
        now=now,
        enqueue_distribution=False,
    )
    if distribute:
        from marketplace.distribution import distribute_lead

        distribute_lead(captured.lead_id, now=now)
    return captured


def name_partner(lead_id: int, buyer) -> None:
    """Add a buyer to the partner list a lead's consent record shows (a new stored list)."""
    from marketplace.consent import partner_list_id
    from marketplace.models import Lead

    lead = db.session.get(Lead, lead_id)
    partners = [*lead.consent.partners, {"id": buyer.id, "name": buyer.name}]
    lead.consent.partner_list_id = partner_list_id(partners)
    db.session.commit()
    db.session.expire_all()
