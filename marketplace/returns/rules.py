"""The return rules as admins keep them (table ``return_rules``, seeded by migration
0023): each on or off, the return cap a whole percent; every change audited."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from marketplace import audit
from marketplace.errors import ValidationFailed
from marketplace.extensions import db
from marketplace.models import ReturnRule, utcnow

PLATFORM_FLAGGED = "platform_flagged"
RETURN_CAP = "return_cap"
RULE_KEYS = (PLATFORM_FLAGGED, RETURN_CAP)


@dataclass(frozen=True)
class ReturnRules:
    platform_flagged: bool
    return_cap: bool
    cap_percent: int


@dataclass(frozen=True)
class RulesChange:
    platform_flagged: bool
    return_cap: bool
    cap_percent: int | None
    reason: str


def current_rules(*, lock: bool = False) -> ReturnRules:
    """The rules as they are now, read fresh: an admin's change applies to the next
    claim. A missing row (never on a migrated database) counts as a rule turned off."""
    query = select(ReturnRule)
    if lock:
        query = query.with_for_update()
    rows = {rule.key: rule for rule in db.session.scalars(query)}
    flagged, cap = rows.get(PLATFORM_FLAGGED), rows.get(RETURN_CAP)
    return ReturnRules(
        platform_flagged=bool(flagged and flagged.enabled),
        return_cap=bool(cap and cap.enabled),
        cap_percent=cap.parameter if cap and cap.parameter is not None else 0,
    )


def check(change: RulesChange) -> dict[str, str]:
    """Field errors of a change, by the form's field names."""
    errors: dict[str, str] = {}
    cap = change.cap_percent
    if isinstance(cap, bool) or not isinstance(cap, int) or not 0 <= cap <= 100:
        errors["cap_percent"] = str(_l("A whole percent between 0 and 100."))
    if len((change.reason or "").strip()) < 5:
        errors["reason"] = str(_l("Say why: it stays in the audit trail."))
    return errors


def update_rules(admin_id: int, change: RulesChange) -> bool:
    """An admin's change of the rules, audited with each value before and after.
    Returns False when nothing changed (nothing is written)."""
    errors = check(change)
    if errors:
        raise ValidationFailed(fields=errors)
    rows = {rule.key: rule for rule in db.session.scalars(select(ReturnRule).with_for_update())}
    wanted = {
        PLATFORM_FLAGGED: (change.platform_flagged, None),
        RETURN_CAP: (change.return_cap, change.cap_percent),
    }
    changed: dict[str, list] = {}
    now = utcnow()
    for key, (enabled, parameter) in wanted.items():
        rule = rows.get(key)
        if rule is None:  # a seeded row deleted by hand: put it back
            rule = ReturnRule(key=key, enabled=None, parameter=None)
            db.session.add(rule)
        if rule.enabled != enabled:
            changed[f"{key}.enabled"] = [rule.enabled, enabled]
            rule.enabled = enabled
        if parameter is not None and rule.parameter != parameter:
            changed[f"{key}.percent"] = [rule.parameter, parameter]
            rule.parameter = parameter
        if any(name.startswith(f"{key}.") for name in changed):
            rule.updated_at, rule.updated_by_id = now, admin_id
    if not changed:
        db.session.rollback()
        return False
    audit.record(
        "returns.rules_changed",
        "return_rules",
        None,
        actor_user_id=admin_id,
        details={"reason": change.reason.strip(), "changed": changed},
        at=now,
    )
    db.session.commit()
    return True


def rule_rows() -> list[ReturnRule]:
    found = {rule.key: rule for rule in db.session.scalars(select(ReturnRule))}
    return [found[key] for key in RULE_KEYS if key in found]
