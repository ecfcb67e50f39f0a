"""The team page's forms: invite, change a role, the organization's settings, and the
invited person's own form to choose a password."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

ROLE_CHOICES = [
    ("member", _l("Member: works the leads, cannot change billing, prices or the team")),
    ("owner", _l("Owner: may also change billing, prices, API keys and the team")),
]


class InviteForm(FlaskForm):
    email = EmailField(
        _l("Their work e-mail"),
        validators=[DataRequired(), Length(max=254), Email(check_deliverability=False)],
    )
    role = RadioField(_l("Role"), choices=ROLE_CHOICES, default="member")
    invite = SubmitField(_l("Send the invitation"))


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=[("member", _l("Member")), ("owner", _l("Owner"))])
    change = SubmitField(_l("Change"))


class SettingsForm(FlaskForm):
    name = StringField(_l("Organization name"), validators=[DataRequired(), Length(2, 200)])
    timezone = SelectField(
        _l("Timezone"),
        description=_l("Every time on your pages is shown in this zone."),
    )
    save = SubmitField(_l("Save"))


class JoinForm(FlaskForm):
    full_name = StringField(_l("Your name"), validators=[DataRequired(), Length(min=2, max=200)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("Password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    join = SubmitField(_l("Join the team"))

    def validate_password(self, field):
        minimum = current_app.config["PASSWORD_MIN_LENGTH"]
        if len(field.data or "") < minimum:
            raise ValidationError(_l("Use at least %(n)d characters.", n=minimum))
