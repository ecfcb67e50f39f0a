"""The A/B test's arithmetic, checked against known values."""

from __future__ import annotations

import math

import pytest

from marketplace.analytics.ab_test import Verdict, compare, views_needed_per_variant, z_test


def test_a_known_difference_is_significant():
    z, p_value = z_test(1000, 200, 1000, 250)
    assert z == pytest.approx(2.6774, abs=1e-4)
    assert p_value == pytest.approx(0.00742, abs=1e-5)
    assert compare(1000, 200, 1000, 250).verdict == Verdict.B_BETTER
    assert compare(1000, 250, 1000, 200).verdict == Verdict.A_BETTER
    assert compare(1000, 250, 1000, 200).z == pytest.approx(-2.6774, abs=1e-4)


def test_the_p_value_is_the_normal_distributions():
    # |z| = 1.959964 is the two-sided 5 % threshold.
    assert math.erfc(1.959964 / math.sqrt(2)) == pytest.approx(0.05, abs=1e-6)
    _z, p_value = z_test(100, 10, 100, 10)
    assert p_value == 1.0


def test_the_sample_size_for_80_percent_power():
    # 20 % against 25 %: the textbook figure is about 1,094 per variant.
    assert views_needed_per_variant(0.20, 0.25) == 1094
    assert views_needed_per_variant(0.25, 0.20) == 1094
    assert views_needed_per_variant(0.10, 0.10) is None


def test_too_few_views_say_how_many_more_are_needed():
    result = compare(100, 20, 100, 25)
    assert result.verdict == Verdict.NOT_ENOUGH_DATA
    assert result.p_value == pytest.approx(0.397, abs=1e-3)
    assert result.more_views_needed == 2 * (1094 - 100)


def test_equal_rates_with_enough_views_show_no_difference():
    result = compare(1000, 200, 1000, 200)
    assert (result.verdict, result.z, result.p_value) == (Verdict.NO_DIFFERENCE, 0.0, 1.0)
    assert result.more_views_needed is None


def test_a_small_difference_needs_many_views():
    # 20 % against 22 %: over 10,000 views each, p ≈ 0.0005, B wins; over 2,000 each,
    # p ≈ 0.12 and the estimate is about 6,510 views per variant.
    assert compare(10_000, 2_000, 10_000, 2_200).verdict == Verdict.B_BETTER
    result = compare(2_000, 400, 2_000, 440)
    assert (result.verdict, result.more_views_needed) == (Verdict.NOT_ENOUGH_DATA, 9_020)
    # 20 % against 24.2 % over 1,200 each: p ≈ 0.014, significant before the estimate.
    assert compare(1_200, 240, 1_200, 290).verdict == Verdict.B_BETTER


@pytest.mark.parametrize(
    ("figures", "verdict", "more"),
    [
        ((0, 0, 0, 0), Verdict.NOT_ENOUGH_DATA, None),  # no view at all
        ((100, 10, 0, 0), Verdict.NOT_ENOUGH_DATA, None),  # B not shown yet
        ((100, 0, 100, 0), Verdict.NOT_ENOUGH_DATA, None),  # 0 % both: nothing to compare
        ((100, 100, 100, 100), Verdict.NOT_ENOUGH_DATA, None),  # 100 % both
        ((10, 0, 10, 5), Verdict.NOT_ENOUGH_DATA, 20),  # p ≈ 0.01, but 2.5 expected each
        ((50, 0, 50, 50), Verdict.B_BETTER, None),  # 0 % against 100 %
    ],
)
def test_edge_cases(figures, verdict, more):
    result = compare(*figures)
    assert (result.verdict, result.more_views_needed) == (verdict, more)
    assert result.p_value is None or 0 <= result.p_value <= 1


def test_submissions_above_views_count_as_the_views():
    result = compare(10, 12, 10, 3)
    assert (result.submissions_a, result.submissions_b) == (10, 3)


@pytest.mark.parametrize(
    ("views_a", "leads_a", "views_b", "leads_b"),
    [
        (1000, 200, 1000, 250),
        (100, 20, 100, 25),
        (2_000, 400, 2_000, 440),
        (1_200, 240, 1_200, 290),
        (5_321, 87, 4_977, 112),
        (40, 3, 35, 9),
    ],
)
def test_the_z_test_equals_statsmodels_on_known_numbers(views_a, leads_a, views_b, leads_b):
    """The reference: statsmodels' two-proportion z-test with the pooled variance."""
    from statsmodels.stats import proportion

    reference_z, reference_p = proportion.proportions_ztest(
        [leads_b, leads_a], [views_b, views_a], alternative="two-sided"
    )
    z, p_value = z_test(views_a, leads_a, views_b, leads_b)
    assert z == pytest.approx(reference_z, rel=1e-9)
    assert p_value == pytest.approx(reference_p, rel=1e-9, abs=1e-15)
