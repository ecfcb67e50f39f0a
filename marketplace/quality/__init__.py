"""The buyer's verdict on each lead (its rating, where the deal stands) and, later, what
it feeds: the quality of sources (issue 14)."""

from marketplace.quality.verdicts import (
    RatingClosed,
    rate_purchase,
    rating_open_until,
    record_outcome,
)

__all__ = ["RatingClosed", "rate_purchase", "rating_open_until", "record_outcome"]
