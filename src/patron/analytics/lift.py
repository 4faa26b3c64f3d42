"""A campaign's lift: treatment minus control, with 95% intervals, from per-group sums.

Every function takes counts and sums, never rows, so a report stored as sums can be recomputed
at once (``campaigns.results`` keeps, per group, ``n``, responders, and the sum and the sum of
squares of revenue and of margin per member).

Difference in response rates (``proportion_difference``): Newcombe's hybrid score interval
(Newcombe 1998, "Interval estimation for the difference between independent proportions:
comparison of eleven methods", Statistics in Medicine 17:873-890, method 10). With the Wilson
score intervals ``[l1, u1]`` of ``p1 = x1 / n1`` and ``[l2, u2]`` of ``p2 = x2 / n2``::

    d     = p1 - p2
    lower = d - sqrt((p1 - l1)^2 + (u2 - p2)^2)
    upper = d + sqrt((u1 - p1)^2 + (p2 - l2)^2)

    Wilson: (p + z^2/2n -+ z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n)

It stays within [-1, 1], never collapses to a point when a group has no responder (or only
responders), and keeps close to nominal coverage for small and lopsided groups, where the plain
Wald interval does not (tests/analytics/test_lift.py simulates it).

Difference in means (``mean_difference``: revenue or margin per member): Welch's interval from
each group's ``n``, sum ``s`` and sum of squares ``q``::

    mean = s / n,   var = (q - s^2 / n) / (n - 1)          (sample variance)
    se   = sqrt(var1 / n1 + var2 / n2)
    df   = se^4 / ((var1/n1)^2 / (n1 - 1) + (var2/n2)^2 / (n2 - 1))     (Welch-Satterthwaite)
    d    = mean1 - mean2,   interval = d -+ t(0.975, df) * se

Per-member revenue is mostly zeros and skewed, so the t interval rests on the mean being close to
normal, which needs enough responders: simulated with a lognormal spend (tests), coverage of the
95% interval is 93-94% with about 50 or more responders in each group, and falls to about 91%
with 25 responders in the smaller group. Read revenue and margin intervals of small groups
(a value class with few responders) with that in mind.

Incremental margin and return on investment (``campaign_lift``)::

    incremental margin = (margin per member, treatment - control) * treatment members
    ROI                = (incremental margin - cost) / cost        (None when cost is 0)

Their intervals are the margin difference's interval scaled the same way (the group sizes and
the cost are fixed). A statistic that cannot be computed (an empty group, a mean from one
member) is ``None``, never NaN.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

__all__ = [
    "Estimate",
    "GroupSums",
    "Lift",
    "campaign_lift",
    "mean_difference",
    "proportion_difference",
    "wilson_interval",
]

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    """A point estimate and its interval; the bounds are ``None`` when it has none."""

    estimate: float | None
    ci_low: float | None
    ci_high: float | None

    @property
    def excludes_zero(self) -> bool:
        """The interval lies wholly above or below 0: distinguishable from no effect."""
        if self.ci_low is None or self.ci_high is None:
            return False
        return self.ci_low > 0 or self.ci_high < 0

    def scaled(self, factor: float, shift: float = 0.0) -> Estimate:
        """``factor * x + shift`` of each figure (``factor`` > 0 keeps the bounds in order)."""

        def f(x: float | None) -> float | None:
            return None if x is None else factor * x + shift

        return Estimate(f(self.estimate), f(self.ci_low), f(self.ci_high))


NONE = Estimate(None, None, None)


@dataclass(frozen=True)
class GroupSums:
    """What the report keeps per group: members, responders, sum and sum of squares of the
    revenue and of the margin each member brought in the window."""

    members: int = 0
    responders: int = 0
    revenue: float = 0.0
    revenue_sq: float = 0.0
    margin: float = 0.0
    margin_sq: float = 0.0

    def __add__(self, other: GroupSums) -> GroupSums:
        return GroupSums(
            self.members + other.members,
            self.responders + other.responders,
            self.revenue + other.revenue,
            self.revenue_sq + other.revenue_sq,
            self.margin + other.margin,
            self.margin_sq + other.margin_sq,
        )

    @property
    def response_rate(self) -> float | None:
        return self.responders / self.members if self.members else None

    @property
    def revenue_per_member(self) -> float | None:
        return self.revenue / self.members if self.members else None

    @property
    def margin_per_member(self) -> float | None:
        return self.margin / self.members if self.members else None


def _z(confidence: float) -> float:
    return float(stats.norm.ppf(0.5 + confidence / 2))


def wilson_interval(x: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval of the proportion ``x / n`` (``n`` > 0)."""
    if n <= 0 or not 0 <= x <= n:
        raise ValueError("need 0 <= x <= n and n > 0")
    z = _z(confidence)
    p = x / n
    z2 = z * z
    centre = p + z2 / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    denom = 1 + z2 / n
    return max(0.0, (centre - half) / denom), min(1.0, (centre + half) / denom)


def proportion_difference(x1: int, n1: int, x2: int, n2: int, confidence: float = CONFIDENCE) -> Estimate:
    """``x1/n1 - x2/n2`` with Newcombe's hybrid score interval (module docstring)."""
    if n1 <= 0 or n2 <= 0:
        return NONE
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = wilson_interval(x1, n1, confidence)
    l2, u2 = wilson_interval(x2, n2, confidence)
    d = p1 - p2
    lower = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return Estimate(d, max(-1.0, lower), min(1.0, upper))


def _variance(n: int, s: float, q: float) -> float:
    # max(0, ...): the sums are floats, and q - s^2/n of a constant group can come out as -1e-9.
    return max(0.0, (q - s * s / n) / (n - 1))


def mean_difference(
    n1: int, s1: float, q1: float, n2: int, s2: float, q2: float, confidence: float = CONFIDENCE
) -> Estimate:
    """``s1/n1 - s2/n2`` with Welch's interval from the sums ``s`` and sums of squares ``q``."""
    if n1 <= 0 or n2 <= 0:
        return NONE
    d = s1 / n1 - s2 / n2
    if n1 < 2 or n2 < 2:
        return Estimate(d, None, None)
    a = _variance(n1, s1, q1) / n1
    b = _variance(n2, s2, q2) / n2
    se = math.sqrt(a + b)
    if se == 0:
        # Both groups constant: no spread to estimate, and nothing varies to be uncertain about.
        return Estimate(d, d, d)
    df = (a + b) ** 2 / (a * a / (n1 - 1) + b * b / (n2 - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * se
    return Estimate(d, d - half, d + half)


@dataclass(frozen=True)
class Lift:
    """Treatment minus control (module docstring). ``roi`` is ``None`` when the cost is 0."""

    response_rate: Estimate
    revenue_per_member: Estimate
    margin_per_member: Estimate
    incremental_margin: Estimate
    roi: Estimate | None


def campaign_lift(treatment: GroupSums, control: GroupSums, cost: float = 0.0,
                  confidence: float = CONFIDENCE) -> Lift:
    """The differences, incremental margin and ROI of ``treatment`` over ``control``."""
    rate = proportion_difference(treatment.responders, treatment.members, control.responders, control.members,
                                 confidence)
    revenue = mean_difference(treatment.members, treatment.revenue, treatment.revenue_sq,
                              control.members, control.revenue, control.revenue_sq, confidence)
    margin = mean_difference(treatment.members, treatment.margin, treatment.margin_sq,
                             control.members, control.margin, control.margin_sq, confidence)
    incremental = margin.scaled(float(treatment.members)) if margin.estimate is not None else NONE
    roi: Estimate | None = None
    if cost > 0:
        roi = incremental.scaled(1.0 / cost, -1.0) if incremental.estimate is not None else NONE
    return Lift(rate, revenue, margin, incremental, roi)
