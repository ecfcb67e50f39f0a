"""The admins' audit trail page."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import render_template, request
from flask_babel import format_percent, get_timezone
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from marketplace.auth.decorators import admin_required
from marketplace.governance import audit_trail
from marketplace.governance.blueprint import blueprint
from marketplace.governance.forms import ANY, SUBJECT_TYPE_LABELS, AuditSearchForm
from marketplace.guards import MAX_ID
from marketplace.i18n import money
from marketplace.labels import (
    BILLING_STATUS_LABELS,
    DECIDING_RULE_LABELS,
    RETURN_RULE_LABELS,
    USER_ROLE_LABELS,
)

PAGE_SIZE = 100

DETAIL_LABELS = {
    "reason": _l("reason"),
    "billing_status": _l("billing"),
    "billing_status_before": _l("billing before"),
    "before_bps": _l("share before"),
    "after_bps": _l("share after"),
    "changed": _l("changed"),
    "values": _l("values"),
    "rows": _l("rows"),
    "by": _l("by"),
    "role": _l("role"),
    "from": _l("from"),
    "to": _l("to"),
    "kind": _l("kind"),
    "filters": _l("filters"),
    "sale_id": _l("purchase"),
    "sale_ids": _l("purchases"),
    "amount_cents": _l("amount"),
    "credit_limit_cents": _l("credit limit"),
    "message": _l("message"),
    "slug": _l("short name"),
    "invitation_id": _l("invitation"),
    "reference": _l("reference"),
    "scope": _l("model"),
    "refund": _l("refund"),
    "rule": _l("accepted automatically"),
    "cap_percent": _l("return cap (%)"),
    "leads_bought_this_month": _l("leads bought this month"),
    "returns_accepted_this_month": _l("returns accepted this month"),
    "month_from": _l("month from"),
    "earlier_sale_id": _l("earlier purchase"),
    "smtp_code": _l("mail server's answer"),
}
FIELD_LABELS = {
    "name_fr": _l("Name in French"),
    "name_en": _l("Name in English"),
    "floor_price_cents": _l("Floor price"),
    "return_window_days": _l("Return window"),
    "audience": _l("Its leads come from"),
    "platform_flagged.enabled": RETURN_RULE_LABELS["platform_flagged"],
    "return_cap.enabled": RETURN_RULE_LABELS["return_cap"],
    "return_cap.percent": _l("Return cap (%)"),
}


def _value(key: str, value) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if key == "rule":
        return str(DECIDING_RULE_LABELS.get(value, value))
    if key.endswith("_cents") and isinstance(value, int):
        return money(value)
    if key.endswith("_bps") and isinstance(value, int):
        return format_percent(value / 10_000, "#,##0.##%")
    if key.startswith("billing_status"):
        return str(BILLING_STATUS_LABELS.get(value, value))
    if key in ("role", "from", "to"):
        return str(USER_ROLE_LABELS.get(value, value))
    if isinstance(value, dict):
        return "; ".join(
            f"{FIELD_LABELS.get(name, name)}: {_change(name, change)}"
            for name, change in value.items()
        )
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def _change(name: str, change) -> str:
    if isinstance(change, list) and len(change) == 2:
        return f"{_value(name, change[0])} → {_value(name, change[1])}"
    return _value(name, change)


def details_in_words(details: dict) -> list[tuple[str, str]]:
    """An event's details as (label, value) in the reader's words."""
    return [
        (str(DETAIL_LABELS.get(key, key)), _value(key, value)) for key, value in details.items()
    ]


def _start_of(day) -> datetime:
    """A day's first instant in the reader's zone."""
    return datetime.combine(day, time.min, tzinfo=get_timezone())


@blueprint.route("/audit")
@admin_required
def audit_trail_page():
    form = AuditSearchForm(request.args)
    form.subject_type.choices = [ANY, *SUBJECT_TYPE_LABELS.items()]
    valid = form.validate()
    dates = (form.date_from.data, form.date_to.data)
    if valid and all(dates) and dates[1] < dates[0]:
        form.date_to.errors = [_("The end comes before the start.")]
        valid = False
    before = form.before.data
    if before and (not before.isdigit() or not 0 < int(before) <= MAX_ID):
        form.before.errors = [_("Not a page of the audit trail.")]
        valid = False
    lines = []
    if valid:
        criteria = audit_trail.AuditSearch(
            action=(form.action.data or "").strip() or None,
            actor_email=(form.actor.data or "").strip() or None,
            organization_id=form.organization.data,
            subject_type=form.subject_type.data or None,
            subject_id=form.subject_id.data,
            since=_start_of(form.date_from.data) if form.date_from.data else None,
            until=_start_of(form.date_to.data + timedelta(days=1)) if form.date_to.data else None,
            before_id=int(before) if before else None,
        )
        lines = audit_trail.search(criteria, limit=PAGE_SIZE + 1)
    more = len(lines) > PAGE_SIZE
    lines = lines[:PAGE_SIZE]
    next_args = {**request.args.to_dict(), "before": lines[-1].event.id} if more else None
    return render_template(
        "governance/audit.html",
        form=form,
        lines=lines,
        next_args=next_args,
        known_actions=audit_trail.actions(),
        subject_words=SUBJECT_TYPE_LABELS,
        details_in_words=details_in_words,
    ), (200 if valid else 400)
