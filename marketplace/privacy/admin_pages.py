"""The admins' privacy queue: requests by due date, overdue first; one request with its
history, the person's leads and who holds them; complete, refuse, or ask for more."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from marketplace import audit
from marketplace.auth.decorators import admin_required
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.forms import show_field_errors
from marketplace.models import GdprRequestKind, RecipientNotice, Sale, utcnow
from marketplace.privacy import decisions, requests
from marketplace.privacy.blueprint import admin_blueprint
from marketplace.privacy.forms import CompleteForm, NoteForm


def _link(token: str) -> str:
    return url_for("privacy.follow", token=token, _external=True)


@admin_blueprint.route("")
@admin_required
def privacy_queue():
    return render_template(
        "privacy/queue.html",
        open_rows=requests.queue(),
        closed_rows=requests.queue(closed=True),
        kind_words=requests.KIND_WORDS,
        now=utcnow(),
    )


def _request_page(request_id: int, complete_form=None, note_form=None, status=200):
    found = requests.open_request(request_id)
    leads = requests.person_leads(found)
    sales = db.session.scalars(
        select(Sale)
        .where(Sale.lead_id.in_([lead.id for lead in leads]))
        .options(joinedload(Sale.buyer))
        .order_by(Sale.created_at)
    ).all()
    notices = db.session.scalars(
        select(RecipientNotice).where(RecipientNotice.request_id == found.id)
    ).all()
    # Opening a request shows the person's data: the audit trail says who saw it.
    audit.record("privacy.request_viewed", "gdpr_request", found.id, actor_user_id=current_user.id)
    db.session.commit()
    return render_template(
        "privacy/request.html",
        found=found,
        leads=leads,
        sales=sales,
        notices=notices,
        history=requests.history(found.id),
        kind_words=requests.KIND_WORDS,
        complete_form=complete_form or CompleteForm(formdata=None),
        note_form=note_form or NoteForm(formdata=None),
        is_rectification=found.kind is GdprRequestKind.RECTIFICATION,
        now=utcnow(),
    ), status


@admin_blueprint.route("/<int:request_id>")
@admin_required
def privacy_request(request_id: int):
    return _request_page(request_id)


@admin_blueprint.route("/<int:request_id>/complete", methods=["POST"])
@admin_required
def complete(request_id: int):
    form = CompleteForm()
    if form.validate_on_submit():
        corrections = {name: form[name].data for name in decisions.CORRECTABLE}
        try:
            decisions.complete(request_id, current_user.id, link_for=_link, corrections=corrections)
        except ValidationFailed as error:
            show_field_errors(form, error)
        else:
            flash(_("The request is completed, and the person told."), "success")
            return redirect(url_for("privacy_admin.privacy_queue"))
    return _request_page(request_id, complete_form=form, status=422)


@admin_blueprint.route("/<int:request_id>/note", methods=["POST"])
@admin_required
def note(request_id: int):
    form = NoteForm()
    if form.validate_on_submit():
        try:
            if form.refuse.data:
                requests.refuse(request_id, current_user.id, form.note.data)
                flash(_("The request is refused, and the person told why."), "success")
                return redirect(url_for("privacy_admin.privacy_queue"))
            requests.ask_for_more(request_id, current_user.id, form.note.data)
        except ValidationFailed as error:
            show_field_errors(form, error)
        else:
            flash(_("Your question is sent to the person."), "success")
            return redirect(url_for("privacy_admin.privacy_request", request_id=request_id))
    return _request_page(request_id, note_form=form, status=422)
