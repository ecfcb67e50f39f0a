"""What every JSON API endpoint shares: bearer-key authentication, parsing a body
against its schema with field-level messages, and the error format of the contract."""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import threading
import time
from typing import TypeVar

from apiflask import APIFlask, HTTPTokenAuth
from apiflask.exceptions import HTTPError
from apiflask.schema_adapters import registry
from apiflask.schema_adapters.pydantic import PydanticAdapter
from flask import Flask, current_app, g, request
from flask_babel import lazy_gettext as _l
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import TooManyRequests

from marketplace import api_keys, guards, jobs
from marketplace.errors import ERROR_CODES, is_api_path, json_error
from marketplace.extensions import limiter

log = logging.getLogger(__name__)

token_auth = HTTPTokenAuth(scheme="Bearer", description="An API key created in the portal.")

Model = TypeVar("Model", bound=BaseModel)


@token_auth.verify_token
def _verify(token: str):
    """The key's organization as (id, kind), kept on ``g`` for the request."""
    found = api_keys.organization_for_key(token or "")
    if found is not None:
        g.api_organization_id, g.api_organization_kind = found
    return found


@token_auth.error_handler
def _unauthenticated(status: int):
    """APIFlask answers auth errors in JSON only when all errors are JSON; ours always are."""
    message = _l("Send a valid API key: Authorization: Bearer <key>.")
    if status == 403:
        message = _l("This key may not do this.")
    response, status = json_error(status, ERROR_CODES.get(status, "error"), str(message))
    response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response, status


def api_organization(kind: str) -> int:
    """The calling organization's id; a key of the other role gets a 403."""
    if g.get("api_organization_kind") != kind:
        raise HTTPError(403, message=str(_l("This key is not a %(kind)s key.", kind=kind)))
    return g.api_organization_id


# After the limiter's storage (Redis) failed, this process counts the calls itself for
# as long as it stops asking Redis for jobs (jobs.REDIS_RETRY_AFTER_SECONDS): a call
# costs no connection timeout meanwhile.
_limits_down_until = 0.0
_counted_in_process = FixedWindowRateLimiter(MemoryStorage())

# A process that calls fast for one organization counts its next calls in Redis at once,
# a lease it then spends without a round trip (docs/capture.md, "Limits"). The lease
# doubles while each is spent within LEASE_SECONDS of its count, up to a hundredth of
# the limit (at most LEASE_MOST calls), and starts again at one call when calls slow
# down: a limit under 200 calls is counted call by call. A lease is spent within the
# window it was counted in, or dropped when the window ends: what a process leaves
# unspent is at most one lease a window.
LEASE_SECONDS = 1.0
LEASE_MOST = 100


@dataclasses.dataclass
class _Lease:
    left: int
    size: int
    taken_at: float  # time.monotonic(): how fast this process spends its leases
    window_ends: float  # time.time(), as the storage gives it

    def spendable(self) -> bool:
        return self.left > 0 and time.time() < self.window_ends


_leases: dict[str, _Lease] = {}
_leases_lock = threading.Lock()


def forget_leases() -> None:
    """Drop this process's leases (tests: a storage emptied under them)."""
    with _leases_lock:
        _leases.clear()


def count_call(limit: str, scope: str) -> None:
    """Count this call against ``limit`` (``"1200 per minute"``, several separated by
    ``;``) for the calling organization, whatever its keys, and answer 429 with a
    Retry-After past it.

    The count is Flask-Limiter's own (its storage, Redis shared by the processes, and
    its fixed window), made here: its decorator resolved every limit of the app at
    each request, which cost about a tenth of a capture's CPU beyond the count itself
    (docs/benchmarks.md, "Capture"). A process that calls fast counts its calls by
    leases (``_hit_leased``). Limits off (``RATELIMIT_ENABLED``): nothing is counted.
    Redis unreachable: the calls are counted in this process, as Flask-Limiter counts
    the pages' limits, and Redis is asked again after ``jobs.REDIS_RETRY_AFTER_SECONDS``;
    nobody is turned away for it.
    """
    global _limits_down_until
    if not current_app.config["RATELIMIT_ENABLED"]:
        return
    key = f"organization:{g.api_organization_id}"
    counter = limiter.limiter
    if time.monotonic() < _limits_down_until:
        counter = _counted_in_process
    for item in _parsed_limits(limit):
        try:
            if counter is _counted_in_process:
                allowed = counter.hit(item, key, scope)
            else:
                allowed = _hit_leased(counter, item, key, scope)
        except limiter.storage.base_exceptions as error:
            log.warning("rate limit storage unreachable, counting in this process: %s", error)
            _limits_down_until = time.monotonic() + jobs.REDIS_RETRY_AFTER_SECONDS
            counter = _counted_in_process
            allowed = counter.hit(item, key, scope)
        if not allowed:
            raise TooManyRequests(retry_after=_seconds_left(counter, item, key, scope))


def _hit_leased(counter, item: RateLimitItem, *identifiers: str) -> bool:
    """One call of ``item`` for ``identifiers``, from this process's lease if one is
    left in the window, else counted in the storage with the next lease in one
    increment. The calls let through never exceed the limit: a lease is only what the
    count left under it. What a lease leaves unspent at the window's end is not given
    back, so near its limit an organization may be refused up to a hundredth of it
    early per web process and window."""
    name = item.key_for(*identifiers)
    now = time.monotonic()
    with _leases_lock:
        lease = _leases.get(name)
        if lease is not None and lease.spendable():
            lease.left -= 1
            return True
        size = 1
        if lease is not None and now - lease.taken_at < LEASE_SECONDS:
            size = min(lease.size * 2, max(1, min(LEASE_MOST, item.amount // 100)))
    counted = counter.storage.incr(name, item.get_expiry(), amount=size)
    granted = max(0, min(size, item.amount - (counted - size)))
    # Only a lease with calls left needs its window's end: one more round trip for them
    # all. Redis gives it to the second, so a lease's last call may come up to a second
    # after its window ends; it was counted in that window.
    window_ends = counter.storage.get_expiry(name) if granted > 1 else 0.0
    with _leases_lock:
        current = _leases.get(name)
        if current is not lease and current is not None and current.spendable():
            # Another thread of this process took a lease meanwhile: one lease of both.
            current.left += max(0, granted - 1)
            if granted > 1:
                current.window_ends = min(current.window_ends, window_ends)
        else:
            _leases[name] = _Lease(
                left=max(0, granted - 1),
                size=size if granted else 1,
                taken_at=now,
                window_ends=window_ends,
            )
    return granted > 0


def _seconds_left(counter, item: RateLimitItem, *identifiers: str) -> int:
    """Until the window of ``item`` ends; its whole length if the storage fails now."""
    try:
        reset_at = counter.get_window_stats(item, *identifiers).reset_time
    except limiter.storage.base_exceptions:
        return item.get_expiry()
    return max(1, math.ceil(reset_at - time.time()))


@functools.lru_cache(maxsize=64)
def _parsed_limits(limit: str) -> tuple[RateLimitItem, ...]:
    return tuple(parse_many(limit))


PYDANTIC_MESSAGES = {
    "missing": _l("This field is required."),
    "extra_forbidden": _l("Unknown field."),
    "string_type": _l("Send this field as text."),
    "int_type": _l("Send this field as a whole number."),
    "int_parsing": _l("Send this field as a whole number."),
    "int_from_float": _l("Send this field as a whole number."),
    "string_pattern_mismatch": _l("This value is not valid."),
    "bool_type": _l("Send this field as true or false."),
    "bool_parsing": _l("Send this field as true or false."),
    "dict_type": _l("Send this field as an object."),
    "model_type": _l("Send this field as an object."),
    "model_attributes_type": _l("Send this field as an object."),
    "datetime_type": _l("Give a date and time like 2026-11-23T10:00:00Z."),
    "datetime_parsing": _l("Give a date and time like 2026-11-23T10:00:00Z."),
    "datetime_from_date_parsing": _l("Give a date and time like 2026-11-23T10:00:00Z."),
    "timezone_aware": _l("Give the time with its timezone, like 2026-11-23T10:00:00Z."),
    "ip_any_address": _l("Give an IPv4 or IPv6 address."),
    "literal_error": _l("This value is not one of those allowed."),
    "greater_than_equal": _l("This number is too small."),
    "less_than_equal": _l("This number is too large."),
}


def _message(error: dict):
    if error["type"] in ("string_too_long", "too_long"):
        return _l("At most %(n)d characters.", n=error.get("ctx", {}).get("max_length", 0))
    if error["type"] == "value_error":
        return error.get("ctx", {}).get("error") or _l("This value is not valid.")
    return PYDANTIC_MESSAGES.get(error["type"], _l("This value is not valid."))


# Every JSON body of the API is a few kilobytes at most.
MAX_JSON_BYTES = 64 * 1024


def parse_body(model: type[Model]) -> Model:
    """The request's JSON body as ``model``, or a 413, a 400, or a 422 naming each field."""
    try:
        payload = guards.read_json_object(MAX_JSON_BYTES)
    except guards.JsonRefused as refused:
        raise HTTPError(
            refused.status, message=str(refused.message), detail=refused.fields or None
        ) from None
    return _validated(model, payload)


def parse_query(model: type[Model]) -> Model:
    """The query string as ``model``, or a 422 naming each parameter in error."""
    return _validated(model, request.args.to_dict())


def _validated(model: type[Model], payload: dict) -> Model:
    try:
        return model.model_validate(payload)
    except ValidationError as invalid:
        fields = {}
        for error in invalid.errors(include_url=False):
            path = ".".join(str(part) for part in error["loc"]) or "body"
            fields.setdefault(path, str(_message(error)))
        raise HTTPError(422, message=str(_l("Some fields are not valid.")), detail=fields) from None


class ContractPydanticAdapter(PydanticAdapter):
    """APIFlask's pydantic adapter, with the contract's errors for JSON bodies.

    APIFlask validates ``@input`` bodies through its adapter and reports pydantic's
    English messages under a ``json`` key; ours name each field by its dotted path,
    in the caller's language, and refuse oversized or non-object bodies first.
    """

    def validate_input(self, request, location: str, **kwargs):
        if location == "json":
            return parse_body(self.model_class)
        if location == "query":
            return parse_query(self.model_class)
        return super().validate_input(request, location, **kwargs)


# The registry is APIFlask's extension point for schema types; the blueprints that
# declare ``@input`` bodies import this module first, so their adapters are ours.
registry.register("pydantic", ContractPydanticAdapter)


# Every API error, as the contract writes it (api-contract.md).
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "Per field in error (dotted path): why.",
                },
            },
        }
    },
}


# Answers any operation of the API may give, whatever its own description says.
COMMON_ERRORS = {
    "400": "The request could not be read: the body is not a JSON object (not JSON, "
    "`NaN`, nested over 16 levels) or the query string holds a NUL character",
    "403": "This key may not do this: a key of the other role",
    "429": "Too many requests for this key or address: wait and retry",
}
RETRY_AFTER_HEADER = {
    "description": "Seconds until the window of the limit reached ends",
    "schema": {"type": "integer", "minimum": 1},
}
BODY_ERRORS = {"413": "The body is over 64 KB, whatever its transfer encoding"}


def _complete_description(spec: dict) -> dict:
    """What every operation shares and the schemas cannot say: the errors any of them
    may answer, a JSON body that is required, ids within the columns' range."""

    def answer(description: str) -> dict:
        content = {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPError"}}}
        return {"description": description, "content": content}

    for path, operations in spec.get("paths", {}).items():
        if not is_api_path(path):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            errors = {**COMMON_ERRORS, **(BODY_ERRORS if "requestBody" in operation else {})}
            for status, description in errors.items():
                responses.setdefault(status, answer(description))
            if "429" in responses:
                responses["429"].setdefault("headers", {"Retry-After": RETRY_AFTER_HEADER})
            if "requestBody" in operation:
                operation["requestBody"]["required"] = True
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "path" and parameter["schema"].get("type") == "integer":
                    parameter["schema"].update(minimum=1, maximum=guards.MAX_ID)
    return spec


# Extensions whose request hooks serve pages and have nothing to do on an API call:
# Flask-Login refreshes a remember cookie (an API call has no session), Flask-WTF checks
# a form's CSRF token (the API blueprints are exempt), Flask-Limiter injects the headers
# of the limits it applied (none: the API counts its calls with count_call, and the
# headers are off). Together with the session an API call does not open, a capture
# spent about 0.03 ms of CPU in them under gunicorn (docs/benchmarks.md, "Capture").
PAGE_EXTENSIONS = ("flask_login.", "flask_wtf.", "flask_limiter.")


def skip_page_hooks_on_api_calls(app: Flask) -> None:
    """Have the page extensions' before and after hooks pass API calls by. Called once
    the extensions are bound (create_app); the app's own hooks (guards, security
    headers) and Flask-Limiter's check before each request (which knows the blueprints
    that count their own calls) stay as they are."""
    for hooks, hands_back_response in (
        (app.before_request_funcs, False),
        (app.after_request_funcs, True),
    ):
        hooks[None] = [
            _for_pages_only(hook, hands_back_response)
            if _module_of(hook).startswith(PAGE_EXTENSIONS)
            else hook
            for hook in hooks.get(None, [])
        ]


def _module_of(hook) -> str:
    return getattr(getattr(hook, "func", hook), "__module__", "") or ""


def _for_pages_only(hook, hands_back_response: bool):
    @functools.wraps(hook)
    def page_hook(*args):
        if is_api_path(request.path):
            return args[0] if hands_back_response else None
        return hook(*args)

    return page_hook


def register_error_format(app: APIFlask) -> None:
    """APIFlask's own errors (auth, validation, aborts) in the contract's format."""
    app.config["HTTP_ERROR_SCHEMA"] = ERROR_SCHEMA
    app.config["VALIDATION_ERROR_SCHEMA"] = ERROR_SCHEMA
    app.config["VALIDATION_ERROR_STATUS_CODE"] = 422
    app.spec_processor(_complete_description)

    @app.error_processor
    def contract_error(error: HTTPError):
        fields = error.detail if isinstance(error.detail, dict) else None
        code = (error.extra_data or {}).get("code") or ERROR_CODES.get(error.status_code, "error")
        response, status = json_error(error.status_code, code, error.message, fields)
        for name, value in (error.headers or {}).items():
            response.headers[name] = value
        return response, status
