"""The rules of a lead's fields, written once for every way a lead arrives.

Each function takes what the person typed and returns the normalised value,
or raises ``FieldInvalid`` with a message in the person's language. The
capture form and the posting API both call these.
"""

from __future__ import annotations

import hashlib
import re

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from stdnum.exceptions import InvalidLength, ValidationError
from stdnum.fr import siret


class FieldInvalid(ValueError):
    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def normalise_email(value: str) -> str:
    """Syntax only (no DNS: a form must not wait on the network), lower-cased."""
    value = (value or "").strip()
    if not value:
        raise FieldInvalid(_l("Enter your e-mail address."))
    if len(value) > 254:
        raise FieldInvalid(_l("This e-mail address is too long."))
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError:
        raise FieldInvalid(_l("Enter a valid e-mail address, like name@company.fr.")) from None
    return checked.normalized.lower()


def normalise_phone(value: str, region: str = "FR") -> str:
    """E.164 (+33612345678); national numbers are read in ``region``."""
    value = (value or "").strip()
    if not value:
        raise FieldInvalid(_l("Enter your phone number."))
    if len(value) > 32:
        raise FieldInvalid(_l("This phone number is too long."))
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        raise FieldInvalid(_l("Enter a valid phone number, like 06 12 34 56 78.")) from None
    if not phonenumbers.is_valid_number(number):
        raise FieldInvalid(_l("Enter a valid phone number, like 06 12 34 56 78."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


FRENCH_POSTCODE = re.compile(r"^(?:0[1-9]|[1-8]\d|9[0-8])\d{3}$")
# Postcode shapes of the countries the forms offer (spaces removed before matching).
POSTCODE_SHAPES = {
    "FR": FRENCH_POSTCODE,
    "MC": re.compile(r"^980\d{2}$"),
    "BE": re.compile(r"^[1-9]\d{3}$"),
    "LU": re.compile(r"^(?:L-)?\d{4}$"),
    "CH": re.compile(r"^[1-9]\d{3}$"),
    "DE": re.compile(r"^\d{5}$"),
    "ES": re.compile(r"^(?:0[1-9]|[1-4]\d|5[0-2])\d{3}$"),
    "IT": re.compile(r"^\d{5}$"),
    "NL": re.compile(r"^[1-9]\d{3}[A-Z]{2}$"),
    "PT": re.compile(r"^\d{4}-?\d{3}$"),
    "AT": re.compile(r"^[1-9]\d{3}$"),
    "IE": re.compile(r"^[A-Z]\d[0-9W][A-Z0-9]{4}$"),
    "GB": re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?\d[A-Z]{2}$"),
}
COUNTRIES = tuple(POSTCODE_SHAPES)


def normalise_country(value: str | None) -> str:
    value = (value or "").strip().upper()
    if value not in POSTCODE_SHAPES:
        raise FieldInvalid(_l("Choose a country from the list."))
    return value


def normalise_postcode(value: str, country: str = "FR") -> str:
    value = re.sub(r"\s+", "", value or "").upper()
    if not value:
        raise FieldInvalid(_l("Enter your postcode."))
    if len(value) > 10:
        raise FieldInvalid(_l("Enter a valid postcode."))
    shape = POSTCODE_SHAPES.get(country)
    if shape is FRENCH_POSTCODE and not shape.match(value):
        raise FieldInvalid(_l("Enter a French postcode of 5 digits, like 75011."))
    if shape is None or not shape.match(value):
        raise FieldInvalid(_l("Enter a valid postcode."))
    return value


def normalise_siret(value: str | None) -> str:
    """A French SIRET (14 digits, Luhn-checked), spaces removed."""
    try:
        return siret.validate(value or "")
    except InvalidLength:
        raise FieldInvalid(_l("A SIRET has 14 digits.")) from None
    except ValidationError:
        raise FieldInvalid(_l("This SIRET does not exist: check its 14 digits.")) from None


# The qualification answers a form may offer, by stored value.
COMPANY_SIZES = ("1", "2_9", "10_49", "50_249", "250_999", "1000_plus")
BUDGETS = ("lt_1k", "1k_5k", "5k_20k", "20k_100k", "gt_100k")
TIMEFRAMES = ("now", "3_months", "6_months", "later")
# Whether the person owns the home the works are for: the strongest intent first.
HOUSINGS = ("owner", "tenant", "other")


def one_of(allowed: tuple[str, ...]):
    def check(value: str | None) -> str:
        if value not in allowed:
            raise FieldInvalid(_l("Choose an answer from the list."))
        return value

    return check


def french_department(postcode: str | None) -> str | None:
    """The department of a French postcode: 2A/2B for Corsica, 971.. overseas."""
    if not postcode or not FRENCH_POSTCODE.match(postcode):
        return None
    if postcode.startswith("20"):
        return "2A" if int(postcode) < 20200 else "2B"
    if postcode.startswith("97") or postcode.startswith("98"):
        return postcode[:3]
    return postcode[:2]


def clean_text(value: str | None, *, max_length: int, required: bool) -> str | None:
    """Whitespace collapsed; None when empty and optional."""
    value = " ".join((value or "").split())
    if not value:
        if required:
            raise FieldInvalid(_l("This field is required."))
        return None
    if len(value) > max_length:
        raise FieldInvalid(_l("At most %(n)d characters.", n=max_length))
    return value


def identity_hash(normalised: str) -> str:
    """SHA-256 of a normalised e-mail or phone: dedupe, suppression, proof look-ups.

    Unkeyed on purpose: whoever holds the lead can recompute it and check the
    public consent certificate against the e-mail they were sold.
    """
    return hashlib.sha256(normalised.encode()).hexdigest()
