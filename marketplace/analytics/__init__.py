"""Figures for the portals: a magnet's results over a period (``magnet_results``) and
the A/B test's statistics (``ab_test``, pure arithmetic)."""
