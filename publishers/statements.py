"""The publisher's earnings statements, monthly, in HTML and CSV."""

from __future__ import annotations

from flask import Response, render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from billing import earnings
from marketplace.auth.decorators import publisher_required
from publishers.views import blueprint


@blueprint.route("/statements")
@publisher_required
def statements():
    publisher_id = current_user.organization_id
    return render_template(
        "publishers/statements.html",
        months=earnings.months_of(publisher_id),
        held_cents=earnings.held_cents(publisher_id),
        payable_cents=earnings.payable_cents(publisher_id),
    )


@blueprint.route("/statements/<month>")
@publisher_required
def statement(month: str):
    found = earnings.statement(current_user.organization_id, earnings.parse_month(month))
    return render_template(
        "publishers/statement.html", statement=found, status_labels=LINE_STATUS_LABELS
    )


LINE_STATUS_LABELS = {
    "held": _l("held"),
    "payable": _l("payable"),
    "reversed": _l("reversed after a dispute"),
    "reversal": _l("reversal"),
}


@blueprint.route("/statements/<month>.csv")
@publisher_required
def statement_csv(month: str):
    found = earnings.statement(current_user.organization_id, earnings.parse_month(month))
    return Response(
        earnings.statement_csv(found),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="statement-{found.month:%Y-%m}.csv"'
        },
    )
