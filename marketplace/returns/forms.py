"""The return rules' form: each rule on or off, the cap, and why."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from marketplace.labels import RETURN_RULE_LABELS


class RulesForm(FlaskForm):
    platform_flagged = BooleanField(RETURN_RULE_LABELS["platform_flagged"])
    return_cap = BooleanField(RETURN_RULE_LABELS["return_cap"])
    cap_percent = IntegerField(
        _l("Return cap, in percent of the leads the buyer bought in the month"),
        validators=[
            InputRequired(_l("A whole percent between 0 and 100.")),
            NumberRange(0, 100, _l("A whole percent between 0 and 100.")),
        ],
    )
    reason = TextAreaField(
        _l("Why (kept in the audit trail)"), validators=[DataRequired(), Length(min=5, max=1000)]
    )
    save = SubmitField(_l("Save the rules"))
