"""The boundaries every request crosses, each guarded here once.

- **Body size**, whatever the transfer encoding: a view declares its limit with
  ``@body_limit(n)``; the limit is set on the request before anything reads the
  body, so a chunked upload with no Content-Length stops at the same size (413).
- **Text**: no NUL character in a path, a query string or a form (PostgreSQL
  cannot store one, and no person types one): 404 for a path, 400 otherwise.
- **Ids**: the ``int`` URL converter stops at the columns' range (PostgreSQL's
  ``integer``), so a larger id is a plain 404 instead of an overflow.
- **JSON**: an object, at most ``MAX_JSON_DEPTH`` levels deep, no NaN or Infinity,
  no NUL in any string (422 naming the field).
- **Dates** given by callers fall in a sane range (``check_recent``).

Decimal fields of the forms are finite (``marketplace.forms.FiniteDecimalField``)
and closed lists are checked where they are declared (pydantic ``Literal``s and
WTForms choices), both answering at the field.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Flask, abort, request
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

# PostgreSQL's integer: the type of every id column.
MAX_ID = 2**31 - 1
MAX_JSON_DEPTH = 16
NUL = "\x00"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

NUL_IN_TEXT = _l("This text contains a character that is not allowed.")


class IdConverter(IntegerConverter):
    """``<int:...>`` within the id columns' range: beyond it the route does not match."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def body_limit(max_bytes: int) -> Callable:
    """Declare the largest body a view takes (the app's MAX_CONTENT_LENGTH otherwise)."""

    def mark(view: Callable) -> Callable:
        view.body_limit = max_bytes
        return view

    return mark


def register(app: Flask) -> None:
    """Install the converter (before any route is added) and the request guard."""
    app.url_map.converters["int"] = IdConverter

    @app.before_request
    def guard_request():
        view = app.view_functions.get(request.endpoint or "")
        limit = getattr(view, "body_limit", None)
        if limit is not None:
            request.max_content_length = limit
        if request.content_length is None and request.environ.get("wsgi.input_terminated"):
            # Chunked: no length to judge by. werkzeug stops a read at the limit without
            # a word, so the body is read here, once, to one byte past it.
            read_body_within(request.max_content_length)
        if NUL in request.path:
            abort(404)
        if any(NUL in key or NUL in value for key, value in request.args.items(multi=True)):
            abort(400)
        # Reading the form here is reading it once: views get the parsed copy.
        if request.mimetype in FORM_TYPES and any(
            NUL in key or NUL in value for key, value in request.form.items(multi=True)
        ):
            abort(400)


class JsonRefused(ValueError):
    """The body is not a JSON document we read: ``status`` and a message, or fields."""

    def __init__(self, status: int, message, fields: dict | None = None):
        super().__init__(str(message))
        self.status = status
        self.message = message
        self.fields = fields or {}


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


def read_body_within(max_bytes: int | None) -> bytes:
    """The body (cached for the form parser and the views), or a 413 past ``max_bytes``."""
    if max_bytes is None:
        return request.get_data(cache=True)
    if (request.content_length or 0) > max_bytes:
        abort(413)
    if request.content_length is None:
        request.max_content_length = max_bytes + 1
    body = request.get_data(cache=True)
    if len(body) > max_bytes:
        abort(413)
    return body


def read_json_object(max_bytes: int) -> dict:
    """The request's JSON object, read within ``max_bytes`` whatever the encoding."""
    try:
        raw = read_body_within(max_bytes)
    except RequestEntityTooLarge:
        raise JsonRefused(413, _l("What you sent is too large.")) from None
    if not request.is_json:
        raise _not_an_object()
    try:
        payload = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise _not_an_object() from None
    if not isinstance(payload, dict):
        raise _not_an_object()
    if _plainly_fine(raw):
        return payload
    nul_fields = _check_tree(payload)
    if nul_fields:
        raise JsonRefused(
            422, _l("Some fields are not valid."), dict.fromkeys(nul_fields, NUL_IN_TEXT)
        )
    return payload


def _not_an_object() -> JsonRefused:
    # Built only when refusing: its message is translated as it is built.
    return JsonRefused(400, _l("Send a JSON object with Content-Type: application/json."))


def _plainly_fine(raw: bytes) -> bool:
    """Whether the body, read as JSON, surely holds no NUL and is not too deep, without
    walking it: JSON writes a NUL in a string or a key only as the escape ``\\u0000``
    (the parser refuses it raw), and a tree cannot be deeper than it has brackets. A
    body in UTF-16 or UTF-32 has zero bytes, and is walked."""
    return (
        b"\\u0000" not in raw
        and b"\x00" not in raw
        and raw.count(b"{") + raw.count(b"[") <= MAX_JSON_DEPTH
    )


def _check_tree(payload: dict) -> list[str]:
    """Paths of the strings holding a NUL; refuses a tree deeper than MAX_JSON_DEPTH.

    Iterative on purpose: the walk itself must not recurse on a hostile body.
    """
    found = []
    stack: list[tuple[object, str, int]] = [(payload, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise JsonRefused(
                    400,
                    _l("This JSON is nested too deeply (at most %(n)d levels).", n=MAX_JSON_DEPTH),
                )
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, child in items:
                if isinstance(key, str) and NUL in key:
                    found.append(f"{path}{key!r}")
                    continue
                stack.append((child, f"{path}.{key}" if path else str(key), depth + 1))
        elif isinstance(value, str) and NUL in value:
            found.append(path or "body")
    return found


def check_recent(moment: datetime, *, max_age: timedelta, now: datetime) -> str | None:
    """Why a caller's date is not believable, or None: not in the future (5 minutes of
    clock skew allowed), not older than ``max_age``."""
    if moment > now + timedelta(minutes=5):
        return str(_l("This date is in the future."))
    if moment < now - max_age:
        return str(_l("This date is too far in the past."))
    return None
