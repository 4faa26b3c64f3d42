"""The sales pipeline of a simulated block: leads, opportunities and their stage changes, drawn
from a known qualification process (pure: numpy and pandas, no Django).

Called by ``simulate.simulate_block`` with the block's customers, from an RNG stream of its own
(``SeedSequence(seed, spawn_key=(block, PROSPECT_STREAM))``), so the customers, orders and every
other figure of a seed are the same as without it.

**Who.** Every customer who never bought (stage *prospect*) and ``prospect_converted_share`` of
the customers acquired in the last ``prospect_years`` came from a lead, converted at their
acquisition; ``prospect_lead_rate`` leads per customer never convert. An opportunity is opened on
each converted lead shortly before its conversion (it moved to the customer then, as
``sales.services`` moves a converted lead's deals in progress), on ``prospect_lead_opportunity_share``
of the other leads, and on customers at ``prospect_company_deal_rate`` / ``prospect_person_deal_rate``
a year over the last ``prospect_years``.

**The ground truth.** Each opportunity has a source, a channel, a company size (employees, for
companies), a latent activity rate ``a`` (calls and meetings a week, Gamma with mean
``prospect_activity_per_week``) and a latent pace ``w`` (weeks per stage, log-normal around
``prospect_stage_weeks``). It is won with probability

    p_win = expit(prospect_intercept + source effect + channel effect
                  + prospect_size_effect · log(employees / 40)        [companies; 0 for people]
                  + prospect_activity_effect · log(a / prospect_activity_per_week)
                  + prospect_pace_effect · log(w / prospect_stage_weeks))

(web is the reference of sources and channels). A winner passes qualify, meet, propose and
negotiate; a loser is lost at one of them (``prospect_lost_at``). Each stage lasts ``w`` ×
Gamma(3, 1/3) weeks, the stage a deal dies in ``prospect_stall_factor`` times longer (lost deals
stall first). Activities logged = Poisson(a × weeks open). A deal whose close falls after the end
is open at the end, in the stage it had reached. A **time-waster** is lost at qualify or meet,
or open at the end and stalled (more than ``prospect_stalled_weeks`` in its stage); the intercept
is calibrated so that about 38% of opportunities are time-wasters.

``params`` is a ``simulate.Population`` (not imported: simulate imports this module).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from patron.generator import vocab

PROSPECT_STREAM = 1  # the second part of the spawn key of the prospects' RNG stream
SOURCES = ["web", "referral", "event", "campaign", "cold_call", "partner", "other"]
OPEN_STAGES = ["qualify", "meet", "propose", "negotiate"]
WEEK_S = 7 * 86_400
SIZE_REFERENCE = 40.0  # employees at which the size term is 0
LOST_REASONS = ["No budget", "Chose a competitor", "No decision", "Price too high", "Bad timing", "Stopped answering"]
WON_REASONS = ["Best price", "Product fit", "Trusted relationship", "Fast delivery"]
DISQUALIFY_REASONS = ["Not a fit", "No budget", "Unreachable", "Duplicate"]
TOPIC_ZH = ["采购", "年度合作", "试用订单", "批量订货"]
TOPIC_EN = ["purchase", "annual agreement", "trial order", "bulk order"]


def _pick(rng: np.random.Generator, pairs: tuple[tuple[str, float], ...], n: int) -> np.ndarray:
    keys = np.array([k for k, _ in pairs])
    w = np.array([v for _, v in pairs], dtype=np.float64)
    return keys[rng.choice(len(keys), n, p=w / w.sum())]


def _effect(pairs: tuple[tuple[str, float], ...], values: np.ndarray) -> np.ndarray:
    table = dict(pairs)
    return np.array([table.get(str(v), 0.0) for v in values], dtype=np.float64)


def win_logit(params: Any, source: np.ndarray, channel: np.ndarray, employees: np.ndarray,
              activity_rate: np.ndarray, pace_weeks: np.ndarray) -> np.ndarray:
    """The true log-odds of winning (module docstring); ``employees`` NaN for people."""
    size = np.where(np.isnan(employees), 0.0, np.log(np.where(np.isnan(employees), 1.0, employees) / SIZE_REFERENCE))
    return (
        params.prospect_intercept
        + _effect(params.prospect_source_effects, source)
        + _effect(params.prospect_channel_effects, channel)
        + params.prospect_size_effect * size
        + params.prospect_activity_effect * np.log(activity_rate / params.prospect_activity_per_week)
        + params.prospect_pace_effect * np.log(pace_weeks / params.prospect_stage_weeks)
    )


def _person_names(rng: np.random.Generator, zh: np.ndarray) -> tuple[list[str], list[str]]:
    """Names and e-mail local parts for new people (leads who are not customers)."""
    n = len(zh)
    sw = np.array([s[2] for s in vocab.CN_SURNAMES])
    sur = rng.choice(len(vocab.CN_SURNAMES), n, p=sw / sw.sum())
    giv = rng.integers(0, len(vocab.CN_GIVEN), n)
    first = rng.integers(0, len(vocab.EN_FIRST), n)
    last = rng.integers(0, len(vocab.EN_LAST), n)
    names, locals_ = [], []
    for i in range(n):
        if zh[i]:
            s_zh, s_py, _ = vocab.CN_SURNAMES[sur[i]]
            g_zh, g_py = vocab.CN_GIVEN[giv[i]]
            names.append(f"{s_zh}{g_zh}")
            locals_.append(f"{g_py}.{s_py}")
        else:
            f_en, l_en = vocab.EN_FIRST[first[i]], vocab.EN_LAST[last[i]]
            names.append(f"{f_en} {l_en}")
            locals_.append(f"{f_en}.{l_en}".lower())
    return names, locals_


def _new_leads(rng: np.random.Generator, params: Any, seed: int, block: int, m: int, end_s: int) -> pd.DataFrame:
    """Leads that never become customers of the book."""
    is_company = rng.random(m) < params.prospect_lead_company_share
    zh = rng.random(m) < params.chinese_share
    names, locals_ = _person_names(rng, zh)
    trade = rng.integers(0, len(vocab.CN_TRADE_NAMES), m)
    industry = rng.integers(0, len(vocab.INDUSTRIES), m)
    branch = rng.choice(len(vocab.BRANCHES), m, p=np.array(vocab.BRANCH_WEIGHTS) / sum(vocab.BRANCH_WEIGHTS))
    prefix = rng.choice(vocab.MOBILE_PREFIXES, m)
    number = rng.integers(0, 100_000_000, m)
    companies, emails = [], []
    for i in range(m):
        t_zh, t_py, t_en = vocab.CN_TRADE_NAMES[trade[i]]
        ind_zh, ind_en, ind_dom = vocab.INDUSTRIES[industry[i]]
        tag = f"{block}x{i}"
        if is_company[i]:
            city = vocab.BRANCHES[branch[i]][2]
            companies.append(f"{city}{t_zh}{ind_zh}有限公司" if zh[i] else f"{t_en} {ind_en} Co., Ltd.")
            emails.append(f"{locals_[i]}{tag}@{t_py}-{ind_dom}.com.cn")
        else:
            companies.append("")
            emails.append(f"{locals_[i]}{tag}@{vocab.PERSON_MAIL_DOMAINS[int(trade[i]) % len(vocab.PERSON_MAIL_DOMAINS)]}")
    acq_probs = np.where(is_company[:, None], np.array([0.10, 0.15, 0.15, 0.30, 0.05, 0.25]),
                         np.array([0.30, 0.25, 0.05, 0.05, 0.25, 0.10]))
    cum = np.cumsum(acq_probs, axis=1)
    channel = np.minimum((rng.random(m)[:, None] > cum).sum(axis=1), 5)
    created = end_s - np.floor(rng.random(m) * params.prospect_years * 365.25 * 86_400).astype(np.int64)
    return pd.DataFrame({
        "customer_index": np.full(m, -1, dtype=np.int64),
        "external_id": [f"gen-{seed}-l{block}-{i}" for i in range(m)],
        "is_company": is_company,
        "language": np.where(zh, "zh", "en"),
        "name": names,
        "company": companies,
        "email": emails,
        "phone": [f"+86 {p} {x // 10_000:04d} {x % 10_000:04d}" for p, x in zip(prefix, number.tolist(), strict=True)],
        "branch_index": branch,
        "region_index": np.array([b[1] for b in vocab.BRANCHES])[branch],
        "owner_key": block * 1_000_003 + np.arange(m),
        "channel": np.array(vocab.SALES_CHANNELS)[channel],
        "created_s": created,
        "converted_s": np.full(m, -1, dtype=np.int64),
    })


def _converted_leads(rng: np.random.Generator, params: Any, seed: int, block: int, customers: pd.DataFrame,
                     contacts: pd.DataFrame, end_s: int, first: int) -> pd.DataFrame:
    """Leads converted into the block's customers at their acquisition."""
    acq = customers["acquired_at"].to_numpy(dtype="datetime64[s]").astype(np.int64)
    recent = acq >= end_s - params.prospect_years * 365.25 * 86_400
    take = (customers["stage"].to_numpy() == "prospect") | (recent & (rng.random(len(customers)) < params.prospect_converted_share))
    c = customers[take]
    k = len(c)
    is_company = (c["kind"] == "company").to_numpy()
    primary = contacts[contacts["is_primary"]].set_index("customer_index")["name"]
    person = c["customer_index"].map(primary).fillna(c["name"]).to_numpy()
    conv = acq[take]
    created = conv - np.floor(rng.uniform(1.0, 30.0, k) * 86_400).astype(np.int64)
    return pd.DataFrame({
        "customer_index": c["customer_index"].to_numpy(),
        "external_id": [f"gen-{seed}-l{block}-{first + i}" for i in range(k)],
        "is_company": is_company,
        "language": c["language"].to_numpy(),
        "name": np.where(is_company, person, c["name"].to_numpy()),
        "company": np.where(is_company, c["name"].to_numpy(), ""),
        "email": c["email"].to_numpy(),
        "phone": c["phone"].to_numpy(),
        "branch_index": c["branch_index"].to_numpy(),
        "region_index": c["region_index"].to_numpy(),
        "owner_key": c["customer_index"].to_numpy(),
        "channel": c["acquisition_channel"].to_numpy(),
        "created_s": created,
        "converted_s": conv,
    })


def simulate_prospects(seed: int, block: int, params: Any, customers: pd.DataFrame, contacts: pd.DataFrame,
                       end_s: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Leads, opportunities and stage changes of one block (frames described in docs/generator.md)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block, PROSPECT_STREAM)))
    n = len(customers)
    year_s = 365.25 * 86_400
    window_s = params.prospect_years * year_s
    new = _new_leads(rng, params, seed, block, int(rng.poisson(params.prospect_lead_rate * n)), end_s)
    conv = _converted_leads(rng, params, seed, block, customers, contacts, end_s, len(new))
    leads = pd.concat([new, conv], ignore_index=True)
    nl = len(leads)
    leads.insert(0, "lead_index", np.arange(nl))
    leads["source"] = _pick(rng, params.prospect_source_mix, nl)
    leads["employees"] = np.where(
        leads["is_company"], np.maximum(1, np.rint(rng.lognormal(np.log(SIZE_REFERENCE), 1.2, nl))), np.nan
    )

    # ---- opportunities: on converted leads (moved to their customer), on some other leads, on customers.
    is_new = leads["customer_index"].to_numpy() < 0
    on_lead = np.flatnonzero(is_new & (rng.random(nl) < params.prospect_lead_opportunity_share))
    lead_created = leads["created_s"].to_numpy()
    lo_created = lead_created[on_lead] + np.floor(rng.exponential(7 * 86_400, len(on_lead))).astype(np.int64)
    keep = lo_created < end_s
    on_lead, lo_created = on_lead[keep], lo_created[keep]
    conv_rows = np.flatnonzero(~is_new)
    conv_s = leads["converted_s"].to_numpy()[conv_rows]
    co_created = lead_created[conv_rows] + np.floor(rng.random(len(conv_rows)) * (conv_s - lead_created[conv_rows])).astype(np.int64)

    is_company_c = (customers["kind"] == "company").to_numpy()
    acq = customers["acquired_at"].to_numpy(dtype="datetime64[s]").astype(np.int64)
    start = np.maximum(acq, end_s - window_s)
    years = (end_s - start) / year_s
    rate = np.where(is_company_c, params.prospect_company_deal_rate, params.prospect_person_deal_rate)
    per = rng.poisson(rate * years)
    who = np.repeat(np.arange(n), per)
    cu_created = np.floor(start[who] + rng.random(len(who)) * (end_s - start[who])).astype(np.int64)
    # The customers' own deals: the source of the lead they came from, else a draw; their size.
    cust_idx = customers["customer_index"].to_numpy()
    conv_source = pd.Series(leads["source"].to_numpy()[conv_rows], index=leads["customer_index"].to_numpy()[conv_rows])
    cu_source = conv_source.reindex(cust_idx[who]).to_numpy(dtype=object)
    fresh = pd.isna(cu_source)
    cu_source[fresh] = _pick(rng, params.prospect_source_mix, int(fresh.sum()))
    cust_emp = np.where(is_company_c, np.maximum(1, np.rint(rng.lognormal(np.log(SIZE_REFERENCE), 1.2, n))), np.nan)
    conv_emp = pd.Series(leads["employees"].to_numpy()[conv_rows], index=leads["customer_index"].to_numpy()[conv_rows])
    cust_emp = np.where(pd.Series(cust_idx).isin(conv_emp.index).to_numpy(), conv_emp.reindex(cust_idx).to_numpy(), cust_emp)

    lead_rows = np.concatenate([on_lead, conv_rows, np.full(len(who), -1)]).astype(np.int64)
    safe_l = np.maximum(lead_rows, 0)
    from_lead = lead_rows >= 0
    cust_pos = pd.Series(np.arange(n), index=cust_idx)
    c_of_lead = leads["customer_index"].to_numpy()[safe_l]
    c_row = np.where(from_lead, cust_pos.reindex(np.where(c_of_lead < 0, cust_idx[0], c_of_lead)).to_numpy(), 0)
    c_row[len(on_lead) + len(conv_rows):] = who
    on_customer = np.r_[np.zeros(len(on_lead), dtype=bool), np.ones(len(conv_rows) + len(who), dtype=bool)]
    created = np.concatenate([lo_created, co_created, cu_created])
    m = len(created)
    source = np.where(from_lead, leads["source"].to_numpy()[safe_l], np.r_[np.zeros(len(on_lead) + len(conv_rows), dtype=object), cu_source])
    channel = np.where(on_customer, customers["acquisition_channel"].to_numpy()[c_row], leads["channel"].to_numpy()[safe_l])
    employees = np.where(on_customer, cust_emp[c_row], leads["employees"].to_numpy()[safe_l])
    company = ~np.isnan(employees)

    # ---- the latent drivers and the true probability of winning.
    a_mean = params.prospect_activity_per_week
    activity_rate = rng.gamma(params.prospect_activity_shape, a_mean / params.prospect_activity_shape, m)
    pace = params.prospect_stage_weeks * rng.lognormal(0.0, params.prospect_pace_sigma, m)
    p_win = 1.0 / (1.0 + np.exp(-win_logit(params, source, channel, employees, activity_rate, pace)))
    won = rng.random(m) < p_win
    lost_at = rng.choice(len(OPEN_STAGES), m, p=np.asarray(params.prospect_lost_at) / np.sum(params.prospect_lost_at))
    last_open = np.where(won, len(OPEN_STAGES) - 1, lost_at)  # the last stage in progress entered
    dur = pace[:, None] * rng.gamma(3.0, 1.0 / 3.0, (m, len(OPEN_STAGES))) * WEEK_S
    dur[np.arange(m)[~won], lost_at[~won]] *= params.prospect_stall_factor
    dur = np.where(np.arange(len(OPEN_STAGES))[None, :] <= last_open[:, None], np.floor(dur), 0).astype(np.int64)
    # Entry into stage j: created + the durations before it; the close after the last one.
    enter = created[:, None] + np.cumsum(dur, axis=1) - dur
    close = created + dur.sum(axis=1)
    closed = close <= end_s
    reached = (np.arange(len(OPEN_STAGES))[None, :] <= last_open[:, None]) & (enter <= end_s)
    current = reached.sum(axis=1) - 1  # the stage in progress reached by the end
    until = np.where(closed, close, end_s)
    activities = rng.poisson(activity_rate * (until - created) / WEEK_S)
    outcome = np.where(closed, np.where(won, "won", "lost"), "open")
    stage = np.where(closed, outcome, np.array(OPEN_STAGES)[current])
    in_stage_weeks = (end_s - enter[np.arange(m), current]) / WEEK_S
    time_waster = np.where(closed, ~won & (lost_at <= 1), in_stage_weeks > params.prospect_stalled_weeks)
    expected = created + np.floor(len(OPEN_STAGES) * params.prospect_stage_weeks * WEEK_S * rng.uniform(0.7, 1.3, m)).astype(np.int64)
    base_amount = np.where(company, 8_000.0 * (np.where(company, employees, SIZE_REFERENCE) / SIZE_REFERENCE) ** 0.5, 1_500.0)
    amount_cents = np.rint(base_amount * rng.lognormal(0.0, 0.6, m) * 100).astype(np.int64)
    reason = rng.integers(0, len(LOST_REASONS), m)
    topic = rng.integers(0, len(TOPIC_ZH), m)
    party = np.where(on_customer, customers["name"].to_numpy()[c_row],
                     np.where(leads["company"].to_numpy()[safe_l] != "", leads["company"].to_numpy()[safe_l], leads["name"].to_numpy()[safe_l]))
    zh = np.where(on_customer, customers["language"].to_numpy()[c_row], leads["language"].to_numpy()[safe_l]) == "zh"
    offset_s = int(params.utc_offset_hours * 3600)
    opportunities = pd.DataFrame({
        "opportunity_index": np.arange(m),
        "external_id": [f"gen-{seed}-o{block}-{i}" for i in range(m)],
        "customer_index": np.where(on_customer, cust_idx[c_row], -1),
        "lead_index": np.where(on_customer, -1, lead_rows),
        "from_lead": np.where(on_customer & from_lead, lead_rows, -1),  # the converted lead a customer's deal came from
        "name": [f"{p} {TOPIC_ZH[t]}" if z else f"{p} {TOPIC_EN[t]}" for p, t, z in zip(party, topic, zh, strict=True)],
        "source": source.astype(str),
        "channel": channel.astype(str),
        "employees": employees,
        "amount_cents": amount_cents,
        "created_at": created.astype("datetime64[s]"),
        "expected_close": ((expected + offset_s) // 86_400).astype("datetime64[D]"),
        "activities": activities,
        "stage": stage,
        "outcome": outcome,
        "stages_reached": current + 1,
        "closed_at": pd.to_datetime(np.where(closed, close, np.iinfo(np.int64).min), unit="s", errors="coerce").to_numpy(dtype="datetime64[s]"),
        "won_reason": np.where(closed & won, np.array(WON_REASONS)[reason % len(WON_REASONS)], ""),
        "lost_reason": np.where(closed & ~won, np.array(LOST_REASONS)[reason], ""),
        "time_waster": time_waster,
        # The truth: latent drivers and the probability of winning.
        "activity_rate_true": activity_rate,
        "pace_weeks_true": pace,
        "won_true": won,
        "lost_at_true": np.where(won, "", np.array(OPEN_STAGES)[lost_at]),
        "p_win_true": p_win,
    })

    # ---- stage changes: the first stage at creation, each later one, the close.
    rows, cols = np.nonzero(reached)
    to_stage = np.array(OPEN_STAGES)[cols]
    from_stage = np.where(cols > 0, np.array(OPEN_STAGES)[np.maximum(cols - 1, 0)], "")
    c_rows = np.flatnonzero(closed)
    changes = pd.DataFrame({
        "opportunity_index": np.concatenate([rows, c_rows]),
        "from_stage": np.concatenate([from_stage, np.array(OPEN_STAGES)[last_open[c_rows]]]),
        "to_stage": np.concatenate([to_stage, outcome[c_rows]]),
        "changed_at": np.concatenate([enter[rows, cols], close[c_rows]]).astype("datetime64[s]"),
    }).sort_values(["opportunity_index", "changed_at"], kind="stable", ignore_index=True)

    # ---- the leads' status: converted; disqualified when their deal was lost (or, without a
    # deal, half of those older than a month); in progress otherwise.
    lead_lost = np.zeros(nl, dtype=bool)
    lead_lost[on_lead] = outcome[: len(on_lead)] == "lost"
    stale = (~np.isin(np.arange(nl), on_lead)) & (lead_created < end_s - 30 * 86_400) & (rng.random(nl) < 0.5)
    disq = is_new & (lead_lost | stale)
    lost_reason_of = np.full(nl, "", dtype=object)
    lost_reason_of[on_lead] = opportunities["lost_reason"].to_numpy()[: len(on_lead)]
    dq_reason = np.where(lead_lost, lost_reason_of, np.array(DISQUALIFY_REASONS)[rng.integers(0, len(DISQUALIFY_REASONS), nl)])
    leads["status"] = np.where(~is_new, "converted", np.where(disq, "disqualified", "open"))
    leads["disqualify_reason"] = np.where(disq, dq_reason, "")
    leads["created_at"] = lead_created.astype("datetime64[s]")
    leads["converted_at"] = pd.to_datetime(leads["converted_s"].where(~is_new), unit="s").to_numpy(dtype="datetime64[s]")
    leads = leads.drop(columns=["created_s", "converted_s"])
    return leads, opportunities, changes
