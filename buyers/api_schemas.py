"""The buyer API's parameters and answers; the OpenAPI description comes from them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from flask_babel import lazy_gettext as _l
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from marketplace.guards import MAX_ID
from marketplace.models import MagnetKind
from marketplace.models.sales import DECIDING_RULES, LOST_REASONS, OUTCOME_STEPS, RATING_REASONS
from marketplace.validation import COMPANY_SIZES

MAGNET_KINDS = tuple(kind.value for kind in MagnetKind)


class CatalogQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sector: str | None = Field(None, max_length=80, description="A sector slug, like it/software")
    department: str | None = Field(None, max_length=3)
    company_size: Literal[COMPANY_SIZES] | None = None
    kind: Literal[MAGNET_KINDS] | None = None
    min_score: int | None = Field(None, ge=0, le=100)
    sort: Literal["newest", "score", "price", "quality"] = "newest"
    limit: int = Field(50, ge=1, le=100)


class Offer(BaseModel):
    lead_id: int
    sector: str
    country: str
    department: str | None
    company_size: str | None
    budget: str | None
    timeframe: str | None
    housing: str | None
    magnet_kind: str
    score: int | None
    temperature: str | None
    age_hours: int
    places_left: int
    price_cents: int
    currency: str


class Catalog(BaseModel):
    items: list[Offer]


class PurchasesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    since: AwareDatetime | None = Field(None, description="Purchases made at or after this time")
    cursor: str | None = Field(
        None, max_length=10, pattern=r"^\d+$", description="next_cursor of the previous page"
    )

    @field_validator("cursor")
    @classmethod
    def _an_id(cls, cursor: str | None) -> str | None:
        if cursor is not None and not 0 < int(cursor) <= MAX_ID:
            raise ValueError(str(_l("This cursor is not valid.")))
        return cursor

    limit: int = Field(100, ge=1, le=500)


class Contact(BaseModel):
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    job_title: str | None


class Qualification(BaseModel):
    company: str | None
    siret: str | None
    company_size: str | None
    budget: str | None
    timeframe: str | None
    housing: str | None
    postcode: str | None
    country: str
    message: str | None


class Rating(BaseModel):
    stars: int | None
    reasons: list[str]
    comment: str | None
    rated_at: datetime | None


class Outcome(BaseModel):
    status: Literal[OUTCOME_STEPS]
    amount_cents: int | None
    lost_reason: str | None
    changed_at: datetime | None


class RatingIn(BaseModel):
    """The buyer's verdict on a lead, editable for 30 days after the sale."""

    model_config = ConfigDict(extra="forbid")

    stars: int = Field(ge=1, le=5, description="1 (useless) to 5 (excellent)")
    reasons: list[Literal[RATING_REASONS]] = Field(default_factory=list, max_length=7)
    comment: str | None = Field(default=None, max_length=2000)


class OutcomeIn(BaseModel):
    """Where the deal stands: ``won`` needs ``amount_cents``, ``lost`` a ``lost_reason``."""

    model_config = ConfigDict(extra="forbid")

    status: Literal[OUTCOME_STEPS]
    amount_cents: int | None = Field(default=None, ge=0, le=2**31 - 1)
    lost_reason: Literal[LOST_REASONS] | None = None


class Dispute(BaseModel):
    id: int
    status: Literal["open", "accepted", "rejected"]
    reason: str
    comment: str | None
    created_at: datetime
    resolved_at: datetime | None
    resolution_note: str | None
    credit_cents: int
    refunded: bool
    decided_by_rule: Literal[DECIDING_RULES] | None = Field(
        description=(
            "The platform's rule that accepted the dispute by itself, with no administrator "
            "(null when a person decided, or while it waits): `erased_contact` (the person's "
            "data was erased), `suppressed_person` (the person objected or asked to be "
            "erased), `bounced_email` (a mail server refused for good our e-mail to the "
            "address), `duplicate_found_later` (the same person had already been sold to you "
            "in this sector within the dedupe window), `return_cap` (within your monthly "
            "return cap)."
        )
    )


class DisputeIn(BaseModel):
    """A claim on one purchase, within the return window (7 days)."""

    reason: Literal["invalid_contact", "duplicate", "out_of_target", "no_consent", "fake", "other"]
    comment: str | None = Field(default=None, max_length=2000)


class Purchase(BaseModel):
    id: int
    lead_id: int
    created_at: datetime
    source: Literal["campaign", "catalogue"]
    campaign_id: int | None
    exclusive: bool
    price_cents: int
    currency: str
    sector: str
    magnet_kind: str
    score: int | None
    contact: Contact
    qualification: Qualification
    consent_certificate_id: str | None
    rating: Rating
    outcome: Outcome
    dispute: Dispute | None


class Purchases(BaseModel):
    items: list[Purchase]
    next_cursor: str | None
