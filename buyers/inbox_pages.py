"""The inbox page and its CSV export: the same filters, read from the address."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from flask import Response, render_template, request, stream_with_context, url_for
from flask_babel import format_datetime, get_timezone
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from billing.ledger import balances
from buyers import inbox
from buyers.blueprint import blueprint
from buyers.forms import InboxFilterForm
from marketplace.auth.decorators import buyer_required
from marketplace.csv_files import cents_cell, csv_format, header_line, text_cell
from marketplace.db_pool import on_postgresql
from marketplace.extensions import db
from marketplace.labels import (
    DELIVERY_STATUS_LABELS,
    LOST_REASON_LABELS,
    OUTCOME_LABELS,
    RATING_REASON_LABELS,
    TEMPERATURE_LABELS,
)
from marketplace.models import Campaign, Sector
from marketplace.sectors import sector_options

ANY = ("", "—")


def filter_form() -> InboxFilterForm:
    form = InboxFilterForm(request.args)
    campaigns = db.session.execute(
        select(Campaign.id, Campaign.name)
        .where(Campaign.buyer_id == current_user.organization_id)
        .order_by(Campaign.name)
    ).all()
    form.sector.choices = [ANY, *((str(id_), label) for id_, label in sector_options())]
    form.campaign.choices = [ANY, *((str(id_), name) for id_, name in campaigns)]
    form.temperature.choices = [ANY, *TEMPERATURE_LABELS.items()]
    form.rating.choices = [
        ANY,
        ("unrated", _("Not rated")),
        *((str(n), "★" * n) for n in range(5, 0, -1)),
    ]
    form.outcome.choices = [ANY, *OUTCOME_LABELS.items()]
    form.disputed.choices = [ANY, ("yes", _("Disputed")), ("no", _("Not disputed"))]
    form.delivery.choices = [ANY, *DELIVERY_STATUS_LABELS.items()]
    return form


def filters_of(form: InboxFilterForm) -> inbox.InboxFilters:
    def chosen(field):
        return field.data or None

    return inbox.InboxFilters(
        q=(form.q.data or "").strip() or None,
        date_from=form.date_from.data,
        date_to=form.date_to.data,
        sector_id=int(form.sector.data) if form.sector.data else None,
        campaign_id=int(form.campaign.data) if form.campaign.data else None,
        temperature=chosen(form.temperature),
        score_min=form.score_min.data,
        score_max=form.score_max.data,
        rating=chosen(form.rating),
        outcome=chosen(form.outcome),
        disputed={"yes": True, "no": False}.get(form.disputed.data or ""),
        delivery=chosen(form.delivery),
    )


def _checked_filters() -> tuple[InboxFilterForm, inbox.InboxFilters | None]:
    form = filter_form()
    return form, (filters_of(form) if form.validate() else None)


@blueprint.route("/", endpoint="inbox")
@buyer_required
def inbox_page():
    """Every purchase, newest first, filtered, counted, a page at a time."""
    organization_id = current_user.organization_id
    form, filters = _checked_filters()
    if filters is None:  # a filter off its list or range: said at the field
        sales, next_keyset, total, status = [], None, 0, 422
    else:
        after = inbox.parse_cursor(form.cursor.data)
        sales, next_keyset, total = inbox.page(organization_id, filters, after)
        status = 200
    kept = {name: value for name, value in request.args.items() if value and name != "cursor"}
    return render_template(
        "buyers/inbox.html",
        form=form,
        sales=sales,
        total=total,
        first_page_url=url_for("buyers.inbox", **kept) if form.cursor.data else None,
        next_page_url=url_for("buyers.inbox", **kept, cursor=inbox.cursor_text(next_keyset))
        if next_keyset
        else None,
        export_url=url_for("buyers.export_inbox", **kept),
        export_semicolon_url=url_for("buyers.export_inbox", **kept, sep="semicolon"),
        balances=balances(organization_id),
        # Translated once for the page, not once per row.
        outcome_labels={key: str(label) for key, label in OUTCOME_LABELS.items()},
        temperature_labels={key: str(label) for key, label in TEMPERATURE_LABELS.items()},
        row_words=row_words(),
    ), status


def row_words() -> dict:
    """The words every row of the inbox repeats, translated once for the page: each
    gettext is a look-up in the catalogue, and the five star buttons alone asked for
    ten per row (some 800 a page, 40 % of its time)."""
    return {
        "received": _("Received"),
        "deal": _("Deal"),
        "open": _("Open"),
        "lead": _("lead"),
        # Formatted per row with the lead's number (Jinja's format filter).
        "rate": _("Rate lead #%(id)d"),
        "stars": [(n, _("%(n)d stars out of 5", n=n)) for n in range(1, 6)],
    }


@blueprint.route("/inbox.csv")
@buyer_required
def export_inbox():
    """The filtered purchases as CSV, streamed: UTF-8 with a BOM so that Excel reads the
    accents; ``sep=semicolon`` for French Excel (decimal commas too). PostgreSQL writes
    the lines itself (COPY); elsewhere Python writes them, the same cells."""
    _form, filters = _checked_filters()
    if filters is None:
        return inbox_page()
    chosen = csv_format(request.args.get("sep"))
    delimiter, decimal = chosen.delimiter, chosen.decimal
    zone = str(get_timezone())
    words = _export_words()
    organization_id, user_id = current_user.organization_id, current_user.id
    if written_by_the_database():
        lines = inbox.export_copy(
            organization_id,
            filters,
            words,
            user_id=user_id,
            zone=zone,
            delimiter=delimiter,
            decimal=decimal,
        )
    else:
        rows = inbox.export_rows(organization_id, filters, user_id=user_id)
        lines = _csv(rows, words, delimiter=delimiter, decimal=decimal, zone=zone)
    filename = f"leads-{format_datetime(None, 'yyyy-MM-dd')}.csv"
    return Response(
        stream_with_context(_with_header(lines, zone, delimiter)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def written_by_the_database() -> bool:
    """Whether the database writes the CSV (PostgreSQL's COPY) rather than Python."""
    return on_postgresql()


# A typed text as a cell (buyers/inbox._typed_cell is the same rule in SQL).
_cell = text_cell


# Rows written between two pieces of the streamed answer: one write per row made the
# server's work per row several times the CSV's.
FLUSH_ROWS = 500


def _export_words() -> inbox.ExportWords:
    """Every label of the file, translated once (in the language the browser asks)."""
    locale = request.accept_languages.best_match(("fr", "en")) or "fr"
    sectors = db.session.scalars(select(Sector).options(joinedload(Sector.parent)))
    return inbox.ExportWords(
        sectors={sector.id: sector.label(locale) for sector in sectors},
        temperatures={key: str(label) for key, label in TEMPERATURE_LABELS.items()},
        outcomes={key: str(label) for key, label in OUTCOME_LABELS.items()},
        reasons={key: str(label) for key, label in RATING_REASON_LABELS.items()},
        lost_reasons={key: str(label) for key, label in LOST_REASON_LABELS.items()},
        catalogue=_("Catalogue"),
    )


def _with_header(lines: Iterator, zone: str, delimiter: str) -> Iterator:
    """The byte order mark and the header line, then ``lines``."""
    yield header_line(
        [
            _("Purchase"),
            _("Bought at (%(zone)s)", zone=zone),
            _("Lead"),
            _("First name"),
            _("Last name"),
            _("E-mail"),
            _("Phone"),
            _("Company"),
            _("Job title"),
            _("Postcode"),
            _("Country"),
            _("Sector"),
            _("Campaign"),
            _("Score"),
            _("Temperature"),
            _("Price"),
            _("Currency"),
            _("Rating"),
            _("Why"),
            _("Deal"),
            _("Amount of the deal"),
            _("Why it was lost"),
        ],
        delimiter,
    )
    yield from lines


def _csv(
    rows, words: inbox.ExportWords, *, delimiter: str, decimal: str, zone: str
) -> Iterator[str]:
    """The CSV lines of ``rows`` (inbox.EXPORTED's columns), a few hundred rows at a
    time: what PostgreSQL's COPY writes (inbox.export_copy_query), cell for cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    def amount(cents):
        return cents_cell(cents, decimal)

    sectors, temperatures, outcomes = words.sectors, words.temperatures, words.outcomes
    reasons, lost_reasons, catalogue = words.reasons, words.lost_reasons, words.catalogue
    local = ZoneInfo(zone)
    batch = []
    for written, (
        sale_id,
        bought_at,
        lead_id,
        first_name,
        last_name,
        email,
        phone,
        company,
        job_title,
        postcode,
        country,
        sector_id,
        campaign_id,
        campaign_name,
        score,
        temperature,
        price_cents,
        currency,
        rating_stars,
        rating_reasons,
        outcome,
        outcome_amount_cents,
        lost_reason,
    ) in enumerate(rows, start=1):  # inbox.EXPORTED's columns
        batch.append(
            [
                sale_id,
                str(bought_at.astimezone(local))[:16],  # "2026-12-02 16:00"
                lead_id,
                _cell(first_name),
                _cell(last_name),
                _cell(email),
                _cell(phone),
                _cell(company),
                _cell(job_title),
                _cell(postcode),
                country or "",
                sectors[sector_id],
                _cell(campaign_name) if campaign_id is not None else catalogue,
                "" if score is None else score,
                temperatures.get(temperature.value, "") if temperature else "",
                amount(price_cents),
                currency,
                rating_stars or "",
                ", ".join([reasons[r] for r in json.loads(rating_reasons) if r in reasons])
                if rating_reasons != "[]"
                else "",
                outcomes[outcome.value if outcome else "new"],
                amount(outcome_amount_cents),
                lost_reasons.get(lost_reason, "") if lost_reason else "",
            ]
        )
        if written % FLUSH_ROWS == 0:
            writer.writerows(batch)
            batch.clear()
            yield flush()
    writer.writerows(batch)
    yield flush()
