"""Transition matrices, Markov forecasts and move-down rankings on hand-made labels."""

import numpy as np
import pandas as pd
import pytest

from patron.analytics.errors import AnalyticsInputError
from patron.analytics.migration import (
    TransitionMatrix,
    forecast_mix,
    likely_to_move_down,
    mix_by_period,
    stationary_mix,
    transition_matrix,
)

MV, MG, OT, BZ = "most_valuable", "most_growable", "other", "below_zero"


@pytest.fixture
def labels():
    q1, q2, q3 = (pd.Period(p, "Q") for p in ("2024Q1", "2024Q2", "2024Q3"))
    rows = [
        ("c1", q1, MV, "stable"), ("c1", q2, MV, "shrinking"), ("c1", q3, MG, "stable"),
        ("c2", q1, MV, "shrinking"), ("c2", q2, OT, "stable"), ("c2", q3, OT, "shrinking"),
        ("c3", q1, OT, "stable"), ("c3", q2, OT, "shrinking"), ("c3", q3, BZ, "stable"),
        ("c4", q1, BZ, "growing"), ("c4", q2, OT, "growing"), ("c4", q3, MV, "growing"),
        ("c5", q2, MG, "stable"), ("c5", q3, MG, "stable"),
    ]
    return pd.DataFrame(rows, columns=["customer_id", "period", "value_class", "trend"])


def test_pooled_transition_matrix(labels):
    m = transition_matrix(labels)
    # Q1->Q2: c1 MV->MV, c2 MV->OT, c3 OT->OT, c4 BZ->OT
    # Q2->Q3: c1 MV->MG, c2 OT->OT, c3 OT->BZ, c4 OT->MV, c5 MG->MG   (9 transitions)
    assert m.n_transitions == 9
    assert m.counts.loc[MV].tolist() == [1, 1, 1, 0]
    assert m.counts.loc[OT].tolist() == [1, 0, 2, 1]
    assert m.probabilities.loc[MV].tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 0])
    assert m.probabilities.loc[OT].tolist() == [0.25, 0.0, 0.5, 0.25]
    assert m.probabilities.loc[MG].tolist() == [0.0, 1.0, 0.0, 0.0]
    assert m.probabilities.loc[BZ].tolist() == [0.0, 0.0, 1.0, 0.0]
    assert list(m.probabilities.columns) == [MV, MG, OT, BZ]
    assert len(m.period_pairs) == 2


def test_transition_matrix_between_given_periods(labels):
    m = transition_matrix(labels, from_period=pd.Period("2024Q1", "Q"))  # Q1 -> Q2 only
    # A label such as "2024Q1" works for a Period column.
    assert m.counts.equals(transition_matrix(labels, from_period="2024Q1").counts)
    assert m.n_transitions == 4
    assert m.probabilities.loc[MV].tolist() == [0.5, 0.0, 0.5, 0.0]
    assert m.probabilities.loc[MG].isna().all()  # nobody was growable in Q1
    # Q1 -> Q3 directly (not adjacent): c1 MV->MG, c2 MV->OT, c3 OT->BZ, c4 BZ->MV
    far = transition_matrix(labels, from_period=pd.Period("2024Q1", "Q"), to_period=pd.Period("2024Q3", "Q"))
    assert far.n_transitions == 4
    assert far.counts.loc[BZ, MV] == 1 and far.counts.loc[OT, BZ] == 1


def test_missing_period_breaks_the_chain_for_periods_but_not_strings():
    rows = [("a", "2024Q1", OT), ("a", "2024Q3", MV)]
    as_periods = pd.DataFrame(rows, columns=["customer_id", "period", "value_class"])
    as_periods["period"] = pd.PeriodIndex(as_periods["period"], freq="Q")
    assert transition_matrix(as_periods).n_transitions == 0  # Q2 missing: not consecutive
    as_strings = pd.DataFrame(rows, columns=["customer_id", "period", "value_class"])
    assert transition_matrix(as_strings).counts.loc[OT, MV] == 1  # next distinct value
    as_ints = as_strings.assign(period=[1, 3])
    assert transition_matrix(as_ints).n_transitions == 0


def test_forecast_mix_golden(labels):
    m = transition_matrix(labels)
    mix = mix_by_period(labels).loc[pd.Period("2024Q3", "Q")]  # MV 1 (c4), MG 2 (c1, c5), OT 1, BZ 1
    assert mix.tolist() == [1, 2, 1, 1]
    f = forecast_mix(m, mix, 2)
    # step 1 = x @ P: MV 1*(1/3) + 1*0.25 = 0.5833; MG 1*(1/3) + 2*1 = 2.3333;
    # OT 1*(1/3) + 1*0.5 + 1*1 = 1.8333; BZ 1*0.25 = 0.25 (total stays 5)
    assert f.loc[1].tolist() == pytest.approx([7 / 12, 7 / 3, 11 / 6, 0.25])
    assert f.loc[2].to_numpy() == pytest.approx(f.loc[1].to_numpy() @ m.probabilities.to_numpy())
    assert f.sum(axis=1).tolist() == pytest.approx([5, 5, 5])
    assert f.loc[0].tolist() == [1, 2, 1, 1] and f.index.name == "step"
    shares = forecast_mix(m, {MV: 0.5, OT: 0.5}, 1)  # missing classes count as 0
    assert shares.loc[1].tolist() == pytest.approx([0.5 / 3 + 0.125, 0.5 / 3, 0.5 / 3 + 0.25, 0.125])


def test_forecast_refuses_unobserved_rows(labels):
    m = transition_matrix(labels, from_period=pd.Period("2024Q1", "Q"))  # MG row unobserved
    with pytest.raises(AnalyticsInputError, match="never observed"):
        forecast_mix(m, {MG: 1.0}, 1)
    assert forecast_mix(m, {OT: 1.0}, 3).loc[3, OT] == 1.0  # never reaches MG: fine
    with pytest.raises(AnalyticsInputError, match="not in the matrix"):
        forecast_mix(m, {"gold": 1.0}, 1)
    with pytest.raises(AnalyticsInputError, match="n_periods"):
        forecast_mix(m, {OT: 1.0}, -1)


def test_stationary_mix_two_state():
    # P = [[0.9, 0.1], [0.5, 0.5]]: pi = (5/6, 1/6) since 0.1 * pi_a = 0.5 * pi_b.
    probs = pd.DataFrame([[0.9, 0.1], [0.5, 0.5]], index=["a", "b"], columns=["a", "b"])
    assert stationary_mix(probs).tolist() == pytest.approx([5 / 6, 1 / 6])
    assert forecast_mix(probs, {"a": 5 / 6, "b": 1 / 6}, 5).loc[5].tolist() == pytest.approx([5 / 6, 1 / 6])


def test_likely_to_move_down_golden(labels):
    out = likely_to_move_down(labels)  # latest period Q3, matrix from Q1->Q2 and Q2->Q3
    # c4 is MV: P(MG) + P(OT) + P(BZ) = 2/3; c2 is OT: P(BZ) = 0.25; MG row never moves down,
    # BZ is the lowest class.
    assert out["customer_id"].tolist() == ["c4", "c2", "c1", "c3", "c5"]
    assert out["p_down"].tolist() == pytest.approx([2 / 3, 0.25, 0, 0, 0])
    assert out["rank"].tolist() == [1, 2, 3, 4, 5]
    assert out.loc[0, "n_evidence"] == 3  # three transitions out of MV
    assert out.set_index("customer_id").loc["c2", "most_likely_next"] == OT
    assert likely_to_move_down(labels, top=2)["customer_id"].tolist() == ["c4", "c2"]


def test_likely_to_move_down_uses_only_the_past(labels):
    out = likely_to_move_down(labels, period=pd.Period("2024Q2", "Q")).set_index("customer_id")
    # Only Q1->Q2 is history: MV row is (0.5, 0, 0.5, 0) so c1 (MV in Q2) has p_down 0.5;
    # the OT row is (0, 0, 1, 0): c2, c3, c4 have 0; nobody was MG in Q1 -> c5 unknown (NaN).
    assert out.loc["c1", "p_down"] == 0.5
    assert out.loc[["c2", "c3", "c4"], "p_down"].tolist() == [0, 0, 0]
    assert np.isnan(out.loc["c5", "p_down"]) and out.loc["c5", "rank"] == 5


def test_likely_to_move_down_sharpened_by_trend(labels):
    extra = pd.DataFrame([("c6", pd.Period("2024Q3", "Q"), OT, "stable")], columns=labels.columns)
    lab = pd.concat([labels, extra], ignore_index=True)
    out = likely_to_move_down(lab, covariate_col="trend", prior_strength=2).set_index("customer_id")
    # History out of OT (pooled p_down 0.25): stable c3 Q1 ->OT, c2 Q2 ->OT (2 moves, 0 down);
    # shrinking c3 Q2 ->BZ (1, 1 down); growing c4 Q2 ->MV (1, 0 down).
    # c2 (OT, shrinking): (1 + 2 * 0.25) / (1 + 2) = 0.5 ; c6 (OT, stable): (0 + 0.5) / (2 + 2) = 0.125
    assert out.loc["c2", "p_down"] == pytest.approx(0.5)
    assert out.loc["c6", "p_down"] == pytest.approx(0.125)
    assert out.loc["c2", "p_down_class"] == 0.25 and out.loc["c2", "n_evidence"] == 1
    # c4 is MV and "growing": no MV+growing history -> the class rate 2/3 stands.
    assert out.loc["c4", "p_down"] == pytest.approx(2 / 3) and out.loc["c4", "n_evidence"] == 3
    assert out.index[:3].tolist() == ["c4", "c2", "c6"]
    # prior_strength 0 trusts the stratum alone; a huge prior gives back the class rate.
    raw = likely_to_move_down(lab, covariate_col="trend", prior_strength=0).set_index("customer_id")
    assert raw.loc["c2", "p_down"] == 1.0
    flat = likely_to_move_down(lab, covariate_col="trend", prior_strength=1e9).set_index("customer_id")
    assert flat.loc["c2", "p_down"] == pytest.approx(0.25)


def test_custom_classes_and_mix_shares(labels):
    lab = labels.assign(value_class=labels["value_class"].map({MV: "gold", MG: "gold", OT: "silver", BZ: "bronze"}))
    m = transition_matrix(lab, classes=("gold", "silver", "bronze"))
    assert isinstance(m, TransitionMatrix) and m.counts.to_numpy().sum() == 9
    shares = mix_by_period(lab, classes=("gold", "silver", "bronze"), normalize=True)
    assert shares.sum(axis=1).tolist() == pytest.approx([1, 1, 1])


def test_edge_cases_and_bad_input(labels):
    one = labels[labels.period == pd.Period("2024Q1", "Q")]
    m = transition_matrix(one)
    assert m.n_transitions == 0 and m.probabilities.isna().all().all()
    empty = likely_to_move_down(labels.iloc[:0])
    assert empty.empty and "p_down" in empty.columns
    with pytest.raises(AnalyticsInputError, match="duplicate"):
        transition_matrix(pd.concat([labels, labels.iloc[:1]]))
    with pytest.raises(AnalyticsInputError, match="classes not in"):
        transition_matrix(labels.assign(value_class="platinum"))
    with pytest.raises(AnalyticsInputError, match="not in the labels"):
        transition_matrix(labels, from_period=pd.Period("2030Q1", "Q"))
    with pytest.raises(AnalyticsInputError, match="missing column"):
        transition_matrix(labels.drop(columns="period"))
    with pytest.raises(AnalyticsInputError, match="two distinct"):
        transition_matrix(labels, classes=("a", "a"))


# -- entries, exits, stationarity and the back-test ----------------------------------------------

from patron.analytics import migration as mig  # noqa: E402
from patron.analytics import migration_flows as flows  # noqa: E402

THREE = ("top", "mid", "low")


def _chain_labels(matrices: list[np.ndarray], n0: int, entries: tuple[int, int, int], seed: int) -> pd.DataFrame:
    """Customers moving by ``matrices[t]`` (columns: the 3 classes, then exit), with
    ``entries`` new customers per class each period."""
    rng = np.random.default_rng(seed)
    state = rng.integers(0, 3, n0)
    ids = np.arange(n0)
    rows = [pd.DataFrame({"customer_id": ids, "period": 0, "value_class": np.array(THREE)[state]})]
    next_id = n0
    for t, p in enumerate(matrices, start=1):
        u = rng.random(len(state))
        dest = (u[:, None] > np.cumsum(p[state], axis=1)).sum(axis=1)
        keep = dest < 3
        new = np.repeat(np.arange(3), entries)
        ids = np.r_[ids[keep], np.arange(next_id, next_id + len(new))]
        next_id += len(new)
        state = np.r_[dest[keep], new]
        rows.append(pd.DataFrame({"customer_id": ids, "period": t, "value_class": np.array(THREE)[state]}))
    return pd.concat(rows, ignore_index=True)


P_STEADY = np.array([[0.6, 0.25, 0.05, 0.1], [0.1, 0.7, 0.1, 0.1], [0.05, 0.25, 0.6, 0.1]])
P_OTHER = np.array([[0.3, 0.4, 0.1, 0.2], [0.05, 0.6, 0.15, 0.2], [0.02, 0.2, 0.58, 0.2]])


def test_flow_model_counts_entries_and_exits_by_hand():
    labels = pd.DataFrame(
        {
            "customer_id": [1, 2, 3, 1, 3, 4, 5],
            "period": [1, 1, 1, 2, 2, 2, 2],
            "value_class": ["top", "mid", "low", "mid", "low", "top", "top"],
        }
    )
    model = flows.flow_model(labels, classes=THREE)
    # 1: top -> mid, 2: mid -> exit, 3: low -> low; 4 and 5 enter top.
    assert model.counts.loc["top"].tolist() == [0, 1, 0, 0]
    assert model.counts.loc["mid", flows.EXIT] == 1 and model.counts.loc["low", "low"] == 1
    assert model.entries.tolist() == [2.0, 0.0, 0.0] and model.n_transitions == 1
    ahead = flows.forecast_counts(model, {"top": 2, "mid": 1, "low": 1}, 2)
    # n1 = n0 @ P + e: top 0 + 2, mid 2 (from top) + 0, low 1; mid's customer exits.
    assert ahead.iloc[1].tolist() == [2.0, 2.0, 1.0]
    assert ahead.iloc[2].tolist() == [2.0, 2.0, 1.0]
    with pytest.raises(AnalyticsInputError, match="window"):
        flows.flow_model(labels, classes=THREE, window=0)
    with pytest.raises(AnalyticsInputError, match="one row per customer"):
        flows.flow_model(pd.concat([labels, labels.head(1)]), classes=THREE)


def test_flow_model_recovers_the_simulated_chain_and_its_steady_state():
    labels = _chain_labels([P_STEADY] * 8, 20_000, (300, 600, 300), seed=1)
    model = flows.flow_model(labels, classes=THREE, window=None)
    assert np.abs(model.probabilities.to_numpy() - P_STEADY).max() < 0.01
    assert model.entries.tolist() == [300.0, 600.0, 300.0]
    # Steady state n = n P + e: the forecast converges to it from any start.
    steady = np.linalg.solve((np.eye(3) - P_STEADY[:, :3]).T, [300, 600, 300])
    far = flows.forecast_counts(model, {"top": 0, "mid": 0, "low": 0}, 200).iloc[-1].to_numpy()
    assert far == pytest.approx(steady, rel=0.03)


def test_stationarity_test_accepts_a_steady_chain_and_rejects_a_changing_one():
    steady = flows.stationarity_test(_chain_labels([P_STEADY] * 6, 3000, (40, 80, 40), seed=2), classes=THREE)
    # df: 3 classes x (6 pairs - 1) x (4 destinations - 1)
    assert steady.df == 45 and steady.n_transitions == 6
    assert steady.p_value is not None and steady.p_value > 0.01 and steady.stationary
    changing = flows.stationarity_test(
        _chain_labels([P_STEADY] * 3 + [P_OTHER] * 3, 3000, (40, 80, 40), seed=2), classes=THREE
    )
    assert changing.p_value is not None and changing.p_value < 1e-6 and not changing.stationary
    one = flows.stationarity_test(_chain_labels([P_STEADY], 100, (1, 1, 1), seed=2), classes=THREE)
    assert one.p_value is None and one.stationary is None


def test_backtest_on_a_steady_chain_beats_both_baselines():
    labels = _chain_labels([P_STEADY] * 10, 2000, (100, 300, 100), seed=3)
    back = flows.backtest(labels, classes=THREE)
    assert back.n_forecasts == 8  # periods 3..10, each from the periods before it
    assert list(back.errors.index) == ["model", "no_change", "last_matrix"]
    assert set(back.forecasts["method"]) == {"model", "no_change", "last_matrix"}
    assert back.beats_no_change and back.beats_last_matrix
    no_change = back.forecasts[back.forecasts["method"] == "no_change"]
    first = no_change[no_change["period"] == 3]
    assert first["forecast"].tolist() == labels[labels["period"] == 2]["value_class"].value_counts().reindex(list(THREE)).tolist()


@pytest.fixture(scope="module")
def generated_labels():
    """Quarterly value classes of a generated book, as the scoring run draws them."""
    from patron.analytics import value
    from patron.generator.frames import scoring_inputs
    from patron.generator.simulate import simulate

    inputs = scoring_inputs(simulate(3000, seed=11))
    last = pd.Period("2025Q4", freq="Q")
    by_q = value.profit_by_period(inputs.orders, inputs.costs, freq="Q", start=(last - 15).start_time, end=last.end_time)
    return value.classify_value(by_q, profit_col="profit", by="period")[["customer_id", "period", "value_class"]]


def test_forecast_with_entries_follows_the_generated_book_where_survivors_only_fall_short(generated_labels):
    """The generator's own future is the truth: fit on the book up to a year before its end,
    forecast the four quarters after, count what came. The generated book keeps growing, so
    a matrix of survivors only (no entries) predicts a shrinking top class."""
    classes = ("most_valuable", "other", "below_zero")
    labels = generated_labels
    origin = pd.Period("2024Q4", freq="Q")
    past = labels[labels["period"] <= origin]
    now = past.loc[past["period"] == origin, "value_class"].value_counts()
    flow = flows.forecast_counts(flows.flow_model(past, classes=classes), now, 4)["most_valuable"].to_numpy()[1:]
    shares = mig.forecast_mix(mig.transition_matrix(past, classes=classes), now.reindex(list(classes)) / now.sum(), 4)
    survivors = (shares["most_valuable"] * now.sum()).to_numpy()[1:]
    actual = mig.mix_by_period(labels[labels["period"] > origin], classes=classes)["most_valuable"].to_numpy()
    assert len(actual) == 4
    assert np.all(np.abs(flow - actual) < np.abs(survivors - actual)), (flow, survivors, actual)
    assert np.all(np.abs(flow / actual - 1) < 0.15), (flow, actual)


def test_backtest_on_the_generated_book_is_honest_about_its_baselines(generated_labels):
    classes = ("most_valuable", "other", "below_zero")
    back = flows.backtest(generated_labels, classes=classes)
    total = back.errors["total"]
    assert back.beats_no_change == (total["model"] < total["no_change"])
    assert back.beats_last_matrix == (total["model"] < total["last_matrix"])
    # A growing book: "no change" misses every new customer; the flow models do not.
    assert total["model"] < total["no_change"] / 2
