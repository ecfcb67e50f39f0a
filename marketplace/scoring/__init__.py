"""Lead scoring as data: the facts of a lead, the points each is worth in the scoring
model of its sector (or of its audience, b2b or b2c), the temperature and the class
(MQL, SQL) from the model's thresholds (docs/scoring.md)."""

from marketplace.scoring.engine import (
    BUDGET_POINTS,
    HOT_FROM,
    INTENT_POINTS,
    MQL,
    SIZE_POINTS,
    SQL,
    TIMEFRAME_POINTS,
    WARM_FROM,
    Score,
    qualification_of,
    score_lead,
)

__all__ = [
    "BUDGET_POINTS",
    "HOT_FROM",
    "INTENT_POINTS",
    "MQL",
    "SIZE_POINTS",
    "SQL",
    "TIMEFRAME_POINTS",
    "WARM_FROM",
    "Score",
    "qualification_of",
    "score_lead",
]
