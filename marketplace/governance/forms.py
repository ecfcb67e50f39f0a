"""The console's forms: searches read from the address (no CSRF: a GET changes
nothing), decisions posted with a reason."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    Form,
    HiddenField,
    IntegerField,
    SearchField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from marketplace.forms import FiniteDecimalField, SaneDate
from marketplace.guards import MAX_ID

ANY = ("", _l("Any"))

KIND_CHOICES = [ANY, ("buyer", _l("Buyers")), ("publisher", _l("Publishers"))]
STANDING_LABELS = {
    "good": _l("In good standing"),
    "awaiting_approval": _l("Awaiting approval"),
    "suspended": _l("Suspended"),
    "held_by_billing": _l("Held by billing"),
}


class OrganizationSearchForm(Form):
    q = SearchField(_l("Name, SIREN, e-mail or number"), validators=[Optional(), Length(max=100)])
    kind = SelectField(_l("Kind"), choices=KIND_CHOICES, validators=[Optional()])
    standing = SelectField(
        _l("Standing"), choices=[ANY, *STANDING_LABELS.items()], validators=[Optional()]
    )
    before = IntegerField(validators=[Optional(), NumberRange(1, MAX_ID)])


class ReasonForm(FlaskForm):
    """Approve or reinstate: a reason is welcome, not required."""

    reason = TextAreaField(_l("Reason (kept in the audit trail)"), validators=[Length(max=1000)])
    submit = SubmitField()


class SuspendForm(FlaskForm):
    reason = TextAreaField(
        _l("Why (the organization's people read it)"),
        validators=[DataRequired(), Length(min=5, max=1000)],
    )
    suspend = SubmitField(_l("Suspend"))


class RevenueShareForm(FlaskForm):
    share_percent = FiniteDecimalField(
        _l("Publisher's share of each sale (%)"),
        places=2,
        validators=[DataRequired(), NumberRange(min=0, max=100)],
    )
    reason = TextAreaField(
        _l("Why (kept in the audit trail)"), validators=[DataRequired(), Length(min=5, max=1000)]
    )
    save_share = SubmitField(_l("Change the share"))


class SectorForm(FlaskForm):
    name_fr = StringField(_l("Name in French"), validators=[DataRequired(), Length(max=120)])
    name_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=120)])
    floor_price = FiniteDecimalField(
        _l("Floor price per lead (EUR)"),
        places=2,
        validators=[DataRequired(), NumberRange(min=0, max=10_000)],
    )
    return_window_days = IntegerField(
        _l("Return window (days; empty: the platform's default)"),
        validators=[Optional(), NumberRange(min=0, max=90)],
    )
    audience = SelectField(
        _l("Its leads come from"),
        choices=[("b2b", _l("companies (B2B)")), ("b2c", _l("consumers (B2C)"))],
        validators=[DataRequired()],
    )
    reason = TextAreaField(
        _l("Why (kept in the audit trail)"), validators=[DataRequired(), Length(min=5, max=1000)]
    )
    save = SubmitField(_l("Save the sector"))


class NewSectorForm(SectorForm):
    slug = StringField(
        _l("Short name in addresses (letters, digits, hyphens)"),
        validators=[DataRequired(), Length(min=2, max=80)],
    )
    parent_id = SelectField(_l("Under"), validators=[Optional()])
    save = SubmitField(_l("Add the sector"))


SUBJECT_TYPE_LABELS = {
    "lead": _l("Lead"),
    "sale": _l("Purchase"),
    "dispute": _l("Dispute"),
    "organization": _l("Organization"),
    "user": _l("Person"),
    "sector": _l("Sector"),
    "gdpr_request": _l("Privacy request"),
    "invitation": _l("Invitation"),
    "return_rules": _l("Return rules"),
}


class AuditSearchForm(Form):
    action = StringField(_l("Action"), validators=[Optional(), Length(max=60)])
    actor = StringField(_l("Who (e-mail)"), validators=[Optional(), Length(max=254)])
    organization = IntegerField(
        _l("Organization number"), validators=[Optional(), NumberRange(1, MAX_ID)]
    )
    subject_type = SelectField(_l("Object"), validators=[Optional()])
    subject_id = IntegerField(_l("Object number"), validators=[Optional(), NumberRange(1, MAX_ID)])
    date_from = DateField(_l("From"), validators=[Optional(), SaneDate()])
    date_to = DateField(_l("Until"), validators=[Optional(), SaneDate()])
    before = HiddenField()
