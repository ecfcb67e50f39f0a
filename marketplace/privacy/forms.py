"""The privacy centre's form, and the admin's decision forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, RadioField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

KIND_CHOICES = [
    ("access", _l("A copy of my data, and the companies that received it")),
    ("rectification", _l("Correct my data")),
    ("erasure", _l("Erase my data, here and at every company that received it")),
    ("objection", _l("Stop passing my data on to anyone")),
]


class PrivacyRequestForm(FlaskForm):
    kind = RadioField(_l("What do you ask?"), choices=KIND_CHOICES, validators=[DataRequired()])
    email = EmailField(
        _l("The e-mail address you gave in the form"),
        validators=[DataRequired(), Length(max=254), Email(check_deliverability=False)],
    )
    phone = StringField(
        _l("Your phone number, if you gave one (optional)"),
        validators=[Optional(), Length(max=32)],
    )
    message = TextAreaField(
        _l("Anything we should know (for a correction: what is wrong, and the right value)"),
        validators=[Optional(), Length(max=2000)],
    )
    send = SubmitField(_l("Send my request"))


class ConfirmForm(FlaskForm):
    confirm = SubmitField(_l("Yes, it is me: confirm my request"))


class NoteForm(FlaskForm):
    note = TextAreaField(
        _l("Message to the person"), validators=[DataRequired(), Length(min=5, max=2000)]
    )
    refuse = SubmitField(_l("Refuse, with this reason"))
    ask = SubmitField(_l("Ask for more"))


class CompleteForm(FlaskForm):
    first_name = StringField(_l("First name"), validators=[Optional(), Length(max=100)])
    last_name = StringField(_l("Last name"), validators=[Optional(), Length(max=100)])
    job_title = StringField(_l("Job title"), validators=[Optional(), Length(max=120)])
    company = StringField(_l("Company"), validators=[Optional(), Length(max=200)])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=32)])
    postcode = StringField(_l("Postcode"), validators=[Optional(), Length(max=12)])
    complete = SubmitField(_l("Complete the request"))
