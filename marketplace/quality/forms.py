"""The admins' form for the priors and the payout multiplier's bounds."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from marketplace.forms import FiniteDecimalField


class QualitySettingsForm(FlaskForm):
    prior_rating = FiniteDecimalField(
        _l("Prior rating (stars)"), places=1, validators=[InputRequired(), NumberRange(1, 5)]
    )
    prior_weight = IntegerField(
        _l("Weight of the prior (in ratings)"), validators=[InputRequired(), NumberRange(1, 1000)]
    )
    payout_min = FiniteDecimalField(
        _l("Lowest payout multiplier"),
        places=2,
        validators=[InputRequired(), NumberRange(0.5, 1)],
    )
    payout_max = FiniteDecimalField(
        _l("Highest payout multiplier"),
        places=2,
        validators=[InputRequired(), NumberRange(1, 1.5)],
    )
    reason = TextAreaField(
        _l("Why (kept in the audit trail)"), validators=[DataRequired(), Length(min=5, max=500)]
    )
    save = SubmitField(_l("Save"))
