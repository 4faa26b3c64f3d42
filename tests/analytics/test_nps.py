"""NPS statistics on golden answers computed by hand (arithmetic in the comments)."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from patron.analytics.errors import AnalyticsInputError, InvalidScoreError
from patron.analytics.nps import (
    NPSResult,
    _difference_interval,  # the interval compare_nps uses
    compare_nps,
    nps,
    nps_by_group,
    nps_from_counts,
    nps_trend,
    revenue_at_risk,
    validate_scores,
    weighted_nps,
)

Z95 = 1.959963984540054


def test_golden_nps_se_moe_and_adjusted_wald():
    r = nps(pd.Series([10, 9, 9, 8, 7, 6, 5, 0, 10, 3]))
    # 4 promoters (10 9 9 10), 2 passives (8 7), 4 detractors (6 5 0 3): NPS = 100 * (0.4 - 0.4) = 0
    assert (r.n, r.promoters, r.passives, r.detractors) == (10, 4, 2, 4)
    assert r.nps == 0.0
    # se = 100 * sqrt((0.4 + 0.4 - 0^2) / 10) = 100 * sqrt(0.08) = 28.2843
    assert r.se == pytest.approx(28.284271, abs=1e-6)
    assert r.moe == pytest.approx(Z95 * 28.284271, abs=1e-5)  # 55.436
    # Adjusted Wald: n' = 13, p' = d' = 4.75 / 13 = 0.365385, centre 0,
    # half width = 1.96 * sqrt(0.730769 / 13) = 1.96 * 0.237092 = 0.464693 -> +-46.47
    assert r.ci_low == pytest.approx(-46.469344, abs=1e-5)
    assert r.ci_high == pytest.approx(46.469344, abs=1e-5)
    assert r.promoter_pct == 40.0 and r.detractor_pct == 40.0


def test_all_promoters_wald_collapses_adjusted_does_not():
    r = nps([10, 10, 9, 9, 10])
    assert r.nps == 100.0 and r.se == 0.0 and r.moe == 0.0
    # n' = 8, p' = 5.75 / 8 = 0.71875, d' = 0.75 / 8 = 0.09375, centre 0.625,
    # var = (0.8125 - 0.625^2) / 8 = 0.052734, half = 1.96 * 0.229640 = 0.450088
    # -> [17.49, 107.51], upper end clipped to 100
    assert r.ci_low == pytest.approx(17.491453, abs=1e-5)
    assert r.ci_high == 100.0


def test_empty_input_is_documented_none_not_nan():
    r = nps(pd.Series([], dtype="float64"))
    assert r == NPSResult(None, 0, 0, 0, 0, None, None, None, None)
    assert nps([None, np.nan]).n == 0  # only skipped answers
    assert r.promoter_pct is None


def test_single_answer_and_float_integers_and_missing():
    assert nps([9.0, 3.0, None]).promoters == 1  # 9.0 is 9; None is a skipped answer
    one = nps(pd.Series([7], dtype="Int64"))
    assert one.nps == 0.0 and one.passives == 1 and one.ci_low < 0 < one.ci_high


def test_confidence_level_changes_the_width():
    r90, r99 = nps([10, 9, 3, 8] * 10, confidence=0.90), nps([10, 9, 3, 8] * 10, confidence=0.99)
    assert r90.moe == pytest.approx(r90.se * 1.644854, rel=1e-6)
    assert r99.ci_high - r99.ci_low > r90.ci_high - r90.ci_low


@pytest.mark.parametrize(
    ("values", "shown"),
    [
        ([1, 11, 5], "11"),
        ([9.5, 3], "9.5"),
        ([-1], "-1"),
        (["9", 3], "'9'"),
        ([True, 10], "True"),
        ([float("inf")], "inf"),
    ],
)
def test_bad_scores_name_the_values(values, shown):
    with pytest.raises(InvalidScoreError, match=r"integers 0\.\.10") as exc:
        nps(values)
    assert shown in str(exc.value)
    assert isinstance(exc.value, ValueError) and isinstance(exc.value, AnalyticsInputError)
    assert exc.value.n_bad == 1


def test_bad_scores_list_at_most_ten_distinct():
    with pytest.raises(InvalidScoreError) as exc:
        validate_scores(list(range(11, 40)))
    assert exc.value.n_bad == 29 and len(exc.value.bad_values) == 10 and "..." in str(exc.value)
    with pytest.raises(InvalidScoreError, match="missing"):
        validate_scores([9, None], dropna=False)
    with pytest.raises(AnalyticsInputError, match="sequence"):
        nps(9)


def _adjusted(p: int, pa: int, d: int) -> tuple[float, float]:
    """Centre and variance of one group with 3/8, 3/4, 3/8 pseudo-responses (by hand)."""
    n = p + pa + d + 1.5
    ap, ad = (p + 0.375) / n, (d + 0.375) / n
    return ap - ad, (ap + ad - (ap - ad) ** 2) / n


def test_compare_two_groups_golden():
    a = nps_from_counts(60, 20, 20)
    b = nps_from_counts(40, 30, 30)
    c = compare_nps(a, b)
    (ca, va), (cb, vb) = _adjusted(60, 20, 20), _adjusted(40, 30, 30)
    # a: n' = 101.5, p' = 60.375/101.5, d' = 20.375/101.5; b likewise.
    assert c.difference == 30.0 and (c.nps_a, c.nps_b) == (40.0, 10.0)
    assert c.se == pytest.approx(100 * math.sqrt(va + vb))  # both groups' spread
    assert c.se == pytest.approx(11.437, abs=1e-3)  # plain Wald: sqrt(133) = 11.533
    assert c.z == pytest.approx(100 * (ca - cb) / c.se)
    assert c.ci_low == pytest.approx(100 * (ca - cb) - Z95 * c.se)
    assert c.p_value == pytest.approx(2 * stats.norm.sf(abs(c.z)))
    assert c.significant and c.ci_low > 0
    same = compare_nps([10, 0, 8] * 5, [10, 0, 8] * 5)
    assert same.difference == 0.0 and same.p_value == 1.0 and not same.significant


def test_compare_all_promoters_against_nineteen_of_twenty():
    # The plain Wald test took the spread of the 19/20 group only (se 4.87, p = 0.30) and
    # gave an interval of [-4.5, 14.5]; the adjusted one counts both and is honestly wide.
    c = compare_nps([10] * 20, [10] * 19 + [8])
    assert c.difference == 5.0
    assert c.se == pytest.approx(10.51, abs=0.01)
    assert c.ci_low == pytest.approx(-15.95, abs=0.01) and c.ci_high == pytest.approx(
        25.25, abs=0.01
    )
    assert c.p_value == pytest.approx(0.658, abs=0.001) and not c.significant


def test_compare_degenerate_and_empty():
    c = compare_nps([10, 10], [10])  # no spread in either group: still a (wide) interval
    assert c.z is not None and c.ci_low is not None and c.ci_high is not None
    assert c.ci_low < 0 < c.ci_high and not c.significant
    assert compare_nps([0], [10]).ci_low >= -200  # clipped to the scale of a difference
    with pytest.raises(AnalyticsInputError, match="at least one answer"):
        compare_nps([], [10])


SHARES = [  # promoter, passive, detractor: extremes and the middle
    (1.0, 0.0, 0.0),
    (0.95, 0.05, 0.0),
    (0.9, 0.05, 0.05),
    (0.7, 0.3, 0.0),
    (0.6, 0.2, 0.2),
    (0.4, 0.2, 0.4),
    (0.3, 0.4, 0.3),
    (0.05, 0.15, 0.8),
]


def test_difference_interval_coverage_by_simulation():
    """Coverage of the 95% interval for the true difference, 4,000 draws per cell.

    With 4,000 draws the Monte Carlo standard error of a 95% coverage is 0.35 points. 93% is
    what the adjusted interval reaches at worst with 20 answers per group (the plain Wald
    interval falls to 62% there: an all-promoter group has se 0), so each cell must reach 93%
    and the mean must stay within 1.5 points of 95% (not wildly conservative either). The grid
    runs 20 vs 20, 50 vs 50 and 20 vs 100 over every pair of shares. The vectorised interval
    is the one compare_nps uses; the last loop checks that on a sample of the draws.
    """
    rng = np.random.default_rng(18)
    draws, z = 4000, stats.norm.ppf(0.975)
    coverage = []
    for n_a, n_b in ((20, 20), (50, 50), (20, 100)):
        for sa in SHARES:
            for sb in SHARES:
                xa = rng.multinomial(n_a, sa, draws)
                xb = rng.multinomial(n_b, sb, draws)
                truth = 100 * ((sa[0] - sa[2]) - (sb[0] - sb[2]))
                _, _, lo, hi = _difference_interval(
                    xa[:, 0],
                    xa[:, 2],
                    np.full(draws, n_a),
                    xb[:, 0],
                    xb[:, 2],
                    np.full(draws, n_b),
                    z,
                )
                coverage.append(float(((lo - 1e-9 <= truth) & (truth <= hi + 1e-9)).mean()))
                for i in range(3):
                    c = compare_nps(
                        nps_from_counts(*map(int, xa[i])), nps_from_counts(*map(int, xb[i]))
                    )
                    assert (c.ci_low, c.ci_high) == pytest.approx((lo[i], hi[i]))
    assert min(coverage) >= 0.93, min(coverage)
    assert 0.94 <= float(np.mean(coverage)) <= 0.965, float(np.mean(coverage))


def test_weighted_nps_golden():
    r = weighted_nps([10, 0, 8], [3, 1, -5])
    # Weight -5 is clipped to 0: promoter weight 3 of 4 -> 0.75, detractor 1 of 4 -> 0.25, NPS 50.
    assert r.nps == 50.0 and r.promoter_share == 0.75 and r.detractor_share == 0.25
    assert r.passive_share == 0.0 and r.n == 3
    # Kish n_eff = 4^2 / (9 + 1 + 0) = 1.6; se = 100 * sqrt((1 - 0.25) / 1.6) = 68.465
    assert r.n_effective == 1.6
    assert r.se == pytest.approx(68.465320, abs=1e-5)
    # Adjusted: p' = (1.2 + 0.75) / 4.6, d' = (0.4 + 0.75) / 4.6 -> centre 0.1739, half 0.7332
    assert r.ci_low == pytest.approx(-55.924887, abs=1e-5)
    # Equal weights give back the unweighted NPS and standard error.
    plain, eq = nps([10, 9, 3, 8, 0]), weighted_nps([10, 9, 3, 8, 0], [2.0] * 5)
    assert eq.nps == pytest.approx(plain.nps) and eq.se == pytest.approx(plain.se)
    assert eq.ci_low == pytest.approx(plain.ci_low)


def test_weighted_nps_edges():
    assert weighted_nps([10, 3], [0, -1]).nps is None  # all weight clipped away
    assert weighted_nps([10, None, 3], [1.0, np.nan, 1.0]).n == 2  # skipped answer drops its weight
    with pytest.raises(AnalyticsInputError, match="same length"):
        weighted_nps([10, 3], [1.0])
    with pytest.raises(AnalyticsInputError, match="finite"):
        weighted_nps([10, 3], [1.0, np.nan])


@pytest.fixture
def responses():
    return pd.DataFrame(
        {
            "score": [10, 9, 3, 10, 8, 0, 9],
            "branch": ["north", "north", "north", "south", "south", None, "north"],
            "date": pd.to_datetime(
                [
                    "2024-01-02",
                    "2024-01-30",
                    "2024-01-31",
                    "2024-03-01",
                    "2024-03-09",
                    "2024-03-10",
                    "2024-03-31",
                ]
            ),
        }
    )


def test_nps_by_group(responses):
    out = nps_by_group(responses, by="branch", min_n=3)
    north = out.loc["north"]
    # north: 10, 9, 3, 9 -> 3 promoters, 1 detractor of 4 -> NPS 50
    assert (north["n"], north["promoters"], north["detractors"], north["nps"]) == (4, 3, 1, 50.0)
    assert north["moe"] == pytest.approx(Z95 * 100 * math.sqrt((0.75 + 0.25 - 0.25) / 4))
    assert not north["small"]
    # south: 10, 8 -> NPS 50 on 2 answers: flagged small
    assert out.loc["south", "nps"] == 50.0 and out.loc["south", "small"]
    # the missing branch is its own group, not dropped
    assert out["n"].sum() == 7 and out["nps"].isna().sum() == 0


def test_nps_by_two_keys_and_bad_scores(responses):
    out = nps_by_group(
        responses.assign(ch=["web", "app"] * 3 + ["web"]), by=["branch", "ch"], min_n=1
    )
    assert out.index.nlevels == 2 and out["n"].sum() == 7
    with pytest.raises(InvalidScoreError, match="12"):
        nps_by_group(responses.assign(score=[12, 9, 3, 10, 8, 0, 9]), by="branch")


def test_nps_trend_fills_quiet_periods(responses):
    out = nps_trend(responses, freq="M", min_n=3)
    assert [str(p) for p in out.index] == ["2024-01", "2024-02", "2024-03"]
    # January: 10, 9, 3 -> (2 - 1) / 3 = 33.33; February: no answers; March: 10, 8, 0, 9 -> 25
    assert out["nps"].iloc[0] == pytest.approx(100 / 3)
    assert (
        out["n"].iloc[1] == 0 and np.isnan(out["nps"].iloc[1]) and np.isnan(out["ci_low"].iloc[1])
    )
    assert out["nps"].iloc[2] == 25.0
    assert (out["ci_low"].iloc[[0, 2]] < out["nps"].iloc[[0, 2]]).all()
    empty = nps_trend(responses.iloc[:0])
    assert empty.empty and "ci_high" in empty.columns


def test_revenue_at_risk():
    frame = pd.DataFrame({"score": [3, 6, 7, 10], "value": [100.0, -20.0, 50.0, 900.0]})
    # Detractors 3 (100) and 6 (-20 clipped to 0): 100 at risk.
    assert revenue_at_risk(frame) == 100.0
