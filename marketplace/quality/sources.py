"""The quality of sources: what buyers' verdicts say of each publisher and each magnet.

Three kinds of evidence, each a Bayesian estimate that starts from a prior and moves
with the evidence (docs/quality.md):

- the mean rating: ``(w * prior + sum of stars) / (w + ratings)``; with the default
  prior (3.5 stars, weight 10), three five-star ratings make 3.85, not 5;
- the accepted-return rate: ``(w * prior + accepted returns) / (w + sales)``;
- the won rate: ``(w * prior + won deals) / (w + sales)``.

A publisher starts from the platform's priors; each of its magnets starts from its
publisher's estimates, so a new magnet of a good publisher starts good. The score (0
to 100) weighs the three: 60 % the rating, 25 % the returns (none = full marks, half
the leads returned = none), 15 % the deals won (a quarter won = full marks). It never
goes down when a rating rises, a deal is won or a return is refused, and never up when
a return is accepted (tests/marketplace/test_source_quality.py).

The payout multiplier maps the score onto the admin's bounds: a source with no
evidence earns its share as it is (* 1.00), the best reaches the upper bound, the
worst the lower one, linearly on each side.

Everything is recomputed from the sales, ratings, outcomes and disputes themselves,
never counted up: a refresh run twice gives the same rows, so a retried job changes
nothing. It runs when a rating, an outcome or a dispute decision arrives (for the
sale's publisher), and nightly for every publisher with sales (the sales counts).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import and_, case, func, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from marketplace import jobs, snapshots
from marketplace.db_pool import on_postgresql
from marketplace.extensions import db
from marketplace.models import (
    Dispute,
    DisputeStatus,
    Lead,
    LeadMagnet,
    Outcome,
    QualitySettings,
    Sale,
    SourceQuality,
    SourceQualityWeek,
    utcnow,
)

RATING_WEIGHT, RETURNS_WEIGHT, WON_WEIGHT = 0.60, 0.25, 0.15
# The platform's priors besides the rating (admins set the rating's and the weight).
PRIOR_RETURN_RATE = 0.05
PRIOR_WON_RATE = 0.10
# A return rate at which the returns part reaches 0, and a won rate at which the deals
# part reaches full marks.
RETURNS_AT_ZERO = 0.50
WON_AT_FULL = 0.25
TREND_WEEKS = 4


@dataclass(frozen=True)
class Settings:
    prior_rating: float
    prior_weight: int
    payout_min_bps: int
    payout_max_bps: int


@dataclass(frozen=True)
class Evidence:
    sales: int = 0
    ratings: int = 0
    rating_sum: int = 0
    accepted_returns: int = 0
    won: int = 0


@dataclass(frozen=True)
class Estimates:
    """A source's Bayesian estimates: what its next lead will probably be like."""

    rating: float
    return_rate: float
    won_rate: float


@dataclass(frozen=True)
class Assessment:
    evidence: Evidence
    estimates: Estimates
    score: int
    payout_multiplier_bps: int


def current_settings() -> Settings:
    def load() -> Settings:
        row = db.session.get(QualitySettings, 1)
        if row is None:  # a database older than its migration's seed row
            return Settings(3.5, 10, 9_000, 11_000)
        return Settings(
            row.prior_rating_tenths / 10, row.prior_weight, row.payout_min_bps, row.payout_max_bps
        )

    return snapshots.remembered("quality_settings", 1, load)


def platform_priors(settings: Settings) -> Estimates:
    return Estimates(settings.prior_rating, PRIOR_RETURN_RATE, PRIOR_WON_RATE)


def estimate(evidence: Evidence, prior: Estimates, weight: int) -> Estimates:
    return Estimates(
        rating=(weight * prior.rating + evidence.rating_sum) / (weight + evidence.ratings),
        return_rate=(weight * prior.return_rate + evidence.accepted_returns)
        / (weight + evidence.sales),
        won_rate=(weight * prior.won_rate + evidence.won) / (weight + evidence.sales),
    )


def score_of(estimates: Estimates) -> int:
    rating_part = (estimates.rating - 1) / 4
    returns_part = 1 - min(1.0, estimates.return_rate / RETURNS_AT_ZERO)
    won_part = min(1.0, estimates.won_rate / WON_AT_FULL)
    value = 100 * (
        RATING_WEIGHT * rating_part + RETURNS_WEIGHT * returns_part + WON_WEIGHT * won_part
    )
    return max(0, min(100, round(value)))


def neutral_score(settings: Settings | None = None) -> int:
    """The score of a source nobody has judged yet: the priors' own."""
    return score_of(platform_priors(settings or current_settings()))


def payout_multiplier_bps(score: int, settings: Settings) -> int:
    """1.00 at the neutral score, the admin's bounds at 0 and 100, linear in between."""
    neutral = neutral_score(settings)
    if score >= neutral:
        span = 100 - neutral
        share = (score - neutral) / span if span else 0
        return round(10_000 + (settings.payout_max_bps - 10_000) * share)
    share = (neutral - score) / neutral if neutral else 0
    return round(10_000 - (10_000 - settings.payout_min_bps) * share)


def assess(evidence: Evidence, prior: Estimates, settings: Settings) -> Assessment:
    estimates = estimate(evidence, prior, settings.prior_weight)
    score = score_of(estimates)
    return Assessment(evidence, estimates, score, payout_multiplier_bps(score, settings))


# --- keeping the rows up to date ---------------------------------------------------


def publisher_key(publisher_id: int) -> str:
    return f"publisher:{publisher_id}"


def magnet_key(magnet_id: int) -> str:
    return f"magnet:{magnet_id}"


def _evidence_by(group_column, *conditions) -> dict[int, Evidence]:
    """The evidence of each group (a publisher or a magnet) in one grouped query."""
    rows = db.session.execute(
        select(
            group_column,
            func.count(Sale.id),
            func.count(Sale.rating_stars),
            func.coalesce(func.sum(Sale.rating_stars), 0),
            func.count(Dispute.id),
            func.count(case((Sale.outcome == Outcome.WON, 1))),
        )
        .select_from(Sale)
        .join(Lead, Lead.id == Sale.lead_id)
        .outerjoin(
            Dispute, and_(Dispute.sale_id == Sale.id, Dispute.status == DisputeStatus.ACCEPTED)
        )
        .where(*conditions)
        .group_by(group_column)
    ).all()
    return {
        key: Evidence(
            sales=sales, ratings=ratings, rating_sum=int(stars), accepted_returns=returns, won=won
        )
        for key, sales, ratings, stars, returns, won in rows
    }


def refresh_publishers(publisher_ids: Iterable[int], now: datetime | None = None) -> int:
    """Recompute the rows of these publishers and of all their magnets; returns how
    many rows were written. One transaction."""
    now = now or utcnow()
    publisher_ids = sorted(set(publisher_ids))
    if not publisher_ids:
        return 0
    settings = current_settings()
    prior = platform_priors(settings)
    by_publisher = _evidence_by(Lead.publisher_id, Lead.publisher_id.in_(publisher_ids))
    by_magnet = _evidence_by(Lead.magnet_id, Lead.publisher_id.in_(publisher_ids))
    magnets = db.session.execute(
        select(LeadMagnet.id, LeadMagnet.publisher_id).where(
            LeadMagnet.publisher_id.in_(publisher_ids)
        )
    ).all()
    rows = []
    publisher_estimates = {}
    for publisher_id in publisher_ids:
        assessment = assess(by_publisher.get(publisher_id, Evidence()), prior, settings)
        publisher_estimates[publisher_id] = assessment.estimates
        rows.append(_row(publisher_key(publisher_id), publisher_id, None, assessment, now))
    for magnet_id, publisher_id in magnets:
        assessment = assess(
            by_magnet.get(magnet_id, Evidence()), publisher_estimates[publisher_id], settings
        )
        rows.append(_row(magnet_key(magnet_id), publisher_id, magnet_id, assessment, now))
    _upsert(rows, now)
    db.session.commit()
    return len(rows)


def _row(key, publisher_id, magnet_id, assessment: Assessment, now) -> dict:
    evidence = assessment.evidence
    return {
        "source_key": key,
        "publisher_id": publisher_id,
        "magnet_id": magnet_id,
        "sales": evidence.sales,
        "ratings": evidence.ratings,
        "rating_sum": evidence.rating_sum,
        "accepted_returns": evidence.accepted_returns,
        "won": evidence.won,
        "score": assessment.score,
        "payout_multiplier_bps": assessment.payout_multiplier_bps,
        "updated_at": now,
    }


def week_start(moment: datetime) -> date:
    day = moment.date()
    return day - timedelta(days=day.weekday())


def _upsert(rows: list[dict], now: datetime) -> None:
    insert = postgresql_insert if on_postgresql() else sqlite_insert
    statement = insert(SourceQuality)
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=[SourceQuality.source_key],
            set_={
                name: statement.excluded[name]
                for name in rows[0]
                if name not in ("source_key", "publisher_id", "magnet_id")
            },
        ),
        rows,
    )
    week = week_start(now)
    weeks = insert(SourceQualityWeek)
    db.session.execute(
        weeks.on_conflict_do_update(
            index_elements=[SourceQualityWeek.source_key, SourceQualityWeek.week_start],
            set_={"score": weeks.excluded.score},
        ),
        [
            {"source_key": row["source_key"], "week_start": week, "score": row["score"]}
            for row in rows
        ],
    )


def refresh_publisher_of_sale(sale_id: int) -> None:
    """The job a verdict starts: its sale's publisher and that publisher's magnets."""
    publisher_id = db.session.scalar(
        select(Lead.publisher_id).join(Sale, Sale.lead_id == Lead.id).where(Sale.id == sale_id)
    )
    db.session.rollback()
    if publisher_id is not None:
        refresh_publishers([publisher_id])


def refresh_after_verdict(sale_id: int) -> None:
    """Called once a rating, an outcome or a dispute decision is committed."""
    jobs.enqueue(refresh_publisher_of_sale, sale_id)


def refresh_all(batch: int = 200) -> int:
    """The nightly refresh: every publisher with at least one sale, a batch per
    transaction."""
    publisher_ids = list(
        db.session.scalars(select(Lead.publisher_id).join(Sale, Sale.lead_id == Lead.id).distinct())
    )
    db.session.rollback()
    written = 0
    for start in range(0, len(publisher_ids), batch):
        written += refresh_publishers(publisher_ids[start : start + batch])
    current_app.logger.info("source quality: %d rows refreshed", written)
    return written


# --- reading -----------------------------------------------------------------------


@dataclass(frozen=True)
class MagnetStanding:
    score: int
    payout_multiplier_bps: int


def magnet_standing(magnet_id: int) -> MagnetStanding:
    """The magnet's score and multiplier as last computed, or a new source's; kept a
    few seconds per process (the ping and the catalogue read it per lead)."""

    def load() -> MagnetStanding:
        row = db.session.execute(
            select(SourceQuality.score, SourceQuality.payout_multiplier_bps).where(
                SourceQuality.magnet_id == magnet_id
            )
        ).first()
        if row is None:
            return MagnetStanding(neutral_score(), 10_000)
        return MagnetStanding(row.score, row.payout_multiplier_bps)

    return snapshots.remembered("magnet_standing", magnet_id, load)


def earning_share_bps(share_bps: int, multiplier_bps: int | None) -> int:
    """The publisher's share of a sale once its source's multiplier is applied, never
    above the whole price."""
    if multiplier_bps is None:
        return share_bps
    return min(10_000, share_bps * multiplier_bps // 10_000)


# --- the admins' settings ------------------------------------------------------------


def update_settings(
    admin_user_id: int,
    *,
    prior_rating_tenths: int,
    prior_weight: int,
    payout_min_bps: int,
    payout_max_bps: int,
    reason: str,
    now: datetime | None = None,
) -> QualitySettings:
    """Change the priors or the payout bounds, audited; every source is then refreshed
    (in the background) so that scores and multipliers follow at once."""
    from flask_babel import lazy_gettext as _l

    from marketplace import audit
    from marketplace.errors import ValidationFailed

    now = now or utcnow()
    errors = {}
    if not 10 <= prior_rating_tenths <= 50:
        errors["prior_rating"] = _l("A rating is between 1 and 5 stars.")
    if not 1 <= prior_weight <= 1000:
        errors["prior_weight"] = _l("Between 1 and 1,000 ratings.")
    if not 5_000 <= payout_min_bps <= 10_000:
        errors["payout_min"] = _l("Between 0.50 and 1.00.")
    if not 10_000 <= payout_max_bps <= 15_000:
        errors["payout_max"] = _l("Between 1.00 and 1.50.")
    reason = (reason or "").strip()
    if len(reason) < 5:
        errors["reason"] = _l("Say why, in a few words.")
    if errors:
        raise ValidationFailed(fields=errors)
    row = db.session.get(QualitySettings, 1, with_for_update=True) or QualitySettings(id=1)
    before = {
        "prior_rating_tenths": row.prior_rating_tenths,
        "prior_weight": row.prior_weight,
        "payout_min_bps": row.payout_min_bps,
        "payout_max_bps": row.payout_max_bps,
    }
    after = {
        "prior_rating_tenths": prior_rating_tenths,
        "prior_weight": prior_weight,
        "payout_min_bps": payout_min_bps,
        "payout_max_bps": payout_max_bps,
    }
    for name, value in after.items():
        setattr(row, name, value)
    row.updated_at = now
    row.updated_by_user_id = admin_user_id
    db.session.add(row)
    audit.record(
        "quality.settings_changed",
        "quality_settings",
        1,
        actor_user_id=admin_user_id,
        details={"before": before, "after": after, "reason": reason[:500]},
        at=now,
    )
    db.session.commit()
    snapshots.forget_all()
    jobs.enqueue(refresh_all)
    return row
