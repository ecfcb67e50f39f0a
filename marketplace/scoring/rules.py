"""The scoring models as admins keep them: which model scores a sector's leads, the
facts a model gives points to, and the checks that keep a score monotone (a richer,
more urgent lead never scores lower)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from marketplace import audit, snapshots
from marketplace.errors import NotFound, ValidationFailed
from marketplace.extensions import db
from marketplace.models import MagnetKind, ScoringModel, Sector, utcnow
from marketplace.scoring.job_level import LEVELS
from marketplace.validation import BUDGETS, COMPANY_SIZES, HOUSINGS, TIMEFRAMES

AUDIENCES = ("b2b", "b2c")
# How many earlier leads of the same person (e-mail) count as intent, by degree: the
# person came back to the platform within EARLIER_VISITS_DAYS (docs/scoring.md).
EARLIER_VISITS = ("1", "2", "3_plus")
# The facts that come in degrees, from the least to the most: their points may not
# go down along the list.
DEGREES = {
    "timeframe": tuple(reversed(TIMEFRAMES)),  # later ... now
    "budget": BUDGETS,
    "company_size": COMPANY_SIZES,
    "job_level": LEVELS,  # other ... executive (scoring/job_level.py)
    "earlier_visits": EARLIER_VISITS,
    "housing": tuple(reversed(HOUSINGS)),  # other, tenant, owner: who decides on the works
}
SINGLE_FACTS = ("phone_given", "company_given", "location_given", "detailed_message")
FACTS = (
    *(f"intent:{kind.value}" for kind in MagnetKind),
    *SINGLE_FACTS,
    *(f"{name}:{degree}" for name, degrees in DEGREES.items() for degree in degrees),
)
MAX_POINTS = 100


@dataclass(frozen=True)
class ScoringRules:
    scope: str
    audience: str
    points: Mapping[str, int]
    warm_from: int
    hot_from: int
    sql_from: int


@dataclass(frozen=True)
class RuleBook:
    models: dict[str, ScoringRules]
    sectors: dict[int, tuple[int | None, str]]  # id -> (parent id, audience)

    def for_sector(self, sector_id: int) -> ScoringRules:
        """The sector's own model, else its parent's, else its audience's."""
        parent_id, audience = self.sectors.get(sector_id, (None, "b2b"))
        for owner in (sector_id, parent_id):
            if owner is not None and f"sector:{owner}" in self.models:
                return self.models[f"sector:{owner}"]
        return self.models.get(audience) or self.models["b2b"]


def _rules(model: ScoringModel) -> ScoringRules:
    return ScoringRules(
        model.scope,
        model.audience,
        dict(model.points),
        model.warm_from,
        model.hot_from,
        model.sql_from,
    )


def _load() -> RuleBook:
    models = {model.scope: _rules(model) for model in db.session.scalars(select(ScoringModel))}
    sectors = {
        id_: (parent_id, audience)
        for id_, parent_id, audience in db.session.execute(
            select(Sector.id, Sector.parent_id, Sector.audience)
        )
    }
    return RuleBook(models, sectors)


def rule_book() -> RuleBook:
    """Every model and sector, from memory for SNAPSHOT_SECONDS: distribution scores
    each lead without a query."""
    return snapshots.remembered("scoring-rules", None, _load)


def rules_for(sector_id: int) -> ScoringRules:
    return rule_book().for_sector(sector_id)


# ------------------------------------------------------------------ the admins' edits


@dataclass(frozen=True)
class ModelChange:
    points: Mapping[str, int]
    warm_from: int
    hot_from: int
    sql_from: int
    reason: str


def check(change: ModelChange) -> dict[str, str]:
    """Field errors of a model (the form's field names: the fact, or a threshold)."""
    errors: dict[str, str] = {}
    for fact in FACTS:
        points = change.points.get(fact)
        if not isinstance(points, int) or not 0 <= points <= MAX_POINTS:
            errors[fact] = str(_l("Between 0 and 100 points."))
    for name, degrees in DEGREES.items():
        for lower, higher in itertools.pairwise(degrees):
            fact, before = f"{name}:{higher}", f"{name}:{lower}"
            if fact in errors or before in errors:
                continue
            if change.points[fact] < change.points[before]:
                errors[fact] = str(
                    _l("At least the points of the degree below: a richer lead never scores lower.")
                )
    if not 0 < change.warm_from < change.hot_from <= 100:
        errors["hot_from"] = str(_l("Warm from 1, hot above warm, at most 100."))
    if not 1 <= change.sql_from <= 100:
        errors["sql_from"] = str(_l("Between 1 and 100."))
    if len(change.reason.strip()) < 5:
        errors["reason"] = str(_l("Say why: it stays in the audit trail."))
    return errors


def _values(model: ScoringModel) -> dict:
    return {
        "points": dict(model.points),
        "warm_from": model.warm_from,
        "hot_from": model.hot_from,
        "sql_from": model.sql_from,
    }


def update_model(model_id: int, admin_id: int, change: ModelChange) -> ScoringModel:
    errors = check(change)
    if errors:
        raise ValidationFailed(fields=errors)
    model = db.session.scalar(
        select(ScoringModel).where(ScoringModel.id == model_id).with_for_update()
    )
    if model is None:
        raise NotFound()
    before = _values(model)
    model.points = {fact: change.points[fact] for fact in FACTS}
    model.warm_from, model.hot_from = change.warm_from, change.hot_from
    model.sql_from = change.sql_from
    after = _values(model)
    if after == before:
        db.session.rollback()
        return model
    model.updated_at = utcnow()
    changed = {
        fact: [before["points"].get(fact), after["points"][fact]]
        for fact in FACTS
        if before["points"].get(fact) != after["points"][fact]
    }
    changed.update(
        {key: [before[key], after[key]] for key in ("warm_from", "hot_from", "sql_from")}
        if any(before[key] != after[key] for key in ("warm_from", "hot_from", "sql_from"))
        else {}
    )
    audit.record(
        "scoring.changed",
        "scoring_model",
        model.id,
        actor_user_id=admin_id,
        details={"reason": change.reason.strip(), "scope": model.scope, "changed": changed},
    )
    db.session.commit()
    snapshots.forget_all()
    return model


def give_sector_its_model(sector_id: int, admin_id: int) -> ScoringModel:
    """A model of the sector's own, starting from the one that scores it now."""
    sector = db.session.get(Sector, sector_id)
    if sector is None:
        raise NotFound()
    existing = db.session.scalar(select(ScoringModel).where(ScoringModel.sector_id == sector_id))
    if existing is not None:
        return existing
    current = _load().for_sector(sector_id)
    model = ScoringModel(
        scope=f"sector:{sector_id}",
        sector_id=sector_id,
        audience=sector.audience,
        points=dict(current.points),
        warm_from=current.warm_from,
        hot_from=current.hot_from,
        sql_from=current.sql_from,
    )
    db.session.add(model)
    db.session.flush()
    audit.record(
        "scoring.sector_model_added",
        "scoring_model",
        model.id,
        actor_user_id=admin_id,
        details={"sector_id": sector_id, "from": current.scope},
    )
    db.session.commit()
    snapshots.forget_all()
    return model


def models() -> list[ScoringModel]:
    return list(
        db.session.scalars(
            select(ScoringModel).order_by(ScoringModel.sector_id.is_not(None), ScoringModel.scope)
        )
    )
