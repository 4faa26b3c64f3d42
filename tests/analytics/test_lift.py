"""The lift's intervals against published values, scipy, and a simulation of their coverage."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from patron.analytics.lift import (
    GroupSums,
    campaign_lift,
    mean_difference,
    proportion_difference,
    wilson_interval,
)


def _sums(values: np.ndarray) -> tuple[int, float, float]:
    return len(values), float(values.sum()), float((values * values).sum())


# Newcombe (1998), Table II, method 10 (hybrid score, no continuity correction).
@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "low", "high"),
    [
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.0582, 0.8062),
        (5, 56, 0, 29, -0.0381, 0.1926),
        (0, 10, 0, 20, -0.1611, 0.2775),
        (10, 10, 0, 20, 0.6791, 1.0000),
    ],
)
def test_proportion_difference_matches_newcombe(x1, n1, x2, n2, low, high):
    e = proportion_difference(x1, n1, x2, n2)
    assert e.estimate == pytest.approx(x1 / n1 - x2 / n2)
    assert e.ci_low == pytest.approx(low, abs=5e-5)
    assert e.ci_high == pytest.approx(high, abs=5e-5)


@pytest.mark.parametrize(("x", "n"), [(0, 5), (3, 10), (10, 10), (37, 400)])
def test_wilson_matches_scipy(x, n):
    ci = stats.binomtest(x, n).proportion_ci(confidence_level=0.95, method="wilson")
    low, high = wilson_interval(x, n)
    assert low == pytest.approx(ci.low, abs=1e-12)
    assert high == pytest.approx(ci.high, abs=1e-12)


def test_mean_difference_matches_scipy_welch():
    rng = np.random.default_rng(7)
    a = np.where(rng.random(300) < 0.2, rng.lognormal(4, 1, 300), 0.0)
    b = np.where(rng.random(120) < 0.1, rng.lognormal(4, 1, 120), 0.0)
    e = mean_difference(*_sums(a), *_sums(b))
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert e.estimate == pytest.approx(a.mean() - b.mean())
    assert e.ci_low == pytest.approx(ci.low, rel=1e-9)
    assert e.ci_high == pytest.approx(ci.high, rel=1e-9)


def test_degenerate_groups_give_none_not_nan():
    assert proportion_difference(0, 0, 1, 2).estimate is None
    one = mean_difference(1, 5.0, 25.0, 10, 0.0, 0.0)
    assert one.estimate == pytest.approx(5.0)
    assert one.ci_low is None and one.ci_high is None
    flat = mean_difference(4, 0.0, 0.0, 4, 0.0, 0.0)  # nobody bought in either group
    assert (flat.estimate, flat.ci_low, flat.ci_high) == (0.0, 0.0, 0.0)
    assert not flat.excludes_zero


def test_incremental_margin_and_roi():
    treatment = GroupSums(members=4, responders=2, revenue=300.0, revenue_sq=50000.0, margin=100.0, margin_sq=5000.0)
    control = GroupSums(members=2, responders=0)
    lift = campaign_lift(treatment, control, cost=50.0)
    assert lift.margin_per_member.estimate == pytest.approx(25.0)
    assert lift.incremental_margin.estimate == pytest.approx(100.0)  # 25 per member x 4 members
    assert lift.roi is not None and lift.roi.estimate == pytest.approx(1.0)  # (100 - 50) / 50
    assert lift.roi.ci_low == pytest.approx((lift.incremental_margin.ci_low - 50) / 50)
    assert campaign_lift(treatment, control, cost=0.0).roi is None


def test_sums_add_up():
    a = GroupSums(3, 1, 10.0, 100.0, 4.0, 16.0)
    b = GroupSums(2, 2, 5.0, 13.0, 1.0, 1.0)
    assert a + b == GroupSums(5, 3, 15.0, 113.0, 5.0, 17.0)


# ---------------------------------------------------------------- coverage, simulated (seeded)

REPS = 4000


@pytest.mark.parametrize(
    ("n1", "p1", "n2", "p2"),
    [(20, 0.05, 20, 0.05), (30, 0.5, 15, 0.3), (50, 0.02, 25, 0.0), (200, 0.12, 40, 0.08),
     (1000, 0.03, 100, 0.01), (25, 0.95, 25, 0.8)],
)
def test_proportion_interval_coverage(n1, p1, n2, p2):
    rng = np.random.default_rng(20261207)
    x1 = rng.binomial(n1, p1, REPS)
    x2 = rng.binomial(n2, p2, REPS)
    truth = p1 - p2
    hits = 0
    for a, b in zip(x1, x2, strict=True):
        e = proportion_difference(int(a), n1, int(b), n2)
        hits += e.ci_low <= truth <= e.ci_high
    assert hits / REPS >= 0.93


@pytest.mark.parametrize(("n1", "n2", "rate"), [(1000, 300, 0.1), (400, 400, 0.25), (5000, 1000, 0.05)])
def test_mean_interval_coverage_on_skewed_revenue(n1, n2, rate):
    """Revenue per member as campaigns see it: mostly 0, a lognormal spend for responders."""
    rng = np.random.default_rng(11)
    mu, sigma = 4.0, 1.0
    true_mean_t = 1.2 * rate * np.exp(mu + sigma**2 / 2)  # the treatment responds 20% more
    true_mean_c = rate * np.exp(mu + sigma**2 / 2)
    truth = true_mean_t - true_mean_c
    hits = 0
    reps = 1000
    for _ in range(reps):
        t = np.where(rng.random(n1) < 1.2 * rate, rng.lognormal(mu, sigma, n1), 0.0)
        c = np.where(rng.random(n2) < rate, rng.lognormal(mu, sigma, n2), 0.0)
        e = mean_difference(*_sums(t), *_sums(c))
        hits += e.ci_low <= truth <= e.ci_high
    assert hits / reps >= 0.93
