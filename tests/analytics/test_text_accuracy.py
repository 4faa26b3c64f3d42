"""Accuracy of the comment analysis on labelled comments, per language (real, can-fail checks).

The held-out comments (tests/analytics/data/text/comments_test2.csv, see the README beside it)
were written after the analyser was frozen and scored once. The floors below sit one comment
under the figures measured by

    python -m patron.analytics.text.evaluate \
        tests/analytics/data/text/comments_dev.csv tests/analytics/data/text/comments_test2.csv

(reported in docs/analytics/text.md), so a change that loses accuracy fails here. Where the goal
of issue 18 (sentiment 0.85, themes 0.80 per language) is met it is asserted as such; where it
is not, a strict xfail says so and turns into a failure the day it is met, to be made a check.
"""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from patron.analytics.text import detect_language
from patron.analytics.text.evaluation import (
    load_labelled,
    predict,
    scores_by,
    sentiment_metrics,
    theme_metrics,
)
from patron.analytics.text.learned import MODEL_FILE
from patron.analytics.text.taxonomy import preset

DATA = Path(__file__).parent / "data"
DEV = DATA / "text" / "comments_dev.csv"
TEST = DATA / "text" / "comments_test2.csv"
OLDER = DATA / "comments_labelled.csv"  # 364 retail comments labelled for an earlier version
LANGS = ["en", "zh-Hans", "zh-Hant"]


def _scores(path, **kwargs):
    frame = load_labelled(path, **kwargs)
    pred = predict(frame)
    groups = [g for g in [*LANGS, "mixed"] if (frame["language"] == g).any()]
    sent = scores_by(
        frame, list(pred["sentiment"]), sentiment_metrics, column="sentiment", groups=groups
    )
    themes = scores_by(frame, list(pred["themes"]), theme_metrics, column="themes", groups=groups)
    return frame, pred, sent.set_index("language"), themes.set_index("language")


@pytest.fixture(scope="module")
def test_set():
    return _scores(TEST)


@pytest.fixture(scope="module")
def dev_set():
    return _scores(DEV)


def test_the_labelled_sets_are_what_the_brief_asks_for():
    dev, test = load_labelled(DEV), load_labelled(TEST)
    both = pd.concat([dev, test])
    assert len(both) >= 300 and len(test) >= 150
    for frame in (dev, test, both):
        counts = frame["language"].value_counts()
        assert set(counts.index) == set(LANGS) and counts.nunique() == 1  # a third each
        assert set(frame["industry"]) == {"bank", "insurance", "car_rental", "retail", "b2b"}
        assert set(frame["sentiment"]) == {"negative", "neutral", "positive"}
    assert not both["text"].duplicated().any()
    assert not set(dev["id"]) & set(test["id"])
    tags = {t for ts in both["tags"] for t in ts}
    assert {"negation", "contrast", "sarcasm", "mixed", "emoji", "typo", "cantonese"} <= tags
    for industry, group in both.groupby("industry"):
        used = {t for ts in group["themes"] for t in ts}
        assert used <= set(preset(industry).codes)


# --- held out -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "floor"),
    # measured: en 0.770, zh-Hans 0.880, zh-Hant 0.900 (100 comments each)
    [("en", 0.76), ("zh-Hans", 0.87), ("zh-Hant", 0.89)],
)
def test_sentiment_floor_on_held_out_comments(test_set, language, floor):
    assert test_set[2].loc[language, "accuracy"] >= floor


@pytest.mark.parametrize(
    ("language", "floor"),
    # measured (exact set match): en 0.500, zh-Hans 0.560, zh-Hant 0.550
    [("en", 0.49), ("zh-Hans", 0.55), ("zh-Hant", 0.54)],
)
def test_theme_floor_on_held_out_comments(test_set, language, floor):
    assert test_set[3].loc[language, "accuracy"] >= floor


@pytest.mark.parametrize("language", ["zh-Hans", "zh-Hant"])
def test_sentiment_goal_is_met_in_chinese(test_set, language):
    assert test_set[2].loc[language, "accuracy"] >= 0.85


@pytest.mark.xfail(strict=True, reason="goal not met on held-out English comments (0.770)")
def test_sentiment_goal_in_english(test_set):
    assert test_set[2].loc["en", "accuracy"] >= 0.85


@pytest.mark.xfail(
    strict=True,
    reason="goal not met on held-out comments (exact set: en 0.500, zh-Hans 0.560, zh-Hant 0.550)",
)
@pytest.mark.parametrize("language", LANGS)
def test_theme_goal(test_set, language):
    assert test_set[3].loc[language, "accuracy"] >= 0.80


def test_beats_the_libraries_on_held_out_comments(test_set):
    baselines = pytest.importorskip("patron.analytics.text.baselines")
    if not all(baselines.available().values()):
        pytest.skip("baseline libraries not installed")
    frame, pred, sent, themes = test_set
    dev = load_labelled(DEV)
    zh_dev = dev[dev["language"] != "en"]
    thresholds = baselines.fit_snownlp_thresholds(
        baselines.snownlp_scores(list(zh_dev["text"])), list(zh_dev["sentiment"])
    )
    zh = frame[frame["language"] != "en"]
    snow = baselines.snownlp_labels(baselines.snownlp_scores(list(zh["text"])), thresholds)
    ours = sentiment_metrics(list(zh["sentiment"]), list(pred.loc[zh.index, "sentiment"]))
    assert ours["accuracy"] > sentiment_metrics(list(zh["sentiment"]), snow)["accuracy"]
    en = frame[frame["language"] == "en"]
    vader = baselines.vader_labels(list(en["text"]))
    assert sent.loc["en", "accuracy"] > sentiment_metrics(list(en["sentiment"]), vader)["accuracy"]
    jieba = baselines.jieba_themes(list(frame["text"]), [preset(i) for i in frame["industry"]])
    assert themes.loc["all", "accuracy"] > theme_metrics(list(frame["themes"]), jieba)["accuracy"]


# --- dev and the older set ----------------------------------------------------------------


@pytest.mark.parametrize("language", LANGS)
def test_dev_comments(dev_set, language):
    # tuned on, so these are high (measured: sentiment 0.968-0.986, themes 0.850-0.941)
    assert dev_set[2].loc[language, "accuracy"] >= 0.95
    assert dev_set[3].loc[language, "accuracy"] >= 0.84


def test_older_retail_comments():
    frame, _pred, sent, themes = _scores(OLDER, industry="retail")
    # measured: sentiment all 0.871, en 0.858, zh-Hans 0.874; themes micro-F1 all 0.868
    assert sent.loc["all", "accuracy"] >= 0.84
    assert sent.loc["en", "accuracy"] >= 0.82 and sent.loc["zh-Hans", "accuracy"] >= 0.84
    assert themes.loc["all", "f1"] >= 0.85
    detected = pd.Series([detect_language(t) for t in frame["text"]], index=frame.index)
    single = frame["language"] != "mixed"
    expected = frame.loc[single, "language"].map({"en": "en", "zh-Hans": "zh", "zh-Hant": "zh"})
    assert (detected[single] == expected).all()


def test_the_shipped_model_is_what_training_on_the_dev_comments_gives(tmp_path):
    out = tmp_path / "model.json"
    done = subprocess.run(
        [sys.executable, "-m", "patron.analytics.text.train", str(DEV), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    shipped = Path(__file__).parents[2] / "src/patron/analytics/text/data" / MODEL_FILE
    assert json.loads(out.read_text()) == json.loads(shipped.read_text())


def test_training_rejects_a_bad_file(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,text\n1,hello\n", encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "patron.analytics.text.train",
            str(bad),
            "--out",
            str(tmp_path / "m.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("error:") and len(done.stderr.strip().splitlines()) == 1
