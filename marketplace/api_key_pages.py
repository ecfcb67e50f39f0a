"""The API keys page, the same for buyers and publishers: create (shown once), revoke."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField, SubmitField
from wtforms.validators import DataRequired, Length

from marketplace import api_keys


class ApiKeyForm(FlaskForm):
    name = StringField(_l("Key name"), validators=[DataRequired(), Length(max=100)])
    create = SubmitField(_l("Create a key"))


def api_key_page(organization_id: int, revoke_endpoint: str):
    form = ApiKeyForm()
    new_key = None
    if form.validate_on_submit():
        _, new_key = api_keys.issue_api_key(organization_id, form.name.data)
        form.name.data = ""
    body = render_template(
        "api_keys.html",
        form=form,
        new_key=new_key,
        keys=api_keys.api_keys_of(organization_id),
        revoke_endpoint=revoke_endpoint,
    )
    # A new key is on this page once: it must not stay in any cache.
    return body, 200, {"Cache-Control": "no-store"}


def revoke_api_key_and_return(organization_id: int, key_id: int, page_endpoint: str):
    api_keys.revoke_api_key(organization_id, key_id)
    flash(_("The key is revoked: calls with it are refused from now on."), "success")
    return redirect(url_for(page_endpoint))
