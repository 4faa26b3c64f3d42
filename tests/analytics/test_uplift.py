"""Uplift learners on simulated campaigns with a known uplift per value class, and the
agreement with scikit-uplift (sklift) on the same data.

Tolerances: the sampling error of a class's estimated uplift is the standard error of a
difference of two proportions (``se`` in ``uplift_by_group``'s table, 0.5 to 1.6 points here);
an estimate is asked to lie within 3.5 of those of the truth (a miss by chance is about 1 in
2,000 per class, and the data are seeded, so a failure means a wrong estimator, not bad luck).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from patron.analytics.uplift import (
    ClassTransformationUplift,
    TwoModelUplift,
    UpliftInputError,
    qini_coefficient,
    qini_curve,
    uplift_by_group,
)

BASE = {"most_valuable": 0.20, "most_growable": 0.10, "other": 0.05, "below_zero": 0.15}
UPLIFT = {"most_valuable": 0.02, "most_growable": 0.08, "other": 0.03, "below_zero": -0.04}
SHARES = [0.15, 0.30, 0.45, 0.10]


def campaigns(n: int = 40_000, *, treated_share: float = 0.7, seed: int = 5) -> pd.DataFrame:
    """Members with a value class, a noise feature, a seeded split and responses drawn from
    ``BASE + T * UPLIFT`` of their class."""
    rng = np.random.default_rng(seed)
    cls = rng.choice(list(BASE), size=n, p=SHARES)
    t = (rng.random(n) < treated_share).astype(int)
    p = np.array([BASE[c] for c in cls]) + t * np.array([UPLIFT[c] for c in cls])
    return pd.DataFrame(
        {"value_class": cls, "clv": rng.gamma(2.0, 500.0, n), "t": t, "y": (rng.random(n) < p).astype(int),
         "true_uplift": [UPLIFT[c] for c in cls]}
    )


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return campaigns()


def _se(table: pd.DataFrame) -> pd.Series:
    return (table["high"] - table["low"]) / (2 * 1.959964)


def test_difference_of_rates_per_class_covers_the_truth(frame):
    table = uplift_by_group(frame, "value_class", "t", "y").set_index("group")
    assert set(table.index) == set(UPLIFT)
    for cls, true in UPLIFT.items():
        row = table.loc[cls]
        assert row["low"] <= true <= row["high"], (cls, row.to_dict())
        assert row["n_treatment"] + row["n_control"] == (frame["value_class"] == cls).sum()
    # The interval is the textbook one: rates straight from the rows.
    mv = frame[frame["value_class"] == "most_valuable"]
    r1, r0 = mv.loc[mv.t == 1, "y"].mean(), mv.loc[mv.t == 0, "y"].mean()
    assert table.loc["most_valuable", "uplift"] == pytest.approx(r1 - r0, abs=1e-12)
    se = np.sqrt(r1 * (1 - r1) / (mv.t == 1).sum() + r0 * (1 - r0) / (mv.t == 0).sum())
    assert _se(table).loc["most_valuable"] == pytest.approx(se, rel=1e-5)


def test_two_model_recovers_the_uplift_per_class(frame):
    model = TwoModelUplift().fit(frame, ["value_class", "clv"], "t", "y")
    predicted = frame.assign(u=model.predict_uplift(frame)).groupby("value_class")["u"].mean()
    table = uplift_by_group(frame, "value_class", "t", "y").set_index("group")
    se = _se(table)
    for cls, true in UPLIFT.items():
        assert abs(predicted[cls] - true) < 3.5 * se[cls], (cls, predicted[cls], true)
        # With the class one-hot, logistic regression reproduces the class's rates.
        assert predicted[cls] == pytest.approx(table.loc[cls, "uplift"], abs=0.003)


def test_class_transformation_needs_the_weights_when_groups_are_unequal(frame):
    features = ["value_class", "clv"]
    weighted = ClassTransformationUplift().fit(frame, features, "t", "y")
    predicted = frame.assign(u=weighted.predict_uplift(frame)).groupby("value_class")["u"].mean()
    se = _se(uplift_by_group(frame, "value_class", "t", "y").set_index("group"))
    for cls, true in UPLIFT.items():
        # The transformed label carries both arms' noise: about twice the two-model's spread.
        assert abs(predicted[cls] - true) < 2 * 3.5 * se[cls], (cls, predicted[cls], true)
    # Treating a 70/30 split as 50/50 (the textbook formula unweighted) is badly biased.
    naive = ClassTransformationUplift().fit(frame, features, "t", "y", propensity=0.5)
    bias = frame.assign(u=naive.predict_uplift(frame)).groupby("value_class")["u"].mean() - pd.Series(UPLIFT)
    assert (bias.abs() > 0.1).all()


def test_per_row_treatment_shares():
    a, b = campaigns(20_000, treated_share=0.9, seed=1), campaigns(20_000, treated_share=0.5, seed=2)
    both = pd.concat([a.assign(e=0.9), b.assign(e=0.5)], ignore_index=True)
    model = ClassTransformationUplift().fit(both, ["value_class"], "t", "y", propensity="e")
    predicted = both.assign(u=model.predict_uplift(both)).groupby("value_class")["u"].mean()
    se = _se(uplift_by_group(both, "value_class", "t", "y").set_index("group"))
    for cls, true in UPLIFT.items():
        assert abs(predicted[cls] - true) < 2 * 3.5 * se[cls], (cls, predicted[cls], true)


def test_qini_of_the_true_ranking_beats_random(frame):
    y, t = frame["y"].to_numpy(), frame["t"].to_numpy()
    true = qini_coefficient(y, t, frame["true_uplift"].to_numpy())
    rng = np.random.default_rng(0)
    random = [qini_coefficient(y, t, rng.random(len(frame))) for _ in range(20)]
    assert true > 0.03
    assert true > max(random)
    assert abs(float(np.mean(random))) < 0.01
    # Ranking by the negated truth is worse than random.
    assert qini_coefficient(y, t, -frame["true_uplift"].to_numpy()) < min(random)


def test_qini_curve_by_hand():
    # Four rows ranked 0.9, 0.5 (two tied), 0.1.
    y, t, u = [1, 0, 1, 0], [1, 0, 1, 0], [0.9, 0.5, 0.5, 0.1]
    x, q = qini_curve(y, t, u)
    assert list(x) == [0, 1, 3, 4]
    # After 3 rows: 2 treated responders, 1 control with no response -> 2 - 0 * 2/1 = 2.
    assert list(q) == [0.0, 1.0, 2.0, 2.0]
    with pytest.raises(UpliftInputError):
        qini_curve([1, 2], [0, 1], [0.1, 0.2])
    with pytest.raises(UpliftInputError):
        qini_curve([], [], [])


# ------------------------------------------------------------ the reference: scikit-uplift


@pytest.fixture(scope="module")
def sklift():
    pytest.importorskip("sklift")
    from sklift import metrics, models

    return models, metrics


def _logistic():
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=100.0, max_iter=2000)


def test_two_model_agrees_with_sklift(frame, sklift):
    models, metrics = sklift
    train, test = frame.iloc[:30_000], frame.iloc[30_000:]
    ours = TwoModelUplift().fit(train, ["value_class", "clv"], "t", "y")
    x_train, x_test = ours.encoder.transform(train), ours.encoder.transform(test)
    reference = models.TwoModels(estimator_trmnt=_logistic(), estimator_ctrl=_logistic(), method="vanilla")
    reference.fit(x_train, train["y"].to_numpy(), train["t"].to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # sklift calls a deprecated scikit-learn helper
        theirs = reference.predict(x_test)
        mine = ours.predict_uplift(test)
        assert np.corrcoef(mine, theirs)[0, 1] > 0.999
        assert np.abs(mine - theirs).max() < 1e-9
        y, t = test["y"].to_numpy(), test["t"].to_numpy()
        assert qini_coefficient(y, t, mine) == pytest.approx(metrics.qini_auc_score(y, theirs, t), abs=1e-12)
        noisy = mine + np.random.default_rng(3).normal(0, 0.02, len(test))
        assert qini_coefficient(y, t, noisy) == pytest.approx(metrics.qini_auc_score(y, noisy, t), abs=1e-12)


def test_class_transformation_agrees_with_sklift_on_equal_groups(sklift):
    models, _metrics = sklift
    frame = campaigns(20_000, treated_share=0.5, seed=9)
    ours = ClassTransformationUplift().fit(frame, ["value_class", "clv"], "t", "y", propensity=0.5)
    x = ours.encoder.transform(frame)
    reference = models.ClassTransformation(estimator=_logistic())
    reference.fit(x, frame["y"].to_numpy(), frame["t"].to_numpy())
    theirs = reference.predict(x)
    assert np.corrcoef(ours.predict_uplift(frame), theirs)[0, 1] > 0.999


def test_bad_input_is_refused(frame):
    with pytest.raises(UpliftInputError, match="clv_missing"):
        TwoModelUplift().fit(frame, ["clv_missing"], "t", "y")
    with pytest.raises(UpliftInputError, match="0/1"):
        TwoModelUplift().fit(frame.assign(t=2), ["clv"], "t", "y")
    with pytest.raises(UpliftInputError, match="control group"):
        TwoModelUplift().fit(frame.assign(y=np.where(frame.t == 0, 0, frame.y)), ["clv"], "t", "y")
    with pytest.raises(UpliftInputError, match="Fit"):
        TwoModelUplift().predict_uplift(frame)


def test_missing_and_unseen_values_are_handled():
    frame = campaigns(4_000, seed=11)
    frame.loc[::7, "clv"] = np.nan
    model = TwoModelUplift().fit(frame, ["value_class", "clv"], "t", "y")
    assert "clv__missing" in model.encoder.columns
    scored = model.predict_uplift(pd.DataFrame({"value_class": ["new_class", "other"], "clv": [np.nan, 10.0]}))
    assert np.isfinite(scored).all()
