"""A small NPS data set with figures worked out by hand (see the tables in the tests).

alice owns A1, A2, A3 (branch North One, region North); bob owns B1, B2 (South One). Two anonymous
kiosk answers were given at South One. Answers (month, score, comment):

    A1  Jan 10 快递很快，包装也好                              promoter   delivery
    A1  Feb  3 The delivery was terribly slow and the courier never called.   detractor delivery
    A2  Jan  9 The staff were friendly and helpful, great service!            promoter  service, staff
    A3  Feb  6 物流太慢了，等了两个星期                            detractor  delivery
    B1  Jan  8 Good value.                                        passive    price
    B2  Feb  0 价格太贵了，不值                                      detractor  price
    kiosk Feb 10 店员很热情，服务周到                               promoter   service, staff
    kiosk Feb  2 Parcel arrived late again, shipping is awful.   detractor  delivery

Scores (CurrentScore): A1 clv 1000 margin 400 churn 0.5 champions/most_valuable; A2 clv 3000
margin 1000 churn 0.1 champions/most_valuable; A3 clv 500 margin -50 churn 0.9 at_risk/below_zero;
B1 clv 2000 margin 300 churn 0.2 loyal/other; B2 not scored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from patron.customers.models import Customer
from patron.feedback.models import Survey
from patron.feedback.services.answers import response_create
from patron.feedback.services.surveys import survey_create
from patron.insights.models import CurrentScore
from tests.factories import make_customer


def at(month: int, day: int) -> datetime:
    return timezone.make_aware(datetime(2026, month, day, 12, 0))


@dataclass
class Data:
    survey: Survey
    customers: dict[str, Customer]


def _score(customer: Customer, **fields: object) -> None:
    CurrentScore.objects.create(customer=customer, updated_at=timezone.now(), **fields)


def build(*, alice, bob, north, south) -> Data:
    survey = survey_create(name="Relationship NPS", kind="nps")
    c = {
        "A1": make_customer("A1", owner=alice, branch=north),
        "A2": make_customer("A2", owner=alice, branch=north),
        "A3": make_customer("A3", owner=alice, branch=north),
        "B1": make_customer("B1", owner=bob, branch=south),
        "B2": make_customer("B2", owner=bob, branch=south),
    }
    _score(
        c["A1"],
        clv=1000,
        profit_12m=400,
        churn_risk=0.5,
        rfm_segment="champions",
        value_class="most_valuable",
    )
    _score(
        c["A2"],
        clv=3000,
        profit_12m=1000,
        churn_risk=0.1,
        rfm_segment="champions",
        value_class="most_valuable",
    )
    _score(
        c["A3"],
        clv=500,
        profit_12m=-50,
        churn_risk=0.9,
        rfm_segment="at_risk",
        value_class="below_zero",
    )
    _score(
        c["B1"], clv=2000, profit_12m=300, churn_risk=0.2, rfm_segment="loyal", value_class="other"
    )
    answers = [
        ("A1", 1, 15, 10, "快递很快，包装也好", "zh-hans"),
        ("A1", 2, 10, 3, "The delivery was terribly slow and the courier never called.", "en"),
        ("A2", 1, 20, 9, "The staff were friendly and helpful, great service!", "en"),
        ("A3", 2, 12, 6, "物流太慢了，等了两个星期", "zh-hans"),
        ("B1", 1, 5, 8, "Good value.", "en"),
        ("B2", 2, 20, 0, "价格太贵了，不值", "zh-hans"),
    ]
    for name, month, day, score, comment, language in answers:
        response_create(
            survey=survey,
            score=score,
            channel="api",
            customer=c[name],
            comment=comment,
            language=language,
            touchpoint="purchase",
            created_at=at(month, day),
        )
    for day, score, comment, language in [
        (1, 10, "店员很热情，服务周到", "zh-hans"),
        (2, 2, "Parcel arrived late again, shipping is awful.", "en"),
    ]:
        response_create(
            survey=survey,
            score=score,
            channel="kiosk",
            comment=comment,
            language=language,
            branch=south,
            created_at=at(2, day),
        )
    return Data(survey, c)
