"""Helpers shared by the forms of every portal."""

from __future__ import annotations

from datetime import date

from flask import flash
from flask_babel import lazy_gettext as _l
from wtforms import DecimalField, Form
from wtforms.validators import ValidationError

from marketplace.errors import ValidationFailed


def show_field_errors(form: Form, error: ValidationFailed, aliases: dict | None = None) -> None:
    """Put a use case's field errors under the form's fields.

    ``aliases`` maps a use case's field to the form field that stands for it; an error
    with no field on the form is flashed, so that no message is ever lost.
    """
    for name, message in error.fields.items():
        field = form._fields.get((aliases or {}).get(name, name))
        if field is None:
            flash(str(message), "danger")
        else:
            field.errors = [*field.errors, str(message)]


class FiniteDecimalField(DecimalField):
    """A decimal the person typed as a number: "NaN", "sNaN" or "Infinity" parse as
    decimals but are no amount, and a signalling NaN raises at the first comparison."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not self.data.is_finite():
            self.data = None
            raise ValueError(self.gettext("Not a valid decimal value."))


class SaneDate:
    """A date a person means: between 2000 and 2100 (a form's 0001-01-01 is a typo,
    and 9999-12-31 plus a day is no date at all)."""

    def __call__(self, form, field):
        if field.data is not None and not date(2000, 1, 1) <= field.data <= date(2100, 12, 31):
            raise ValidationError(_l("Give a date between 2000 and 2100."))
