"""The admins' organizations: search them, open one, approve, suspend, reinstate, and
set a publisher's revenue share."""

from __future__ import annotations

from decimal import Decimal

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.auth.decorators import admin_required
from marketplace.errors import ValidationFailed
from marketplace.forms import show_field_errors
from marketplace.governance import organizations
from marketplace.governance.blueprint import blueprint
from marketplace.governance.forms import (
    STANDING_LABELS,
    OrganizationSearchForm,
    ReasonForm,
    RevenueShareForm,
    SuspendForm,
)
from marketplace.models import OrganizationKind

PAGE_SIZE = 50


@blueprint.route("/organizations")
@admin_required
def organization_list():
    form = OrganizationSearchForm(request.args)
    rows, errors = [], not form.validate()
    if not errors:
        rows = organizations.search(
            form.q.data or None,
            OrganizationKind(form.kind.data) if form.kind.data else None,
            form.standing.data or None,
            limit=PAGE_SIZE + 1,
            before_id=form.before.data,
        )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    next_args = None
    if more:
        next_args = {**request.args.to_dict(), "before": rows[-1].organization.id}
    return render_template(
        "governance/organizations.html",
        form=form,
        rows=rows,
        next_args=next_args,
        standing_labels=STANDING_LABELS,
    ), (400 if errors else 200)


def _page(organization_id: int, *, suspend_form=None, share_form=None, status=200):
    found = organizations.profile(organization_id)
    share_form = share_form or RevenueShareForm(
        formdata=None,
        share_percent=Decimal(found.organization.revenue_share_bps) / 100,
    )
    return render_template(
        "governance/organization.html",
        profile=found,
        org=found.organization,
        standing_labels=STANDING_LABELS,
        reason_form=ReasonForm(formdata=None),
        suspend_form=suspend_form or SuspendForm(formdata=None),
        share_form=share_form,
    ), status


@blueprint.route("/organizations/<int:organization_id>")
@admin_required
def organization(organization_id: int):
    return _page(organization_id)


def _back(organization_id: int):
    return redirect(url_for("governance.organization", organization_id=organization_id))


@blueprint.route("/organizations/<int:organization_id>/approve", methods=["POST"])
@admin_required
def approve(organization_id: int):
    form = ReasonForm()
    if not form.validate_on_submit():
        return _page(organization_id, status=400)
    try:
        offered = organizations.approve(organization_id, current_user.id, form.reason.data)
    except ValidationFailed as error:
        flash(str(error.message), "danger")
        return _page(organization_id, status=422)
    flash(
        _("Approved: its leads are sold from now on (%(count)d held ones offered again).")
        % {"count": offered},
        "success",
    )
    return _back(organization_id)


@blueprint.route("/organizations/<int:organization_id>/suspend", methods=["POST"])
@admin_required
def suspend(organization_id: int):
    form = SuspendForm()
    if not form.validate_on_submit():
        return _page(organization_id, suspend_form=form, status=400)
    try:
        organizations.suspend(organization_id, current_user.id, form.reason.data)
    except ValidationFailed as error:
        show_field_errors(form, error)
        return _page(organization_id, suspend_form=form, status=422)
    flash(_("Suspended. Its people see the reason on their pages."), "success")
    return _back(organization_id)


@blueprint.route("/organizations/<int:organization_id>/reinstate", methods=["POST"])
@admin_required
def reinstate(organization_id: int):
    form = ReasonForm()
    if not form.validate_on_submit():
        return _page(organization_id, status=400)
    try:
        offered = organizations.reinstate(organization_id, current_user.id, form.reason.data)
    except ValidationFailed as error:
        flash(" ".join(str(message) for message in error.fields.values()), "danger")
        return _page(organization_id, status=422)
    flash(
        _("Reinstated (%(count)d held leads offered again).") % {"count": offered},
        "success",
    )
    return _back(organization_id)


@blueprint.route("/organizations/<int:organization_id>/revenue-share", methods=["POST"])
@admin_required
def revenue_share(organization_id: int):
    form = RevenueShareForm()
    if not form.validate_on_submit():
        return _page(organization_id, share_form=form, status=400)
    try:
        organizations.set_revenue_share(
            organization_id,
            current_user.id,
            int(form.share_percent.data * 100),
            form.reason.data,
        )
    except ValidationFailed as error:
        show_field_errors(form, error)
        if not error.fields:
            flash(str(error.message), "danger")
        return _page(organization_id, share_form=form, status=422)
    flash(_("The revenue share applies to its next sales."), "success")
    return _back(organization_id)
