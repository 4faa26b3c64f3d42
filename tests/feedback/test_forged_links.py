"""Public links cannot be forged: not with the development key Patron once shipped, not for
another customer or response, and a comment form works once."""

from __future__ import annotations

import re

import pytest
from django.core import signing
from django.test import Client

from patron.config.secret_key import PUBLISHED_KEYS
from patron.customers.models import Customer
from patron.feedback import links
from patron.feedback.models import Response
from patron.feedback.services.answers import response_create, response_update_comment
from patron.feedback.services.checks import CommentChangedError
from patron.feedback.services.invitations import invitations_create
from patron.feedback.services.surveys import survey_create
from tests.factories import make_customer

pytestmark = pytest.mark.django_db

OLD_KEY = next(iter(PUBLISHED_KEYS))


def signed_with(key: str, purpose: str, value: str, *, timestamped: bool = False) -> str:
    """A token as this server's links are made, signed with ``key``."""
    cls = signing.TimestampSigner if timestamped else signing.Signer
    return cls(key=key, salt=f"patron.feedback.{purpose}", sep=".", algorithm="sha256").sign(value)


@pytest.fixture
def survey(db):
    return survey_create(name="Visit", kind="nps", title_en="Your visit")


def invited(survey, alice, name: str):
    customer = make_customer(name, owner=alice, email=f"{name.lower()}@example.com", consent_survey=True)
    return invitations_create(survey=survey, customers=[customer], channel="link").queued[0]


def comment_form(html: str) -> str:
    found = re.search(r'action="(/s/r/[^"]+)"', html)
    assert found, "no comment form on the page"
    return found.group(1)


def test_the_server_does_not_sign_with_the_published_key(settings):
    assert settings.SECRET_KEY not in PUBLISHED_KEYS
    assert len(settings.SECRET_KEY) >= 50


def test_an_unsubscribe_link_signed_with_the_old_development_key_is_refused(client, alice):
    victim = make_customer("Victim", owner=alice, email="v@example.com", consent_email=True, consent_survey=True)
    forged = signed_with(OLD_KEY, "unsubscribe", f"{victim.pk}.0")
    assert client.get(f"/s/u/{forged}/").status_code == 403
    assert client.post(f"/s/u/{forged}/", {"all": "1"}).status_code == 403
    victim.refresh_from_db()
    assert (victim.consent_email, victim.consent_survey) == (True, True)
    # The link the server made for the same customer works.
    genuine = links.unsubscribe_token(victim.pk)
    assert client.post(f"/s/u/{genuine}/", {"all": "1"}).status_code == 200
    assert Customer.objects.get(pk=victim.pk).consent_email is False


def test_a_forged_unsubscribe_for_any_customer_id_is_refused(client, alice):
    victim = make_customer("Victim", owner=alice, email="v@example.com", consent_email=True)
    other = links.unsubscribe_token(victim.pk + 1000)  # a genuine token for another id, edited
    _value, _dot, signature = other.rpartition(".")
    for forged in (
        f"{victim.pk}.0.{signature}",
        signed_with("x" * 60, "unsubscribe", f"{victim.pk}.0"),
        f"{victim.pk}.0",
    ):
        assert client.post(f"/s/u/{forged}/", {"all": "1"}).status_code == 403, forged
    assert Customer.objects.get(pk=victim.pk).consent_email is True


def test_an_answer_link_signed_with_the_old_key_is_refused(client, survey, alice):
    invitation = invited(survey, alice, "Ann")
    forged = signed_with(OLD_KEY, "answer", f"{invitation.pk}.{invitation.nonce}")
    assert client.get(f"/s/i/{forged}/", {"score": 0}).status_code == 403
    assert not Response.objects.exists()


def test_a_comment_form_for_another_response_made_with_the_old_key_is_refused(client, survey, alice):
    invitation = invited(survey, alice, "Ann")
    # Someone else's answer, and a comment form for it made with the old key (both formats).
    response = response_create(survey=survey, customer=invitation.customer, score=9, channel="api", comment="Great")
    forged = signed_with(OLD_KEY, "comment", str(response.pk), timestamped=True)  # as links were
    assert client.post(f"/s/r/{forged}/", {"comment": "Awful"}).status_code == 403
    forged = signed_with(OLD_KEY, "comment", f"{response.pk}.{links.comment_version(response.comment_at)}", timestamped=True)
    assert client.post(f"/s/r/{forged}/", {"comment": "Awful"}).status_code == 403
    assert Response.objects.get(pk=response.pk).comment == "Great"


def test_a_comment_form_works_once(survey, alice):
    client = Client()
    invitation = invited(survey, alice, "Ben")
    page = client.get("/s/i/" + links.answer_token(invitation) + "/", {"score": 3})
    action = comment_form(page.content.decode())
    saved = client.post(action, {"comment": "Too slow"})
    assert saved.status_code == 200 and "your comment is saved" in saved.content.decode()
    # The same form again, from this browser or from anyone who saw its address: refused.
    again = client.post(action, {"comment": "Rewritten"})
    assert again.status_code == 410 and "already been sent" in again.content.decode()
    assert Response.objects.get().comment == "Too slow"
    # The page after the save carries a new form, which works (once).
    fresh = comment_form(saved.content.decode())
    assert fresh != action
    assert client.post(fresh, {"comment": "Too slow, but kind staff"}).status_code == 200
    assert client.post(fresh, {"comment": "Rewritten"}).status_code == 410
    assert Response.objects.get().comment == "Too slow, but kind staff"


def test_a_comment_form_reaches_only_its_own_response(client, survey, alice):
    mine = client.get("/s/i/" + links.answer_token(invited(survey, alice, "Cai")) + "/", {"score": 8})
    action = comment_form(mine.content.decode())
    theirs = response_create(
        survey=survey, customer=make_customer("Dee", owner=alice), score=2, channel="api", comment="Rude staff"
    )
    token = action.removeprefix("/s/r/").rstrip("/")
    value, _dot, signature = token.rpartition(".")
    _pk, rest = value.split(".", 1)
    edited = f"{theirs.pk}.{rest}.{signature}"  # my signature, their id
    assert client.post(f"/s/r/{edited}/", {"comment": "Lovely staff"}).status_code == 403
    assert Response.objects.get(pk=theirs.pk).comment == "Rude staff"


def test_a_form_sent_twice_at_once_saves_once(survey, alice):
    customer = make_customer("Eve", owner=alice)
    response = response_create(survey=survey, customer=customer, score=5, channel="api")
    first = Response.objects.select_related("survey").get(pk=response.pk)
    second = Response.objects.select_related("survey").get(pk=response.pk)  # read before the first saves
    response_update_comment(response=first, comment="first")
    with pytest.raises(CommentChangedError):
        response_update_comment(response=second, comment="second")
    assert Response.objects.get(pk=response.pk).comment == "first"
