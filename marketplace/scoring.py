"""The lead score (0-100) and its explanation.

Intent comes first (what the person asked for), then how complete and
specific the profile is. The points are the trade's usual weights: a quote
request is a sales-qualified lead, a newsletter sign-up a marketing one.
"""

from __future__ import annotations

from dataclasses import dataclass

from marketplace.models import Lead, MagnetKind, Temperature

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


def score_lead(lead: Lead, kind: MagnetKind | None = None) -> Score:
    """``kind``: the lead's magnet kind, when the caller already has it."""
    kind = MagnetKind(kind or lead.magnet.kind)
    parts: list[tuple[str, int]] = [("intent:" + kind.value, INTENT_POINTS[kind])]
    if lead.phone:
        parts.append(("phone_given", 10))
    if lead.company:
        parts.append(("company_given", 10))
    if lead.company_size in SIZE_POINTS:
        parts.append(("company_size:" + lead.company_size, SIZE_POINTS[lead.company_size]))
    if lead.budget in BUDGET_POINTS:
        parts.append(("budget:" + lead.budget, BUDGET_POINTS[lead.budget]))
    if lead.timeframe in TIMEFRAME_POINTS:
        parts.append(("timeframe:" + lead.timeframe, TIMEFRAME_POINTS[lead.timeframe]))
    if lead.postcode:
        parts.append(("location_given", 5))
    if lead.message and len(lead.message) >= 40:
        parts.append(("detailed_message", 5))
    value = min(100, sum(points for _, points in parts))
    if value >= HOT_FROM:
        temperature = Temperature.HOT
    elif value >= WARM_FROM:
        temperature = Temperature.WARM
    else:
        temperature = Temperature.COLD
    return Score(value, temperature, [{"reason": why, "points": pts} for why, pts in parts])
