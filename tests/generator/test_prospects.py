"""The generated sales pipeline: leads, opportunities and stage changes from a known
qualification process (generator/prospects.py), and a model's recovery of it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from django.db import connection
from django.db.models import Count
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from patron.customers.models import Customer
from patron.generator import prospects, simulate
from patron.generator.writer import generate_dataset
from patron.sales.models import Lead, Opportunity, StageChange
from tests.factories import make_user

SALES = ["leads", "opportunities", "stage_changes"]
WEEK = pd.Timedelta(weeks=1)


@pytest.fixture(scope="module")
def big() -> simulate.Chunk:
    """Enough deals for the effects to settle: 40,000 customers, about 11,800 opportunities."""
    return simulate.simulate(40_000, 5)


def _win_rate(frame: pd.DataFrame) -> float:
    return float((frame["outcome"] == "won").mean())


def _closed(chunk: simulate.Chunk) -> pd.DataFrame:
    return chunk.opportunities[chunk.opportunities["outcome"] != "open"]


# --------------------------------------------------------------------------- pure simulation


def test_same_seed_same_pipeline_whatever_the_chunk_size() -> None:
    one = simulate.simulate(12_000, 7)
    again = simulate.Chunk.concat(list(simulate.iter_chunks(12_000, 7, chunk_size=1)))
    for table in SALES:
        pd.testing.assert_frame_equal(getattr(one, table), getattr(again, table), obj=table)
    assert len(one.opportunities) > 1_000
    other = simulate.simulate(12_000, 8)
    assert not one.opportunities["p_win_true"].equals(other.opportunities["p_win_true"])


def test_the_pipeline_draws_from_its_own_stream(monkeypatch) -> None:
    """Without the prospects every other table is the same: no existing figure moved."""
    with_sales = simulate.simulate_block(3, 0, 2_000, simulate.Population())
    empty = (pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    monkeypatch.setattr(prospects, "simulate_prospects", lambda *a, **k: empty)
    without = simulate.simulate_block(3, 0, 2_000, simulate.Population())
    for table in ["customers", "contacts", "orders", "lines", "cost_events", "interactions", "responses", "truth", "follow_ups"]:
        pd.testing.assert_frame_equal(getattr(with_sales, table), getattr(without, table), obj=table)


def test_dates_amounts_and_paths_are_consistent(big) -> None:
    end = pd.Timestamp(simulate.Population().end_utc.replace(tzinfo=None))
    o = big.opportunities.set_index("opportunity_index")
    ch = big.stage_changes
    assert (o["amount_cents"] > 0).all()
    assert (o["created_at"] < end).all()
    assert (pd.to_datetime(o["expected_close"]) > o["created_at"].dt.floor("D") - pd.Timedelta(days=1)).all()
    closed = o["outcome"] != "open"
    assert (o.loc[closed, "closed_at"] <= end).all() and o.loc[~closed, "closed_at"].isna().all()
    assert (o.loc[closed, "closed_at"] >= o.loc[closed, "created_at"]).all()
    assert ((o["won_reason"] != "") == (o["outcome"] == "won")).all()
    assert ((o["lost_reason"] != "") == (o["outcome"] == "lost")).all()
    assert o.loc[o["outcome"] == "won", "stages_reached"].eq(4).all()
    # Each deal: qualify at its creation, then one stage after another, closed last.
    assert (ch.groupby("opportunity_index").size() == o["stages_reached"] + closed.astype(int)).all()
    first = ch.groupby("opportunity_index").first()
    assert (first["from_stage"] == "").all() and (first["to_stage"] == "qualify").all()
    assert (first["changed_at"] == o["created_at"]).all()
    last = ch.groupby("opportunity_index").last()
    assert (last["to_stage"] == o["stage"]).all()
    assert (last.loc[closed, "changed_at"] == o.loc[closed, "closed_at"]).all()
    assert (ch["changed_at"] <= end).all()
    assert (ch.groupby("opportunity_index")["changed_at"].diff().dropna() >= pd.Timedelta(0)).all()
    prev = ch.groupby("opportunity_index")["to_stage"].shift()
    assert (ch["from_stage"][prev.notna()] == prev[prev.notna()]).all()
    # People have no size, companies one.
    assert o["employees"].isna().any() and (o["employees"].dropna() >= 1).all()
    # Exactly one of customer and lead.
    assert ((o["customer_index"] >= 0) != (o["lead_index"] >= 0)).all()


def test_leads_convert_into_the_blocks_customers(big) -> None:
    leads = big.leads
    conv = leads[leads["status"] == "converted"]
    assert 0 < len(conv) < len(leads)
    acquired = big.customers.set_index("customer_index")["acquired_at"]
    assert (conv["converted_at"].to_numpy() == acquired.loc[conv["customer_index"]].to_numpy()).all()
    assert (conv["created_at"] < conv["converted_at"]).all()
    # Every customer who never bought came from a lead.
    prospects_ = big.customers.loc[big.customers["stage"] == "prospect", "customer_index"]
    assert set(prospects_) <= set(conv["customer_index"])
    rest = leads[leads["status"] != "converted"]
    assert (rest["customer_index"] == -1).all() and rest["converted_at"].isna().all()
    assert set(rest["status"]) == {"open", "disqualified"}
    assert (rest.loc[rest["status"] == "disqualified", "disqualify_reason"] != "").all()
    assert set(leads["source"]) == set(prospects.SOURCES)
    # The deal a converted lead opened moved to its customer, before the acquisition.
    o = big.opportunities
    moved = o[o["from_lead"] >= 0]
    assert (moved["customer_index"] >= 0).all()
    assert (moved["created_at"].to_numpy() < acquired.loc[moved["customer_index"]].to_numpy()).all()


def test_about_38_percent_are_time_wasters(big) -> None:
    # Measured 0.372 at seed 5 (0.379 and 0.380 at seeds 6 and 7; 40,000 customers each).
    assert big.opportunities["time_waster"].mean() == pytest.approx(0.38, abs=0.02)


def test_the_true_win_probability_is_honest(big) -> None:
    o = big.opportunities
    assert o["won_true"].mean() == pytest.approx(o["p_win_true"].mean(), abs=0.015)
    closed = _closed(big)
    assert (closed["outcome"] == "won").eq(closed["won_true"]).all()


def test_each_ground_truth_effect_shows_in_the_data(big) -> None:
    closed = _closed(big)
    by_source = closed.groupby("source").apply(_win_rate)
    assert by_source["referral"] > by_source["web"] > by_source["cold_call"] + 0.1
    assert by_source["partner"] > by_source["campaign"]
    by_channel = closed.groupby("channel").apply(_win_rate)
    assert by_channel["partner"] > by_channel["web"] > by_channel["app"]
    weeks = (closed["closed_at"] - closed["created_at"]) / WEEK
    per_week = closed["activities"] / weeks
    busy = per_week > per_week.median()
    assert _win_rate(closed[busy]) > _win_rate(closed[~busy]) + 0.1
    per_stage = weeks / closed["stages_reached"]
    slow = per_stage > per_stage.quantile(0.75)
    assert _win_rate(closed[slow]) < _win_rate(closed[~slow]) - 0.2
    companies = closed[closed["employees"].notna()]
    large = companies["employees"] > companies["employees"].median()
    assert _win_rate(companies[large]) > _win_rate(companies[~large])


def _features(closed: pd.DataFrame) -> pd.DataFrame:
    weeks = (closed["closed_at"] - closed["created_at"]) / WEEK
    x = pd.DataFrame(index=closed.index)
    for source in prospects.SOURCES[1:]:  # web is the reference
        x[f"source_{source}"] = (closed["source"] == source).astype(float)
    for channel in ["store", "phone", "agent", "app", "partner"]:
        x[f"channel_{channel}"] = (closed["channel"] == channel).astype(float)
    x["size"] = np.log(closed["employees"].fillna(prospects.SIZE_REFERENCE) / prospects.SIZE_REFERENCE)
    x["activity"] = np.log((closed["activities"] + 0.5) / weeks)
    x["pace"] = np.log(weeks / closed["stages_reached"])
    return x


def test_a_logistic_regression_recovers_the_process(big) -> None:
    """Fitted on the deals closed before a cutoff nine months before the end, tested on those
    opened after it: every coefficient has the true sign, and the AUC is high."""
    params = simulate.Population()
    closed = _closed(big)
    x, y = _features(closed), (closed["outcome"] == "won").to_numpy()
    cutoff = pd.Timestamp(params.end) - pd.DateOffset(months=9)
    train = (closed["closed_at"] < cutoff).to_numpy()
    test = (closed["created_at"] >= cutoff).to_numpy()
    assert train.sum() > 5_000 and test.sum() > 2_000
    model = LogisticRegression(C=1e6, max_iter=2_000).fit(x[train], y[train])
    fitted = dict(zip(x.columns, model.coef_[0], strict=True))
    sources, channels = dict(params.prospect_source_effects), dict(params.prospect_channel_effects)
    truth = {
        **{f"source_{s}": sources[s] for s in prospects.SOURCES[1:]},
        **{f"channel_{c}": channels[c] for c in ["store", "phone", "agent", "app", "partner"]},
        "size": params.prospect_size_effect,
        "activity": params.prospect_activity_effect,
        "pace": params.prospect_pace_effect,
    }
    wrong = {k: (round(fitted[k], 2), v) for k, v in truth.items() if np.sign(fitted[k]) != np.sign(v)}
    assert not wrong
    # Measured at seed 5 (40,000 customers; 6,065 deals to fit, 2,975 to test): AUC 0.867 out
    # of time (0.866 and 0.862 at seeds 6 and 7). The true p_win scores 0.797 there: the
    # observed pace also holds the stall before a loss, which the model reads.
    auc = roc_auc_score(y[test], model.predict_proba(x[test])[:, 1])
    assert auc >= 0.80
    assert roc_auc_score(y[test], closed["p_win_true"].to_numpy()[test]) >= 0.75


# --------------------------------------------------------------------------- written rows


@pytest.fixture
def small_blocks(monkeypatch):
    monkeypatch.setattr(simulate, "BLOCK_SIZE", 500)


@pytest.mark.django_db
def test_the_pipeline_is_written(small_blocks, tmp_path, settings) -> None:
    settings.DATA_DIR = tmp_path
    reps = [make_user(name, "rep").pk for name in ("alice", "bob", "carol")]
    dataset = generate_dataset(1_500, 11, chunk_size=500)
    counts = dataset.truth["counts"]
    expected = simulate.simulate(1_500, 11)
    assert Lead.objects.count() == counts["leads"] == len(expected.leads) > 100
    assert Opportunity.objects.count() == counts["opportunities"] == len(expected.opportunities) > 100
    assert StageChange.objects.count() == counts["stage_changes"] == len(expected.stage_changes)
    connection.check_constraints()
    o = expected.opportunities.set_index("external_id")
    rows = pd.DataFrame(
        list(Opportunity.objects.annotate(moves=Count("stage_changes")).values_list(
            "external_id", "stage__key", "moves", "customer__external_id", "lead__external_id", "closed_at", "owner_id",
            "customer__owner_id",
        )),
        columns=["external_id", "stage", "moves", "customer", "lead", "closed_at", "owner", "customer_owner"],
    ).set_index("external_id").loc[o.index]
    assert (rows["stage"] == o["stage"]).all()
    assert (rows["moves"] == o["stages_reached"] + (o["outcome"] != "open")).all()
    assert (rows["customer"].notna() == (o["customer_index"] >= 0)).all()
    assert (rows["closed_at"].notna() == (o["outcome"] != "open")).all()
    on_customer = rows["customer"].notna()
    assert (rows.loc[on_customer, "owner"] == rows.loc[on_customer, "customer_owner"]).all()
    assert set(rows["owner"]) == set(reps)
    # A deal's moves in order: from the previous stage, the first from none.
    for opp in Opportunity.objects.filter(stage__key="won")[:5]:
        path = list(opp.stage_changes.order_by("changed_at", "id").values_list("from_stage__key", "to_stage__key"))
        assert path == [(None, "qualify"), ("qualify", "meet"), ("meet", "propose"), ("propose", "negotiate"), ("negotiate", "won")]
        assert opp.closed_at == opp.stage_changes.latest("changed_at").changed_at and opp.won_reason
    # Converted leads point at their customers, converted at the acquisition.
    converted = Lead.objects.filter(status="converted").select_related("converted_customer")
    assert converted.count() == (expected.leads["status"] == "converted").sum() > 0
    for lead in converted[:50]:
        assert lead.converted_customer is not None
        assert lead.converted_at == lead.converted_customer.created_at
        assert lead.owner_id == lead.converted_customer.owner_id
    assert not Lead.objects.filter(status="converted", converted_customer__isnull=True).exists()
    # --replace removes the seed's leads and deals with its customers.
    generate_dataset(1_000, 11, chunk_size=500, replace=True)
    assert Customer.objects.count() == 1_000
    assert Lead.objects.count() == len(simulate.simulate(1_000, 11).leads)
