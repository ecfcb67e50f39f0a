"""The API does what its OpenAPI description says, checked by Schemathesis.

Schemathesis reads ``/api/v1/openapi.json`` from the app and, for every operation,
generates requests (valid ones, invalid ones, and valid ones aimed at objects that
exist) that it sends in process through WSGI with an API key. Each answer must not be a
server error, its status must be documented for the operation, and its content type and
body must match the description. A second test calls each operation with the other
role's key and with no key: the 403 and the 401 they get must be documented too.

Deterministic (``derandomize``) and small (``MAX_EXAMPLES`` per operation and kind of
input). Every failure is collected, then reported at once.
"""

from __future__ import annotations

import contextvars
import logging
import traceback
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from marketplace.api_keys import issue_api_key
from marketplace.extensions import db, limiter
from marketplace.models import Sale
from tests import factories

SPEC_PATH = "/api/v1/openapi.json"
MAX_EXAMPLES = 20
CROSS_ROLE_EXAMPLES = 5
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# The description tags each operation with the role whose key it takes.
ROLE_OF_TAG = {"Buyers": "buyer", "Publishers": "publisher"}
CALLS: Counter[str] = Counter()


def _settings(max_examples: int):
    return settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )


def isolated(function, *args, **kwargs):
    """Run a call to the app as production runs a request: in its own contexts (the
    test's app context would otherwise be reused, and its ``g`` and session shared)."""
    return contextvars.Context().run(function, *args, **kwargs)


class ErrorLog(logging.Filter):
    """The exceptions the app's last-resort handler logs (and answers with a 500): kept to
    name each server error, and out of the test's output."""

    def __init__(self):
        super().__init__()
        self.last: BaseException | None = None

    def filter(self, record):
        if record.exc_info:
            self.last = record.exc_info[1]
            return False
        return True


@pytest.fixture
def api(app, monkeypatch):
    """The description, the keys of both roles, and objects for the path parameters."""
    monkeypatch.setattr(limiter, "enabled", False)  # hundreds of calls, one key each
    publisher = factories.PublisherFactory()
    buyer = factories.BuyerFactory()
    magnet = factories.magnet(publisher, language="en")
    on_sale = factories.lead(factories.magnet(publisher, max_buyers=2))  # no campaign yet
    factories.name_partner(on_sale.lead_id, buyer)
    factories.campaign(buyer)
    sold = factories.lead(magnet)
    sale_id = db.session.scalar(select(Sale.id).where(Sale.lead_id == sold.lead_id))
    error_log = ErrorLog()
    errors = logging.getLogger("marketplace.errors")
    errors.addFilter(error_log)
    try:
        yield {
            "schema": isolated(schemathesis.openapi.from_wsgi, SPEC_PATH, app),
            "keys": {
                "buyer": issue_api_key(buyer.id, "schemathesis")[1],
                "publisher": issue_api_key(publisher.id, "schemathesis")[1],
            },
            "path_parameters": {
                "lead_id": [sold.lead_id, on_sale.lead_id],
                "sale_id": [sale_id],
            },
            "magnet": magnet.key,
            "error_log": error_log,
        }
    finally:
        errors.removeFilter(error_log)


def operations(schema):
    for result in schema.get_all_operations():
        yield result.ok()


def owner_of(operation) -> str | None:
    for tag in operation.tags or ():
        if tag in ROLE_OF_TAG:
            return ROLE_OF_TAG[tag]
    return None


def with_magnet(key: str):
    """Aim a generated body at the publisher's live magnet, so it goes past the lookup."""

    def aim(case):
        if isinstance(case.body, dict) and "magnet" in case.body:
            case.body = {**case.body, "magnet": key}
        return case

    return aim


def strategies(operation, api) -> list[tuple[str, object]]:
    """(name, strategy): valid, invalid, and valid aimed at the world's objects."""
    found = [
        ("valid", operation.as_strategy(generation_mode=GenerationMode.POSITIVE)),
        ("invalid", operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)),
    ]
    names = [parameter.name for parameter in operation.path_parameters]
    if names:
        for index in range(max(len(api["path_parameters"].get(name, [])) for name in names)):
            pinned = {
                name: values[min(index, len(values) - 1)]
                for name in names
                if (values := api["path_parameters"].get(name))
            }
            found.append(
                (
                    f"valid, existing {' and '.join(pinned)} #{index + 1}",
                    operation.as_strategy(
                        generation_mode=GenerationMode.POSITIVE, path_parameters=pinned
                    ),
                )
            )
    if operation.method.upper() == "POST" and not names:
        found.append(
            (
                "valid, live magnet",
                operation.as_strategy(generation_mode=GenerationMode.POSITIVE).map(
                    with_magnet(api["magnet"])
                ),
            )
        )
    return found


def run(operation, strategy, *, api, label, headers, checks, max_examples, failures):
    error_log = api["error_log"]

    @_settings(max_examples)
    @given(case=strategy)
    def examples(case):
        CALLS[label] += 1
        error_log.last = None
        try:
            response = isolated(case.call, headers=headers)
        except Exception as error:  # the app let an exception out: a server error
            key = (operation.label, label, "Exception", _described(error))
            failures.setdefault(key, f"{_first_line(str(error))}: {case.as_curl_command()}")
            return
        try:
            case.validate_response(response, checks=checks, headers=headers)
        except (FailureGroup, Failure) as found:
            group = found.exceptions if isinstance(found, FailureGroup) else [found]
            for failure in group:
                message, example = _first_line(failure.message), ""
                if failure.title == "Server error" and error_log.last is not None:
                    message = _described(error_log.last)
                    example = _first_line(str(error_log.last))[:160] + ": "
                key = (operation.label, label, failure.title, message)
                example += f"{response.status_code} to {case.as_curl_command()}"
                failures.setdefault(key, example)

    examples()


PROJECT = Path(__file__).resolve().parents[2]
PRODUCT = [PROJECT / package for package in ("marketplace", "buyers", "publishers", "billing")]


def _described(error: BaseException) -> str:
    """The exception's type and the deepest line of the product's code it went through."""
    where = "outside the product's code"
    for frame, line in traceback.walk_tb(error.__traceback__):
        path = Path(frame.f_code.co_filename)
        if any(path.is_relative_to(package) for package in PRODUCT):
            where = f"{path.relative_to(PROJECT)}:{line} in {frame.f_code.co_name}"
    return f"{type(error).__name__} at {where}"


def _first_line(message: str) -> str:
    lines = [line.strip() for line in (message or "").splitlines() if line.strip()]
    return " / ".join(lines[:2])[:300]


def report(failures: dict, what: str) -> None:
    calls = {label: n for label, n in sorted(CALLS.items()) if label.startswith(what)}
    counts = ", ".join(f"{label.removeprefix(what + ': ')} {n}" for label, n in calls.items())
    summary = f"{what}: {sum(calls.values())} calls ({counts}); {len(failures)} distinct failures"
    print(f"\n{summary}")
    if failures:
        lines = [
            f"  {operation} [{label}] {title}: {message}\n      e.g. {example}"
            for (operation, label, title, message), example in sorted(failures.items())
        ]
        print("\n".join(lines))
        raise AssertionError(summary + ":\n" + "\n".join(lines))


def test_the_api_conforms_to_its_description(api):
    failures: dict = {}
    for operation in operations(api["schema"]):
        role = owner_of(operation)
        assert role is not None, f"{operation.label} has no tag naming its role"
        headers = {"Authorization": f"Bearer {api['keys'][role]}"}
        for name, strategy in strategies(operation, api):
            run(
                operation,
                strategy,
                api=api,
                label=f"conformance: {role} key, {name}",
                headers=headers,
                checks=CHECKS,
                max_examples=MAX_EXAMPLES,
                failures=failures,
            )
    report(failures, "conformance")


def test_the_other_roles_key_and_no_key_get_documented_answers(api):
    """Each operation with the other role's key (403) and without a key (401)."""
    failures: dict = {}
    for operation in operations(api["schema"]):
        role = owner_of(operation)
        other = next(name for name in api["keys"] if name != role)
        for label, headers in (
            (f"refusals: {other} key", {"Authorization": f"Bearer {api['keys'][other]}"}),
            ("refusals: no key (empty Authorization)", {"Authorization": ""}),
        ):
            run(
                operation,
                operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
                api=api,
                label=label,
                headers=headers,
                checks=[not_a_server_error, status_code_conformance, content_type_conformance],
                max_examples=CROSS_ROLE_EXAMPLES,
                failures=failures,
            )
    report(failures, "refusals")
