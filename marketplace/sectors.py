"""The sector taxonomy as the forms offer it."""

from __future__ import annotations

from flask_babel import get_locale
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from marketplace.extensions import db
from marketplace.models import Sector


def sector_options() -> list[tuple[int, str]]:
    """(id, "Parent > Child") for every sector, in the user's language, parents first."""
    locale = str(get_locale() or "fr")
    sectors = db.session.scalars(select(Sector).options(joinedload(Sector.parent)))
    return sorted(
        ((sector.id, sector.label(locale)) for sector in sectors), key=lambda pair: pair[1]
    )
