"""Channel preference: the empirical-Bayes prior and the smoothed choice of a channel."""

from __future__ import annotations

import numpy as np
import pytest

from patron.analytics.channels import (
    KAPPA_DEFAULT,
    KAPPA_MAX,
    ChannelPrior,
    ChannelTotals,
    channel_prior,
    preferred,
)


def _totals(pairs: list[tuple[int, int]]) -> ChannelTotals:
    return ChannelTotals(
        customers=len(pairs), contacts=sum(n for n, _ in pairs), responses=sum(r for _, r in pairs),
        sum_r2_over_n=sum(r * r / n for n, r in pairs), sum_n_minus_1=sum(n - 1 for n, _ in pairs),
    )


def test_answers_emails_never_calls_prefers_email():
    priors = {"email": ChannelPrior(0.2, 10.0), "phone": ChannelPrior(0.3, 10.0)}
    pref = preferred({"email": (4, 3), "phone": (5, 0)}, priors)
    assert pref is not None and pref.channel == "email"
    assert pref.rate == pytest.approx((3 + 10 * 0.2) / (4 + 10))
    assert (pref.contacts, pref.responses) == (4, 3)


def test_smoothing_pulls_a_single_contact_toward_the_channel_rate():
    priors = {"email": ChannelPrior(0.1, 10.0), "phone": ChannelPrior(0.4, 10.0)}
    # One answered email (raw rate 100%) against 4 of 10 calls (40%): smoothed, the email's
    # (1 + 1) / 11 = 0.18 is below the call's (4 + 4) / 20 = 0.40.
    pref = preferred({"email": (1, 1), "phone": (10, 4)}, priors)
    assert pref is not None and pref.channel == "phone"
    assert pref.rate == pytest.approx(0.4)


def test_never_contacted_has_no_preference():
    assert preferred({}, {}) is None
    assert preferred({"email": (0, 0)}, {"email": ChannelPrior(0.5, 10)}) is None


def test_prior_strength_from_the_spread_of_the_rates():
    rng = np.random.default_rng(5)
    # Customers' true rates Beta(2, 8): concentration 10, mean 0.2.
    pairs = []
    for _ in range(4000):
        p = rng.beta(2, 8)
        n = int(rng.integers(2, 12))
        pairs.append((n, int(rng.binomial(n, p))))
    prior = channel_prior(_totals(pairs))
    assert prior.rate == pytest.approx(0.2, abs=0.01)
    assert prior.strength == pytest.approx(10, rel=0.25)
    # Everyone alike (binomial spread only): the prior is as strong as allowed.
    alike = [(10, int(rng.binomial(10, 0.3))) for _ in range(4000)]
    assert channel_prior(_totals(alike)).strength > 100
    # One contact each: the spread cannot be told, the default strength.
    assert channel_prior(_totals([(1, 1), (1, 0)])).strength == KAPPA_DEFAULT
    assert channel_prior(_totals([])).rate == 0.0
    assert channel_prior(_totals(alike)).strength <= KAPPA_MAX
