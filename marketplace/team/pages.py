"""The team page (members, invitations, the organization's settings) and the invited
person's page to join. Thin views over marketplace.team.members and .settings."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.auth.decorators import organization_required
from marketplace.auth.session import start_session
from marketplace.errors import ValidationFailed
from marketplace.extensions import db, limiter
from marketplace.forms import show_field_errors
from marketplace.models import Organization, UserRole, utcnow
from marketplace.team import members, settings
from marketplace.team.blueprint import blueprint
from marketplace.team.forms import InviteForm, JoinForm, RoleForm, SettingsForm


def _settings_form(organization: Organization) -> SettingsForm:
    form = SettingsForm(
        formdata=request.form if request.endpoint == "team.save_settings" else None,
        data={"name": organization.name, "timezone": organization.timezone},
    )
    form.timezone.choices = [(name, name.replace("_", " ")) for name in settings.timezone_names()]
    return form


def _team_page(invite_form: InviteForm | None = None, settings_form: SettingsForm | None = None):
    organization = db.session.get(Organization, current_user.organization_id)
    team = members.team_of(organization.id)
    return render_template(
        "team/team.html",
        organization=organization,
        team=team,
        invite_form=invite_form or InviteForm(formdata=None),
        settings_form=settings_form or _settings_form(organization),
        role_choices=RoleForm(formdata=None).role.choices,
        now=utcnow(),
    )


@blueprint.route("")
@organization_required
def team_page():
    return _team_page()


@blueprint.route("/invitations", methods=["POST"])
@organization_required
@limiter.limit("30 per hour")
def invite():
    form = InviteForm()
    if form.validate_on_submit():
        try:
            members.invite(
                current_user.organization_id,
                current_user.id,
                email=form.email.data,
                role=UserRole(form.role.data),
                link_for=lambda token: url_for("team.join", token=token, _external=True),
            )
        except ValidationFailed as error:
            show_field_errors(form, error)
        else:
            flash(
                _(
                    "The invitation is on its way to %(email)s; its link works for 7 days.",
                    email=form.email.data.strip().lower(),
                ),
                "success",
            )
            return redirect(url_for("team.team_page"))
    return _team_page(invite_form=form), 422


@blueprint.route("/invitations/<int:invitation_id>/revoke", methods=["POST"])
@organization_required
def revoke_invitation(invitation_id: int):
    members.revoke_invitation(current_user.organization_id, current_user.id, invitation_id)
    flash(_("The invitation is withdrawn: its link no longer works."), "success")
    return redirect(url_for("team.team_page"))


@blueprint.route("/members/<int:user_id>/role", methods=["POST"])
@organization_required
def change_role(user_id: int):
    form = RoleForm()
    if not form.validate_on_submit():
        flash(_("Choose owner or member."), "danger")
        return redirect(url_for("team.team_page"))
    members.change_role(
        current_user.organization_id, current_user.id, user_id, UserRole(form.role.data)
    )
    flash(_("The role is changed."), "success")
    return redirect(url_for("team.team_page"))


@blueprint.route("/members/<int:user_id>/remove", methods=["POST"])
@organization_required
def remove_member(user_id: int):
    leaving_myself = user_id == current_user.id
    members.remove_member(current_user.organization_id, current_user.id, user_id)
    if leaving_myself:
        flash(_("You have left the team."), "info")
        return redirect(url_for("site.index"))
    flash(_("The person is removed from your team: their sessions are closed."), "success")
    return redirect(url_for("team.team_page"))


@blueprint.route("/settings", methods=["POST"])
@organization_required
def save_settings():
    organization = db.session.get(Organization, current_user.organization_id)
    form = _settings_form(organization)
    if form.validate_on_submit():
        try:
            settings.save_settings(
                organization.id,
                current_user.id,
                name=form.name.data,
                timezone=form.timezone.data,
            )
        except ValidationFailed as error:
            show_field_errors(form, error)
        else:
            flash(_("Your organization's settings are saved."), "success")
            return redirect(url_for("team.team_page"))
    return _team_page(settings_form=form), 422


@blueprint.route("/join/<token>", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def join(token: str):
    """The invited person's page: the link's token is the only credential."""
    try:
        invitation = members.invitation_from_token(token)
    except members.InvitationInvalid as invalid:
        return render_template(
            "errors/error.html", status=410, message=invalid.message, title=_("Invitation")
        ), 410
    form = JoinForm()
    refused = None
    if form.validate_on_submit():
        try:
            user = members.accept_invitation(
                token,
                full_name=form.full_name.data,
                password=form.password.data,
                password_method=current_app.config["PASSWORD_HASH_METHOD"],
            )
        except members.InvitationInvalid as invalid:
            refused = invalid.message
        except ValidationFailed as error:
            refused = error.message
        else:
            start_session(user)
            flash(
                _("Welcome to %(organization)s!", organization=user.organization.name),
                "success",
            )
            return redirect(url_for("site.index"))
    body = render_template("team/join.html", form=form, invitation=invitation, refused=refused)
    # The page's address is the invitation's secret: kept out of caches and referrers.
    return body, 200, {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
