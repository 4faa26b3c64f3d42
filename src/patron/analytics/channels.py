"""Channel preference: on which channel does a customer answer when contacted?

Each contact on a channel (a campaign message, a survey invitation) either got a response or did
not. A customer's own rate ``r / n`` on a channel is noisy when ``n`` is small, so it is smoothed
toward that channel's book-wide rate with an empirical-Bayes Beta prior::

    p_c      = R_c / N_c                      book-wide response rate of channel c
    kappa_c  = prior strength (pseudo-contacts), from the spread of the customers' rates
    rate_ic  = (r_ic + kappa_c * p_c) / (n_ic + kappa_c)      posterior mean of customer i on c

``kappa_c`` is the method-of-moments estimate of the Beta-binomial's concentration: with
``x_i = r_i / n_i`` over the customers contacted on c,

    S   = sum_i n_i (x_i - p_c)^2 = sum_i r_i^2 / n_i - 2 p_c R_c + p_c^2 N_c
    rho = (S / (p_c (1 - p_c)) - k) / sum_i (n_i - 1)      (k customers; rho: intra-class corr.)
    kappa_c = 1 / rho - 1, clipped to [KAPPA_MIN, KAPPA_MAX]

(no spread beyond the binomial's — ``rho <= 0`` — means customers hardly differ: KAPPA_MAX; too
few repeat contacts to tell — ``sum (n_i - 1) = 0`` or ``p_c`` 0 or 1 — gives KAPPA_DEFAULT).

The preferred channel is the one with the highest posterior mean among the channels the customer
was contacted on at least once (ties: more contacts, then the channel's name); a customer never
contacted has none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["KAPPA_DEFAULT", "KAPPA_MAX", "KAPPA_MIN", "ChannelPrior", "ChannelTotals", "Preference", "channel_prior",
           "preferred"]

KAPPA_MIN, KAPPA_MAX, KAPPA_DEFAULT = 1.0, 1000.0, 10.0


@dataclass(frozen=True)
class ChannelTotals:
    """One channel's contacts over the book, aggregated per customer and then summed."""

    customers: int  # k: customers contacted at least once on the channel
    contacts: int  # N
    responses: int  # R
    sum_r2_over_n: float  # sum_i r_i^2 / n_i
    sum_n_minus_1: float  # sum_i (n_i - 1)


@dataclass(frozen=True)
class ChannelPrior:
    rate: float  # p_c
    strength: float  # kappa_c


@dataclass(frozen=True)
class Preference:
    channel: str
    rate: float  # posterior mean response rate on it
    contacts: int
    responses: int


def channel_prior(t: ChannelTotals) -> ChannelPrior:
    """The channel's Beta prior (mean and strength) from its book-wide totals (formula above)."""
    if t.contacts <= 0:
        return ChannelPrior(0.0, KAPPA_DEFAULT)
    p = t.responses / t.contacts
    if t.sum_n_minus_1 <= 0 or p <= 0.0 or p >= 1.0:
        return ChannelPrior(p, KAPPA_DEFAULT)
    s = t.sum_r2_over_n - 2 * p * t.responses + p * p * t.contacts
    rho = (s / (p * (1 - p)) - t.customers) / t.sum_n_minus_1
    if rho <= 0:
        return ChannelPrior(p, KAPPA_MAX)
    kappa = 1.0 / rho - 1.0 if rho < 1 else KAPPA_MIN
    return ChannelPrior(p, min(max(kappa, KAPPA_MIN), KAPPA_MAX))


def preferred(
    counts: Mapping[str, tuple[int, int]], priors: Mapping[str, ChannelPrior]
) -> Preference | None:
    """The preferred channel of one customer from ``{channel: (contacts, responses)}``."""
    best: Preference | None = None
    for channel in sorted(counts):
        n, r = counts[channel]
        if n <= 0:
            continue
        prior = priors.get(channel, ChannelPrior(0.0, KAPPA_DEFAULT))
        rate = (r + prior.strength * prior.rate) / (n + prior.strength)
        candidate = Preference(channel, rate, int(n), int(r))
        if best is None or (rate, n) > (best.rate, best.contacts):
            best = candidate
    return best
