"""The organization's own settings: its name and the timezone its people read times in."""

from __future__ import annotations

import functools
import zoneinfo

from flask_babel import gettext as _

from marketplace import audit
from marketplace.errors import NotAllowed, ValidationFailed
from marketplace.extensions import db
from marketplace.models import Organization, User

# The zones of the markets we serve first, offered before the rest of the world's.
FIRST_ZONES = (
    "Europe/Paris",
    "Europe/Brussels",
    "Europe/Luxembourg",
    "Europe/Zurich",
    "Europe/Monaco",
    "America/Montreal",
    "Indian/Reunion",
    "America/Guadeloupe",
    "America/Martinique",
    "America/Cayenne",
    "Indian/Mayotte",
    "Pacific/Noumea",
    "Pacific/Tahiti",
    "Europe/London",
    "UTC",
)


@functools.cache
def timezone_names() -> tuple[str, ...]:
    """Every IANA zone this machine knows, the first markets' zones first."""
    known = zoneinfo.available_timezones()
    rest = sorted(
        name for name in known if "/" in name and not name.startswith(("Etc/", "SystemV/"))
    )
    first = [name for name in FIRST_ZONES if name in known or name == "UTC"]
    return tuple(first + [name for name in rest if name not in first])


def save_settings(organization_id: int, actor_user_id: int, *, name: str, timezone: str) -> None:
    actor = db.session.get(User, actor_user_id)
    if actor is None or actor.organization_id != organization_id or not actor.is_owner:
        raise NotAllowed()
    if timezone not in timezone_names():
        raise ValidationFailed(fields={"timezone": _("Choose a timezone from the list.")})
    name = name.strip()
    if not 2 <= len(name) <= 200:
        raise ValidationFailed(fields={"name": _("Between 2 and 200 characters.")})
    organization = db.session.get(Organization, organization_id)
    changed = {
        field: {"from": getattr(organization, field), "to": value}
        for field, value in (("name", name), ("timezone", timezone))
        if getattr(organization, field) != value
    }
    if changed:
        organization.name = name
        organization.timezone = timezone
        audit.record(
            "organization.settings_changed",
            "organization",
            organization_id,
            actor_user_id=actor.id,
            actor_organization_id=organization_id,
            details=changed,
        )
    db.session.commit()
