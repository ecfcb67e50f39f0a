"""Publisher portal forms and the capture form a visitor fills."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    Form,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    SubmitField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from marketplace.capture import QUALIFICATION_FIELDS
from marketplace.labels import (
    BUDGET_LABELS,
    COMPANY_SIZE_LABELS,
    HOUSING_LABELS,
    KIND_LABELS,
    TIMEFRAME_LABELS,
)
from marketplace.models import MagnetStatus
from marketplace.validation import COUNTRIES

STATUS_LABELS = {
    MagnetStatus.DRAFT: _l("Draft (form closed)"),
    MagnetStatus.LIVE: _l("Live"),
    MagnetStatus.PAUSED: _l("Paused (form closed)"),
}
FIELD_LABELS = {
    "company": _l("Company"),
    "siret": _l("SIRET"),
    "job_title": _l("Job title"),
    "company_size": _l("Company size"),
    "budget": _l("Budget"),
    "timeframe": _l("Timeframe"),
    "housing": _l("The home the works are for"),
    "country": _l("Country"),
    "postcode": _l("Postcode"),
    "message": _l("Your project in a few words"),
}
ASKED_CHOICES = [
    ("off", _l("Not asked")),
    ("optional", _l("Optional")),
    ("required", _l("Required")),
]


class MagnetForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(min=3, max=200)])
    kind = SelectField(
        _l("Kind"), choices=[(kind.value, label) for kind, label in KIND_LABELS.items()]
    )
    sector_id = SelectField(_l("Sector"), coerce=int, validators=[DataRequired()])
    max_buyers = IntegerField(
        _l("Partners per lead (1 = exclusive)"),
        default=3,
        validators=[InputRequired(), NumberRange(min=1, max=5)],
    )
    language = SelectField(_l("Form language"), choices=[("fr", "Français"), ("en", "English")])
    status = SelectField(
        _l("Status"),
        choices=[(status.value, label) for status, label in STATUS_LABELS.items()],
        default=MagnetStatus.LIVE.value,
    )
    cta_a = StringField(
        _l("Button text (empty: the default)"), validators=[Optional(), Length(max=80)]
    )
    title_b = StringField(
        _l("A/B test: second title (optional)"), validators=[Optional(), Length(max=200)]
    )
    cta_b = StringField(
        _l("A/B test: second button text (optional)"), validators=[Optional(), Length(max=80)]
    )
    allowed_domains = TextAreaField(
        _l("Sites allowed to embed the form, one domain per line (empty: any site)"),
        validators=[Optional(), Length(max=2000)],
    )
    thank_you_message = TextAreaField(
        _l("Thank-you message (optional)"), validators=[Optional(), Length(max=1000)]
    )
    redirect_url = StringField(
        _l("Or send the person to this page after the form (optional)"),
        validators=[Optional(), Length(max=500)],
    )
    consent_extra = TextAreaField(
        _l("Your own sentence under the consent text (optional)"),
        validators=[Optional(), Length(max=1000)],
    )
    submit = SubmitField(_l("Save the lead magnet"))

    def asked_fields(self) -> list[dict]:
        specs = []
        for name in QUALIFICATION_FIELDS:
            choice = self[f"ask_{name}"].data
            if choice in ("optional", "required"):
                specs.append({"name": name, "required": choice == "required"})
        return specs

    def show_asked_fields(self, specs: list[dict]) -> None:
        by_name = {spec["name"]: spec for spec in specs}
        for name in QUALIFICATION_FIELDS:
            spec = by_name.get(name)
            self[f"ask_{name}"].data = (
                "off" if spec is None else ("required" if spec.get("required") else "optional")
            )


for _name in QUALIFICATION_FIELDS:
    setattr(
        MagnetForm,
        f"ask_{_name}",
        SelectField(FIELD_LABELS[_name], choices=ASKED_CHOICES, default="off"),
    )


class AssetForm(FlaskForm):
    asset = FileField(_l("The PDF given after the form"), validators=[FileRequired()])
    upload = SubmitField(_l("Upload"))


class CaptureForm(Form):
    """The visitor's form. Not a FlaskForm: it is embedded on other sites, where our
    session cookie is not sent; a signed, timed form token replaces the CSRF token."""

    first_name = StringField(_l("First name"), render_kw={"autocomplete": "given-name"})
    last_name = StringField(_l("Last name"), render_kw={"autocomplete": "family-name"})
    email = EmailField(_l("Work e-mail"), render_kw={"autocomplete": "email"})
    phone = TelField(_l("Phone"), render_kw={"autocomplete": "tel"})
    company = StringField(FIELD_LABELS["company"], render_kw={"autocomplete": "organization"})
    siret = StringField(FIELD_LABELS["siret"], render_kw={"inputmode": "numeric"})
    job_title = StringField(
        FIELD_LABELS["job_title"], render_kw={"autocomplete": "organization-title"}
    )
    company_size = SelectField(
        FIELD_LABELS["company_size"], choices=[("", "—"), *COMPANY_SIZE_LABELS.items()]
    )
    budget = SelectField(FIELD_LABELS["budget"], choices=[("", "—"), *BUDGET_LABELS.items()])
    timeframe = SelectField(
        FIELD_LABELS["timeframe"], choices=[("", "—"), *TIMEFRAME_LABELS.items()]
    )
    housing = SelectField(FIELD_LABELS["housing"], choices=[("", "—"), *HOUSING_LABELS.items()])
    country = SelectField(FIELD_LABELS["country"], choices=[(c, c) for c in COUNTRIES])
    postcode = StringField(FIELD_LABELS["postcode"], render_kw={"autocomplete": "postal-code"})
    message = TextAreaField(FIELD_LABELS["message"])
    consent = BooleanField(_l("I agree, as written above."))
    consent_text_id = HiddenField()
    form_token = HiddenField()
    # A trap for robots: hidden from people and from assistive technology.
    website = StringField("Website", render_kw={"autocomplete": "off", "tabindex": "-1"})
