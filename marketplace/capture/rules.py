"""The rules of a lead's fields, per magnet: what it asks, and what is valid.

One validation for every way a lead arrives: the form and the posting API both
call ``validate_submission``; the field rules themselves are in validation.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Protocol

from flask_babel import lazy_gettext as _l

from marketplace.errors import ValidationFailed
from marketplace.validation import (
    BUDGETS,
    COMPANY_SIZES,
    HOUSINGS,
    TIMEFRAMES,
    FieldInvalid,
    clean_text,
    normalise_country,
    normalise_email,
    normalise_phone,
    normalise_postcode,
    normalise_siret,
    one_of,
)

# Contact fields every magnet asks for.
CONTACT_FIELDS = ("first_name", "last_name", "email", "phone")
# Free-text qualification fields a magnet may ask, with their maximum length.
TEXT_QUALIFICATION_FIELDS = {"company": 200, "job_title": 120, "message": 2000}
# Every qualification field a publisher may ask, in the order forms show them.
QUALIFICATION_FIELDS = (
    "company",
    "siret",
    "job_title",
    "company_size",
    "budget",
    "timeframe",
    "housing",
    "country",
    "postcode",
    "message",
)
CHOICE_RULES = {
    "company_size": one_of(COMPANY_SIZES),
    "budget": one_of(BUDGETS),
    "timeframe": one_of(TIMEFRAMES),
    "housing": one_of(HOUSINGS),
    "siret": normalise_siret,
}
CONSENT_REQUIRED = _l("Tick the box to agree to be contacted by the partners.")
NOT_TEXT = _l("Send this field as text.")


class AsksFields(Protocol):
    """A magnet, or its capture snapshot: anything that lists the fields it asks."""

    fields: list[dict]


def asked_fields(magnet: AsksFields) -> dict[str, bool]:
    """Qualification field name -> required, as the publisher configured the magnet."""
    return {spec["name"]: bool(spec.get("required")) for spec in magnet.fields or []}


def validate_submission(
    magnet: AsksFields, raw: Mapping[str, object], *, consent_given: bool
) -> dict:
    """Normalised values of a submission, or ValidationFailed with a message per field."""
    cleaned: dict[str, object] = {}
    errors: dict[str, object] = {}
    if not consent_given:
        errors["consent"] = CONSENT_REQUIRED

    def check(name, rule):
        value = raw.get(name)
        if value is not None and not isinstance(value, str):
            errors[name] = NOT_TEXT
            return
        try:
            cleaned[name] = rule(value)
        except FieldInvalid as invalid:
            errors[name] = invalid.message

    for name in ("first_name", "last_name"):
        check(name, partial(clean_text, max_length=100, required=True))
    check("email", normalise_email)
    asked = asked_fields(magnet)
    country = "FR"
    if "country" in asked and (raw.get("country") or asked["country"]):
        check("country", normalise_country)
        country = cleaned.get("country") or "FR"
    cleaned["country"] = country
    check("phone", partial(normalise_phone, region=country))
    for name, required in asked.items():
        value = raw.get(name)
        if name == "country":
            continue  # read above: the phone and postcode rules depend on it
        if name in TEXT_QUALIFICATION_FIELDS:
            check(
                name,
                partial(clean_text, max_length=TEXT_QUALIFICATION_FIELDS[name], required=required),
            )
        elif name == "postcode" and (value or required):
            check("postcode", partial(normalise_postcode, country=country))
        elif name in CHOICE_RULES and (value or required):
            check(name, CHOICE_RULES[name])
    if errors:
        raise ValidationFailed(fields=errors)
    return cleaned
