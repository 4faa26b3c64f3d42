"""Each key of a segment's filter selects the right customers; a bad filter names its key."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import timezone

from patron.campaigns.filters import InvalidFilterError, clean_filter
from patron.campaigns.selectors import segment_customers, segment_summary
from tests.campaigns.conftest import answer, scored, with_totals
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


def names(user, segment_filter) -> set[str]:
    return set(segment_customers(user, clean_filter(segment_filter)).values_list("name", flat=True))


@pytest.fixture
def book(db, root, alice, bob, north, south):
    """Four customers differing on every key."""
    a = make_customer("Ash", owner=alice, branch=north, tags=["vip", "tea"], stage="active",
                      is_key_account=True, consent_email=True, consent_survey=False)
    b = make_customer("Beech", owner=bob, branch=south, tags=["tea"], stage="at_risk",
                      consent_email=False, consent_survey=True)
    c = make_customer("Cork", owner=alice, branch=north, stage="lapsed")
    d = make_customer("Date", owner=None, stage="prospect", tags=["wholesale"])
    scored(a, clv=5000.0, churn_risk=0.1, p_alive=0.95, value_class="most_valuable", rfm_segment="champions")
    scored(b, clv=800.0, churn_risk=0.6, p_alive=0.5, value_class="most_growable", rfm_segment="at_risk")
    scored(c, clv=50.0, churn_risk=0.9, p_alive=0.1, value_class="below_zero", rfm_segment="lost")
    tz = timezone.get_current_timezone()
    with_totals(a, orders=12, profit="3000.00", last_order=timezone.datetime(2025, 11, 20, 10, tzinfo=tz))
    with_totals(b, orders=3, profit="200.00", last_order=timezone.datetime(2025, 6, 1, 10, tzinfo=tz))
    with_totals(c, orders=1, profit="-40.00", last_order=timezone.datetime(2024, 1, 5, 10, tzinfo=tz))
    return {"a": a, "b": b, "c": c, "d": d}


def test_empty_filter_is_every_visible_customer(book, root):
    assert names(root, {}) == {"Ash", "Beech", "Cork", "Date"}


@pytest.mark.parametrize(
    ("segment_filter", "expected"),
    [
        ({"tags": ["vip"]}, {"Ash"}),
        ({"tags": ["tea"]}, {"Ash", "Beech"}),
        ({"tags": ["vip", "wholesale"]}, {"Ash", "Date"}),
        ({"tags": ["nobody-has-this"]}, set()),
        ({"value_class": ["most_valuable", "below_zero"]}, {"Ash", "Cork"}),
        ({"churn_risk_min": 0.5}, {"Beech", "Cork"}),
        ({"churn_risk_max": 0.6}, {"Ash", "Beech"}),
        ({"churn_risk_min": 0.5, "churn_risk_max": 0.7}, {"Beech"}),
        ({"clv_min": 800}, {"Ash", "Beech"}),
        ({"clv_max": 799.99}, {"Cork"}),
        ({"p_alive_min": 0.5}, {"Ash", "Beech"}),
        ({"p_alive_max": 0.2}, {"Cork"}),
        ({"rfm_segment": ["champions", "lost"]}, {"Ash", "Cork"}),
        ({"region": "N"}, {"Ash", "Cork"}),
        ({"region": ["N", "S"]}, {"Ash", "Beech", "Cork"}),
        ({"branch": "S1"}, {"Beech"}),
        ({"owner": "alice"}, {"Ash", "Cork"}),
        ({"owner": ["bob", "alice"]}, {"Ash", "Beech", "Cork"}),
        ({"stage": ["at_risk", "lapsed"]}, {"Beech", "Cork"}),
        ({"key_account": True}, {"Ash"}),
        ({"key_account": False}, {"Beech", "Cork", "Date"}),
        ({"consent_email": True}, {"Ash"}),
        ({"consent_survey": True}, {"Beech"}),
        ({"consent_survey": False}, {"Ash", "Cork", "Date"}),
        ({"last_order_after": "2025-06-01"}, {"Ash", "Beech"}),
        ({"last_order_after": "2025-06-02"}, {"Ash"}),
        ({"last_order_before": "2025-06-01"}, {"Cork"}),
        ({"last_order_before": "2025-06-02"}, {"Beech", "Cork"}),
        ({"last_order_after": "2025-01-01", "last_order_before": "2025-07-01"}, {"Beech"}),
        ({"orders_min": 3}, {"Ash", "Beech"}),
        ({"orders_max": 1}, {"Cork", "Date"}),
        ({"orders_min": 1, "orders_max": 3}, {"Beech", "Cork"}),
        ({"profit_min": 200}, {"Ash", "Beech"}),
        ({"profit_max": 0}, {"Cork", "Date"}),
        ({"profit_min": -100, "profit_max": -1}, {"Cork"}),
        # Keys together: all must hold.
        ({"tags": ["tea"], "churn_risk_min": 0.5}, {"Beech"}),
        ({"owner": "alice", "value_class": ["most_valuable"], "consent_email": True}, {"Ash"}),
    ],
)
def test_each_key_selects_the_right_customers(book, root, segment_filter, expected):
    assert names(root, segment_filter) == expected


def test_nps_class_is_the_latest_nps_answer(book, root, nps_survey):
    a, b, c = book["a"], book["b"], book["c"]
    answer(nps_survey, a, 2, days_ago=30)  # a detractor once ...
    answer(nps_survey, a, 10, days_ago=1)  # ... a promoter now
    answer(nps_survey, b, 10, days_ago=30)
    answer(nps_survey, b, 7, days_ago=2)  # now passive
    answer(nps_survey, c, 3, days_ago=5)
    assert names(root, {"nps_class": ["promoter"]}) == {"Ash"}
    assert names(root, {"nps_class": ["passive"]}) == {"Beech"}
    assert names(root, {"nps_class": ["detractor"]}) == {"Cork"}
    assert names(root, {"nps_class": ["promoter", "detractor"]}) == {"Ash", "Cork"}


def test_nps_class_ignores_other_survey_kinds(book, root, nps_survey):
    from patron.feedback.services.surveys import survey_create

    csat = survey_create(name="CSAT", kind="csat")
    answer(nps_survey, book["a"], 10, days_ago=10)
    answer(csat, book["a"], 1, days_ago=1)  # a later CSAT detractor is no NPS answer
    assert names(root, {"nps_class": ["promoter"]}) == {"Ash"}
    assert names(root, {"nps_class": ["detractor"]}) == set()


def test_a_rep_counts_only_her_customers(book, root, alice, mia, nora):
    everyone = segment_summary(root, clean_filter({"tags": ["tea"]}))
    assert (everyone.count, everyone.total_predicted_value) == (2, 5800.0)
    mine = segment_summary(alice, clean_filter({"tags": ["tea"]}))
    assert (mine.count, mine.total_predicted_value) == (1, 5000.0)
    assert names(alice, {}) == {"Ash", "Cork"}
    assert names(mia, {}) == {"Ash", "Cork"}  # her region's branch
    assert names(nora, {"clv_min": 0}) == {"Ash", "Beech", "Cork"}


def test_total_predicted_value_leaves_out_unscored_customers(book, root):
    summary = segment_summary(root, {})
    assert summary.count == 4
    assert summary.total_predicted_value == pytest.approx(5850.0)


def test_tags_count_each_customer_once(book, root):
    assert segment_customers(root, clean_filter({"tags": ["vip", "tea"]})).count() == 2


def test_clean_filter_normalises(book):
    cleaned = clean_filter({"region": "N", "tags": ["vip", "vip"], "stage": [], "last_order_after": "2025-01-02"})
    assert cleaned == {"region": ["N"], "tags": ["vip"], "last_order_after": "2025-01-02"}
    assert clean_filter(None) == {}


@pytest.mark.parametrize(
    ("segment_filter", "key", "says"),
    [
        ({"colour": ["red"]}, "colour", "unknown key"),
        ({"churn_risk_min": 1.5}, "churn_risk_min", "less than or equal to 1"),
        ({"p_alive_max": -0.1}, "p_alive_max", "greater than or equal to 0"),
        ({"churn_risk_min": "high"}, "churn_risk_min", "number"),
        ({"value_class": ["gold"]}, "value_class", "'gold'"),
        ({"rfm_segment": ["champions", "sleepy"]}, "rfm_segment", "'sleepy'"),
        ({"nps_class": ["fan"]}, "nps_class", "promoter"),
        ({"stage": "active"}, "stage", "list"),
        ({"tags": "vip"}, "tags", "list"),
        ({"key_account": "yes"}, "key_account", "boolean"),
        ({"orders_min": -1}, "orders_min", "greater than or equal to 0"),
        ({"orders_min": 5, "orders_max": 2}, "orders_max", "orders_min"),
        ({"clv_min": 100, "clv_max": 10}, "clv_max", "clv_min"),
        ({"last_order_after": "2025-05-01", "last_order_before": "2025-04-01"}, "last_order_before", "last_order_after"),
        ({"last_order_before": "yesterday"}, "last_order_before", "date"),
        ({"profit_min": float("inf")}, "profit_min", "finite"),
    ],
)
def test_a_bad_filter_names_the_key(segment_filter, key, says):
    with pytest.raises(InvalidFilterError) as caught:
        clean_filter(segment_filter)
    errors = caught.value.message_dict
    assert list(errors) == [key]
    assert says in " ".join(errors[key])


def test_a_filter_must_be_an_object():
    with pytest.raises(InvalidFilterError) as caught:
        clean_filter(["tags"])
    assert list(caught.value.message_dict) == ["filter"]


def test_date_keys_are_days_in_the_site_time_zone(book, root):
    # Ash's last order is on 2025-11-20: "after" that day includes it, "before" it does not.
    assert "Ash" in names(root, {"last_order_after": date(2025, 11, 20).isoformat()})
    assert "Ash" not in names(root, {"last_order_before": "2025-11-20"})
    assert "Ash" in names(root, {"last_order_before": "2025-11-21"})
