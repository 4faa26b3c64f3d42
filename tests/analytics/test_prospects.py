"""Prospect scoring on simulated prospects whose conversion process is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from patron.analytics.prospects import (
    ProspectColumns,
    ProspectInputError,
    ProspectScorer,
    build_conversion_labels,
    build_prospect_features,
    evaluate_holdout,
)

AS_OF = pd.Timestamp("2024-07-01")
CHANNEL_EFFECT = {"referral": 1.0, "event": 0.4, "partner": 0.3, "web": 0.0, "cold_call": -1.2}
REGION_EFFECT = {"north": 0.2, "south": 0.0, "east": -0.2, "west": 0.0}
MINUTES = {"call": 15, "email": 5, "meeting": 60, "visit": 90, "chat": 10}


def simulate(n: int = 6000, seed: int = 0):
    """Prospects open at AS_OF; conversion in the next 90 days follows a known logistic model
    of the same quantities build_prospect_features measures. Returns the frames and the true
    conversion probability per prospect."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"p{i:05d}" for i in range(n)], dtype=object)
    channel = rng.choice(list(CHANNEL_EFFECT), n, p=[0.15, 0.15, 0.1, 0.35, 0.25])
    region = rng.choice(list(REGION_EFFECT), n)
    company = rng.random(n) < 0.4
    age = rng.uniform(1, 365, n)  # days since first contact
    first = AS_OF - pd.to_timedelta(age, unit="D")
    interest = rng.normal(size=n)
    # Reps spend time on everyone; interested prospects ask for meetings and visits.
    rates = {
        "call": 2.0 * np.ones(n),
        "email": 3.0 * np.ones(n),
        "meeting": 0.5 * np.exp(0.8 * interest),
        "visit": 0.2 * np.exp(0.8 * interest) * company,
        "chat": 0.5 * np.ones(n),
    }
    rows = []
    counts = {}
    for kind, rate in rates.items():
        k = rng.poisson(rate * np.minimum(age, 120) / 60)
        counts[kind] = k
        who = np.repeat(np.arange(n), k)
        back = rng.uniform(0, 1, len(who)) * age[who]
        rows.append(
            pd.DataFrame(
                {"prospect_id": ids[who], "date": AS_OF - pd.to_timedelta(back, unit="D"),
                 "kind": kind, "minutes": MINUTES[kind]}
            )
        )  # fmt: skip
    interactions = pd.concat(rows, ignore_index=True)
    survey = rng.random(n) < 1 / (1 + np.exp(-(interest - 0.5)))
    surveys = pd.DataFrame(
        {"prospect_id": ids[survey], "date": first[survey] + (AS_OF - first[survey]) / 2}
    )
    logit = (
        -2.2
        + np.vectorize(CHANNEL_EFFECT.get)(channel)
        + np.vectorize(REGION_EFFECT.get)(region)
        + 0.5 * company
        + 0.9 * np.log1p(counts["meeting"])
        + 0.6 * np.log1p(counts["visit"])
        - 0.5 * np.log1p(age / 30)
        + 0.8 * survey
    )
    p = 1 / (1 + np.exp(-logit))
    converts = rng.random(n) < p
    converted_at = AS_OF + pd.to_timedelta(rng.uniform(0, 90, n), unit="D")
    prospects = pd.DataFrame(
        {
            "prospect_id": ids,
            "channel": channel,
            "region": region,
            "is_company": company,
            "first_contact_at": first,
            "converted_at": pd.Series(converted_at).where(converts, pd.NaT),
        }
    )
    return prospects, interactions, surveys, pd.Series(p, index=ids)


@pytest.fixture(scope="module")
def sim():
    return simulate()


def features_and_labels(sim):
    prospects, interactions, surveys, _ = sim
    x = build_prospect_features(prospects, as_of=AS_OF, interactions=interactions, surveys=surveys)
    y = build_conversion_labels(prospects, as_of=AS_OF, horizon_days=90, index=x.index)
    return x, y


def test_scores_recover_the_known_conversion_process(sim) -> None:
    prospects, interactions, _, truth = sim
    x, y = features_and_labels(sim)
    assert len(x) == len(prospects) and 0.1 < y.mean() < 0.4
    train = x.index[: len(x) // 2]
    test = x.index[len(x) // 2 :]
    scorer = ProspectScorer().fit(x.loc[train], y.loc[train])
    score = scorer.score(x.loc[test])
    assert score.between(0, 1).all() and score.index.equals(test)
    # Ranks prospects nearly as well as the true probabilities do, and tracks them.
    oracle = roc_auc_score(y.loc[test], truth.loc[test])
    ours = roc_auc_score(y.loc[test], score)
    assert ours > 0.7
    assert ours > oracle - 0.02
    assert np.corrcoef(score, truth.loc[test])[0, 1] > 0.9
    # Calibrated: mean score close to the observed rate.
    assert score.mean() == pytest.approx(y.loc[test].mean(), abs=0.02)
    # The learned effects point the way the process says.
    coef = scorer.coef_
    assert coef["categorical__channel_referral"] > coef["categorical__channel_cold_call"]
    assert coef["numeric__n_meeting"] > 0 and coef["binary__survey_answered"] > 0
    assert coef["numeric__days_since_first_contact"] < 0
    assert coef["binary__is_company"] > 0

    minutes = interactions.assign(m=interactions["minutes"]).groupby("prospect_id")["m"].sum()
    ev = scorer.evaluate(x.loc[test], y.loc[test], sales_time=minutes.rename("minutes"))
    print(ev)
    assert ev.auc == pytest.approx(ours)
    assert ev.n == len(test) and ev.time_measure == "minutes"
    assert ev.top_decile_lift > 2.0
    # The bottom third takes a large share of the reps' time but yields few conversions.
    assert ev.bottom_third_time_share > 0.2
    assert ev.bottom_third_conversion_share < 0.12
    gains = ev.gains
    assert list(gains["decile"]) == list(range(1, 11)) and gains["n"].sum() == len(test)
    assert gains["share_of_conversions"].sum() == pytest.approx(1.0)
    assert gains["share_of_time"].sum() == pytest.approx(1.0)
    assert gains["conversion_rate"].iloc[0] > gains["conversion_rate"].iloc[-1] * 4


def test_holdout_evaluation_and_default_time_measure(sim) -> None:
    x, y = features_and_labels(sim)
    ev = evaluate_holdout(x, y, test_size=0.3, random_state=1)
    assert ev.time_measure == "n_interactions"
    assert ev.n == pytest.approx(0.3 * len(x), abs=1)
    assert ev.auc > 0.7 and ev.top_decile_lift > 2


def test_features_are_built_from_data_before_the_date() -> None:
    prospects = pd.DataFrame(
        {
            "prospect_id": ["a", "b", "c", "d"],
            "channel": ["web", "referral", None, "web"],
            "region": ["north", "south", "north", "east"],
            "is_company": [True, False, True, False],
            "first_contact_at": pd.to_datetime(
                ["2024-01-01", "2024-05-01", "2024-06-01", "2024-08-01"]
            ),
            "converted_at": pd.to_datetime([None, "2024-06-15", "2024-07-15", None]),
        }
    )
    interactions = pd.DataFrame(
        {
            "prospect_id": ["a", "a", "a", "a", "b", "c"],
            "date": pd.to_datetime(
                ["2024-01-05", "2024-03-01", "2024-06-20", "2024-07-02", "2024-05-02", "2024-06-02"]
            ),
            "kind": ["call", "meeting", "letter", "meeting", "call", "email"],
        }
    )
    surveys = pd.DataFrame(
        {"prospect_id": ["a", "c"], "date": pd.to_datetime(["2024-08-01", "2024-06-10"])}
    )
    x = build_prospect_features(
        prospects, as_of="2024-07-01", interactions=interactions, surveys=surveys
    )
    # b converted before the date, d was not contacted yet: neither is an open prospect.
    assert list(x.index) == ["a", "c"]
    a, c = x.loc["a"], x.loc["c"]
    assert (a["n_interactions"], a["n_call"], a["n_meeting"], a["n_email"]) == (3, 1, 1, 0)
    assert a["days_since_first_contact"] == 182 and a["days_since_last_contact"] == 11
    assert a["survey_answered"] == 0 and c["survey_answered"] == 1  # a answered after the date
    assert c["channel"] == "unknown" and c["is_company"] == 1
    assert x.loc["a", "channel"] == "web"
    y = build_conversion_labels(prospects, as_of="2024-07-01", horizon_days=30, index=x.index)
    assert y.to_dict() == {"a": 0, "c": 1}
    assert build_conversion_labels(prospects, as_of="2024-07-01", horizon_days=10).sum() == 0


def test_unseen_categories_custom_columns_and_errors(sim) -> None:
    x, y = features_and_labels(sim)
    scorer = ProspectScorer().fit(x, y)
    new = x.head(3).copy()
    new["channel"] = ["tiktok", None, "web"]
    assert scorer.score(new).between(0, 1).all()
    with pytest.raises(ProspectInputError, match="single class"):
        ProspectScorer().fit(x, y * 0)
    with pytest.raises(ProspectInputError, match="not fitted"):
        ProspectScorer().score(x)
    with pytest.raises(ProspectInputError, match="missing column"):
        scorer.score(x.drop(columns=["n_meeting"]))
    prospects, *_ = sim
    renamed = prospects.rename(columns={"prospect_id": "lead", "first_contact_at": "created"})
    cols = ProspectColumns(prospect="lead", first_contact="created")
    f = build_prospect_features(renamed, as_of=AS_OF, columns=cols)
    assert f.index.name == "lead" and (f["n_interactions"] == 0).all()
    with pytest.raises(ValueError, match="missing column"):
        build_prospect_features(renamed, as_of=AS_OF)
