"""Flask extensions, created once here and bound to the app in create_app()."""

from __future__ import annotations

import flask_limiter
from flask import Blueprint, request
from flask_babel import Babel
from flask_bootstrap import Bootstrap5
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Named constraints keep Alembic migrations stable across databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Limiter(flask_limiter.Limiter):
    """Flask-Limiter, that lets the blueprints whose views count their own calls
    (``marketplace.api.count_call``) through its check before each request at once: the
    check resolved that no limit of its own applied to them (their endpoint, its
    qualified name, the request filters, the meta limits) in 19 µs a call
    (bench/request_hooks.py, docs/benchmarks.md)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.counted_in_views: set[str] = set()

    def count_in_views(self, blueprint: Blueprint) -> None:
        """``blueprint``'s views count their calls themselves: no limit of this
        extension applies to them."""
        self.counted_in_views.add(blueprint.name)

    def _check_request_limit(self, callable_name=None, in_middleware=True) -> None:
        if request.blueprint in self.counted_in_views:
            return
        super()._check_request_limit(callable_name=callable_name, in_middleware=in_middleware)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
bootstrap = Bootstrap5()
limiter = Limiter(key_func=get_remote_address)
