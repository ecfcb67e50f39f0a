"""Language choice and locale-aware helpers for templates.

French is the first market: it is the default when the browser states no
preference we support.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import (
    format_currency,
    format_date,
    format_datetime,
    format_decimal,
    format_percent,
    get_locale,
    get_timezone,
)
from flask_login import current_user


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # jobs, CLI: the platform's default
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    asked = request.args.get("lang")
    if asked in languages:
        session["lang"] = asked
        return asked
    if session.get("lang") in languages:
        return session["lang"]
    if current_user and current_user.is_authenticated and current_user.locale in languages:
        return current_user.locale
    return (
        request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]
    )


def select_timezone() -> str:
    """The signed-in person's organization's zone; the platform's default for admins,
    visitors, jobs and the CLI."""
    if has_request_context() and current_user and current_user.is_authenticated:
        organization = current_user.organization
        if organization is not None and organization.timezone:
            return organization.timezone
    return current_app.config["BABEL_DEFAULT_TIMEZONE"]


def money(cents: int | None, currency: str = "EUR") -> str:
    """Integer cents shown as the user's locale writes money."""
    if cents is None:
        return "—"
    return format_currency(cents / 100, currency)


def local_datetime(value: datetime | None, fmt: str = "medium") -> str:
    """A moment as the user's locale writes it, in the organization's timezone, with the
    zone shown (a buyer in Lyon and an integrator in Dublin read the same time):
    "2 déc. 2026, 16:00:00 UTC+1"."""
    if value is None:
        return "—"
    offset = value.astimezone(get_timezone()).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    zone = f"UTC{'+' if minutes >= 0 else '-'}{abs(minutes) // 60}"
    if minutes % 60:
        zone += f":{abs(minutes) % 60:02d}"
    return f"{format_datetime(value, fmt)} {zone}"


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["datetime"] = local_datetime

    @app.context_processor
    def locale_helpers():
        from marketplace.labels import QUALIFICATION_LABELS, words
        from marketplace.scoring import qualification_of

        def lead_class(lead) -> str:
            """The lead's class in words ("sales-qualified (SQL)"), or empty."""
            found = qualification_of(lead.score, lead.sector_id)
            return str(QUALIFICATION_LABELS[found]) if found else ""

        return {
            "current_locale": str(get_locale() or "fr"),
            "words": words(),
            "format_percent": format_percent,
            "format_decimal": format_decimal,
            "format_date": format_date,
            "lead_class": lead_class,
        }
