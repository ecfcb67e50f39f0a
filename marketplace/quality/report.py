"""A publisher's sources as they see them: each score with its reasons and its trend."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.models import LeadMagnet, SourceQuality, SourceQualityWeek, utcnow
from marketplace.quality.sources import (
    TREND_WEEKS,
    Assessment,
    Evidence,
    Settings,
    assess,
    current_settings,
    magnet_key,
    platform_priors,
    publisher_key,
    week_start,
)

HISTORY_WEEKS = 12


@dataclass(frozen=True)
class Trend:
    change: int  # points since ``since``
    since: date | None
    weeks: list[tuple[date, int]]  # oldest first


@dataclass(frozen=True)
class SourceView:
    key: str
    name: str
    magnet_id: int | None
    assessment: Assessment
    settings: Settings
    updated_at: object
    trend: Trend

    @property
    def mean_rating(self) -> float | None:
        evidence = self.assessment.evidence
        return evidence.rating_sum / evidence.ratings if evidence.ratings else None

    @property
    def return_share(self) -> float | None:
        evidence = self.assessment.evidence
        return evidence.accepted_returns / evidence.sales if evidence.sales else None

    @property
    def won_share(self) -> float | None:
        evidence = self.assessment.evidence
        return evidence.won / evidence.sales if evidence.sales else None


@dataclass(frozen=True)
class PublisherSources:
    publisher: SourceView
    magnets: list[SourceView]
    settings: Settings


def _evidence(row: SourceQuality | None) -> Evidence:
    if row is None:
        return Evidence()
    return Evidence(row.sales, row.ratings, row.rating_sum, row.accepted_returns, row.won)


def _trends(keys: list[str]) -> dict[str, Trend]:
    today = week_start(utcnow())
    oldest = today - timedelta(weeks=HISTORY_WEEKS - 1)
    weeks: dict[str, list[tuple[date, int]]] = {key: [] for key in keys}
    for key, week, score in db.session.execute(
        select(SourceQualityWeek.source_key, SourceQualityWeek.week_start, SourceQualityWeek.score)
        .where(SourceQualityWeek.source_key.in_(keys), SourceQualityWeek.week_start >= oldest)
        .order_by(SourceQualityWeek.week_start)
    ):
        weeks[key].append((week, score))
    trends = {}
    for key, history in weeks.items():
        if len(history) < 2:
            trends[key] = Trend(0, None, history)
            continue
        reference = today - timedelta(weeks=TREND_WEEKS)
        earlier = [entry for entry in history if entry[0] <= reference] or history[:1]
        since, then = earlier[-1]
        trends[key] = Trend(history[-1][1] - then, since, history)
    return trends


def publisher_sources(publisher_id: int) -> PublisherSources:
    """The publisher's score and each of its magnets', as last refreshed; a source never
    refreshed shows what its priors give (a new source's)."""
    settings = current_settings()
    rows = {
        row.source_key: row
        for row in db.session.scalars(
            select(SourceQuality).where(SourceQuality.publisher_id == publisher_id)
        )
    }
    magnets = db.session.execute(
        select(LeadMagnet.id, LeadMagnet.title)
        .where(LeadMagnet.publisher_id == publisher_id)
        .order_by(LeadMagnet.title, LeadMagnet.id)
    ).all()
    keys = [publisher_key(publisher_id), *(magnet_key(m.id) for m in magnets)]
    trends = _trends(keys)
    own_row = rows.get(publisher_key(publisher_id))
    own = assess(_evidence(own_row), platform_priors(settings), settings)
    publisher = SourceView(
        publisher_key(publisher_id),
        "",
        None,
        own,
        settings,
        own_row.updated_at if own_row else None,
        trends[publisher_key(publisher_id)],
    )
    views = []
    for magnet in magnets:
        row = rows.get(magnet_key(magnet.id))
        views.append(
            SourceView(
                magnet_key(magnet.id),
                magnet.title,
                magnet.id,
                assess(_evidence(row), own.estimates, settings),
                settings,
                row.updated_at if row else None,
                trends[magnet_key(magnet.id)],
            )
        )
    return PublisherSources(publisher, views, settings)


def ranked_sources(limit: int = 100) -> list[SourceQuality]:
    """The admin's list: every assessed publisher, worst first (the ones to look at)."""
    return list(
        db.session.scalars(
            select(SourceQuality)
            .where(SourceQuality.magnet_id.is_(None))
            .order_by(SourceQuality.score, SourceQuality.source_key)
            .limit(limit)
        )
    )
