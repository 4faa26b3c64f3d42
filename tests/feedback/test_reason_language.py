"""A follow-up's reason is stored in English whatever the language that opened it, and each
reader sees it in theirs."""

from __future__ import annotations

from django.utils import translation

from patron.feedback.models import FollowUp, FollowUpRule
from patron.feedback.reasons import reason_label
from patron.feedback.services.answers import response_create
from tests.factories import make_customer


def test_stored_in_english_even_when_opened_in_chinese(alice, nps_survey):
    customer = make_customer("Unhappy", owner=alice)
    with translation.override("zh-hans"):
        response_create(survey=nps_survey, customer=customer, score=3, channel="api")
    follow_up = FollowUp.objects.get(customer=customer)
    assert follow_up.reason == "Detractor (score 3)"
    with translation.override("zh-hans"):
        assert follow_up.reason_label == "贬损者（评分 3）"
    with translation.override("zh-hant"):
        assert follow_up.reason_label == "批評者（評分 3）"
    assert follow_up.reason_label == "Detractor (score 3)"


def test_rule_reasons_keep_the_rules_name_and_other_text_is_shown_as_stored():
    with translation.override("zh-hans"):
        assert reason_label("Rule: Very negative") == "规则：Very negative"
        assert reason_label("Imported from the old CRM") == "Imported from the old CRM"


def test_the_follow_up_pages_show_it_in_the_readers_language(client, alice, nps_survey):
    customer = make_customer("Unhappy", owner=alice)
    FollowUpRule.objects.all().delete()
    response_create(survey=nps_survey, customer=customer, score=2, channel="api")
    follow_up = FollowUp.objects.get(customer=customer)
    client.force_login(alice)
    headers = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
    for url in ("/feedback/follow-ups/", f"/feedback/follow-ups/{follow_up.pk}/", customer.get_absolute_url()):
        page = client.get(url, **headers).content.decode()
        assert "贬损者（评分 2）" in page and "Detractor (score 2)" not in page, url
