"""Bad input on the public pages and the API: a clear answer with the right status, nothing stored."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from patron.core.tokens import token_create
from patron.feedback import links
from patron.feedback.models import FollowUp, Invitation, Response
from patron.feedback.services.answers import response_create
from patron.feedback.services.invitations import invitations_create
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def invitation(alice, nps_survey) -> Invitation:
    customer = make_customer("Zhou Min", owner=alice, email="zm@example.com", consent_survey=True)
    return invitations_create(survey=nps_survey, customers=[customer], channel="link").queued[0]


def _path(invitation: Invitation) -> str:
    return "/s/i/" + links.answer_token(invitation) + "/"


@pytest.mark.parametrize("score", ["11", "-1", "abc", "", "5.5", "1e3", "99999999999"])
def test_bad_scores_are_refused_and_nothing_stored(client, invitation, score):
    page = client.get(_path(invitation), {"score": score})
    assert page.status_code == 400
    assert "The score must be a whole number from 0 to 10." in page.content.decode()
    assert Response.objects.count() == 0
    invitation.refresh_from_db()
    assert invitation.answered_at is None


def test_forged_token(client, invitation):
    token = links.answer_token(invitation)
    forged = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    page = client.get(f"/s/i/{forged}/", {"score": "9"})
    assert page.status_code == 403
    assert "not valid" in page.content.decode()
    # Someone else's invitation id with this invitation's signature does not verify either.
    pk, _nonce, sig = token.split(".")
    assert client.get(f"/s/i/{int(pk) + 1}.{_nonce}.{sig}/", {"score": "9"}).status_code == 403
    assert client.get("/s/i/garbage/", {"score": "9"}).status_code == 403
    assert Response.objects.count() == 0


def test_revoked_nonce_and_deleted_invitation(client, invitation):
    path = _path(invitation)
    invitation.nonce = "changed"
    invitation.save(update_fields=["nonce"])
    assert client.get(path, {"score": "9"}).status_code == 404
    assert Response.objects.count() == 0


def test_expired_token(client, invitation):
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    page = client.get(_path(invitation), {"score": "9"})
    assert page.status_code == 410
    assert "expired" in page.content.decode()
    assert client.get(_path(invitation)).status_code == 410
    assert Response.objects.count() == 0


def test_reused_token_takes_one_answer(client, invitation):
    assert client.get(_path(invitation), {"score": "8"}).status_code == 200
    again = client.get(_path(invitation), {"score": "2"})
    assert again.status_code == 409
    assert "already been answered" in again.content.decode()
    assert list(Response.objects.values_list("score", flat=True)) == [8]
    back = client.get(_path(invitation))  # the link without a score: the thank-you page again
    assert back.status_code == 200 and "Your score: 8" in back.content.decode()


def test_megabyte_comment_refused_with_message(client, invitation):
    page = client.get(_path(invitation), {"score": "7"})
    action = page.content.decode().split('action="')[1].split('"')[0]
    answer = client.post(action, {"comment": "x" * 1_000_000})
    assert answer.status_code == 400
    assert "The comment is too long: 1000000 characters; at most 5000 are kept." in answer.content.decode()
    # A million Chinese characters is 3 MB, over the request size limit: refused before parsing.
    bigger = client.post(action, {"comment": "很" * 1_000_000})
    assert bigger.status_code == 413
    assert "at most 5000 characters" in bigger.content.decode()
    assert Response.objects.get().comment == ""
    ok = client.post(action, {"comment": "x" * 5000})
    assert ok.status_code == 200
    assert len(Response.objects.get().comment) == 5000


def test_html_in_comment_is_shown_escaped(client, alice, nps_survey):
    customer = make_customer("Script Kid", owner=alice)
    nasty = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    response_create(survey=nps_survey, customer=customer, score=2, channel="api", comment=nasty)
    assert Response.objects.get().comment == nasty  # stored as written
    client.force_login(alice)
    pages = [
        client.get("/feedback/").content.decode(),
        client.get(f"/feedback/follow-ups/{FollowUp.objects.get().pk}/").content.decode(),
        client.get(customer.get_absolute_url()).content.decode(),
        client.get("/").content.decode(),
    ]
    for html in pages:
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html or "&lt;script&gt;alert(&quot;x&quot;)…" in html


def test_flood_from_one_address_gets_429(client, nps_survey, settings):
    settings.PATRON_ANSWER_RATE_LIMIT = "5/60"
    codes = [client.post(f"/s/{nps_survey.public_key}/", {"score": "9"}).status_code for _ in range(8)]
    assert codes == [200] * 5 + [429] * 3
    assert Response.objects.count() == 5
    limited = client.post(f"/s/{nps_survey.public_key}/", {"score": "9"})
    assert int(limited["Retry-After"]) >= 1
    assert "Too many answers" in limited.content.decode()
    # Another address is not affected.
    assert client.post(f"/s/{nps_survey.public_key}/", {"score": "9"}, REMOTE_ADDR="10.0.0.9").status_code == 200


def test_public_link_bad_input(client, nps_survey):
    url = f"/s/{nps_survey.public_key}/"
    for score in ("11", "-1", "abc"):
        assert client.post(url, {"score": score}).status_code == 400
    assert client.post(url, {"score": "5", "comment": "x" * 1_000_000}).status_code == 400
    assert client.get(f"/s/{nps_survey.public_key}/", {"b": "NOPE"}).status_code == 404
    assert client.get("/s/not-a-survey/").status_code == 404
    assert Response.objects.count() == 0


def test_api_bad_input(client, alice, nps_survey):
    customer = make_customer("API Kid", owner=alice)
    _t, raw = token_create(user=alice)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}

    def post(data):
        return client.post("/api/v1/responses", data, content_type="application/json", **auth)

    base = {"survey": nps_survey.pk, "customer": customer.pk}
    assert post({**base, "score": 11}).json()["code"] == "invalid_score"
    assert post({**base, "score": -1}).status_code == 422
    assert post({**base, "score": "abc"}).status_code == 422
    too_long = post({**base, "score": 5, "comment": "x" * 1_000_000})
    assert too_long.status_code == 422 and too_long.json()["code"] == "comment_too_long"
    assert post({**base, "score": 5, "nonsense": 1}).status_code == 422
    assert client.get("/api/v1/responses?customer=abc", **auth).status_code == 422
    assert Response.objects.count() == 0
    assert post({**base, "score": 5}).status_code == 201
    assert client.post("/api/v1/responses", {**base, "score": 5}, content_type="application/json").status_code == 401
