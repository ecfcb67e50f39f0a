"""The scoring model's form: one number per fact, the thresholds, a reason."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from marketplace.scoring.rules import FACTS


def field_name(fact: str) -> str:
    return "fact_" + fact.replace(":", "__")


class ModelForm(FlaskForm):
    warm_from = IntegerField(_l("Warm from"), validators=[InputRequired(), NumberRange(1, 99)])
    hot_from = IntegerField(_l("Hot from"), validators=[InputRequired(), NumberRange(2, 100)])
    sql_from = IntegerField(
        _l("Sales-qualified (SQL) from"), validators=[InputRequired(), NumberRange(1, 100)]
    )
    reason = TextAreaField(
        _l("Why (kept in the audit trail)"), validators=[DataRequired(), Length(min=5, max=1000)]
    )
    save = SubmitField(_l("Save the model"))

    def points(self) -> dict[str, int | None]:
        return {fact: self[field_name(fact)].data for fact in FACTS}


for _fact in FACTS:
    setattr(
        ModelForm,
        field_name(_fact),
        IntegerField(_fact, validators=[InputRequired(), NumberRange(0, 100)]),
    )


class SectorModelForm(FlaskForm):
    sector_id = SelectField(_l("Sector"), validators=[DataRequired()])
    add = SubmitField(_l("Give it a model of its own"))
