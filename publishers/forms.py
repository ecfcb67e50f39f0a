"""Publisher portal forms and the capture form a visitor fills."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
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
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from marketplace.models import MagnetKind

KIND_LABELS = {
    MagnetKind.QUOTE_REQUEST: _l("Quote request"),
    MagnetKind.WHITEPAPER: _l("Whitepaper or buying guide"),
    MagnetKind.NEWSLETTER: _l("Newsletter sign-up"),
    MagnetKind.DEMO_REQUEST: _l("Demo request"),
    MagnetKind.CALLBACK_REQUEST: _l("Call-back request"),
    MagnetKind.WEBINAR: _l("Webinar registration"),
}


class MagnetForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(min=3, max=200)])
    kind = SelectField(
        _l("Kind"), choices=[(kind.value, label) for kind, label in KIND_LABELS.items()]
    )
    sector_id = SelectField(_l("Sector"), coerce=int, validators=[DataRequired()])
    max_buyers = IntegerField(
        _l("Partners per lead (1 = exclusive)"),
        default=3,
        validators=[DataRequired(), NumberRange(min=1, max=5)],
    )
    language = SelectField(_l("Form language"), choices=[("fr", "Français"), ("en", "English")])
    consent_extra = TextAreaField(
        _l("Your own sentence under the consent text (optional)"),
        validators=[Optional(), Length(max=1000)],
    )
    submit = SubmitField(_l("Create the lead magnet"))


class CaptureForm(Form):
    """The visitor's form. Not a FlaskForm: it is embedded on other sites, where our
    session cookie is not sent; a signed, timed form token replaces the CSRF token."""

    first_name = StringField(_l("First name"), render_kw={"autocomplete": "given-name"})
    last_name = StringField(_l("Last name"), render_kw={"autocomplete": "family-name"})
    email = EmailField(_l("Work e-mail"), render_kw={"autocomplete": "email"})
    phone = TelField(_l("Phone"), render_kw={"autocomplete": "tel"})
    company = StringField(_l("Company"), render_kw={"autocomplete": "organization"})
    job_title = StringField(_l("Job title"), render_kw={"autocomplete": "organization-title"})
    postcode = StringField(_l("Postcode"), render_kw={"autocomplete": "postal-code"})
    message = TextAreaField(_l("Your project in a few words"))
    consent = BooleanField(_l("I agree, as written above."))
    consent_text_id = HiddenField()
    form_token = HiddenField()
