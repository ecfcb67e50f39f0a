"""The posting API's bodies and answers: they validate the JSON's shape and types,
and the OpenAPI description is generated from them. The rules of each field (what
a valid e-mail, phone or postcode is) are the capture form's, applied after."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, IPvAnyAddress

from marketplace.labels import DISQUALIFIED_FOR_LABELS
from marketplace.validation import BUDGETS, COMPANY_SIZES, COUNTRIES, HOUSINGS, TIMEFRAMES


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _enum(values) -> dict:
    """Document the allowed answers on the text branch (null stays allowed); the capture
    rules check them, with a message in the caller's language."""

    def document(schema: dict) -> None:
        for branch in schema.get("anyOf", [schema]):
            if branch.get("type") == "string":
                branch["enum"] = list(values)

    return {"json_schema_extra": document}


class Contact(Strict):
    first_name: str = Field(max_length=100)
    last_name: str = Field(max_length=100)
    email: str = Field(max_length=254, examples=["marie.durand@example.fr"])
    phone: str = Field(max_length=32, examples=["+33612345678"])


class Qualification(Strict):
    company: str | None = Field(None, max_length=200)
    siret: str | None = Field(None, max_length=20)
    job_title: str | None = Field(None, max_length=120)
    company_size: str | None = Field(None, max_length=20, **_enum(COMPANY_SIZES))
    budget: str | None = Field(None, max_length=20, **_enum(BUDGETS))
    timeframe: str | None = Field(None, max_length=20, **_enum(TIMEFRAMES))
    housing: str | None = Field(
        None,
        max_length=20,
        description="Whether the person owns the home the works are for.",
        **_enum(HOUSINGS),
    )
    country: str | None = Field(None, max_length=2, **_enum(COUNTRIES))
    postcode: str | None = Field(None, max_length=12)
    message: str | None = Field(None, max_length=2000)


class Consent(Strict):
    """What the person saw and did on the publisher's page."""

    text_version: int = Field(ge=1, description="The consent text version displayed (portal).")
    share_with_partners: bool = Field(
        description="The consent box: must be true, ticked by the person."
    )
    consented_at: AwareDatetime
    ip: IPvAnyAddress
    page_url: str = Field(max_length=2000, examples=["https://www.example.fr/devis"])
    user_agent: str | None = Field(None, max_length=500)


class Tracking(Strict):
    referrer: str | None = Field(None, max_length=2000)
    utm_source: str | None = Field(None, max_length=200)
    utm_medium: str | None = Field(None, max_length=200)
    utm_campaign: str | None = Field(None, max_length=200)
    utm_term: str | None = Field(None, max_length=200)
    utm_content: str | None = Field(None, max_length=200)
    variant: Literal["a", "b"] | None = None


class LeadIn(Strict):
    magnet: str = Field(max_length=64, description="The magnet's key.")
    contact: Contact
    qualification: Qualification = Field(default_factory=Qualification)
    consent: Consent
    tracking: Tracking = Field(default_factory=Tracking)


class PingIn(Strict):
    magnet: str = Field(max_length=64)
    qualification: Qualification = Field(default_factory=Qualification)
    phone_given: bool = Field(
        default=False,
        description="Whether the lead will carry a phone number (not the number): a phone "
        "adds to its score as at capture.",
    )
    email: str | None = Field(
        None,
        max_length=254,
        examples=["marie.durand@example.fr"],
        description="Optional: the person's e-mail, only to count their earlier visits "
        "(their leads on the platform in the last 180 days) as the capture will. It is "
        "hashed at once, never stored nor logged. Without it the estimate is that of a "
        "first visit: a returning person's lead scores at least as much.",
    )


class LeadCreated(BaseModel):
    id: int
    status: Literal["accepted", "duplicate", "rejected"]
    certificate_id: str


class PingOut(BaseModel):
    eligible_buyers: int
    estimated_payout_cents: int
    currency: str


class Disqualification(BaseModel):
    """Why no buyer at all could take the lead: a reason of the lead itself (its
    sector, area, company size, kind, score, the sector's floor price, the partners the
    person agreed to), never a cap, a budget or the hour."""

    # Every reason has its words (marketplace/labels.py): the list is theirs.
    reason: Literal[tuple(DISQUALIFIED_FOR_LABELS)]  # type: ignore[valid-type]
    message: str = Field(description="The reason in words, in the language asked.")


class LeadOut(BaseModel):
    id: int
    status: Literal["pending", "distributed", "unsold", "duplicate", "rejected", "erased"]
    disqualified: Disqualification | None = Field(
        description="Set when the lead is unsold because no buyer's campaign targets it "
        "(disqualified); null for a lead sold, waiting, or unsold for a passing reason "
        "(caps, budgets, opening hours, buyers that already have the person)."
    )
    sales: int
    max_buyers: int
    payout_cents: int
    currency: str
    certificate_id: str
    created_at: datetime
