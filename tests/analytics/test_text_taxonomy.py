"""Theme taxonomies an admin can configure: structure, storage (JSON), presets per industry."""

import json

import pandas as pd
import pytest

from patron.analytics.errors import AnalyticsInputError
from patron.analytics.text import (
    PRESETS,
    Taxonomy,
    analyse,
    extract_themes,
    load_taxonomy,
    preset,
    theme_drivers,
)

BANK_TOML = """
[taxonomy]
code = "my_bank"
label = { en = "My bank", zh-Hans = "我的银行", zh-Hant = "我的銀行" }
base = "bank"
themes = ["branch", "call_centre", "service", "staff", "app_website"]

[touchpoints]
mortgage_centre = { en = "Mortgage centre", zh-Hans = "房贷中心", zh-Hant = "房貸中心" }

[themes.branch]
zh-Hans = ["理财室"]

[themes.mortgages]
label = { en = "Mortgages", zh-Hans = "房贷", zh-Hant = "房貸" }
description = "Mortgage offers, rates and the mortgage application."
en = ["mortgage", "remortgage"]
zh-Hans = ["房贷"]
zh-Hant = ["房貸"]
touchpoints = ["mortgage_centre"]
"""


def test_every_preset_round_trips_through_json():
    for code in PRESETS:
        tax = preset(code)
        text = tax.to_json()
        data = json.loads(text)  # plain JSON for a database column
        assert data["taxonomy"]["code"] == code
        again = Taxonomy.from_json(text)
        assert again == tax
        assert again.to_json() == text
        assert [t.code for t in again] == list(tax.codes)
        assert again.match("理赔拖了三个月，客服电话打不通") == tax.match(
            "理赔拖了三个月，客服电话打不通"
        )


def test_a_bank_and_an_insurer_each_have_theirs():
    bank, insurer = preset("bank"), preset("insurance")
    assert "claims" in insurer.codes and "claims" not in bank.codes
    assert "branch" in bank.codes and "product_quality" not in bank.codes
    text = "理赔员态度很好"
    assert "claims" in analyse(text, insurer).themes
    assert "claims" not in analyse(text, bank).themes
    # the car rental counter is the car rental's own; 柜台 means the rental desk there
    assert analyse("柜台排队一个小时", preset("car_rental")).themes == ("rental_counter",)
    assert analyse("柜台排队一个小时", bank).themes == ("branch",)


def test_a_taxonomy_built_on_a_preset(tmp_path):
    path = tmp_path / "my_bank.toml"
    path.write_text(BANK_TOML, encoding="utf-8")
    tax = load_taxonomy(path)
    assert tax.code == "my_bank" and tax.label("zh-Hant") == "我的銀行"
    assert tax.codes == ("branch", "call_centre", "service", "staff", "app_website", "mortgages")
    assert "排队" in tax["branch"].keywords_zh and "理财室" in tax["branch"].keywords_zh
    assert tax["mortgages"].touchpoints == ("mortgage_centre",)
    assert tax.touchpoint_label("mortgage_centre", "zh-Hans") == "房贷中心"
    assert analyse("房貸審批太慢", tax).themes == ("mortgages",)
    # stored without its base: the JSON holds everything
    assert "base" not in tax.to_dict()["taxonomy"]
    assert Taxonomy.from_json(tax.to_json()) == tax


def test_touchpoints_and_narrower_themes():
    tax = preset("general")
    assert tax["claims"].touchpoints == ("claim",)
    assert tax.touchpoint_label("call_centre", "zh-Hant") == "客服中心"
    claim_survey = tax.for_touchpoints("claim")
    assert "claims" in claim_survey.codes and "price" in claim_survey.codes  # any touchpoint
    assert "delivery" not in claim_survey.codes
    # call_centre is within service: when both match only the narrower stays
    assert tax["call_centre"].within == "service"
    assert set(tax.match("客服热线等了半小时")) == {"call_centre"}
    frame = tax.as_frame("zh-Hans")
    assert frame.loc[frame["theme"] == "call_centre", "within"].item() == "service"


def test_custom_taxonomy_passed_to_every_function():
    tax = Taxonomy.from_mapping(
        {
            "themes": {
                "parking": {"label": "Parking", "en": ["parking", "car park"], "zh": ["停车"]},
                "queues": {"en": ["queue"], "zh-Hant": ["排隊"]},
            }
        }
    )
    assert analyse("停车太难了，排隊也很久", tax).themes == ("parking", "queues")
    out = extract_themes(["No car park nearby", "fine"], taxonomy=tax)
    assert out["theme"].tolist() == ["parking"]
    frame = pd.DataFrame({"score": [2, 9, 10], "comment": ["no parking", "great", "停车方便"]})
    drivers = theme_drivers(frame, taxonomy=tax)
    assert drivers["theme"].tolist() == ["parking"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"themes": {"a": {"within": "b", "en": ["x"]}}}, "not another theme"),
        ({"themes": {"a": {"touchpoints": ["shop"], "en": ["x"]}}}, "not declared"),
        (
            {"themes": {"a": {"within": "b", "en": ["x"]}, "b": {"within": "a", "en": ["y"]}}},
            "within each other",
        ),
        ({"themes": {"a": {"en": ["x"], "colour": "red"}}}, "unknown keys colour"),
        ({"themes": {"a": {"label": {"fr": "x"}, "en": ["x"]}}}, "label language"),
        ({"taxonomy": {"base": "casino"}, "themes": {}}, "no packaged taxonomy 'casino'"),
        ({"taxonomy": {"base": "bank", "themes": ["claims"]}, "themes": {}}, "not in the base"),
        ({"taxonomy": {"code": "my bank"}, "themes": {"a": {"en": ["x"]}}}, "ASCII letters"),
    ],
)
def test_bad_taxonomies_are_rejected(data, message):
    with pytest.raises(AnalyticsInputError, match=message):
        Taxonomy.from_mapping(data)


def test_bad_json_is_rejected():
    with pytest.raises(AnalyticsInputError, match="not valid JSON"):
        Taxonomy.from_json("{")
    with pytest.raises(AnalyticsInputError, match="must be a table"):
        Taxonomy.from_json("[1, 2]")
