"""Synthetic CRM data drawn from a known process (pure: numpy and pandas, no Django).

The process, per customer (time in weeks; see docs/generator.md for every parameter):

* acquisition at a random moment in the history (``earlier_cohort_share`` of customers before
  the observation window), with a first purchase at that moment;
* a latent satisfaction ``sat ~ N(0, 1)``;
* BG/NBD repeat purchasing: rate ``λ ~ Gamma(r, α)``, base dropout ``p_base ~ Beta(a, b)`` and
  ``logit(p) = logit(p_base) − β_sat·sat``; after each repeat purchase the customer drops out
  with probability ``p``;
* Gamma-Gamma spend: ``ν ~ Gamma(q, γ)`` and each order's value ``z ~ Gamma(p_spend, ν)``;
* 1–5 lines per order, products drawn by popularity plus planted bundles (known lift);
* order channels from a per-customer Dirichlet preference;
* cost-to-serve events (deliveries, returns, tickets, claims, visits) with a heavy-tailed
  per-customer cost intensity, interactions, and NPS answers driven by satisfaction.

Data come in blocks of ``BLOCK_SIZE`` customers, each drawn from its own RNG stream
(``SeedSequence(seed, spawn_key=(block,))``), so the same seed and size give the same data
whatever chunk size the writer uses, and memory stays bounded at any size.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd

from patron.generator import prospects, vocab

BLOCK_SIZE = 10_000
TRUTH_VERSION = 3  # 2: experiences (bad_experiences, left_after_bad, follow-ups); 3: the sales pipeline
CATALOGUE_SEED = 20251231  # the catalogue is the same for every seed: products are shared
CONTACT_CHANNELS = ["call", "email", "meeting", "visit", "chat", "claim", "complaint"]
COST_KINDS = ["ticket", "return", "delivery", "claim", "visit"]
WEEK_S = 7 * 86_400
YEAR_S = 365.25 * 86_400
# Dialling codes of the branch cities, for company landlines.
AREA_CODES = ["21", "571", "25", "10", "22", "531", "20", "755", "592", "28", "23", "29"]


@dataclass(frozen=True)
class Population:
    """Parameters of the process. Rates are per year unless named otherwise; money in CNY."""

    end: str = "2025-12-31"  # last local day of data
    utc_offset_hours: float = 8.0  # local time of the business (China has no DST)
    window_years: float = 3.0  # observation window ending at `end`
    history_years: float = 5.0  # earliest acquisition
    earlier_cohort_share: float = 0.25  # acquired before the window
    prospect_share: float = 0.04  # leads that have not bought yet
    company_share: float = 0.15
    chinese_share: float = 0.75  # customers with Chinese names who answer in Chinese
    # BG/NBD, time unit one week.
    r: float = 0.9
    alpha: float = 15.0
    a: float = 1.3
    b: float = 6.0
    beta_sat: float = 0.8  # logit(p) = logit(p_base) − beta_sat·sat
    # Gamma-Gamma spend per order.
    spend_p: float = 6.0
    spend_q: float = 4.0
    spend_gamma: float = 300.0
    company_spend_multiplier: float = 4.0  # companies' orders are m times larger (γ·m)
    # Baskets: lines = 1 + Binomial(lines_extra_n, lines_extra_p), at most 5.
    lines_extra_n: int = 4
    lines_extra_p: float = 0.4
    bundle_rate: float = 0.3  # share of orders built around a planted bundle
    popularity_exponent: float = 0.8  # Zipf exponent of product popularity
    # Channels: Dirichlet concentration of the preference, and extra mass on the
    # acquisition channel.
    channel_concentration: float = 2.0
    channel_boost: float = 2.0
    # Attitude.
    nps_intercept: float = 8.3  # answers after bad experiences pull the NPS down to about −2
    nps_slope: float = 1.6
    nps_noise: float = 1.0
    survey_rate: float = 0.15  # share of orders followed by a survey answer
    # Experiences: the order after which a customer leaves was a bad experience with
    # probability bad_if_leaving, any other order with probability bad_if_staying. A bad
    # experience lowers satisfaction by experience_shock, which heals with a half-life of
    # shock_half_life_weeks, and leads to a complaint with probability bad_complaint_rate.
    bad_if_leaving: float = 0.7
    bad_if_staying: float = 0.05
    experience_shock: float = 2.0
    shock_half_life_weeks: float = 26.0
    bad_complaint_rate: float = 0.6
    bad_survey_rate: float = 0.5  # survey answers after a bad experience (vs survey_rate)
    # Every detractor answer (0-6) opens a follow-up; it is closed after an exponential delay,
    # except a share that stays open (the customer cannot be reached or is not satisfied).
    follow_up_close_days: float = 10.0
    follow_up_unresolved: float = 0.1
    follow_up_unresolved_leaving: float = 0.5  # for the order after which the customer left
    # When set, a case still unresolved this many days after it opened is closed as "could not
    # reach the customer", as a team that clears its queue would (the demo: its call-backs are
    # recent). None keeps them open to the end, which the churn tests' attitude signal relies on.
    follow_up_give_up_days: float | None = None
    comment_rate: float = 0.5
    consent_email_rate: float = 0.7
    consent_survey_rate: float = 0.6
    # Cost to serve. Intensity κ ~ Gamma(cost_shape, cost_shape)·exp(−cost_sat·sat).
    cost_shape: float = 0.35
    cost_sat: float = 0.3
    delivery_share: float = 0.8  # remote orders that ship
    delivery_base: float = 15.0
    delivery_rate: float = 0.01  # of the order value
    return_a: float = 1.0  # per-customer return propensity ~ Beta(return_a, return_b)
    return_b: float = 24.0
    return_handling: float = 30.0
    return_share: float = 0.08  # of the order value
    ticket_rate: float = 0.5
    ticket_cost: float = 60.0
    claim_rate: float = 0.03
    claim_cost: float = 900.0  # median; log-normal with σ 0.8
    visit_rate_company: float = 2.0
    visit_cost: float = 300.0
    active_tail_days: float = 90.0  # a lapsed customer still costs this long after the last order
    # Interactions.
    complaint_rate: float = 0.15
    complaint_sat: float = 1.0  # complaints ∝ exp(−complaint_sat·sat)
    meeting_rate_company: float = 1.0
    outreach_rate: float = 0.4
    # Derived labels.
    key_account_revenue: float = 22_000.0  # companies at or above this revenue
    active_days: float = 180.0
    lapsed_days: float = 365.0
    # Money is simulated in the base currency. This share of customers is billed in
    # foreign_currency at rates around foreign_rate (base units per foreign unit); see
    # generator/currencies.py. 0 by default: everyone buys in the base currency.
    foreign_share: float = 0.0
    foreign_currency: str = "USD"
    foreign_rate: float = 7.1
    # The sales pipeline (generator/prospects.py): leads, opportunities and their stages, won
    # with a known probability (docs/generator.md, "Leads and opportunities").
    prospect_years: float = 2.0  # deals are opened over the last years before `end`
    prospect_lead_rate: float = 0.1  # leads that never convert, per customer
    prospect_converted_share: float = 0.15  # customers acquired in prospect_years who came from a lead
    prospect_lead_company_share: float = 0.35
    prospect_lead_opportunity_share: float = 0.6  # unconverted leads with a deal
    prospect_company_deal_rate: float = 0.4  # deals a year per company customer
    prospect_person_deal_rate: float = 0.03
    prospect_source_mix: tuple[tuple[str, float], ...] = (
        ("web", 0.25), ("referral", 0.12), ("event", 0.10), ("campaign", 0.18),
        ("cold_call", 0.17), ("partner", 0.10), ("other", 0.08),
    )
    prospect_stage_weeks: float = 3.0  # median weeks per stage (the pace w)
    prospect_pace_sigma: float = 0.5  # w = prospect_stage_weeks · LogNormal(0, σ)
    prospect_stall_factor: float = 2.5  # the stage a lost deal dies in lasts this much longer
    prospect_stalled_weeks: float = 8.0  # an open deal this long in its stage is stalled
    prospect_activity_per_week: float = 0.7  # mean calls and meetings a week (Gamma)
    prospect_activity_shape: float = 2.0
    prospect_lost_at: tuple[float, ...] = (0.4, 0.3, 0.2, 0.1)  # qualify, meet, propose, negotiate
    # logit P(won): intercept + source + channel (web is the reference of both) + size + activity + pace.
    prospect_intercept: float = -0.2  # calibrated: about 38% of deals are time-wasters
    prospect_source_effects: tuple[tuple[str, float], ...] = (
        ("web", 0.0), ("referral", 1.0), ("event", 0.4), ("campaign", -0.4),
        ("cold_call", -1.0), ("partner", 0.8), ("other", -0.5),
    )
    prospect_channel_effects: tuple[tuple[str, float], ...] = (
        ("store", 0.4), ("web", 0.0), ("phone", -0.4), ("agent", 0.5), ("app", -0.5), ("partner", 0.6),
    )
    prospect_size_effect: float = 0.3  # per log(employees / 40), companies
    prospect_activity_effect: float = 1.0  # per log(activity rate / mean)
    prospect_pace_effect: float = -1.2  # per log(weeks per stage / prospect_stage_weeks)

    def replace(self, **changes: Any) -> Population:
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown population parameters: {', '.join(sorted(unknown))}")
        return Population(**{**asdict(self), **changes})

    @property
    def end_utc(self) -> datetime:
        """The moment data end: midnight after `end`, local time, as UTC."""
        local_midnight = datetime.combine(date.fromisoformat(self.end) + timedelta(days=1), datetime.min.time())
        return (local_midnight - timedelta(hours=self.utc_offset_hours)).replace(tzinfo=timezone.utc)  # noqa: UP017


@dataclass
class Chunk:
    """One slice of customers and everything they did, one DataFrame per table.

    Keys: ``customer_index`` is global (0..N−1); ``order_index`` is local to the chunk.
    Money is in integer cents (``*_cents``) so totals are exact; times are datetime64[s] UTC.
    """

    customers: pd.DataFrame
    contacts: pd.DataFrame
    orders: pd.DataFrame
    lines: pd.DataFrame
    cost_events: pd.DataFrame
    interactions: pd.DataFrame
    responses: pd.DataFrame
    truth: pd.DataFrame
    follow_ups: pd.DataFrame  # ``response_index``: row of ``responses`` (local to the chunk)
    # The sales pipeline (generator/prospects.py); ``lead_index`` and ``opportunity_index`` are
    # local to the chunk. ``opportunities["p_win_true"]`` is the true probability of winning.
    leads: pd.DataFrame = field(default_factory=pd.DataFrame)
    opportunities: pd.DataFrame = field(default_factory=pd.DataFrame)
    stage_changes: pd.DataFrame = field(default_factory=pd.DataFrame)
    extra: dict[str, Any] = field(default_factory=dict)

    @staticmethod
    def concat(chunks: list[Chunk]) -> Chunk:
        if len(chunks) == 1:
            return chunks[0]
        orders, lines, follow_ups = [], [], []
        leads, opportunities, changes = [], [], []
        offset = answered = n_leads = n_opps = 0
        for c in chunks:
            orders.append(c.orders.assign(order_index=c.orders["order_index"] + offset))
            lines.append(c.lines.assign(order_index=c.lines["order_index"] + offset))
            follow_ups.append(c.follow_ups.assign(response_index=c.follow_ups["response_index"] + answered))
            offset += len(c.orders)
            answered += len(c.responses)
            if len(c.leads.columns):
                o = c.opportunities
                leads.append(c.leads.assign(lead_index=c.leads["lead_index"] + n_leads))
                opportunities.append(o.assign(
                    opportunity_index=o["opportunity_index"] + n_opps,
                    lead_index=o["lead_index"].where(o["lead_index"] < 0, o["lead_index"] + n_leads),
                    from_lead=o["from_lead"].where(o["from_lead"] < 0, o["from_lead"] + n_leads),
                ))
                changes.append(c.stage_changes.assign(opportunity_index=c.stage_changes["opportunity_index"] + n_opps))
                n_leads += len(c.leads)
                n_opps += len(o)

        def cat(frames: list[pd.DataFrame]) -> pd.DataFrame:
            return pd.concat(frames, ignore_index=True)

        return Chunk(
            customers=cat([c.customers for c in chunks]),
            contacts=cat([c.contacts for c in chunks]),
            orders=cat(orders),
            lines=cat(lines),
            cost_events=cat([c.cost_events for c in chunks]),
            interactions=cat([c.interactions for c in chunks]),
            responses=cat([c.responses for c in chunks]),
            truth=cat([c.truth for c in chunks]),
            follow_ups=cat(follow_ups),
            leads=cat(leads) if leads else pd.DataFrame(),
            opportunities=cat(opportunities) if opportunities else pd.DataFrame(),
            stage_changes=cat(changes) if changes else pd.DataFrame(),
        )


# --------------------------------------------------------------------------- catalogue


@functools.lru_cache(maxsize=1)
def catalogue() -> pd.DataFrame:
    """The fixed product catalogue (same for every seed), with popularity weights."""
    rng = np.random.default_rng(CATALOGUE_SEED)
    rows = []
    for cat_zh, cat_en, items in vocab.CATEGORIES:
        for item_zh, item_en, typical in items:
            base = typical * float(rng.uniform(0.85, 1.15))
            for var_zh, var_en, factor in vocab.VARIANTS:
                price = max(round(base * factor) - 0.1, 0.9)  # shelf prices end in .9
                margin = rng.uniform(0.15, 0.60)
                name = f"{item_zh} {item_en}" if factor == 1.0 else f"{item_zh}（{var_zh}） {item_en}, {var_en}"
                rows.append(
                    {
                        "item": item_en,
                        "variant": var_en,
                        "name": name,
                        "category": f"{cat_zh} {cat_en}",
                        "category_zh": cat_zh,
                        "category_en": cat_en,
                        "list_price_cents": round(price * 100),
                        "margin": margin,
                    }
                )
    products = pd.DataFrame(rows)
    products["unit_cost_cents"] = np.rint(products["list_price_cents"] * (1 - products["margin"])).astype(np.int64)
    n = len(products)
    products.insert(0, "product_index", np.arange(n))
    products["sku"] = [f"GEN-{i + 1:04d}" for i in range(n)]
    products["external_id"] = [f"gen-p{i + 1:04d}" for i in range(n)]
    products["popularity_rank"] = rng.permutation(n) + 1
    return products


def _popularity(params: Population) -> np.ndarray:
    """Zipf weights over the catalogue's fixed popularity ranks."""
    w = 1.0 / catalogue()["popularity_rank"].to_numpy() ** params.popularity_exponent
    return w / w.sum()


def bundles() -> list[dict[str, Any]]:
    """The planted bundles as product indices (standard variants) with their weights."""
    products = catalogue()
    std = products[products["variant"] == "standard"].set_index("item")["product_index"]
    total = sum(w for _, w in vocab.BUNDLES)
    return [
        {"items": [int(std[i]) for i in items], "names": list(items), "weight": w / total}
        for items, w in vocab.BUNDLES
    ]


# --------------------------------------------------------------------------- helpers


def _expit(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


def expected_repeat_purchases(lam: np.ndarray, p: np.ndarray, t: np.ndarray) -> np.ndarray:
    """E[X(t) | λ, p] of the BG/NBD process: (1 − exp(−λ·p·t)) / p."""
    return -np.expm1(-lam * p * t) / p


def _categorical_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One draw per row from row-wise probabilities."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(len(probs)) * cum[:, -1]
    return np.minimum((u[:, None] > cum).sum(axis=1), probs.shape[1] - 1)


def _uniform_times(rng: np.random.Generator, owner: np.ndarray, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    return start[owner] + rng.random(len(owner)) * (stop[owner] - start[owner])


def draw_lines(
    rng: np.random.Generator, value: np.ndarray, params: Population
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Lines of orders worth ``value`` (CNY): products, quantities and unit prices in cents.

    Returns (products, quantities, prices, bundle): (n, 5) matrices with −1/0 where there is
    no line, and the planted bundle each order was built around (−1 for none). Each line gets
    a Dirichlet share of the order value and a product, by popularity, whose list price fits
    that share; the quantity rounds share/price, and one price factor per order (a discount or
    surcharge, usually within ±25%) makes the lines add up to the drawn value.
    """
    n = len(value)
    pop = _popularity(params)
    list_cents = catalogue()["list_price_cents"].to_numpy()
    list_cny = list_cents / 100
    bl = bundles()
    k = 1 + rng.binomial(params.lines_extra_n, params.lines_extra_p, n)
    is_bundle = rng.random(n) < params.bundle_rate
    bundle_id = np.where(is_bundle, rng.choice(len(bl), n, p=[b["weight"] for b in bl]), -1)
    slots = np.full((n, 5), -1, dtype=np.int64)
    target = np.zeros((n, 5))
    fixed = np.zeros(n)  # value taken by the bundle's items, one of each
    for j, b in enumerate(bl):
        size = len(b["items"])
        cost = list_cny[b["items"]].sum()
        rows = np.flatnonzero(bundle_id == j)
        rows_ok = rows[cost <= 1.3 * value[rows]]
        bundle_id[np.setdiff1d(rows, rows_ok)] = -1  # too dear for this order: no bundle
        k[rows_ok] = np.maximum(k[rows_ok], size)
        slots[rows_ok, :size] = b["items"]
        target[rows_ok, :size] = list_cny[b["items"]]
        fixed[rows_ok] = cost
    k = np.minimum(k, 5)
    cols = np.arange(5)[None, :]
    free = (cols < k[:, None]) & (slots < 0)
    share = rng.gamma(1.0, 1.0, (n, 5)) * free
    total = share.sum(axis=1, keepdims=True)
    rest = np.maximum(value - fixed, 0.0)[:, None]
    target = np.where(free, rest * share / np.where(total > 0, total, 1.0), target)
    # Popularity draws, redrawn while the product is dearer than 1.3× the line's share.
    cheapest = int(np.argmin(list_cents))
    todo = free.copy()
    for _ in range(40):
        if not todo.any():
            break
        cand = rng.choice(len(pop), int(todo.sum()), p=pop)
        ok = list_cny[cand] <= 1.3 * target[todo]
        taken = np.zeros_like(todo)
        taken[todo] = ok
        slots[taken] = cand[ok]
        # A product appears once per order: a later copy goes back into the draw.
        for j in range(1, 5):
            dup = taken[:, j] & (slots[:, j : j + 1] == slots[:, :j]).any(axis=1)
            slots[dup, j] = -1
            taken[dup, j] = False
        todo &= ~taken
    # Shares too small for any product are dropped; an order keeps at least one line.
    slots[todo] = -1
    empty = (slots < 0).all(axis=1)
    slots[empty, 0] = cheapest
    target[empty, 0] = value[empty]
    valid = slots >= 0
    # Left-align the lines so line numbers run 1..k.
    order = np.argsort(~valid, axis=1, kind="stable")
    slots = np.take_along_axis(slots, order, axis=1)
    target = np.take_along_axis(target, order, axis=1)
    valid = slots >= 0
    safe = np.where(valid, slots, 0)
    # Value left by dropped lines (or by a bundle alone) goes to the remaining lines.
    target = np.where(valid, target, 0.0)
    target *= (value / target.sum(axis=1))[:, None]
    qty = np.where(valid, np.maximum(1, np.rint(target / list_cny[safe])), 0).astype(np.int64)
    factor = value * 100 / (qty * list_cents[safe]).sum(axis=1)
    price = np.where(valid, np.maximum(1, np.rint(list_cents[safe] * factor[:, None])), 0).astype(np.int64)
    return slots, qty, price, bundle_id


def _fmt_phone_mobile(rng: np.random.Generator, n: int) -> list[str]:
    prefixes = rng.choice(vocab.MOBILE_PREFIXES, n)
    a = rng.integers(0, 10_000, n)
    b = rng.integers(0, 10_000, n)
    return [f"+86 {p} {x:04d} {y:04d}" for p, x, y in zip(prefixes, a, b, strict=True)]


# --------------------------------------------------------------------------- one block


def simulate_block(seed: int, block: int, n: int, params: Population) -> Chunk:
    """Customers ``block·BLOCK_SIZE … +n`` and all their records, from their own RNG stream."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block,)))
    start = block * BLOCK_SIZE
    idx = start + np.arange(n)
    end_s = int(params.end_utc.timestamp())
    offset_s = int(params.utc_offset_hours * 3600)

    # ---- who they are
    is_company = rng.random(n) < params.company_share
    is_zh = rng.random(n) < params.chinese_share
    is_prospect = rng.random(n) < params.prospect_share
    branch = rng.choice(len(vocab.BRANCHES), n, p=np.array(vocab.BRANCH_WEIGHTS) / sum(vocab.BRANCH_WEIGHTS))
    region = np.array([b[1] for b in vocab.BRANCHES])[branch]
    sat = rng.standard_normal(n)
    lam = rng.gamma(params.r, 1.0 / params.alpha, n)
    p_base = rng.beta(params.a, params.b, n)
    p = _expit(_logit(p_base) - params.beta_sat * sat)
    # Companies buy bigger orders: ν/m ~ Gamma(q, m·γ), so spend scales by m.
    nu = rng.gamma(params.spend_q, 1.0 / params.spend_gamma, n) / np.where(is_company, params.company_spend_multiplier, 1.0)
    spend_mean = params.spend_p / nu
    cost_int = rng.gamma(params.cost_shape, 1.0 / params.cost_shape, n) * np.exp(-params.cost_sat * sat)
    return_prop = rng.beta(params.return_a, params.return_b, n)
    consent_email = rng.random(n) < params.consent_email_rate
    consent_survey = rng.random(n) < params.consent_survey_rate

    # Acquisition channel, its cost, and order-channel preferences centred on it.
    acq_probs = np.where(
        is_company[:, None],
        np.array([0.10, 0.15, 0.15, 0.30, 0.05, 0.25]),
        np.array([0.30, 0.25, 0.05, 0.05, 0.25, 0.10]),
    )
    acq_channel = _categorical_rows(rng, acq_probs)
    acq_base_cost = np.array([60.0, 90.0, 120.0, 400.0, 70.0, 250.0])
    acq_cost_cents = np.rint(acq_base_cost[acq_channel] * rng.lognormal(0.0, 0.4, n) * 100).astype(np.int64)
    pref_alpha = params.channel_concentration * 6 * acq_probs
    pref_alpha[np.arange(n), acq_channel] += params.channel_boost
    g = rng.gamma(pref_alpha)
    pref = g / g.sum(axis=1, keepdims=True)

    # When they were acquired.
    earlier = rng.random(n) < params.earlier_cohort_share
    years_before = np.where(
        earlier,
        rng.uniform(params.window_years, params.history_years, n),
        rng.uniform(0.0, params.window_years, n),
    )
    acq_s = np.floor(end_s - years_before * YEAR_S).astype(np.int64)
    t_weeks = (end_s - acq_s) / WEEK_S

    # ---- BG/NBD repeat purchases: N Poisson events in (0, T], dropout after the J-th.
    n_events = np.where(is_prospect, 0, rng.poisson(lam * t_weeks))
    j_drop = rng.geometric(p)
    n_repeat = np.minimum(n_events, j_drop)
    alive = ~is_prospect & (n_events < j_drop)
    owner = np.repeat(np.arange(n), n_events)
    u = rng.random(len(owner))
    order_in_cust = np.lexsort((u, owner))
    u = u[order_in_cust]
    starts = np.concatenate([[0], np.cumsum(n_events)[:-1]])
    rank = np.arange(len(owner)) - starts[owner]
    keep = rank < n_repeat[owner]
    rep_owner, rep_u = owner[keep], u[keep]
    rep_s = acq_s[rep_owner] + np.floor(rep_u * (end_s - acq_s[rep_owner])).astype(np.int64)

    buyers = np.flatnonzero(~is_prospect)
    o_cust = np.concatenate([buyers, rep_owner])
    o_s = np.concatenate([acq_s[buyers], rep_s])
    o_sort = np.lexsort((o_s, o_cust))
    o_cust, o_s = o_cust[o_sort], o_s[o_sort]
    n_orders = len(o_cust)
    o_value = rng.gamma(params.spend_p, 1.0 / nu[o_cust])  # z ~ Gamma(p, ν)
    o_channel = _categorical_rows(rng, pref[o_cust])
    in_branch = np.isin(o_channel, [0, 3])  # store and agent orders belong to a branch
    o_branch = np.where(in_branch, branch[o_cust], -1)

    # ---- lines: products from baskets, quantities so the lines add up to the order value.
    products = catalogue()
    cost_cents = products["unit_cost_cents"].to_numpy()
    slots, qty, price, bundle_id = draw_lines(rng, o_value, params)
    valid = slots >= 0
    safe = np.where(valid, slots, 0)
    amount = qty * price
    cogs = qty * np.where(valid, cost_cents[safe], 0)
    o_revenue = amount.sum(axis=1)
    o_cogs = cogs.sum(axis=1)
    rows, cols = np.nonzero(valid)
    line_no = np.cumsum(valid, axis=1)[rows, cols]
    lines = pd.DataFrame(
        {
            "order_index": rows,
            "line_no": line_no,
            "product_index": slots[rows, cols],
            "quantity": qty[rows, cols],
            "unit_price_cents": price[rows, cols],
            "unit_cost_cents": cost_cents[slots[rows, cols]],
            "amount_cents": amount[rows, cols],
        }
    )
    orders = pd.DataFrame(
        {
            "order_index": np.arange(n_orders),
            "customer_index": idx[o_cust],
            "channel": np.array(vocab.SALES_CHANNELS)[o_channel],
            "branch_index": o_branch,
            "ordered_at": o_s.astype("datetime64[s]"),
            "revenue_cents": o_revenue,
            "cogs_cents": o_cogs,
            "bundle": bundle_id,
            "value_drawn": o_value,
        }
    )

    # ---- experiences. Dropout follows BG/NBD exactly (after the J-th repeat purchase); what
    # the data add is *why*: the order after which a customer leaves was usually a bad
    # experience, and bad experiences show in what the customer says before the purchases stop.
    last_of_customer = np.r_[o_cust[1:] != o_cust[:-1], True] if n_orders else np.zeros(0, dtype=bool)
    leaving = last_of_customer & ~alive[o_cust]
    bad = rng.random(n_orders) < np.where(leaving, params.bad_if_leaving, params.bad_if_staying)
    shock_state = _shock_state(o_cust, o_s, bad, acq_s, params)
    orders["bad_experience"] = bad

    # ---- cost to serve
    last_s = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last_s, o_cust, o_s)
    first_s = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_s, o_cust, o_s)
    active_end = np.where(
        alive | is_prospect, end_s, np.minimum(end_s, last_s + int(params.active_tail_days * 86_400))
    )
    active_years = np.maximum(active_end - acq_s, 0) / YEAR_S
    ev_parts: list[pd.DataFrame] = []

    remote = np.isin(o_channel, [1, 2, 4, 5])
    ships = remote & (rng.random(n_orders) < params.delivery_share)
    d_amount = params.delivery_base * rng.uniform(0.6, 1.4, n_orders) + params.delivery_rate * o_value
    ev_parts.append(pd.DataFrame({"c": o_cust[ships], "kind": "delivery", "s": o_s[ships], "amount": d_amount[ships]}))
    returned = rng.random(n_orders) < return_prop[o_cust]
    r_s = o_s + rng.integers(2 * 86_400, 20 * 86_400, n_orders)
    returned &= r_s < end_s
    r_amount = params.return_handling * rng.uniform(0.5, 1.5, n_orders) + params.return_share * o_value
    ev_parts.append(pd.DataFrame({"c": o_cust[returned], "kind": "return", "s": r_s[returned], "amount": r_amount[returned]}))

    def poisson_events(kind: str, rate: np.ndarray) -> pd.DataFrame:
        """Events at a per-customer yearly rate, uniform over the customer's active period."""
        counts = rng.poisson(rate * active_years)
        who = np.repeat(np.arange(n), counts)
        when = _uniform_times(rng, who, acq_s.astype(np.float64), active_end.astype(np.float64))
        return pd.DataFrame({"c": who, "kind": kind, "s": np.floor(when).astype(np.int64), "amount": 0.0})

    tickets = poisson_events("ticket", params.ticket_rate * cost_int)
    tickets["amount"] = params.ticket_cost * rng.lognormal(-0.125, 0.5, len(tickets))
    claims = poisson_events("claim", params.claim_rate * cost_int)
    claims["amount"] = rng.lognormal(np.log(params.claim_cost), 0.8, len(claims))
    visits = poisson_events("visit", params.visit_rate_company * is_company)
    visits["amount"] = params.visit_cost * rng.uniform(0.5, 1.5, len(visits))
    ev_parts += [tickets, claims, visits]
    events = pd.concat(ev_parts, ignore_index=True)
    events["amount_cents"] = np.rint(events["amount"].to_numpy(dtype=np.float64) * 100).astype(np.int64)
    events = events.sort_values(["c", "s", "kind"], kind="stable", ignore_index=True)
    cost_events = pd.DataFrame(
        {
            "customer_index": idx[events["c"].to_numpy()],
            "kind": events["kind"].to_numpy(),
            "occurred_at": events["s"].to_numpy().astype("datetime64[s]"),
            "amount_cents": events["amount_cents"].to_numpy(),
        }
    )

    # ---- interactions: one per ticket, claim and visit; complaints; meetings; outreach.
    t_channel = rng.choice(["call", "email", "chat"], len(tickets), p=[0.45, 0.3, 0.25])
    complaints = poisson_events("complaint", params.complaint_rate * np.exp(-params.complaint_sat * sat))
    # ... plus one after a bad experience, a few days after the order.
    b_rows = np.flatnonzero(bad & (rng.random(n_orders) < params.bad_complaint_rate))
    b_s = o_s[b_rows] + rng.integers(3600, 10 * 86_400, len(b_rows))
    b_rows, b_s = b_rows[b_s < end_s], b_s[b_s < end_s]
    complaints = pd.concat(
        [complaints, pd.DataFrame({"c": o_cust[b_rows], "kind": "complaint", "s": b_s, "amount": 0.0})],
        ignore_index=True,
    )
    meetings = poisson_events("meeting", params.meeting_rate_company * is_company)
    outreach = poisson_events("outreach", np.full(n, params.outreach_rate))
    o_channel_out = rng.choice(["call", "email"], len(outreach), p=[0.6, 0.4])
    inter = pd.concat(
        [
            pd.DataFrame({"c": tickets["c"], "s": tickets["s"], "topic": "ticket", "channel": t_channel, "direction": "in"}),
            pd.DataFrame({"c": claims["c"], "s": claims["s"], "topic": "claim", "channel": "claim", "direction": "in"}),
            pd.DataFrame({"c": visits["c"], "s": visits["s"], "topic": "visit", "channel": "visit", "direction": "out"}),
            pd.DataFrame({"c": complaints["c"], "s": complaints["s"], "topic": "complaint", "channel": "complaint", "direction": "in"}),
            pd.DataFrame({"c": meetings["c"], "s": meetings["s"], "topic": "meeting", "channel": "meeting", "direction": "out"}),
            pd.DataFrame({"c": outreach["c"], "s": outreach["s"], "topic": "outreach", "channel": o_channel_out, "direction": "out"}),
        ],
        ignore_index=True,
    ).sort_values(["c", "s", "topic"], kind="stable", ignore_index=True)
    ic = inter["c"].to_numpy()
    lang = np.where(is_zh, "zh", "en")
    pick = rng.random(len(inter))
    subjects = []
    for topic, lg, x in zip(inter["topic"].to_numpy(), lang[ic], pick, strict=True):
        options = vocab.SUBJECTS[topic][lg]
        subjects.append(options[int(x * len(options))])
    interactions = pd.DataFrame(
        {
            "customer_index": idx[ic],
            "channel": inter["channel"].to_numpy(),
            "direction": inter["direction"].to_numpy(),
            "subject": subjects,
            "occurred_at": inter["s"].to_numpy().astype("datetime64[s]"),
            "topic": inter["topic"].to_numpy(),
        }
    )

    # ---- NPS answers after some orders of consenting customers.
    # Customers with something to complain about answer more often.
    answer_rate = np.where(bad, params.bad_survey_rate, params.survey_rate)
    surveyed = consent_survey[o_cust] & (rng.random(n_orders) < answer_rate)
    a_s = o_s + rng.integers(12 * 3600, 7 * 86_400, n_orders)
    surveyed &= a_s < end_s
    s_rows = np.flatnonzero(surveyed)
    s_cust = o_cust[s_rows]
    noise = rng.normal(0.0, params.nps_noise, len(s_rows))
    # The answer reflects satisfaction when it is given: the baseline minus unhealed shocks.
    sat_now = sat[s_cust] - shock_state.at(s_rows, a_s[s_rows])
    score = np.clip(np.rint(params.nps_intercept + params.nps_slope * sat_now + noise), 0, 10).astype(np.int64)
    has_comment = rng.random(len(s_rows)) < params.comment_rate
    sentiment = np.where(score <= 6, "neg", np.where(score >= 9, "pos", np.where(rng.random(len(s_rows)) < 0.5, "neg", "pos")))
    theme_neg = rng.choice(len(vocab.THEMES), len(s_rows), p=vocab.THEME_WEIGHTS["neg"])
    theme_pos = rng.choice(len(vocab.THEMES), len(s_rows), p=vocab.THEME_WEIGHTS["pos"])
    theme_idx = np.where(sentiment == "neg", theme_neg, theme_pos)
    tpl_pick = rng.random(len(s_rows))
    first_product = slots[s_rows, 0]
    cat_zh = products["category_zh"].to_numpy()[first_product]
    cat_en = products["category_en"].to_numpy()[first_product].astype(object)
    r_lang = lang[s_cust]
    comments: list[str] = []
    themes: list[str | None] = []
    for i in range(len(s_rows)):
        if not has_comment[i]:
            comments.append("")
            themes.append(None)
            continue
        theme = vocab.THEMES[theme_idx[i]]
        options = vocab.COMMENTS[theme][r_lang[i]][sentiment[i]]
        text = options[int(tpl_pick[i] * len(options))]
        comments.append(text.format(cat=cat_zh[i] if r_lang[i] == "zh" else str(cat_en[i]).lower()))
        themes.append(theme)
    responses = pd.DataFrame(
        {
            "customer_index": idx[s_cust],
            "customer_external_id": [f"gen-{seed}-c{i}" for i in idx[s_cust]],
            "answered_at": a_s[s_rows].astype("datetime64[s]"),
            "touchpoint": "purchase",
            "channel": orders["channel"].to_numpy()[s_rows],
            "score": score,
            "comment": comments,
            "language": r_lang,
            "theme": pd.array(themes, dtype="string"),
            "sentiment": pd.Series(sentiment, dtype="string").where(has_comment).array,
        }
    )

    # ---- follow-ups: every detractor answer opens one, as the feedback app's default rule does.
    det = np.flatnonzero(score <= 6)
    opened = a_s[s_rows[det]]
    close_s = opened + np.rint(rng.exponential(params.follow_up_close_days * 86_400, len(det))).astype(np.int64)
    # Customers who have left are hard to reach: their cases stay open more often.
    unresolved = np.where(leaving[s_rows[det]], params.follow_up_unresolved_leaving, params.follow_up_unresolved)
    still_open = (rng.random(len(det)) < unresolved) | (close_s >= end_s)
    gave_up = np.zeros(len(det), dtype=bool)
    if params.follow_up_give_up_days is not None:
        give_up_s = opened + int(params.follow_up_give_up_days * 86_400)
        gave_up = still_open & (give_up_s < end_s)
        close_s = np.where(gave_up, give_up_s, close_s)
        still_open &= ~gave_up
    follow_ups = pd.DataFrame(
        {
            "response_index": det,
            "customer_index": idx[s_cust[det]],
            "score": score[det],
            "opened_at": opened.astype("datetime64[s]"),
            "closed_at": pd.to_datetime(np.where(still_open, np.iinfo(np.int64).min, close_s), unit="s", errors="coerce").to_numpy(dtype="datetime64[s]"),
            "reached": ~gave_up,
        }
    )

    # ---- customer records and running totals (exact, in cents).
    revenue = np.bincount(o_cust, weights=o_revenue, minlength=n).astype(np.int64)
    cogs_total = np.bincount(o_cust, weights=o_cogs, minlength=n).astype(np.int64)
    cts = np.bincount(events["c"].to_numpy(), weights=events["amount_cents"].to_numpy(), minlength=n).astype(np.int64)
    order_count = np.bincount(o_cust, minlength=n)
    recency_days = np.where(last_s >= 0, (end_s - last_s) / 86_400, np.inf)
    stage = np.select(
        [is_prospect, alive & (recency_days <= params.active_days), alive, recency_days <= params.lapsed_days],
        ["prospect", "active", "at_risk", "lapsed"],
        "lost",
    )
    is_key = is_company & (revenue >= params.key_account_revenue * 100)
    names, emails, phones, addresses, cities = _identities(rng, idx, is_company, is_zh, branch)
    acq_local_day = ((acq_s + offset_s) // 86_400).astype("datetime64[D]")
    customers = pd.DataFrame(
        {
            "customer_index": idx,
            "external_id": [f"gen-{seed}-c{i}" for i in idx],
            "kind": np.where(is_company, "company", "person"),
            "name": names,
            "email": emails,
            "phone": phones,
            "city": cities,
            "address": addresses,
            "branch_index": branch,
            "region_index": region,
            "stage": stage,
            "acquired_on": acq_local_day,
            "acquired_at": acq_s.astype("datetime64[s]"),
            "acquisition_channel": np.array(vocab.SALES_CHANNELS)[acq_channel],
            "acquisition_cost_cents": acq_cost_cents,
            "is_key_account": is_key,
            "consent_email": consent_email,
            "consent_survey": consent_survey,
            "language": lang,
            "revenue_cents": revenue,
            "cogs_cents": cogs_total,
            "cost_to_serve_cents": cts,
            "profit_cents": revenue - cogs_total - cts,
            "order_count": order_count,
            "first_order_at": pd.to_datetime(np.where(order_count > 0, first_s, np.iinfo(np.int64).min), unit="s", errors="coerce").to_numpy(dtype="datetime64[s]"),
            "last_order_at": pd.to_datetime(np.where(order_count > 0, last_s, np.iinfo(np.int64).min), unit="s", errors="coerce").to_numpy(dtype="datetime64[s]"),
        }
    )
    contacts = _contacts(rng, idx, is_company, is_zh, customers["email"].to_numpy(), consent_email, consent_survey)

    truth = pd.DataFrame(
        {
            "customer_index": idx,
            "external_id": customers["external_id"],
            "kind": customers["kind"],
            "language": lang,
            "is_prospect": is_prospect,
            "acquired_at": acq_s.astype("datetime64[s]"),
            "T_weeks": t_weeks,
            "lam": lam,
            "p_base": p_base,
            "p": p,
            "satisfaction": sat,
            "bad_experiences": np.bincount(o_cust, weights=bad, minlength=n).astype(np.int64),
            "left_after_bad": np.bincount(o_cust, weights=bad & leaving, minlength=n) > 0,
            "alive_at_end": alive,
            "n_repeat": n_repeat,
            "expected_repeat": np.where(is_prospect, 0.0, expected_repeat_purchases(lam, p, t_weeks)),
            "dropout_at": pd.to_datetime(np.where(~alive & ~is_prospect, last_s, np.iinfo(np.int64).min), unit="s", errors="coerce").to_numpy(dtype="datetime64[s]"),
            "spend_nu": nu,
            "spend_mean": spend_mean,
            "cost_intensity": cost_int,
            "return_propensity": return_prop,
            "stage": stage,
            **{f"pref_{c}": pref[:, k] for k, c in enumerate(vocab.SALES_CHANNELS)},
        }
    )
    # The sales pipeline, from a stream of its own: every figure above is unchanged by it.
    leads, opportunities, stage_changes = prospects.simulate_prospects(seed, block, params, customers, contacts, end_s)
    return Chunk(
        customers, contacts, orders, lines, cost_events, interactions, responses, truth, follow_ups,
        leads=leads, opportunities=opportunities, stage_changes=stage_changes,
    )


@dataclass(frozen=True)
class _ShockState:
    """Unhealed experience shocks per order: ``shock·Σ exp(−(t − t_k)/τ)`` over bad orders k.

    Kept as a running sum of ``exp((t_k − acquisition)/τ)`` within each customer (orders are
    sorted by customer and time), so the state at any later moment is one multiplication.
    """

    cum: np.ndarray  # per order: Σ over the customer's bad orders up to this one
    origin: np.ndarray  # per order: the customer's acquisition, epoch seconds
    tau_s: float
    shock: float

    def at(self, rows: np.ndarray, when: np.ndarray) -> np.ndarray:
        """Shock left at ``when`` from bad orders up to and including order ``rows``."""
        return self.shock * self.cum[rows] * np.exp(-(when - self.origin[rows]) / self.tau_s)


def _shock_state(
    o_cust: np.ndarray, o_s: np.ndarray, bad: np.ndarray, acq_s: np.ndarray, params: Population
) -> _ShockState:
    tau_s = params.shock_half_life_weeks * WEEK_S / np.log(2.0)
    origin = acq_s[o_cust]
    x = np.where(bad, np.exp((o_s - origin) / tau_s), 0.0)
    total = np.cumsum(x)
    # Restart the running sum at each customer's first order.
    first = np.r_[True, o_cust[1:] != o_cust[:-1]] if len(o_cust) else np.zeros(0, dtype=bool)
    before = np.where(first, total - x, 0.0)
    cum = total - np.maximum.accumulate(before)
    return _ShockState(cum, origin.astype(np.float64), float(tau_s), params.experience_shock)


def _identities(
    rng: np.random.Generator, idx: np.ndarray, is_company: np.ndarray, is_zh: np.ndarray, branch: np.ndarray
) -> tuple[list[str], list[str], list[str], list[str], list[str]]:
    n = len(idx)
    sw = np.array([s[2] for s in vocab.CN_SURNAMES])
    sur = rng.choice(len(vocab.CN_SURNAMES), n, p=sw / sw.sum())
    giv = rng.integers(0, len(vocab.CN_GIVEN), n)
    first = rng.integers(0, len(vocab.EN_FIRST), n)
    last = rng.integers(0, len(vocab.EN_LAST), n)
    trade = rng.integers(0, len(vocab.CN_TRADE_NAMES), n)
    industry = rng.integers(0, len(vocab.INDUSTRIES), n)
    suffix = rng.integers(0, len(vocab.EN_COMPANY_SUFFIX), n)
    domain = rng.integers(0, len(vocab.PERSON_MAIL_DOMAINS), n)
    district_pick = rng.random(n)
    street = rng.integers(0, len(vocab.STREETS), n)
    house = rng.integers(1, 400, n)
    mobiles = _fmt_phone_mobile(rng, n)
    land = rng.integers(10_000_000, 100_000_000, n)
    names, emails, phones, addresses, cities = [], [], [], [], []
    for i in range(n):
        b = vocab.BRANCHES[branch[i]]
        city_zh, districts = b[2], b[4]
        num = int(idx[i])
        if is_company[i]:
            t_zh, t_py, t_en = vocab.CN_TRADE_NAMES[trade[i]]
            ind_zh, ind_en, ind_dom = vocab.INDUSTRIES[industry[i]]
            if is_zh[i]:
                names.append(f"{city_zh}{t_zh}{ind_zh}有限公司")
            else:
                names.append(f"{t_en} {ind_en} {vocab.EN_COMPANY_SUFFIX[suffix[i]]}")
            emails.append(f"info{num}@{t_py}-{ind_dom}.com.cn")
            phones.append(f"+86 {AREA_CODES[branch[i]]} {land[i]}")
        else:
            if is_zh[i]:
                s_zh, s_py, _ = vocab.CN_SURNAMES[sur[i]]
                g_zh, g_py = vocab.CN_GIVEN[giv[i]]
                names.append(f"{s_zh}{g_zh}")
                local = f"{g_py}.{s_py}{num}"
            else:
                f_en, l_en = vocab.EN_FIRST[first[i]], vocab.EN_LAST[last[i]]
                names.append(f"{f_en} {l_en}")
                local = f"{f_en}.{l_en}{num}".lower()
            emails.append(f"{local}@{vocab.PERSON_MAIL_DOMAINS[domain[i]]}")
            phones.append(mobiles[i])
        district = districts[int(district_pick[i] * len(districts))]
        addresses.append(f"{city_zh}市{district}{vocab.STREETS[street[i]]}{house[i]}号")
        cities.append(f"{city_zh} {b[3]}")
    return names, emails, phones, addresses, cities


def _contacts(
    rng: np.random.Generator,
    idx: np.ndarray,
    is_company: np.ndarray,
    is_zh: np.ndarray,
    company_email: np.ndarray,
    consent_email: np.ndarray,
    consent_survey: np.ndarray,
) -> pd.DataFrame:
    companies = np.flatnonzero(is_company)
    per = 1 + rng.binomial(2, 0.5, len(companies))
    who = np.repeat(companies, per)
    m = len(who)
    rank = np.arange(m) - np.repeat(np.cumsum(per) - per, per)
    sw = np.array([s[2] for s in vocab.CN_SURNAMES])
    sur = rng.choice(len(vocab.CN_SURNAMES), m, p=sw / sw.sum())
    giv = rng.integers(0, len(vocab.CN_GIVEN), m)
    first = rng.integers(0, len(vocab.EN_FIRST), m)
    last = rng.integers(0, len(vocab.EN_LAST), m)
    title = rng.integers(0, len(vocab.JOB_TITLES_ZH), m)
    phones = _fmt_phone_mobile(rng, m)
    names, titles, emails = [], [], []
    for i in range(m):
        c = who[i]
        dom = str(company_email[c]).split("@", 1)[1]
        if is_zh[c]:
            s_zh, s_py, _ = vocab.CN_SURNAMES[sur[i]]
            g_zh, g_py = vocab.CN_GIVEN[giv[i]]
            names.append(f"{s_zh}{g_zh}")
            titles.append(vocab.JOB_TITLES_ZH[title[i]])
            emails.append(f"{g_py}.{s_py}@{dom}")
        else:
            f_en, l_en = vocab.EN_FIRST[first[i]], vocab.EN_LAST[last[i]]
            names.append(f"{f_en} {l_en}")
            titles.append(vocab.JOB_TITLES_EN[title[i]])
            emails.append(f"{f_en}.{l_en}@{dom}".lower())
    return pd.DataFrame(
        {
            "customer_index": idx[who],
            "name": names,
            "title": titles,
            "email": emails,
            "phone": phones,
            "is_primary": rank == 0,
            "consent_email": consent_email[who],
            "consent_survey": consent_survey[who],
        }
    )


# --------------------------------------------------------------------------- public API


def iter_chunks(
    customers: int, seed: int, *, chunk_size: int = 20_000, params: Population | None = None
) -> Iterator[Chunk]:
    """Yield the data set in chunks of about ``chunk_size`` customers (whole blocks)."""
    if customers <= 0:
        raise ValueError("customers must be positive")
    if seed < 0:
        raise ValueError("seed must be zero or positive")
    params = params or Population()
    blocks_per_chunk = max(1, -(-chunk_size // BLOCK_SIZE))
    n_blocks = -(-customers // BLOCK_SIZE)
    for first in range(0, n_blocks, blocks_per_chunk):
        parts = []
        for block in range(first, min(first + blocks_per_chunk, n_blocks)):
            n = min(BLOCK_SIZE, customers - block * BLOCK_SIZE)
            parts.append(simulate_block(seed, block, n, params))
        yield Chunk.concat(parts)


def simulate(customers: int, seed: int, params: Population | None = None) -> Chunk:
    """The whole data set in memory — for tests and notebooks, not for millions."""
    return Chunk.concat(list(iter_chunks(customers, seed, chunk_size=customers, params=params)))


@functools.lru_cache(maxsize=8)
def _basket_lifts(params: Population, n_orders: int = 200_000) -> list[dict[str, Any]]:
    """Pair lifts of the planted bundles, measured on a large sample of the basket process."""
    rng = np.random.default_rng(CATALOGUE_SEED)
    # Order values follow the Gamma-Gamma mixture, since affordability shapes the baskets.
    company = rng.random(n_orders) < params.company_share
    nu = rng.gamma(params.spend_q, 1.0 / params.spend_gamma, n_orders)
    nu /= np.where(company, params.company_spend_multiplier, 1.0)
    slots, _, _, _ = draw_lines(rng, rng.gamma(params.spend_p, 1.0 / nu), params)
    n_products = len(catalogue())
    has = np.zeros((n_orders, n_products), dtype=bool)
    rows, cols = np.nonzero(slots >= 0)
    has[rows, slots[rows, cols]] = True
    support = has.mean(axis=0)
    names = catalogue()["name"].to_numpy()
    out = []
    for b in bundles():
        items = b["items"]
        for i in range(len(items)):
            for j in range(i + 1, len(items)):
                x, y = items[i], items[j]
                both = float((has[:, x] & has[:, y]).mean())
                out.append(
                    {
                        "a": int(x),
                        "b": int(y),
                        "a_name": str(names[x]),
                        "b_name": str(names[y]),
                        "support": round(both, 6),
                        "lift": round(both / (support[x] * support[y]), 3),
                    }
                )
    return out


def population_truth(params: Population | None = None) -> dict[str, Any]:
    """The known population: parameters and the expectations they imply (JSON-ready)."""
    params = params or Population()
    rng = np.random.default_rng(CATALOGUE_SEED + 1)
    m = 400_000
    sat = rng.standard_normal(m)
    p = _expit(_logit(rng.beta(params.a, params.b, m)) - params.beta_sat * sat)
    mean_lines = 1 + params.lines_extra_n * params.lines_extra_p
    return {
        "version": TRUTH_VERSION,
        "block_size": BLOCK_SIZE,
        "time_unit": "week",
        "params": asdict(params),
        "end_utc": params.end_utc.isoformat(),
        "derived": {
            "mean_lambda_per_week": params.r / params.alpha,
            "mean_p_base": params.a / (params.a + params.b),
            "mean_p": float(p.mean()),
            "mean_order_value": params.spend_p * params.spend_gamma / (params.spend_q - 1),
            "mean_lines_per_order_before_bundles": mean_lines,
            "nps_formula": "clip(round(nps_intercept + nps_slope·sat + N(0, nps_noise)), 0, 10)",
            "dropout_formula": "logit(p) = logit(p_base) − beta_sat·sat",
            "prospect_win_formula": (
                "logit P(won) = prospect_intercept + source effect + channel effect"
                " + prospect_size_effect·log(employees/40) [companies]"
                " + prospect_activity_effect·log(activity rate/prospect_activity_per_week)"
                " + prospect_pace_effect·log(weeks per stage/prospect_stage_weeks)"
            ),
            "answer_satisfaction": "sat − experience_shock·Σ 2^(−weeks since each earlier bad order / shock_half_life_weeks)",
        },
        "products": len(catalogue()),
        "bundles": [{"items": b["items"], "names": b["names"], "weight": b["weight"]} for b in bundles()],
        "bundle_pair_lifts": _basket_lifts(params),
        "themes": vocab.THEMES,
        "theme_weights": vocab.THEME_WEIGHTS,
        "campaigns": [],  # campaigns with a known uplift per segment: not generated yet
    }
