"""The marketplace core: the application factory and the domain."""

from __future__ import annotations

from pathlib import Path

from apiflask import APIFlask
from flask import Flask

from marketplace.config import load_config, normalise_database_url

__version__ = "0.1.0"

PROJECT_ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = PROJECT_ROOT / "templates"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(config: dict | None = None) -> Flask:
    """Build the application. ``config`` overrides what the environment gives.

    ``INSTANCE_PATH`` in ``config`` moves the instance folder (the SQLite file and
    the development secret key), which the tests use to stay out of the repo.
    """
    overrides = dict(config or {})
    instance_path = overrides.pop("INSTANCE_PATH", None)
    # APIFlask is Flask plus the OpenAPI description generated from the API's schemas;
    # its JSON errors stay on the API (json_errors=False): pages keep their HTML errors.
    app = APIFlask(
        __name__,
        title="Marketplace API",
        version="1",
        spec_path="/api/v1/openapi.json",
        docs_path=None,  # the interactive docs load their assets from a CDN
        json_errors=False,
        template_folder=str(TEMPLATES),
        instance_path=str(instance_path) if instance_path else None,
    )
    app.config.update(load_config(app.instance_path))
    app.config.update(overrides)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"]
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    trust_proxies(app)
    register_guards(app)  # first: its converter serves every route, its limits every read
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_request_hooks(app)
    skip_page_hooks_on_api_calls(app)  # last: the extensions' hooks are all registered
    register_commands(app)
    return app


def trust_proxies(app: Flask) -> None:
    """The person's address (consent record, per-IP limits) from the configured number
    of reverse proxies, and the scheme and host they were reached by."""
    hops = app.config["TRUSTED_PROXIES"]
    if hops > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def register_guards(app: Flask) -> None:
    from marketplace import guards

    guards.register(app)


def register_extensions(app: Flask) -> None:
    from marketplace import i18n
    from marketplace.auth.session import configure_login
    from marketplace.db_pool import ping_idle_connections
    from marketplace.extensions import babel, bootstrap, csrf, db, limiter, migrate

    db.init_app(app)
    with app.app_context():
        ping_idle_connections(db.engine, app.config["DB_PING_AFTER_SECONDS"])
    migrate.init_app(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=i18n.select_locale,
        timezone_selector=i18n.select_timezone,
        default_translation_directories=str(Path(__file__).parent / "translations"),
    )
    bootstrap.init_app(app)
    limiter.init_app(app)
    configure_login(app)
    i18n.register_template_helpers(app)


def register_blueprints(app: Flask) -> None:
    # The one place where the core reaches the role packages (architecture.md).
    from billing.admin_pages import blueprint as billing_admin_blueprint
    from billing.webhooks import blueprint as billing_webhooks_blueprint
    from buyers.api import blueprint as buyer_api_blueprint
    from buyers.blueprint import blueprint as buyers_blueprint
    from marketplace.admin.views import blueprint as admin_blueprint
    from marketplace.auth.views import blueprint as auth_blueprint
    from marketplace.certificates import blueprint as certificates_blueprint
    from marketplace.extensions import csrf
    from marketplace.governance.blueprint import blueprint as governance_blueprint
    from marketplace.platform_reports.blueprint import blueprint as platform_reports_blueprint
    from marketplace.privacy.blueprint import admin_blueprint as privacy_admin_blueprint
    from marketplace.privacy.blueprint import blueprint as privacy_blueprint
    from marketplace.quality.blueprint import blueprint as quality_admin_blueprint
    from marketplace.returns.blueprint import blueprint as returns_admin_blueprint
    from marketplace.scoring.blueprint import blueprint as scoring_admin_blueprint
    from marketplace.site import blueprint as site_blueprint
    from marketplace.team.blueprint import blueprint as team_blueprint
    from publishers.api import blueprint as publisher_api_blueprint
    from publishers.magnet_pages import blueprint as magnet_pages_blueprint
    from publishers.views import blueprint as publishers_blueprint

    app.register_blueprint(site_blueprint)
    app.register_blueprint(certificates_blueprint)
    app.register_blueprint(auth_blueprint)
    app.register_blueprint(admin_blueprint, url_prefix="/admin")
    app.register_blueprint(governance_blueprint, url_prefix="/admin")
    app.register_blueprint(platform_reports_blueprint, url_prefix="/admin")
    app.register_blueprint(buyers_blueprint, url_prefix="/buyers")
    app.register_blueprint(publishers_blueprint, url_prefix="/publishers")
    app.register_blueprint(magnet_pages_blueprint)
    app.register_blueprint(billing_admin_blueprint)
    app.register_blueprint(team_blueprint, url_prefix="/team")
    app.register_blueprint(privacy_blueprint)
    app.register_blueprint(privacy_admin_blueprint, url_prefix="/admin/privacy")
    app.register_blueprint(scoring_admin_blueprint, url_prefix="/admin/scoring")
    app.register_blueprint(quality_admin_blueprint, url_prefix="/admin/quality")
    app.register_blueprint(returns_admin_blueprint, url_prefix="/admin/returns")
    # The API authenticates each call with a bearer key, not a session cookie: no CSRF.
    # Stripe signs its webhook calls (verified in the view) and sends no cookie.
    for api_blueprint in (publisher_api_blueprint, buyer_api_blueprint, billing_webhooks_blueprint):
        csrf.exempt(api_blueprint)
        app.register_blueprint(api_blueprint)


def register_error_handlers(app: APIFlask) -> None:
    from marketplace.api import register_error_format
    from marketplace.errors import register

    register_error_format(app)  # first: our handlers of werkzeug's errors replace APIFlask's
    register(app)


def register_request_hooks(app: Flask) -> None:
    from marketplace.security import register

    register(app)


def skip_page_hooks_on_api_calls(app: Flask) -> None:
    from marketplace.api import skip_page_hooks_on_api_calls

    skip_page_hooks_on_api_calls(app)


def register_commands(app: Flask) -> None:
    from marketplace.cli import register

    register(app)
