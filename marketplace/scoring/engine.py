"""The lead score (0-100), its explanation, temperature and class, from the scoring
model of the lead's sector (marketplace.scoring.rules): the points are data an admin
edits, the facts of a lead are read here.

Intent comes first (what the person asked for), then how complete and specific the
profile is. A fact's points are never negative and, for the facts that come in
degrees (timeframe, budget, company size, housing), never fewer for the richer or more urgent
degree (rules.py refuses such a model): a richer lead never scores lower.

Two facts come from beyond the form's answers: the job level, read from the job title
(scoring/job_level.py), and the person's earlier visits, the leads the same e-mail
left on the platform before this one, counted by the capture's own statement and
stored with the lead (``Lead.earlier_visits``, capture/store.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from marketplace.models import MagnetKind, Temperature
from marketplace.scoring.job_level import job_level
from marketplace.scoring.rules import EARLIER_VISITS, ScoringRules, rules_for

MQL = "mql"
SQL = "sql"

# The b2b model as migration 0019 seeded it: bench/portal.py computes its seed's
# scores with these, without a database to read the model from.
INTENT_POINTS = {
    MagnetKind.QUOTE_REQUEST: 40,
    MagnetKind.DEMO_REQUEST: 35,
    MagnetKind.CALLBACK_REQUEST: 35,
    MagnetKind.WEBINAR: 20,
    MagnetKind.WHITEPAPER: 15,
    MagnetKind.NEWSLETTER: 5,
}
TIMEFRAME_POINTS = {"now": 15, "3_months": 10, "6_months": 5, "later": 0}
BUDGET_POINTS = {"lt_1k": 2, "1k_5k": 5, "5k_20k": 8, "20k_100k": 10, "gt_100k": 10}
SIZE_POINTS = {"1": 2, "2_9": 4, "10_49": 6, "50_249": 8, "250_999": 10, "1000_plus": 10}
HOT_FROM = 70
WARM_FROM = 40


@dataclass(frozen=True)
class Score:
    value: int
    temperature: Temperature
    explanation: list[dict]
    qualification: str  # MQL or SQL


def lead_facts(lead, kind: MagnetKind) -> list[str]:
    """What the lead shows, as the facts a scoring model gives points to."""
    facts = ["intent:" + kind.value]
    if lead.phone:
        facts.append("phone_given")
    if lead.company:
        facts.append("company_given")
    if lead.company_size:
        facts.append("company_size:" + lead.company_size)
    if lead.budget:
        facts.append("budget:" + lead.budget)
    if lead.timeframe:
        facts.append("timeframe:" + lead.timeframe)
    housing = getattr(lead, "housing", None)
    if housing:
        facts.append("housing:" + housing)
    if lead.postcode:
        facts.append("location_given")
    if lead.message and len(lead.message) >= 40:
        facts.append("detailed_message")
    level = job_level(getattr(lead, "job_title", None))
    if level is not None:
        facts.append("job_level:" + level)
    visits = visits_degree(getattr(lead, "earlier_visits", 0) or 0)
    if visits is not None:
        facts.append("earlier_visits:" + visits)
    return facts


def visits_degree(earlier_visits: int) -> str | None:
    """The degree of a count of earlier visits: "1", "2", "3_plus", or None for none."""
    if earlier_visits <= 0:
        return None
    return EARLIER_VISITS[min(earlier_visits, len(EARLIER_VISITS)) - 1]


def score_lead(lead, kind: MagnetKind | None = None, rules: ScoringRules | None = None) -> Score:
    """``kind``: the lead's magnet kind, when the caller already has it; ``rules``: the
    model to use, when not the one of the lead's sector."""
    kind = MagnetKind(kind or lead.magnet.kind)
    rules = rules or rules_for(lead.sector_id)
    parts = [
        (fact, rules.points.get(fact, 0))
        for fact in lead_facts(lead, kind)
        if rules.points.get(fact, 0) or fact.startswith("intent:")
    ]
    value = min(100, sum(points for _, points in parts))
    return Score(
        value,
        temperature_of(value, rules),
        [{"reason": why, "points": points} for why, points in parts],
        SQL if value >= rules.sql_from else MQL,
    )


def temperature_of(value: int, rules: ScoringRules) -> Temperature:
    if value >= rules.hot_from:
        return Temperature.HOT
    if value >= rules.warm_from:
        return Temperature.WARM
    return Temperature.COLD


def qualification_of(value: int | None, sector_id: int) -> str | None:
    """A scored lead's class by its sector's model now (MQL below its threshold)."""
    if value is None:
        return None
    return SQL if value >= rules_for(sector_id).sql_from else MQL
