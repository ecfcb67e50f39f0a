"""Is one variant's conversion better than the other's? Pure arithmetic, no database.

The test: a two-sided two-proportion z-test with the pooled rate,

    p = (x_a + x_b) / (n_a + n_b)
    z = (x_b/n_b - x_a/n_a) / sqrt(p (1 - p) (1/n_a + 1/n_b))
    p-value = erfc(|z| / sqrt(2))            (two-sided, standard normal)

where n is a variant's form views and x its form submissions. A difference is shown
at 95 % confidence when the p-value is under 0.05.

How many views are enough (80 % power at 5 % significance, two-sided), per variant,
for the difference the rates show now (r_a, r_b; r = (r_a + r_b) / 2):

    n = (1.959964 sqrt(2 r (1 - r)) + 0.841621 sqrt(r_a (1 - r_a) + r_b (1 - r_b)))^2
        / (r_a - r_b)^2

and never fewer than make the normal approximation fair: 5 expected submissions and
5 expected non-submissions per variant at the pooled rate (n >= 5 / min(p, 1 - p)).
The views still needed are (n - n_a)+ + (n - n_b)+. It is an estimate: the rates
seen so far are themselves uncertain, and looking at the test every day and stopping
at the first "95 %" finds more false winners than 5 %.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

# The standard normal's quantiles: 1 - 0.05 / 2 (two-sided 5 %), and 0.80 (power).
Z_SIGNIFICANCE = 1.959964
Z_POWER = 0.841621
SIGNIFICANCE = 0.05
# Expected submissions (and non-submissions) per variant for the z-test to be fair.
MIN_EXPECTED = 5


class Verdict(enum.StrEnum):
    A_BETTER = "a_better"
    B_BETTER = "b_better"
    NO_DIFFERENCE = "no_difference"
    NOT_ENOUGH_DATA = "not_enough_data"


@dataclass(frozen=True)
class Comparison:
    views_a: int
    submissions_a: int
    views_b: int
    submissions_b: int
    z: float | None  # None when it cannot be computed (no views, or 0 % or 100 % for both)
    p_value: float | None
    verdict: Verdict
    # Views still needed (both variants together) for 80 % power; None when the rates
    # are equal (no difference to detect) or a variant has no view yet.
    more_views_needed: int | None

    @property
    def confidence(self) -> float | None:
        """1 - p-value: how sure we are the difference is not chance."""
        return None if self.p_value is None else 1 - self.p_value


def z_test(views_a: int, submissions_a: int, views_b: int, submissions_b: int):
    """(z, two-sided p-value) of B's rate against A's; (None, None) when undefined."""
    if views_a <= 0 or views_b <= 0:
        return None, None
    pooled = (submissions_a + submissions_b) / (views_a + views_b)
    variance = pooled * (1 - pooled) * (1 / views_a + 1 / views_b)
    if variance <= 0:  # both 0 % or both 100 %: the rates are equal, no spread
        return None, None
    z = (submissions_b / views_b - submissions_a / views_a) / math.sqrt(variance)
    return z, math.erfc(abs(z) / math.sqrt(2))


def views_needed_per_variant(rate_a: float, rate_b: float) -> int | None:
    """Views per variant to detect the difference between the two rates with 80 % power
    at 5 % significance (two-sided); None when the rates are equal."""
    if rate_a == rate_b:
        return None
    mean = (rate_a + rate_b) / 2
    root = Z_SIGNIFICANCE * math.sqrt(2 * mean * (1 - mean)) + Z_POWER * math.sqrt(
        rate_a * (1 - rate_a) + rate_b * (1 - rate_b)
    )
    return math.ceil(root**2 / (rate_a - rate_b) ** 2)


def compare(views_a: int, submissions_a: int, views_b: int, submissions_b: int) -> Comparison:
    """The z-test of B against A and its verdict in plain words' terms:

    - a winner when the p-value is under 5 % and each variant has at least 5 expected
      submissions and 5 expected non-submissions (else the normal approximation lies);
    - otherwise "not enough data" while fewer views than the estimate of 80 % power
      (or than the approximation needs) were seen, with the views still needed;
    - otherwise "no difference shown": enough views for the difference seen, and it is
      not significant (equal rates included, once the approximation is fair).

    Submissions above views (a form shown before the period, sent in it) count as at most
    the views."""
    views_a, views_b = max(views_a, 0), max(views_b, 0)
    submissions_a = min(max(submissions_a, 0), views_a)
    submissions_b = min(max(submissions_b, 0), views_b)
    z, p_value = z_test(views_a, submissions_a, views_b, submissions_b)

    def result(verdict: Verdict, more: int | None = None) -> Comparison:
        return Comparison(views_a, submissions_a, views_b, submissions_b, z, p_value, verdict, more)

    if not views_a or not views_b:
        return result(Verdict.NOT_ENOUGH_DATA)
    pooled = (submissions_a + submissions_b) / (views_a + views_b)
    smaller = min(pooled, 1 - pooled)
    fair = math.ceil(MIN_EXPECTED / smaller) if smaller > 0 else None
    if p_value is not None and p_value < SIGNIFICANCE and min(views_a, views_b) >= (fair or 0):
        return result(Verdict.B_BETTER if z > 0 else Verdict.A_BETTER)
    power = views_needed_per_variant(submissions_a / views_a, submissions_b / views_b)
    needed = max(filter(None, (power, fair)), default=None)
    if needed is None:
        # Both at 0 % or 100 % and equal: nothing tells how many views would show more.
        return result(Verdict.NOT_ENOUGH_DATA)
    more = max(needed - views_a, 0) + max(needed - views_b, 0)
    if more:
        return result(Verdict.NOT_ENOUGH_DATA, more)
    return result(Verdict.NO_DIFFERENCE)
