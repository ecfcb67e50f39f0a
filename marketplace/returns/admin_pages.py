"""The admins' return rules, at /admin/returns: thin views over rules.py."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.auth.decorators import admin_required
from marketplace.errors import ValidationFailed
from marketplace.forms import show_field_errors
from marketplace.returns import rules
from marketplace.returns.blueprint import blueprint
from marketplace.returns.forms import RulesForm


def _page(form: RulesForm, status: int = 200):
    return render_template("returns/rules.html", form=form, rows=rules.rule_rows()), status


@blueprint.route("", methods=["GET", "POST"])
@admin_required
def return_rules():
    now = rules.current_rules()
    form = RulesForm(
        data={
            "platform_flagged": now.platform_flagged,
            "return_cap": now.return_cap,
            "cap_percent": now.cap_percent,
        }
    )
    if not form.is_submitted():
        return _page(form)
    if not form.validate():
        return _page(form, 400)
    change = rules.RulesChange(
        platform_flagged=form.platform_flagged.data,
        return_cap=form.return_cap.data,
        cap_percent=form.cap_percent.data,
        reason=form.reason.data or "",
    )
    try:
        changed = rules.update_rules(current_user.id, change)
    except ValidationFailed as error:
        show_field_errors(form, error)
        return _page(form, 422)
    if changed:
        flash(_("Return rules saved: they decide the next claims."), "success")
    else:
        flash(_("Nothing changed."), "info")
    return redirect(url_for("returns_admin.return_rules"))
