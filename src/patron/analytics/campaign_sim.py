"""Promotion simulation: what a campaign to a segment is expected to bring, before it is sent.

The history is past campaigns' per-group counts and sums (:class:`PastGroup`: one row per
campaign, group — treatment or control — and value class at launch). The new campaign is the
segment's member count per value class (:class:`SegmentClass`), a control share and a cost.

**The model.** For each value class ``v`` and group ``g`` the response rate ``p[g, v]`` has a
Beta posterior pooled over the matching past campaigns::

    w_c   = 0.5 ** (age_days_c / HALF_LIFE_DAYS)           recency weight of campaign c
    e_c   = exposure of c (1 once its response window has closed; for a campaign still running,
            the elapsed fraction of its window: its responses so far are taken to be that share
            of what it will have, responses arriving evenly over the window)
    n_gv  = sum_c w_c * max(e_c * members_cgv, responders_cgv)     effective trials
    r_gv  = sum_c w_c * responders_cgv
    p[g, v] ~ Beta(s * q_g + r_gv, s * (1 - q_g) + n_gv - r_gv)

where ``q_g`` is the group's rate over all value classes (the same formula without ``v`` and
with the book's base rate ``base_rate`` as its own prior mean) and ``s = CLASS_PRIOR_STRENGTH``
pseudo-members: a value class the history barely saw gets its group's rate, one it saw often
gets its own. Margin per responder ``mu[g, v]`` is the weighted mean margin of the responders,
with the standard error from the sums of squares (``sd / sqrt(responders)``), shrunk to the
group's mean margin in the same way when the class has few responders.

The segment's treatment members per class are ``t_v = round(m_v * (1 - control_share))``;
``S`` Monte Carlo draws (seeded) of the posteriors give:

- expected responders ``sum_v t_v * p[T, v]`` (the interval also draws the binomial noise of
  the campaign itself, so it is the range of what the campaign will *show*);
- response rate = expected responders / treatment members (the interval: the posterior of the
  rate, without the campaign's own noise);
- incremental margin ``sum_v t_v * (p[T, v] * mu[T, v] - p[C, v] * mu[C, v])``: what the
  contacted members bring beyond what they would have bought anyway (the control group's rate);
- ROI ``(incremental margin - cost) / cost`` (none when the cost is 0).

Each figure is the mean of the draws with the central ``level`` interval (default 95%).

**No history** (``basis: "prior"``): the control rate is the book's base purchase rate within
the response window (``SegmentClass.base_rate``, e.g. from the expected purchases of the scores:
``1 - exp(-E90 * window / 90)``) with a weak Beta prior of ``PRIOR_STRENGTH`` pseudo-members;
the treatment rate is the control rate plus an uplift drawn from ``Normal(0, PRIOR_UPLIFT_SD)``
(zero-centred: no claim that the campaign works); margin per responder is the segment's margin
per order (``SegmentClass.margin_per_order``) with a 50% standard error. The figures are then a
guess to be replaced by the first campaign's results, and are flagged as such.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "CLASS_PRIOR_STRENGTH",
    "HALF_LIFE_DAYS",
    "PRIOR_STRENGTH",
    "PRIOR_UPLIFT_SD",
    "Estimate",
    "PastGroup",
    "SegmentClass",
    "Simulation",
    "exposure",
    "posterior_rate",
    "recency_weight",
    "simulate",
]

HALF_LIFE_DAYS = 365.0  # a campaign a year old counts half as much as one sent today
CLASS_PRIOR_STRENGTH = 10.0  # pseudo-members pulling a value class to its group's rate
PRIOR_STRENGTH = 10.0  # pseudo-members of the no-history prior (weak: wide intervals)
PRIOR_UPLIFT_SD = 0.02  # sd of the no-history uplift, in rate points (2 pp)
MARGIN_PRIOR_RESPONDERS = 5.0  # pseudo-responders pulling a class's margin to its group's
DRAWS = 4000

TREATMENT, CONTROL = "treatment", "control"


@dataclass(frozen=True)
class PastGroup:
    """One past campaign's group within one value class (sums over its members)."""

    campaign_id: int
    group: str  # "treatment" or "control"
    value_class: str
    members: int
    responders: int
    margin_sum: float = 0.0  # over the responders
    margin_sq: float = 0.0  # sum of squared margins of the responders
    revenue_sum: float = 0.0
    weight: float = 1.0  # recency_weight(...)
    exposure: float = 1.0  # exposure(...)


@dataclass(frozen=True)
class SegmentClass:
    """The new campaign's segment within one value class."""

    value_class: str
    members: int
    base_rate: float = 0.05  # P(ordering within the window) without a campaign: the prior's
    margin_per_order: float = 0.0  # the prior's margin per responder


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float
    high: float

    def as_dict(self, digits: int = 4) -> dict[str, float]:
        return {"value": round(self.value, digits), "low": round(self.low, digits), "high": round(self.high, digits)}


@dataclass(frozen=True)
class Simulation:
    basis: str  # "history" or "prior"
    campaigns: int  # past campaigns used
    history_members: int  # their members (treatment and control)
    members: int
    treatment_members: int
    control_members: int
    expected_responders: Estimate
    response_rate: Estimate
    control_rate: Estimate
    incremental_responders: Estimate
    incremental_margin: Estimate
    cost: float
    roi: Estimate | None
    level: float
    by_value_class: list[dict[str, object]] = field(default_factory=list)


def recency_weight(age_days: float) -> float:
    """``0.5 ** (age / HALF_LIFE_DAYS)``; a campaign dated in the future counts fully."""
    return float(0.5 ** (max(age_days, 0.0) / HALF_LIFE_DAYS))


def exposure(elapsed_days: float, window_days: int) -> float:
    """The share of a campaign's response window that has passed, in [1/window, 1]."""
    window = max(int(window_days), 1)
    return float(min(max(elapsed_days, 1.0) / window, 1.0))


def _interval(draws: np.ndarray, level: float) -> Estimate:
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(draws, [tail, 1.0 - tail])
    return Estimate(float(draws.mean()), float(low), float(high))


@dataclass
class _Pool:
    trials: float = 0.0
    responders: float = 0.0
    margin: float = 0.0
    margin_sq: float = 0.0
    margin_n: float = 0.0  # weighted responders whose margin is known

    def add(self, row: PastGroup) -> None:
        w = row.weight
        self.trials += w * max(row.exposure * row.members, row.responders)
        self.responders += w * row.responders
        self.margin += w * row.margin_sum
        self.margin_sq += w * row.margin_sq
        self.margin_n += w * row.responders


def _pools(history: Iterable[PastGroup]) -> tuple[dict[str, _Pool], dict[tuple[str, str], _Pool]]:
    by_group: dict[str, _Pool] = {TREATMENT: _Pool(), CONTROL: _Pool()}
    by_class: dict[tuple[str, str], _Pool] = {}
    for row in history:
        if row.group not in by_group or row.members <= 0:
            continue
        by_group[row.group].add(row)
        by_class.setdefault((row.group, row.value_class), _Pool()).add(row)
    return by_group, by_class


def _margin_moments(pool: _Pool, prior_mean: float, prior_sd: float) -> tuple[float, float]:
    """Posterior mean and sd of margin per responder: the pool's mean shrunk to ``prior_mean``
    by MARGIN_PRIOR_RESPONDERS pseudo-responders; the sd is the standard error of the mean."""
    k = MARGIN_PRIOR_RESPONDERS
    n = pool.margin_n
    if n <= 0:
        return prior_mean, prior_sd
    mean = pool.margin / n
    var = max(pool.margin_sq / n - mean * mean, 0.0)
    post_mean = (k * prior_mean + n * mean) / (k + n)
    se = np.sqrt(var / max(n, 1.0)) if n > 1 else prior_sd
    post_sd = float(np.sqrt((k * prior_sd**2 + n * se**2) / (k + n)))
    return float(post_mean), post_sd


def simulate(
    segment: Sequence[SegmentClass],
    history: Sequence[PastGroup],
    *,
    control_share: float = 0.1,
    cost: float = 0.0,
    level: float = 0.95,
    draws: int = DRAWS,
    seed: int = 0,
) -> Simulation:
    """The expected result of a campaign to ``segment`` learned from ``history`` (see the module
    docstring for the model); ``history`` empty or without members gives the prior guess."""
    if not 0.0 < control_share < 1.0:
        raise ValueError(f"control_share must be in (0, 1), got {control_share!r}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    if cost < 0:
        raise ValueError(f"cost must not be negative, got {cost!r}")
    rng = np.random.default_rng(seed)
    by_group, by_class = _pools(history)
    has_history = by_group[TREATMENT].trials > 0 and by_group[CONTROL].trials > 0
    members = sum(max(c.members, 0) for c in segment)
    book_rate = (
        sum(c.base_rate * c.members for c in segment) / members if members else
        (segment[0].base_rate if segment else 0.05)
    )
    book_margin = (
        sum(c.margin_per_order * c.members for c in segment) / members if members else 0.0
    )

    responders = np.zeros(draws)
    treat_rate_num = np.zeros(draws)
    control_resp = np.zeros(draws)
    incr_margin = np.zeros(draws)
    treat_total = 0
    control_total = 0
    rows: list[dict[str, object]] = []
    for cls in segment:
        t = round(max(cls.members, 0) * (1.0 - control_share))
        treat_total += t
        control_total += max(cls.members, 0) - t
        if has_history:
            p = {}
            mu = {}
            for g in (TREATMENT, CONTROL):
                gp = by_group[g]
                s_all = CLASS_PRIOR_STRENGTH
                q = (s_all * book_rate + gp.responders) / (s_all + gp.trials)
                cp = by_class.get((g, cls.value_class), _Pool())
                a = CLASS_PRIOR_STRENGTH * q + cp.responders
                b = CLASS_PRIOR_STRENGTH * (1.0 - q) + max(cp.trials - cp.responders, 0.0)
                p[g] = rng.beta(a, b, size=draws)
                g_mean, g_sd = _margin_moments(gp, book_margin, abs(book_margin) * 0.5 + 1e-9)
                m_mean, m_sd = _margin_moments(cp, g_mean, g_sd)
                mu[g] = rng.normal(m_mean, m_sd, size=draws)
        else:
            base = min(max(cls.base_rate, 1e-6), 1 - 1e-6)
            p_c = rng.beta(PRIOR_STRENGTH * base, PRIOR_STRENGTH * (1 - base), size=draws)
            p_t = np.clip(p_c + rng.normal(0.0, PRIOR_UPLIFT_SD, size=draws), 0.0, 1.0)
            p = {TREATMENT: p_t, CONTROL: p_c}
            sd = abs(cls.margin_per_order) * 0.5
            mu = {g: rng.normal(cls.margin_per_order, sd, size=draws) if sd > 0 else
                  np.full(draws, cls.margin_per_order) for g in (TREATMENT, CONTROL)}
        seen = rng.binomial(t, p[TREATMENT]) if t > 0 else np.zeros(draws)
        responders += seen
        treat_rate_num += t * p[TREATMENT]
        control_resp += t * p[CONTROL]
        margin_v = t * (p[TREATMENT] * mu[TREATMENT] - p[CONTROL] * mu[CONTROL])
        incr_margin += margin_v
        rows.append({
            "value_class": cls.value_class,
            "members": int(cls.members),
            "treatment_members": t,
            "response_rate": round(float(p[TREATMENT].mean()), 4),
            "control_rate": round(float(p[CONTROL].mean()), 4),
            "incremental_margin": round(float(margin_v.mean()), 2),
        })

    denom = max(treat_total, 1)
    incremental = treat_rate_num - control_resp
    roi = _interval((incr_margin - cost) / cost, level) if cost > 0 else None
    rate = _interval(treat_rate_num / denom, level)
    expected = _interval(responders, level)
    # The mean of the expected responders is the model's expectation (t * p), not the draws'.
    expected = Estimate(float(treat_rate_num.mean()), expected.low, expected.high)
    return Simulation(
        basis="history" if has_history else "prior",
        campaigns=len({r.campaign_id for r in history if r.members > 0}) if has_history else 0,
        history_members=sum(r.members for r in history) if has_history else 0,
        members=members,
        treatment_members=treat_total,
        control_members=control_total,
        expected_responders=expected,
        response_rate=rate,
        control_rate=_interval(control_resp / denom, level),
        incremental_responders=_interval(incremental, level),
        incremental_margin=_interval(incr_margin, level),
        cost=float(cost),
        roi=roi,
        level=level,
        by_value_class=rows,
    )


def posterior_rate(history: Sequence[PastGroup], group: str, value_class: str, base_rate: float) -> float:
    """The posterior mean of ``p[group, value_class]`` (the closed form the draws average to)."""
    by_group, by_class = _pools(history)
    gp = by_group[group]
    q = (CLASS_PRIOR_STRENGTH * base_rate + gp.responders) / (CLASS_PRIOR_STRENGTH + gp.trials)
    cp = by_class.get((group, value_class), _Pool())
    return float((CLASS_PRIOR_STRENGTH * q + cp.responders) / (CLASS_PRIOR_STRENGTH + cp.trials))
