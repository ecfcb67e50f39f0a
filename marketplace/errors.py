"""Domain errors and the handlers that turn any error into a clear answer.

Services raise a ``DomainError`` subclass; one handler turns it into a JSON
error (API) or a flash message and a redirect (pages). Nothing a user sends
may produce a 500.
"""

from __future__ import annotations

import logging

from flask import Flask, flash, jsonify, make_response, redirect, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


class DomainError(Exception):
    """A business rule said no. ``code`` is stable, ``message`` is for people."""

    status = 409
    code = "conflict"

    def __init__(self, message: str | None = None, fields: dict[str, str] | None = None):
        super().__init__(message or self.code)
        self.message = message or str(self.default_message)
        self.fields = fields or {}

    default_message = _l("This action is not possible.")


class ValidationFailed(DomainError):
    status = 422
    code = "invalid"
    default_message = _l("Some fields are not valid.")


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = _l("Not found.")


class NotAllowed(DomainError):
    """The user is signed in and the object is theirs, but their role may not do this."""

    status = 403
    code = "forbidden"
    default_message = _l("Only an owner of your organization may do this.")


API_PATH_PREFIX = "/api/"


def is_api_path(path: str) -> bool:
    """A call of the JSON API: from a program authenticated by its key, not from a
    person's browser."""
    return path.startswith(API_PATH_PREFIX)


def wants_json() -> bool:
    if is_api_path(request.path) or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def json_error(status: int, code: str, message: str, fields: dict | None = None):
    body = {"error": {"code": code, "message": str(message)}}
    if fields:
        body["error"]["fields"] = {name: str(why) for name, why in fields.items()}
    return jsonify(body), status


# The contract's error codes (api-contract.md), by HTTP status.
ERROR_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
}


HTTP_MESSAGES = {
    400: _l("The request could not be understood."),
    401: _l("Please sign in."),
    403: _l("You do not have access to this page."),
    404: _l("This page does not exist, or is not yours to see."),
    405: _l("This method is not allowed here."),
    413: _l("What you sent is too large."),
    429: _l("Too many requests: please wait a moment and try again."),
    500: _l("Something went wrong on our side. It has been logged."),
}


def _page(status: int, message, title=None):
    return (
        render_template("errors/error.html", status=status, message=message, title=title),
        status,
    )


def register(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        if wants_json():
            return json_error(error.status, error.code, error.message, error.fields)
        if error.status == 404:
            return _page(404, HTTP_MESSAGES[404])
        if error.status == 403:
            return _page(403, error.message)
        flash(error.message, "danger")
        return redirect(request.referrer or "/")

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        message = _l(
            "Your form expired or did not come from this site. Reload the page and try again."
        )
        if wants_json():
            return json_error(400, "csrf", message)
        return _page(400, message)

    # Registered after APIFlask's error processor, which would answer every werkzeug
    # error in JSON: a person who mistypes an address gets a page, a program JSON.
    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        message = HTTP_MESSAGES.get(status, error.description)
        if wants_json():
            code = ERROR_CODES.get(status, error.name.lower().replace(" ", "_"))
            response, status = json_error(status, code, message)
        else:
            response, status = _page(status, message, error.name)
            response = make_response(response, status)
        for name, value in error.get_headers():
            if name.lower() != "content-type":  # Allow (405), Retry-After (429)...
                response.headers[name] = value
        return response, status

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        if app.config.get("PROPAGATE_EXCEPTIONS"):
            raise error
        if wants_json():
            return json_error(500, "server_error", HTTP_MESSAGES[500])
        return _page(500, HTTP_MESSAGES[500])
