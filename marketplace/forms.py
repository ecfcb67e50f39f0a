"""Helpers shared by the forms of every portal."""

from __future__ import annotations

from flask import flash
from wtforms import DecimalField, Form

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
