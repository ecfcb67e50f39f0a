"""Helpers shared by the forms of every portal."""

from __future__ import annotations

from wtforms import Form

from marketplace.errors import ValidationFailed


def show_field_errors(form: Form, error: ValidationFailed) -> None:
    """Put a use case's field errors under the form's fields; the rest is flashed by the caller."""
    for name, message in error.fields.items():
        field = form._fields.get(name)
        if field is not None:
            field.errors = [*field.errors, str(message)]
