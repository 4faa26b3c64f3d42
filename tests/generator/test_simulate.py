"""The pure simulation: reproducible, plausible, and faithful to its own truth (no database)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from patron.generator import simulate, vocab
from patron.generator.simulate import Population

TABLES = ["customers", "contacts", "orders", "lines", "cost_events", "interactions", "responses", "truth"]


@pytest.fixture(scope="module")
def big() -> simulate.Chunk:
    """Enough customers for population statistics to settle (two blocks)."""
    return simulate.simulate(20_000, 2024)


def _buyers(chunk: simulate.Chunk) -> pd.Series:
    return ~chunk.truth["is_prospect"]


def test_same_seed_same_data_whatever_the_chunk_size() -> None:
    one = simulate.simulate(12_000, 7)
    chunks = list(simulate.iter_chunks(12_000, 7, chunk_size=1))  # one block per chunk
    assert len(chunks) == 2
    again = simulate.Chunk.concat(chunks)
    for table in TABLES:
        pd.testing.assert_frame_equal(getattr(one, table), getattr(again, table), obj=table)


def test_different_seed_gives_different_data() -> None:
    a = simulate.simulate(2_000, 1)
    b = simulate.simulate(2_000, 2)
    assert not a.customers["name"].equals(b.customers["name"])
    assert len(a.orders) != len(b.orders) or not a.orders["revenue_cents"].equals(b.orders["revenue_cents"])
    assert not np.allclose(a.truth["lam"], b.truth["lam"])


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError):
        next(simulate.iter_chunks(0, 1))
    with pytest.raises(ValueError):
        next(simulate.iter_chunks(10, -1))


def test_counts_are_plausible(big: simulate.Chunk) -> None:
    n = len(big.customers)
    assert n == 20_000 and big.customers["customer_index"].is_unique
    lines_per_customer = len(big.lines) / n
    assert 8.5 <= lines_per_customer <= 12.5, lines_per_customer  # ~10M lines per 1M customers
    assert 1 <= big.lines.groupby("order_index").size().max() <= 5
    share_company = (big.customers["kind"] == "company").mean()
    assert 0.12 <= share_company <= 0.18
    buyers = _buyers(big)
    assert (big.customers.loc[buyers, "order_count"] >= 1).all()
    assert (big.customers.loc[~buyers, "order_count"] == 0).all()
    assert set(big.orders["channel"]) <= set(vocab.SALES_CHANNELS)
    assert set(big.cost_events["kind"]) == set(simulate.COST_KINDS)
    assert set(big.interactions["channel"]) == set(simulate.CONTACT_CHANNELS)
    # Every record falls inside the history, before the end of the data.
    end = np.datetime64(simulate.Population().end_utc.replace(tzinfo=None), "s")
    for frame, column in ((big.orders, "ordered_at"), (big.cost_events, "occurred_at"), (big.interactions, "occurred_at"), (big.responses, "answered_at")):
        assert (frame[column] < end).all(), column
    first = big.customers.set_index("customer_index")["acquired_at"]
    assert (big.orders["ordered_at"].to_numpy() >= first.loc[big.orders["customer_index"]].to_numpy()).all()


def test_order_lines_add_up_and_totals_are_exact(big: simulate.Chunk) -> None:
    lines = big.lines
    assert (lines["amount_cents"] == lines["quantity"] * lines["unit_price_cents"]).all()
    per_order = lines.groupby("order_index")["amount_cents"].sum()
    assert (per_order.to_numpy() == big.orders.set_index("order_index").loc[per_order.index, "revenue_cents"].to_numpy()).all()
    # Revenue equals the Gamma-Gamma draw to the cent (up to rounding of unit prices).
    ratio = big.orders["revenue_cents"] / (big.orders["value_drawn"] * 100)
    assert ratio.between(0.98, 1.02).mean() > 0.999
    cust = big.customers.set_index("customer_index")
    revenue = big.orders.groupby("customer_index")["revenue_cents"].sum().reindex(cust.index, fill_value=0)
    cts = big.cost_events.groupby("customer_index")["amount_cents"].sum().reindex(cust.index, fill_value=0)
    assert (cust["revenue_cents"] == revenue).all()
    assert (cust["cost_to_serve_cents"] == cts).all()
    assert (cust["profit_cents"] == cust["revenue_cents"] - cust["cogs_cents"] - cust["cost_to_serve_cents"]).all()
    margin = 1 - big.orders["cogs_cents"].sum() / big.orders["revenue_cents"].sum()
    assert 0.3 <= margin <= 0.55, margin


def test_pure_layer_recovers_its_own_truth(big: simulate.Chunk) -> None:
    truth = big.truth[_buyers(big)]
    # Repeat purchases match the BG/NBD conditional expectation E[X(T) | λ, p].
    observed, expected = truth["n_repeat"].mean(), truth["expected_repeat"].mean()
    assert abs(observed / expected - 1) < 0.04, (observed, expected)
    # ... and the process-level mean follows from the parameters (λ mean r/α).
    params = Population()
    assert abs(truth["lam"].mean() / (params.r / params.alpha) - 1) < 0.05
    # Orders are 1 (at acquisition) + repeats.
    counts = big.customers.set_index("customer_index").loc[truth["customer_index"], "order_count"].to_numpy()
    assert (counts == 1 + truth["n_repeat"].to_numpy()).all()
    # Spend: each customer's mean order value is around their latent mean p/ν.
    orders = big.orders.merge(truth[["customer_index", "spend_mean"]], on="customer_index")
    per_customer = orders.groupby("customer_index").agg(mean=("value_drawn", "mean"), latent=("spend_mean", "first"), n=("value_drawn", "size"))
    many = per_customer[per_customer["n"] >= 5]
    assert abs((many["mean"] / many["latent"]).median() - 1) < 0.05
    persons = truth["kind"] == "person"
    expected_mean = params.spend_p * params.spend_gamma / (params.spend_q - 1)
    assert abs(truth.loc[persons, "spend_mean"].mean() / expected_mean - 1) < 0.06


def test_attitude_carries_signal_about_churn(big: simulate.Chunk) -> None:
    truth = big.truth[_buyers(big)]
    answers = big.responses.merge(big.truth[["customer_index", "satisfaction"]], on="customer_index")
    assert len(answers) > 3_000
    assert np.corrcoef(answers["satisfaction"], answers["score"])[0, 1] > 0.6
    assert answers["score"].between(0, 10).all()
    # Lower satisfaction → higher dropout probability → fewer alive at the end.
    assert np.corrcoef(truth["satisfaction"], truth["p"])[0, 1] < -0.3
    low = truth[truth["satisfaction"] < -0.5]
    high = truth[truth["satisfaction"] > 0.5]
    assert high["alive_at_end"].mean() > low["alive_at_end"].mean() + 0.08
    # Complaints come more from the dissatisfied.
    complaints = big.interactions[big.interactions["channel"] == "complaint"].groupby("customer_index").size()
    rate = complaints.reindex(truth["customer_index"], fill_value=0).to_numpy() / truth["T_weeks"].to_numpy()
    assert rate[truth["satisfaction"].to_numpy() < -0.5].mean() > 2 * rate[truth["satisfaction"].to_numpy() > 0.5].mean()


def test_comments_carry_their_theme(big: simulate.Chunk) -> None:
    r = big.responses
    commented = r[r["comment"] != ""]
    assert (commented["theme"].notna()).all() and r.loc[r["comment"] == "", "theme"].isna().all()
    assert set(commented["language"]) == {"zh", "en"}
    assert set(commented["theme"]) == set(vocab.THEMES)
    zh = commented[commented["language"] == "zh"]
    assert zh["comment"].str.contains(r"[\u4e00-\u9fff]").all()
    cue = {"price": "价", "delivery": "送|物流|快递|发货|配送", "app": "App|网站|小程序"}
    for theme, pattern in cue.items():
        assert zh.loc[zh["theme"] == theme, "comment"].str.contains(pattern).all(), theme
    # Detractors talk about delivery and price more than promoters do (the root cause).
    detractors = commented[commented["score"] <= 6]
    promoters = commented[commented["score"] >= 9]
    for theme in ("delivery", "price"):
        assert (detractors["theme"] == theme).mean() > 1.5 * (promoters["theme"] == theme).mean()


def test_below_zero_share_in_documented_range(big: simulate.Chunk) -> None:
    buyers = big.customers[big.customers["stage"] != "prospect"]
    share = (buyers["profit_cents"] < 0).mean()
    assert 0.05 <= share <= 0.10, share


def test_orders_follow_channel_preferences(big: simulate.Chunk) -> None:
    counts = big.orders.groupby(["customer_index", "channel"]).size().unstack(fill_value=0)
    counts = counts[counts.sum(axis=1) >= 6]
    share_web = counts["web"] / counts.sum(axis=1)
    pref = big.truth.set_index("customer_index").loc[counts.index, "pref_web"]
    assert np.corrcoef(share_web, pref)[0, 1] > 0.6


def test_planted_bundles_have_lift(big: simulate.Chunk) -> None:
    truth = simulate.population_truth()
    baskets = big.lines.groupby("order_index")["product_index"].agg(set)
    n = len(baskets)
    for pair in truth["bundle_pair_lifts"]:
        a, b = pair["a"], pair["b"]
        has_a = baskets.map(lambda s, a=a: a in s)
        has_b = baskets.map(lambda s, b=b: b in s)
        lift = (has_a & has_b).sum() * n / (has_a.sum() * has_b.sum())
        assert lift > 2, (pair["a_name"], pair["b_name"], lift)
        assert abs(lift / pair["lift"] - 1) < 0.35, (pair, lift)


def test_stage_and_key_accounts_follow_the_truth(big: simulate.Chunk) -> None:
    cust = big.customers.set_index("customer_index")
    truth = big.truth.set_index("customer_index")
    assert (cust.loc[truth["is_prospect"], "stage"] == "prospect").all()
    assert set(cust.loc[truth["alive_at_end"], "stage"]) == {"active", "at_risk"}
    assert set(cust.loc[~truth["alive_at_end"] & ~truth["is_prospect"], "stage"]) == {"lapsed", "lost"}
    key = cust[cust["is_key_account"]]
    assert (key["kind"] == "company").all()
    share = cust.loc[cust["kind"] == "company", "is_key_account"].mean()
    assert 0.04 <= share <= 0.2


def test_names_look_real_in_both_languages(big: simulate.Chunk) -> None:
    persons = big.customers[big.customers["kind"] == "person"]
    zh = persons[persons["language"] == "zh"]
    en = persons[persons["language"] == "en"]
    assert zh["name"].str.fullmatch(r"[\u4e00-\u9fff]{2,4}").all()
    assert en["name"].str.fullmatch(r"[A-Z][a-z]+ [A-Z][a-z]+").all()
    assert zh["name"].str[0].value_counts().index[0] in {"王", "李", "张"}
    assert big.customers["email"].str.fullmatch(r"[a-z0-9.\-]+@[a-z0-9.\-]+\.[a-z]+").all()
    assert big.customers["email"].is_unique
    companies = big.customers[big.customers["kind"] == "company"]
    assert set(big.contacts["customer_index"]) == set(companies["customer_index"])
    assert (big.contacts.groupby("customer_index")["is_primary"].sum() == 1).all()


def test_population_truth_is_json_and_extensible() -> None:
    truth = simulate.population_truth()
    text = json.dumps(truth)
    assert json.loads(text)["params"]["beta_sat"] == Population().beta_sat
    assert truth["campaigns"] == []
    assert all(p["lift"] > 2 for p in truth["bundle_pair_lifts"])
    with pytest.raises(ValueError):
        Population().replace(no_such_parameter=1)
    changed = simulate.population_truth(Population().replace(bundle_rate=0.0))
    assert all(p["lift"] < 1.5 for p in changed["bundle_pair_lifts"])


def test_parameters_move_the_data() -> None:
    """The knobs are real: more dropout → fewer repeats; no satisfaction effect → no signal."""
    base = simulate.simulate(10_000, 5)
    churny = simulate.simulate(10_000, 5, Population().replace(b=2.0))
    assert churny.truth["n_repeat"].mean() < 0.8 * base.truth["n_repeat"].mean()
    flat = simulate.simulate(10_000, 5, Population().replace(beta_sat=0.0))
    buyers = ~flat.truth["is_prospect"]
    assert abs(np.corrcoef(flat.truth.loc[buyers, "satisfaction"], flat.truth.loc[buyers, "p"])[0, 1]) < 0.05


def test_pure_layer_does_not_import_django() -> None:
    import subprocess
    import sys

    code = "import sys, patron.generator.simulate; sys.exit('django' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
