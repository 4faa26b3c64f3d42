"""core.rows: the answer link's single-row INSERT and its prepared statements."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from patron.core import rows
from patron.feedback.models import Response
from patron.feedback.services.surveys import survey_create
from tests.factories import make_customer, make_user

pytestmark = pytest.mark.django_db
ANSWERED = timezone.now() - timedelta(days=2)


def _response(survey, customer, **extra):
    return Response(
        survey=survey,
        customer=customer,
        score=3,
        score_class="detractor",
        answers={"q2": 4, "note": "慢"},
        language="zh-hans",
        touchpoint="store",
        channel="email",
        created_at=ANSWERED,
        **extra,
    )


def test_insert_stores_what_the_orm_would_store():
    survey = survey_create(name="NPS", kind="nps")
    customer = make_customer("Wang Fang", owner=make_user("alice", "rep"))
    fast = rows.insert(_response(survey, customer, comment="<b>slow</b> 太慢", sentiment=-0.5))
    orm = _response(survey, customer, comment="<b>slow</b> 太慢", sentiment=-0.5)
    orm.save(force_insert=True)
    assert fast.pk is not None and fast.pk != orm.pk and not fast._state.adding
    fields = [f.attname for f in Response._meta.concrete_fields if not f.primary_key]
    stored = Response.objects.values(*fields)
    assert stored.get(pk=fast.pk) == stored.get(pk=orm.pk)
    assert stored.get(pk=fast.pk)["answers"] == {"q2": 4, "note": "慢"}


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"
)
def test_hot_statements_are_prepared_once_per_connection(settings):
    settings.DEBUG = False
    survey = survey_create(name="NPS", kind="nps")
    customer = make_customer("Li Lei", owner=make_user("bob", "rep"))
    for _ in range(3):
        rows.insert(_response(survey, customer))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [s for (s,) in cursor.fetchall() if "feedback_response" in s]
    assert len(prepared) == 1 and prepared[0].startswith("INSERT INTO")
    assert Response.objects.filter(customer=customer).count() == 3


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="one statement with data-changing WITH: PostgreSQL"
)
def test_insert_if_updated_writes_both_rows_only_when_the_update_matches():
    from patron.feedback.models import FollowUp

    survey = survey_create(name="NPS", kind="nps")
    owner = make_user("carol", "rep")
    customer = make_customer("Zhao Min", owner=owner)
    update = "UPDATE feedback_survey SET is_active = %s WHERE id = %s AND is_active RETURNING id"

    def follow_up(response):
        return FollowUp(
            response=response,
            customer=customer,
            owner=owner,
            reason="Score 3",
            opened_at=ANSWERED,
            due_at=ANSWERED + timedelta(hours=48),
        )

    response = _response(survey, customer, comment="<b>slow</b> 太慢", sentiment=-0.5)
    case = follow_up(response)
    assert rows.insert_if_updated(update, [False, survey.pk], response, case, link="response_id")
    assert response.pk and case.pk and case.response_id == response.pk and not case._state.adding
    orm = _response(survey, customer, comment="<b>slow</b> 太慢", sentiment=-0.5)
    orm.save(force_insert=True)
    fields = [f.attname for f in Response._meta.concrete_fields if not f.primary_key]
    stored = Response.objects.values(*fields)
    assert stored.get(pk=response.pk) == stored.get(pk=orm.pk)
    saved = FollowUp.objects.get(pk=case.pk)
    assert (saved.response_id, saved.owner_id, saved.reason, saved.due_at) == (
        response.pk,
        owner.pk,
        "Score 3",
        ANSWERED + timedelta(hours=48),
    )
    # The survey is inactive now: the UPDATE matches nothing and nothing is inserted.
    again = _response(survey, customer)
    assert not rows.insert_if_updated(
        update, [False, survey.pk], again, follow_up(again), link="response_id"
    )
    assert again.pk is None
    assert Response.objects.count() == 2 and FollowUp.objects.count() == 1
