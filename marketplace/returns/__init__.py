"""Returns that decide themselves (docs/returns.md): rules an admin sets at
/admin/returns accept a buyer's dispute as soon as it is opened when the platform had
flagged the lead, or when the buyer, in good standing, stays within its monthly return
cap; every other claim waits for a person. Rules only ever accept."""

from marketplace.returns.decisions import (
    ReturnRates,
    decide_by_rules,
    open_dispute_and_decide,
    return_rates,
)
from marketplace.returns.rules import PLATFORM_FLAGGED, RETURN_CAP, current_rules

__all__ = [
    "PLATFORM_FLAGGED",
    "RETURN_CAP",
    "ReturnRates",
    "current_rules",
    "decide_by_rules",
    "open_dispute_and_decide",
    "return_rates",
]
