"""Bad input gets a clear answer, never a 500: a hostile-input sweep generated from the
application itself, so that a route or a form added later is swept without anyone
listing it.

Three sweeps, each over its own world made by the factories (a publisher with two live
magnets, one giving a file; a buyer with a campaign, purchases, a delivery, an open
dispute and a lead on sale in its catalogue; a platform admin; API keys of both roles):

* ``test_every_route_answers_hostile_urls_below_500``: every rule of ``app.url_map`` but
  the static files, every method it accepts, each converter argument replaced in turn by
  hostile values (and by the world's objects, so the views are reached), every GET also
  with hostile query strings; as a visitor, as each role's session (POSTs carry a valid
  CSRF token) and, on ``/api/`` rules, with each role's API key;
* ``test_every_api_body_answers_hostile_json_below_500``: every ``/api/`` rule that takes
  a body, with a valid body built from the OpenAPI description and each of its fields
  replaced in turn by hostile JSON, then malformed, 1,000-deep, raw ``NaN``/``Infinity``
  and over-64-KB chunked bodies, with both roles' keys;
* ``test_every_form_answers_hostile_fields_below_500``: every ``<form>`` of every page a
  role reaches, posted back with each field set in turn to hostile values, CSRF token kept.

Every answer must be below 500. An exception the app lets out (the tests propagate them)
counts as a failure too. All failures are collected and reported at once, with the number
of requests each sweep sent (``pytest -s`` prints it).
"""

from __future__ import annotations

import copy
import io
import itertools
import json
import logging
import os
import re
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import quote, urlencode, urljoin, urlsplit

import pytest
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from marketplace import disputes, magnets
from marketplace.api_keys import issue_api_key
from marketplace.extensions import db, limiter
from marketplace.models import Delivery, MagnetKind, Sale, utcnow
from tests import factories
from tests.conftest import csrf_token_from, english_client

# How many requests each sweep sent in this run (also shown in the assertion messages).
REQUESTS: Counter[str] = Counter()

SESSION_ROLES = ("anonymous", "buyer", "publisher", "admin")  # the visitor first
KEY_ROLES = ("buyer key", "publisher key")

# Path segments, already URL-encoded as a client would send them.
HOSTILE_INT_SEGMENTS = {
    "int 2**31": str(2**31),
    "int 2**63": str(2**63),
    "int 2**64+1": str(2**64 + 1),
    "int 0": "0",
}
HOSTILE_TEXT_SEGMENTS = {
    "nul %00x": "%00x",
    "nul a\\x00b": quote("a\x00b"),
    "10 kB": "x" * 10_240,
    "dot-dot ..%2f..": "..%2f..",
    "unicode": quote("\u00fcn\u00ef c\u00f8d\u00e9 \u2603 \U0001d518 \u202e"),
}
HOSTILE_FLOAT_SEGMENTS = {"float NaN": "NaN", "float 1e309": "1e309", "float -0": "-0.0"}

# Query parameters the pages and the API read, and a few more.
QUERY_NAMES = (
    "kind",
    "cursor",
    "page",
    "status",
    "sector",
    "min_score",
    "limit",
    "since",
    "sort",
    "department",
    "company_size",
    "variant",
    "as",
    "next",
    "embed",
    "month",
    "lang",
    "payment_method",
)
MIXED_QUERY = (
    "kind=zz&cursor=029670154547&page=NaN&status=%00&sector=99999999999999999999"
    "&min_score=NaN&limit=9223372036854775808&since=99999-12-31&sort=zz&department=%00"
    "&company_size=zz&variant=zz&as=zz&next=%2F%2Fevil.example%2F&embed=%00&lang=%00"
)
QUERY_VARIANTS = {
    "query mixed": MIXED_QUERY,
    # The same without its NULs: a guard refusing NUL first must not hide the others.
    "query mixed, no NUL": MIXED_QUERY.replace("%00", "%C3%BF"),
    "query nul": urlencode({name: "a\x00b" for name in QUERY_NAMES}),
    "query 10 kB": urlencode({name: "x" * 10_240 for name in QUERY_NAMES}),
    "query sNaN/-1e309": urlencode(
        {name: ("sNaN", "-1e309", "Infinity")[i % 3] for i, name in enumerate(QUERY_NAMES)}
    ),
}

# Alone in the query, one value that is at once an unknown choice, an id beyond any
# column, a number no float holds exactly and no date.
ONE_PARAMETER_VALUE = "99999999999999999999"

# Values typed into each form field in turn.
FORM_VALUES = {
    "nul": "a\x00b",
    "10 kB": "x" * 10_240,
    "NaN": "NaN",
    "sNaN": "sNaN",
    "Infinity": "Infinity",
    "-1e309": "-1e309",
    "unknown choice": "zz-unknown",
    "date 0001-01-01": "0001-01-01",
    "date 99999-12-31": "99999-12-31",
    "id 2**31": str(2**31),
    "id 2**63": str(2**63),
    "unicode": "\u00fcn\u00efc\u00f8d\u00e9 \u2603 \U0001d518 \u202e",
}
# With a form's other submit buttons (a preview, say), the values that may pass the
# form's own checks and reach what the button does.
FORM_VALUES_OTHER_BUTTONS = ("nul", "10 kB", "sNaN", "unknown choice", "unicode")


class Raw(str):
    """A JSON token written as is into a body (1e309, which Python cannot hold)."""


# Values put into each field of a JSON body in turn.
JSON_VALUES = {
    "nul string": "a\x00b",
    "10 kB string": "x" * 10_240,
    "number 2**63": 2**63,
    "number -2**63-1": -(2**63) - 1,
    "token NaN": float("nan"),
    "token Infinity": float("inf"),
    "token -Infinity": float("-inf"),
    "token 1e309": Raw("1e309"),
    "unknown enum value": "zz-unknown",
    "unicode": "\u00fcn\u00efc\u00f8d\u00e9 \u2603 \U0001d518 \u202e",
    "null": None,
    "array": ["x"],
    "object": {"a": 1},
    "date 99999-12-31": "99999-12-31T00:00:00Z",
}
DEEP_ARRAY = "[" * 1000 + "]" * 1000
DEEP_OBJECT = '{"a":' * 1000 + "1" + "}" * 1000
OVER_64_KB = 70 * 1024


# --- the world the sweeps run in -------------------------------------------------------


@dataclass
class World:
    users: dict
    keys: dict
    valid: dict  # converter argument name -> the world's values for it, as URL segments
    body_values: dict  # JSON property name -> a value that makes a body valid here
    renew: dict = field(default_factory=dict)  # argument name -> make a fresh one


@pytest.fixture
def world(app):
    """Every kind of object a route may name, made through the product's use cases."""
    publisher = factories.PublisherFactory()
    buyer = factories.BuyerFactory()
    magnet = factories.magnet(publisher, language="en")
    guide = factories.magnet(publisher, kind=MagnetKind.WHITEPAPER, language="en")
    magnets.attach_asset(publisher.id, guide.id, "guide.pdf", b"%PDF-1.4 hostile sweep")
    # Captured before any campaign exists: unsold, then on sale to the buyer named partner.
    on_sale = factories.lead(factories.magnet(publisher, max_buyers=2))
    factories.name_partner(on_sale.lead_id, buyer)
    campaign = factories.campaign(buyer, email_recipients=["ops@buyer.example"])

    def new_sale() -> int:
        captured = factories.lead(magnet)
        return db.session.scalar(select(Sale.id).where(Sale.lead_id == captured.lead_id))

    sold = factories.lead(magnet)
    sale_id = db.session.scalar(select(Sale.id).where(Sale.lead_id == sold.lead_id))
    dispute = disputes.open_dispute(buyer.id, new_sale(), "fake", "Never answers.")
    delivery_id = db.session.scalar(select(Delivery.id).where(Delivery.sale_id == sale_id))
    with app.test_request_context():
        from publishers.magnet_pages import download_link

        token = download_link(guide, sold.lead_id).rsplit("/", 1)[1]
    users = {
        "buyer": factories.UserFactory(organization=buyer),
        "publisher": factories.UserFactory(organization=publisher),
        "admin": factories.admin_user(),
    }
    keys = {
        "buyer key": issue_api_key(buyer.id, "hostile sweep")[1],
        "publisher key": issue_api_key(publisher.id, "hostile sweep")[1],
    }
    # Keys that the revoke routes may revoke, not the ones the sweeps call with.
    revocable = [issue_api_key(org.id, "to revoke")[0].id for org in (buyer, publisher)]
    valid = {
        "lead_id": [sold.lead_id, on_sale.lead_id],
        "sale_id": [sale_id],
        "campaign_id": [campaign.id],
        "magnet_id": [magnet.id, guide.id],
        "key_id": revocable,
        "dispute_id": [dispute.id],
        "buyer_id": [buyer.id],
        "publisher_id": [publisher.id],
        "delivery_id": [delivery_id],
        "certificate_id": [sold.certificate_id],
        "key": [guide.key, magnet.key],
        "token": [token],
        "month": [f"{utcnow():%Y-%m}"],
    }
    return World(
        users=users,
        keys=keys,
        valid={name: [str(value) for value in values] for name, values in valid.items()},
        # What a body needs beyond its schema to be valid here: the magnet's key, and
        # the contact and qualification fields that this magnet asks.
        body_values={**factories.submission(), "magnet": magnet.key},
        renew={"sale_id": lambda: str(new_sale())},
    )


class ErrorLog(logging.Filter):
    """Keeps the errors that the app's last-resort handler logs (it answers them with a
    500) to name each 500's exception, and keeps them out of the captured log."""

    def __init__(self):
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def filter(self, record):
        if record.exc_info:
            self.records.append(record)
            return False
        return True


@pytest.fixture
def sweeping(monkeypatch):
    """What the sweeps need of the app around them: rate limits off (thousands of
    requests would get a 429 before the view, and the re-logins would stop; the limits
    have tests of their own), and the last-resort error handler's log kept."""
    monkeypatch.setattr(limiter, "enabled", False)
    errors = logging.getLogger("marketplace.errors")
    error_log = ErrorLog()
    errors.addFilter(error_log)
    yield error_log
    errors.removeFilter(error_log)


# --- sending, and recording what went wrong ----------------------------------------------


PROJECT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROJECT_PACKAGES = tuple(
    os.path.join(PROJECT, package) + os.sep
    for package in ("marketplace", "buyers", "publishers", "billing")
)


def _raised_by_the_app(error: BaseException) -> bool:
    """True when the exception came out of the Flask app, not out of the test client."""
    return any(
        frame.f_code.co_name == "wsgi_app"
        and frame.f_code.co_filename.endswith(os.path.join("flask", "app.py"))
        for frame, _ in traceback.walk_tb(error.__traceback__)
    )


def _where(error: BaseException) -> str:
    """The deepest line of the product's own code the exception went through."""
    where = "outside the product's code"
    for frame, line in traceback.walk_tb(error.__traceback__):
        path = frame.f_code.co_filename
        if path.startswith(PROJECT_PACKAGES):
            where = f"{os.path.relpath(path, PROJECT)}:{line} in {frame.f_code.co_name}"
    return where


def _describe(error: BaseException) -> tuple[str, str]:
    """(the exception's type and where, and those of the one it was raised while handling,
    for grouping by root cause; the first one's message, shortened)."""
    cause = f"{type(error).__name__} at {_where(error)}"
    first = error  # "during handling of the above exception, another exception occurred"
    while first.__cause__ is None and first.__context__ and not first.__suppress_context__:
        first = first.__context__
    if first is not error:
        cause += f", raised while handling {type(first).__name__} at {_where(first)}"
    message = _short(" ".join(str(first).split()))[:160]
    return cause, message


def _short(text: str) -> str:
    """A URL or a message fit for a report: long runs of one character abbreviated."""
    text = re.sub(r"(.)\1{40,}", lambda m: f"<{len(m[0])} x {m[1]!r}>", str(text))
    return text if len(text) <= 240 else text[:240] + "..."


class Actor:
    """A visitor, a role's signed-in session, or a role's API key."""

    def __init__(self, role: str, app, login_as, world: World):
        self.role, self.app, self.login_as = role, app, login_as
        self.user = world.users.get(role)
        key = world.keys.get(role)
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.restarts = -1
        self.start()

    @property
    def uses_session(self) -> bool:
        return not self.headers

    def start(self) -> None:
        """A fresh client, signed in when the role has a user, with its CSRF token."""
        self.restarts += 1
        if self.user is not None:
            self.http = self.login_as(self.user)
            home = self.http.get("/", follow_redirects=True)
        else:
            self.http = english_client(self.app)
            home = self.http.get("/login")
        self.csrf = csrf_token_from(home.get_data(as_text=True)) if self.uses_session else None

    def after_post(self) -> None:
        """Shown the flashed messages, as a browser would; signed in again when a request
        (logout, sign-up, login) changed who the session is."""
        if not self.uses_session:
            return
        with self.http.session_transaction() as session:
            session.pop("_flashes", None)
            user_id = session.get("_user_id")
        if user_id != (str(self.user.id) if self.user else None):
            self.start()


class Sweep:
    """Sends the requests of one sweep and keeps every answer >= 500."""

    def __init__(self, name: str, error_log: ErrorLog):
        self.name, self.error_log = name, error_log
        self.failures: list[tuple] = []
        self.by_role: Counter[str] = Counter()

    def send(self, actor: Actor, method: str, url: str, kind: str, **kwargs):
        """One request; its answer, or None when the app let an exception out."""
        REQUESTS[self.name] += 1
        self.by_role[actor.role] += 1
        headers = {**actor.headers, **kwargs.pop("headers", {})}
        self.error_log.records.clear()
        response, cause, message = None, None, ""
        try:
            response = actor.http.open(url, method=method, headers=headers, **kwargs)
            response.close()
        except Exception as error:
            if not _raised_by_the_app(error):
                raise  # the test's own mistake, not the app's
            cause, message = _describe(error)
            cause = f"exception {cause}"
        else:
            if response.status_code >= 500:
                cause = str(response.status_code)
                if self.error_log.records:
                    logged, message = _describe(self.error_log.records[-1].exc_info[1])
                    cause += f" {logged}"
        if cause is not None:
            self.failures.append((cause, method, _short(url), actor.role, kind, message))
        if method != "GET":
            actor.after_post()
        return response

    def report(self) -> str:
        counts = ", ".join(f"{role} {n}" for role, n in sorted(self.by_role.items()))
        return (
            f"{self.name}: {REQUESTS[self.name]} requests ({counts}), "
            f"{len(self.failures)} answered >= 500 or raised"
        )

    def check(self) -> None:
        summary = self.report()
        print(f"\n{summary}")
        if not self.failures:
            return
        causes: dict[str, list] = {}
        for cause, *failure in dict.fromkeys(self.failures):
            causes.setdefault(cause, []).append(failure)
        lines = []
        for cause, failures in sorted(causes.items()):
            lines.append(f"{cause} ({len(failures)}x):")
            lines += [
                f"    {method} {url} as {role} [{kind}]" + (f": {message}" if message else "")
                for method, url, role, kind, message in failures
            ]
        print("\n".join(lines))
        raise AssertionError(summary + ":\n" + "\n".join(lines))


# --- routes, from the URL map --------------------------------------------------------------

ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")


def swept_rules(app):
    """Every rule but the static files, in a stable order."""
    rules = [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and not rule.endpoint.endswith(".static")
    ]
    return sorted(rules, key=lambda rule: (rule.rule, rule.endpoint))


def methods_of(rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def arguments_of(rule) -> dict[str, str]:
    """Argument name -> converter name (``default`` for a plain string)."""
    return {m["name"]: m["converter"] or "default" for m in ARGUMENT.finditer(rule.rule)}


def build(rule, values: dict[str, str]) -> str:
    return ARGUMENT.sub(lambda m: values[m["name"]], rule.rule)


def valid_values(world: World, name: str, converter: str) -> list[str]:
    return world.valid.get(name) or ["1" if converter in ("int", "float") else "x"]


def valid_urls(rule, world: World) -> list[str]:
    """The rule with the world's objects in it (every combination, a few at most)."""
    arguments = arguments_of(rule)
    choices = [valid_values(world, name, conv) for name, conv in arguments.items()]
    combos = list(itertools.product(*choices))[:4]
    return [build(rule, dict(zip(arguments, combo, strict=True))) for combo in combos]


def hostile_urls(rule, world: World) -> list[tuple[str, str]]:
    """(input kind, URL) with one argument hostile, the others the world's first object."""
    arguments = arguments_of(rule)
    first = {name: valid_values(world, name, conv)[0] for name, conv in arguments.items()}
    urls = []
    for name, converter in arguments.items():
        if converter == "int":
            hostile = HOSTILE_INT_SEGMENTS
        elif converter == "float":
            hostile = {**HOSTILE_INT_SEGMENTS, **HOSTILE_FLOAT_SEGMENTS}
        else:
            hostile = HOSTILE_TEXT_SEGMENTS
        for kind, segment in hostile.items():
            urls.append((f"<{name}> {kind}", build(rule, {**first, name: segment})))
    return urls


def post_kwargs(actor: Actor) -> dict:
    if actor.uses_session:
        return {"data": {"csrf_token": actor.csrf}}
    return {"json": {}}


def test_every_route_answers_hostile_urls_below_500(app, world, login_as, sweeping):
    sweep = Sweep("url_map sweep", sweeping)
    actors = {role: Actor(role, app, login_as, world) for role in SESSION_ROLES + KEY_ROLES}
    unknown_arguments = set()
    for rule in swept_rules(app):
        roles = SESSION_ROLES + (KEY_ROLES if rule.rule.startswith("/api/") else ())
        unknown_arguments |= set(arguments_of(rule)) - set(world.valid)
        for method in methods_of(rule):
            for role in roles:
                actor = actors[role]
                extra = {} if method == "GET" else post_kwargs(actor)
                for kind, url in hostile_urls(rule, world):
                    sweep.send(actor, method, url, kind, **copy.deepcopy(extra))
                for index, url in enumerate(valid_urls(rule, world)):
                    page = sweep.send(actor, method, url, "valid objects", **copy.deepcopy(extra))
                    if method != "GET":
                        continue
                    for kind, query in QUERY_VARIANTS.items():
                        sweep.send(actor, method, f"{url}?{query}", kind)
                    if index == 0 and page is not None and page.status_code == 200:
                        # On the pages the role may see, each parameter alone too: one
                        # refused early must not hide what another one does.
                        for name in QUERY_NAMES:
                            query = f"{name}={ONE_PARAMETER_VALUE}"
                            sweep.send(actor, method, f"{url}?{query}", f"query {name} alone")
    if unknown_arguments:
        print(f"\narguments with no object of the world (swept with 1/x): {unknown_arguments}")
    sweep.check()


# --- JSON bodies, from the OpenAPI description ----------------------------------------------


def schema_ref_parts(ref: str) -> list[str]:
    return ref.lstrip("#/").split("/")


def resolve(schema: dict, spec: dict) -> dict:
    while "$ref" in schema:
        target = spec
        for part in schema_ref_parts(schema["$ref"]):
            target = target[part]
        schema = target
    return schema


def example_of(schema: dict, spec: dict, known: dict, *, full: bool, name: str = ""):
    """A value valid for ``schema``: the required properties and those ``known`` gives a
    value for, or all of them (``full``)."""
    schema = resolve(schema, spec)
    if name in known:
        return known[name]
    if schema.get("examples"):
        return schema["examples"][0]
    if "enum" in schema:
        return schema["enum"][0]
    for choice in ("anyOf", "oneOf", "allOf"):
        if choice in schema:
            options = [resolve(option, spec) for option in schema[choice]]
            usable = [option for option in options if option.get("type") != "null"]
            return example_of(usable[0], spec, known, full=full, name=name)
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        required = schema.get("required", [])
        names = [
            prop
            for prop in properties
            if full or prop in required or prop in known or _asks(properties[prop], spec, known)
        ]
        return {
            prop: example_of(properties[prop], spec, known, full=full, name=prop) for prop in names
        }
    if kind == "array":
        return [example_of(schema.get("items", {}), spec, known, full=full)] if full else []
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    fmt = schema.get("format", "")
    if fmt == "date-time":
        return (utcnow() - timedelta(minutes=5)).isoformat()
    if fmt == "date":
        return f"{utcnow():%Y-%m-%d}"
    if fmt.startswith("ip"):
        return "203.0.113.9"
    if fmt == "email":
        return "hostile.sweep@example.test"
    if fmt in ("uri", "url"):
        return "https://example.test/"
    return "sweep"


def _asks(schema: dict, spec: dict, known: dict) -> bool:
    """Whether an object schema has a property that ``known`` gives a value for."""
    schema = resolve(schema, spec)
    return any(name in known for name in schema.get("properties", {}))


def paths_of(value, prefix=()) -> list[tuple]:
    """Every property path of a JSON value, containers first."""
    paths = []
    if isinstance(value, dict):
        for key, inner in value.items():
            paths.append((*prefix, key))
            paths += paths_of(inner, (*prefix, key))
    return paths


def with_value(body: dict, path: tuple, value) -> dict:
    changed = copy.deepcopy(body)
    target = changed
    for part in path[:-1]:
        if not isinstance(target.get(part), dict):
            target[part] = {}
        target = target[part]
    target[path[-1]] = value
    return changed


def serialise(body) -> bytes:
    """The body as JSON: NaN and Infinity as JSON's tokens, ``Raw`` values as written."""
    raws = {}

    def swap(value):
        if isinstance(value, Raw):
            marker = f"__raw_{len(raws)}__"
            raws[f'"{marker}"'] = str(value)
            return marker
        if isinstance(value, dict):
            return {key: swap(inner) for key, inner in value.items()}
        if isinstance(value, list):
            return [swap(inner) for inner in value]
        return value

    text = json.dumps(swap(body))
    for marker, raw in raws.items():
        text = text.replace(marker, raw)
    return text.encode()


def request_schema(spec: dict, rule, method: str) -> dict | None:
    path = ARGUMENT.sub(lambda m: "{" + m["name"] + "}", rule.rule)
    operation = spec.get("paths", {}).get(path, {}).get(method.lower(), {})
    content = operation.get("requestBody", {}).get("content", {})
    return content.get("application/json", {}).get("schema")


def structural_bodies(baseline: dict) -> list[tuple[str, dict]]:
    """Bodies broken as a whole: (kind, request arguments)."""
    json_type = {"content_type": "application/json"}
    big = serialise({**baseline, "padding": "x" * OVER_64_KB})
    deep_inside = serialise({**baseline, "deep": Raw(DEEP_ARRAY)})
    return [
        ("deep array 1000", {"data": DEEP_ARRAY, **json_type}),
        ("deep object 1000", {"data": DEEP_OBJECT, **json_type}),
        ("deep array 1000 in a field", {"data": deep_inside, **json_type}),
        ("token NaN", {"data": "NaN", **json_type}),
        ("token Infinity", {"data": "Infinity", **json_type}),
        ("token 1e309", {"data": "1e309", **json_type}),
        ("array", {"data": "[]", **json_type}),
        ("null", {"data": "null", **json_type}),
        ("empty", {"data": "", **json_type}),
        ("truncated", {"data": serialise(baseline)[:-3], **json_type}),
        ("invalid UTF-8", {"data": b'{"a": "\xff\xfe\xc3"}', **json_type}),
        ("nul escaped key", {"data": b'{"a\\u0000b": 1}', **json_type}),
        ("text/plain", {"data": serialise(baseline), "content_type": "text/plain"}),
        ("over 64 KB with Content-Length", {"data": big, **json_type}),
        (
            "over 64 KB chunked, no Content-Length",
            {
                "input_stream": big,  # replaced by a fresh stream at each send
                "headers": {"Transfer-Encoding": "chunked", "Content-Type": "application/json"},
                # What a server (gunicorn) tells the app of a chunked body: no length (the
                # test client would write one), and a stream that ends with the body.
                "environ_overrides": {"CONTENT_LENGTH": "", "wsgi.input_terminated": True},
            },
        ),
    ]


def _fresh(arguments: dict) -> dict:
    arguments = copy.deepcopy(arguments)
    if "input_stream" in arguments:
        arguments["input_stream"] = io.BytesIO(arguments["input_stream"])
    return arguments


def test_every_api_body_answers_hostile_json_below_500(app, world, login_as, sweeping):
    sweep = Sweep("API body sweep", sweeping)
    spec = english_client(app).get("/api/v1/openapi.json").get_json()
    actors = {role: Actor(role, app, login_as, world) for role in KEY_ROLES}
    undescribed = []
    for rule in swept_rules(app):
        if not rule.rule.startswith("/api/"):
            continue
        for method in methods_of(rule):
            if method not in ("POST", "PUT", "PATCH"):
                continue
            schema = request_schema(spec, rule, method)
            if schema is None:
                undescribed.append(f"{method} {rule.rule}")
            baseline, mutations = {}, []
            if schema is not None:
                baseline = example_of(schema, spec, world.body_values, full=False)
                full = example_of(schema, spec, world.body_values, full=True)
                for path in paths_of(full):
                    for kind, value in JSON_VALUES.items():
                        mutations.append(
                            (f"{'.'.join(path)}: {kind}", with_value(baseline, path, value))
                        )
            bodies = [
                (kind, {"data": serialise(body), "content_type": "application/json"})
                for kind, body in mutations
            ]

            def send(actor, kind, index, arguments, rule=rule, method=method):
                url = valid_urls(rule, world)[index]
                response = sweep.send(actor, method, url, kind, **_fresh(arguments))
                if response is not None and 200 <= response.status_code < 300:
                    # The object may be spent (a purchase disputed): the next gets a new one.
                    for name in set(arguments_of(rule)) & set(world.renew):
                        world.valid[name] = [world.renew[name]()]
                return response

            for index in range(len(valid_urls(rule, world))):
                for actor in actors.values():
                    first = send(actor, "baseline", index, {"json": baseline})
                    # The other role's key stops at its 403 after the parsing: the bodies
                    # broken as a whole are enough for it.
                    owner = first is not None and first.status_code != 403
                    for kind, arguments in (bodies if owner else []) + structural_bodies(baseline):
                        send(actor, kind, index, arguments)
    if undescribed:
        print(
            f"\nAPI routes taking a body without a description (structural bodies only): "
            f"{undescribed}"
        )
    sweep.check()


# --- HTML forms, from the pages -------------------------------------------------------------


@dataclass
class FormField:
    name: str
    kind: str  # input type, "select", "select-multiple" or "textarea"
    values: list = field(default_factory=list)
    options: list = field(default_factory=list)
    required: bool = False


@dataclass
class Form:
    action: str
    method: str
    enctype: str
    fields: dict = field(default_factory=dict)
    submitters: list = field(default_factory=list)  # (name, value) of named submit buttons


class FormParser(HTMLParser):
    """The <form>s of a page with their fields, as a browser would submit them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.form: Form | None = None
        self.select: FormField | None = None
        self.option: dict | None = None
        self.textarea: FormField | None = None

    def _field(self, name: str, kind: str, required: bool) -> FormField:
        found = self.form.fields.get(name)
        if found is None:
            found = self.form.fields[name] = FormField(name, kind, required=required)
        found.required |= required
        return found

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.form = Form(
                action=attrs.get("action") or "",
                method=(attrs.get("method") or "get").upper(),
                enctype=attrs.get("enctype") or "application/x-www-form-urlencoded",
            )
            self.forms.append(self.form)
            return
        if self.form is None:
            return
        name = attrs.get("name")
        required = "required" in attrs
        if tag == "input" and name:
            kind = (attrs.get("type") or "text").lower()
            if kind in ("submit", "image"):
                self.form.submitters.append((name, attrs.get("value") or ""))
            elif kind in ("button", "reset"):
                return
            elif kind in ("checkbox", "radio"):
                found = self._field(name, kind, required)
                found.options.append(attrs.get("value") or "on")
                if "checked" in attrs:
                    found.values.append(attrs.get("value") or "on")
            else:
                self._field(name, kind, required).values = [attrs.get("value") or ""]
        elif tag == "button" and name and (attrs.get("type") or "submit").lower() == "submit":
            self.form.submitters.append((name, attrs.get("value") or ""))
        elif tag == "select" and name:
            kind = "select-multiple" if "multiple" in attrs else "select"
            self.select = self._field(name, kind, required)
        elif tag == "option" and self.select is not None:
            self.option = {"value": attrs.get("value"), "text": "", "selected": "selected" in attrs}
        elif tag == "textarea" and name:
            self.textarea = self._field(name, "textarea", required)
            self.textarea.values = [""]

    def handle_data(self, data):
        if self.option is not None:
            self.option["text"] += data
        if self.textarea is not None:
            self.textarea.values[0] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.form = None
        elif tag == "option" and self.option is not None:
            self._close_option()
        elif tag == "select":
            if self.option is not None:
                self._close_option()
            self.select = None
        elif tag == "textarea":
            if self.textarea is not None:  # a browser drops the newline after <textarea>
                text = self.textarea.values[0]
                self.textarea.values[0] = re.sub(r"^\r?\n", "", text)
            self.textarea = None

    def _close_option(self):
        option, self.option = self.option, None
        value = option["value"] if option["value"] is not None else option["text"].strip()
        self.select.options.append(value)
        if option["selected"]:
            self.select.values.append(value)


# Plausible values for the empty fields of a form, so that one hostile field at a time
# goes as deep as the form lets it: by name where a name is known (the capture form's,
# an address, a price above every floor), else by input type for the required fields.
PLAUSIBLE_BY_TYPE = {
    "email": "hostile.sweep@example.test",
    "tel": "+33612345678",
    "number": "10",
    "url": "https://example.test/",
    "date": "2026-01-15",
    "password": "correct-horse-battery-staple",
}


def plausible_by_name() -> dict:
    return {
        **factories.submission(),
        "consent": "y",
        "line1": "1 rue de Rivoli",
        "postal_code": "75001",
        "city": "Paris",
        "price": "100.00",
    }


def baseline_of(form: Form, plausible: dict) -> dict[str, list[str]]:
    values = {}
    for name, found in form.fields.items():
        chosen = list(found.values)
        if found.kind in ("checkbox", "radio"):
            if not chosen and (found.required or name in plausible):
                chosen = found.options[:1]
        elif found.kind == "select":
            chosen = chosen[:1] or found.options[:1]
        elif found.kind == "select-multiple":
            if not chosen and found.required:
                chosen = found.options[:1]
        elif not any(chosen) and (found.required or name in plausible):
            chosen = [plausible.get(name) or PLAUSIBLE_BY_TYPE.get(found.kind, "Hostile sweep")]
        if found.kind == "file":
            chosen = []
        if chosen:
            values[name] = chosen
    return values


def form_data(form: Form, values: dict, files: dict) -> dict:
    data = {name: (chosen[0] if len(chosen) == 1 else chosen) for name, chosen in values.items()}
    for name, (content, filename) in files.items():
        data[name] = (io.BytesIO(content), filename)
    return data


def forms_of(html: str) -> list[Form]:
    parser = FormParser()
    parser.feed(html)
    parser.close()
    return parser.forms


def endpoint_of(app, path: str, method: str) -> str:
    try:
        endpoint, _ = app.url_map.bind("localhost").match(path, method=method)
    except RequestRedirect:
        return path
    except HTTPException:
        return path
    return endpoint


def pages_for(app, world: World) -> list[str]:
    """The GET routes without arguments and the pages of the world's objects."""
    pages = []
    for rule in swept_rules(app):
        if "GET" in rule.methods and not rule.rule.startswith("/api/"):
            pages += valid_urls(rule, world)
    return pages


def test_every_form_answers_hostile_fields_below_500(app, world, login_as, sweeping):
    sweep = Sweep("form sweep", sweeping)
    plausible = plausible_by_name()
    swept: dict[tuple, list[set]] = {}
    public: dict[tuple, list[set]] = {}
    forms_found = Counter()
    for role in SESSION_ROLES:
        actor = Actor(role, app, login_as, world)
        for page in pages_for(app, world):
            response = sweep.send(actor, "GET", page, "page")
            if response is None or response.status_code != 200:
                continue
            if response.mimetype != "text/html":
                continue
            for form in forms_of(response.get_data(as_text=True)):
                action = urljoin(page, form.action).split("#")[0]
                path = urlsplit(action).path
                # A form is swept once per role that gets it (and a form posting to the same
                # view with fewer fields, like a second magnet's capture form, not again);
                # a form a visitor gets (sign-up, the capture form), once, as the visitor.
                target = (form.method, endpoint_of(app, path, form.method))
                fields = set(form.fields)
                if any(fields <= done for done in public.get(target, ())):
                    continue
                if any(fields <= done for done in swept.get((role, *target), ())):
                    continue
                swept.setdefault((role, *target), []).append(fields)
                if role == "anonymous":
                    public.setdefault(target, []).append(fields)
                forms_found[role] += 1
                _sweep_form(sweep, actor, form, action, plausible, page)
    print(f"\nforms swept per role: {dict(forms_found)}")
    sweep.check()


def _fresh_hidden_values(sweep: Sweep, actor: Actor, form: Form, page: str) -> dict:
    """The hidden fields of the form as the page gives them now (a new signed token)."""
    response = sweep.send(actor, "GET", page, "page, for a fresh form token")
    if response is None or response.status_code != 200:
        return {}
    for found in forms_of(response.get_data(as_text=True)):
        if found.action == form.action and set(found.fields) == set(form.fields):
            return {
                name: field.values for name, field in found.fields.items() if field.kind == "hidden"
            }
    return {}


def _sweep_form(sweep: Sweep, actor: Actor, form: Form, action: str, plausible: dict, page: str):
    baseline = baseline_of(form, plausible)
    # A form with a signed token of its own instead of the session's CSRF token (the
    # capture form) may take each token once: each post starts from a freshly loaded page.
    own_token = form.method == "POST" and "csrf_token" not in form.fields
    files = {
        name: (b"%PDF-1.4 hostile sweep", "sweep.pdf")
        for name, found in form.fields.items()
        if found.kind == "file"
    }
    submitters = form.submitters[:1] or [None]
    submitters += form.submitters[1:]
    mutable = [name for name in form.fields if name != "csrf_token"]
    for submitter in submitters:
        values_sent = FORM_VALUES
        if submitter is not None and submitter != submitters[0]:
            values_sent = {kind: FORM_VALUES[kind] for kind in FORM_VALUES_OTHER_BUTTONS}
        # The plausible values alone last: posted first, a dispute or a decision would be
        # made, and every hostile value after it refused before it is stored.
        variants = [(kind, name, value) for name in mutable for kind, value in values_sent.items()]
        variants.append(("baseline", None, None))
        for kind, name, value in variants:
            values = dict(baseline)
            if own_token:
                values.update(_fresh_hidden_values(sweep, actor, form, page))
            chosen_files = dict(files)
            if "csrf_token" in values:
                values["csrf_token"] = [actor.csrf]
            if submitter is not None:
                values[submitter[0]] = [submitter[1]]
            if name is not None and form.fields[name].kind == "file":
                chosen_files[name] = (b"%PDF-" + value.encode(), f"{value}.pdf")
            elif name is not None:
                values[name] = [value]
            label = f"{name}: {kind}" if name else kind
            if submitter is not None and len(submitters) > 1:
                label += f" (button {submitter[0]})"
            if form.method == "GET":
                query = urlencode(values, doseq=True)
                sweep.send(actor, "GET", f"{action.split('?')[0]}?{query}", label)
            else:
                sweep.send(
                    actor, form.method, action, label, data=form_data(form, values, chosen_files)
                )
