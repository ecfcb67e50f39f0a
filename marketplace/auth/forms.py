"""Sign-up and login forms."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, RadioField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Sign in"))


class SignupForm(FlaskForm):
    kind = RadioField(
        _l("I am"),
        choices=[
            ("buyer", _l("a company buying leads (buyer)")),
            ("publisher", _l("a publisher with lead magnets")),
        ],
        validators=[DataRequired()],
    )
    company_name = StringField(
        _l("Company name"), validators=[DataRequired(), Length(min=2, max=200)]
    )
    full_name = StringField(_l("Your name"), validators=[DataRequired(), Length(min=2, max=200)])
    email = EmailField(
        _l("Work e-mail"),
        validators=[DataRequired(), Length(max=254), Email(check_deliverability=False)],
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("Password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))],
    )
    submit = SubmitField(_l("Create my account"))

    def validate_password(self, field):
        minimum = current_app.config["PASSWORD_MIN_LENGTH"]
        if len(field.data or "") < minimum:
            raise ValidationError(_l("Use at least %(n)d characters.", n=minimum))
