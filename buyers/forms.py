"""Buyer portal forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, IntegerField, SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, NumberRange, Optional


class CampaignForm(FlaskForm):
    name = StringField(_l("Campaign name"), validators=[DataRequired(), Length(max=120)])
    sector_ids = SelectMultipleField(
        _l("Sectors"), coerce=int, validators=[DataRequired(_l("Choose at least one sector."))]
    )
    price = DecimalField(
        _l("Price per lead (EUR)"),
        places=2,
        validators=[DataRequired(), NumberRange(min=1, max=10_000)],
    )
    daily_cap = IntegerField(
        _l("Daily cap (leads)"), validators=[Optional(), NumberRange(min=1, max=100_000)]
    )
    monthly_cap = IntegerField(
        _l("Monthly cap (leads)"), validators=[Optional(), NumberRange(min=1, max=1_000_000)]
    )
    monthly_budget = DecimalField(
        _l("Monthly budget (EUR)"),
        places=2,
        validators=[Optional(), NumberRange(min=1, max=10_000_000)],
    )
    submit = SubmitField(_l("Create the campaign"))
