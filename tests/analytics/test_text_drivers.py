"""Root cause: themes that separate detractors from promoters, on hand-checked responses."""

import math

import numpy as np
import pandas as pd
import pytest

from patron.analytics.errors import AnalyticsInputError, InvalidScoreError
from patron.analytics.text import nps_class, preset, theme_drivers
from patron.analytics.text.drivers import DRIVER_COLUMNS

# the comments are a shop's; the arithmetic is checked with the retail taxonomy
RETAIL = preset("retail")

RESPONSES = [
    (2, "Delivery was late again and nobody called"),
    (3, "物流太慢了，等了一个星期"),
    (5, "The courier lost my parcel"),
    (6, "Prices are too high"),
    (4, ""),  # no comment: not counted
    (7, "Delivery was fine, price ok"),
    (8, "ok"),
    (9, "Lovely staff, very helpful"),
    (10, "店员很热情"),
    (10, "Fast delivery and friendly staff"),
    (9, "Great prices"),
]


@pytest.fixture
def responses():
    return pd.DataFrame(RESPONSES, columns=["score", "comment"])


def test_ranking_and_figures_by_hand(responses):
    out = theme_drivers(responses, n_examples=2, taxonomy=RETAIL)
    assert list(out.columns) == DRIVER_COLUMNS
    assert out["theme"].tolist() == ["delivery", "price", "staff"]

    d = out.iloc[0]
    # 10 commented responses: 4 detractors, 4 promoters. Delivery: 3 of 4 detractors, 1 of 4
    # promoters, 5 mentions in all (one passive).
    assert (d.mentions, d.detractor_mentions, d.promoter_mentions) == (5, 3, 1)
    assert d.detractor_share == pytest.approx(0.75)
    assert d.promoter_share == pytest.approx(0.25)
    assert d.share_diff == pytest.approx(0.5)
    # Haldane: ln(3.5 * 3.5 / (1.5 * 1.5)), se = sqrt(2/3.5 + 2/1.5)
    assert d.log_odds_ratio == pytest.approx(math.log(12.25 / 2.25))
    assert d.se == pytest.approx(math.sqrt(2 / 3.5 + 2 / 1.5))
    assert d.z == pytest.approx(d.log_odds_ratio / d.se)
    assert d.p_value == pytest.approx(math.erfc(abs(d.z) / math.sqrt(2)))
    # NPS with: (1 - 3) / 5 = -40; without: (3 - 1) / 5 = +40; impact 5/10 * 80 = 40 points
    assert d.nps_with == pytest.approx(-40.0)
    assert d.nps_without == pytest.approx(40.0)
    assert d.impact == pytest.approx(40.0)
    # informative detractor comments, fewest words first
    assert d.examples == ["The courier lost my parcel", "物流太慢了，等了一个星期"]

    staff = out.set_index("theme").loc["staff"]
    assert (staff.detractor_mentions, staff.promoter_mentions) == (0, 3)
    assert staff.nps_with == pytest.approx(100.0)
    assert staff.impact == pytest.approx(0.3 * (-300 / 7 - 100))
    assert staff.log_odds_ratio < 0
    assert set(staff.examples) <= {
        "Lovely staff, very helpful",
        "店员很热情",
        "Fast delivery and friendly staff",
    }
    assert "Fast delivery and friendly staff" in staff.examples

    assert (out["q_value"] >= out["p_value"] - 1e-12).all()


def test_options(responses):
    assert theme_drivers(responses, min_mentions=4, taxonomy=RETAIL)["theme"].tolist() == [
        "delivery"
    ]
    zh = theme_drivers(responses, language="zh-Hans", n_examples=0, taxonomy=RETAIL)
    assert zh.loc[0, "label"] == "物流配送"
    assert zh.loc[0, "examples"] == []
    renamed = responses.rename(columns={"score": "nps", "comment": "text"})
    same = theme_drivers(renamed, "nps", "text", taxonomy=RETAIL)
    assert same["theme"].tolist() == ["delivery", "price", "staff"]


def test_stored_themes_and_example_language(responses):
    stored = responses.assign(
        themes=[
            ("delivery",),
            ("delivery",),
            "delivery",
            "price",
            None,
            "delivery;price",
            [],
            ["staff"],
            ("staff",),
            ("delivery", "staff"),
            ("price",),
        ]
    )
    given = theme_drivers(stored, themes_col="themes", taxonomy=RETAIL)
    computed = theme_drivers(responses, taxonomy=RETAIL)
    cols = ["theme", "mentions", "detractor_mentions", "promoter_mentions", "impact"]
    pd.testing.assert_frame_equal(given[cols], computed[cols])
    english = theme_drivers(responses, examples_language="en", n_examples=1, taxonomy=RETAIL)
    assert english.loc[0, "examples"] == ["The courier lost my parcel"]
    with pytest.raises(AnalyticsInputError, match="does not have: parking"):
        theme_drivers(stored.assign(themes="parking"), themes_col="themes")
    with pytest.raises(AnalyticsInputError, match="examples_language"):
        theme_drivers(responses, examples_language="fr")


def test_detractor_theme_found_in_a_larger_sample():
    rng = np.random.default_rng(7)
    late = [
        "Delivery was very late",
        "快递太慢了",
        "The parcel arrived a week late",
        "物流一直不更新",
    ]
    nice = ["Friendly staff", "店员很热情", "Great quality", "质量很好", "Thank you"]
    rows = []
    for _ in range(400):
        score = int(rng.integers(0, 11))
        p_late = 0.5 if score <= 6 else 0.08
        text = rng.choice(late) if rng.random() < p_late else rng.choice(nice)
        rows.append((score, str(text)))
    out = theme_drivers(pd.DataFrame(rows, columns=["score", "comment"]))
    top = out.iloc[0]
    assert top.theme == "delivery"
    assert top.share_diff > 0.3 and top.p_value < 1e-6 and top.impact > 10


def test_no_comments_gives_an_empty_table():
    frame = pd.DataFrame({"score": [3, 9], "comment": [None, "  "]})
    out = theme_drivers(frame)
    assert out.empty and list(out.columns) == DRIVER_COLUMNS


def test_one_sided_sample_stays_finite():
    frame = pd.DataFrame({"score": [9, 10, 10], "comment": ["Fast delivery", "快递很快", "Nice"]})
    row = theme_drivers(frame).iloc[0]
    assert row.theme == "delivery" and math.isnan(row.detractor_share)
    assert math.isfinite(row.log_odds_ratio) and math.isfinite(row.z)


@pytest.mark.parametrize("bad", [11, -1, "abc", 7.5, None])
def test_invalid_scores_are_rejected(bad):
    frame = pd.DataFrame({"score": [9, bad], "comment": ["fine", "fine"]})
    with pytest.raises(InvalidScoreError, match="integers 0 to 10") as err:
        theme_drivers(frame)
    assert err.value.n_bad == 1


def test_bad_frames_are_rejected():
    with pytest.raises(AnalyticsInputError, match="missing column"):
        theme_drivers(pd.DataFrame({"score": [1]}))
    with pytest.raises(AnalyticsInputError, match="must hold text"):
        theme_drivers(pd.DataFrame({"score": [1, 2], "comment": ["late", 42]}))
    with pytest.raises(AnalyticsInputError, match="DataFrame"):
        theme_drivers([(1, "late")])  # type: ignore[arg-type]
    with pytest.raises(AnalyticsInputError, match="min_mentions"):
        theme_drivers(pd.DataFrame({"score": [1], "comment": ["late"]}), min_mentions=0)


def test_nps_class():
    out = nps_class(pd.Series([0, 6, 7, 8, 9, 10], index=list("abcdef")))
    assert out.tolist() == ["detractor"] * 2 + ["passive"] * 2 + ["promoter"] * 2
    assert out.index.tolist() == list("abcdef")
    with pytest.raises(InvalidScoreError):
        nps_class([3, 12])
