"""Each customer's preferred channel: learned from campaign contacts and survey invitations,
smoothed toward the channel's rate, shown on the 360° page, used by campaigns when asked."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from patron.campaigns import channels
from patron.campaigns.channels import channel_preferences, channel_priors, preferred_channel_for
from patron.feedback.models import Invitation
from tests.campaigns.history import launched, member
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


def invite(survey, customer, *, answered: bool, sent: bool = True, channel: str = "email") -> Invitation:
    now = timezone.now()
    return Invitation.objects.create(
        survey=survey, customer=customer, channel=channel, touchpoint="relationship", expires_at=now + timedelta(days=30),
        sent_at=now if sent else None, answered_at=now if answered else None,
    )


@pytest.fixture
def book(db, alice, bob, nps_survey):
    emailer = make_customer("Emailer", owner=alice)
    caller = make_customer("Caller", owner=alice)
    quiet = make_customer("Quiet", owner=bob)
    phone = launched(channel="phone", offer="call offer")
    mail = launched(channel="email", offer="mail offer")
    for _ in range(3):
        invite(nps_survey, emailer, answered=True)
    member(phone, emailer, responded=False)
    member(mail, caller, responded=False)
    member(phone, caller, responded=True, margin="10")
    invite(nps_survey, caller, answered=False)
    invite(nps_survey, caller, answered=True, sent=True, channel="link")  # not a contact on a campaign channel
    invite(nps_survey, quiet, answered=False, sent=False)  # never sent: no contact
    return emailer, caller, quiet


def test_answers_emails_never_calls_prefers_email(book):
    emailer, caller, quiet = book
    prefs = channel_preferences([emailer.pk, caller.pk, quiet.pk])
    assert prefs[emailer.pk].channel == "email"
    assert (prefs[emailer.pk].contacts, prefs[emailer.pk].responses) == (3, 3)
    assert prefs[caller.pk].channel == "phone"
    assert (prefs[caller.pk].contacts, prefs[caller.pk].responses) == (1, 1)
    assert quiet.pk not in prefs  # never contacted: no preference


def test_rates_are_smoothed_toward_the_channels_rate(book):
    emailer, _caller, _quiet = book
    priors = channel_priors()
    # Email: the emailer's 3 answered invitations, the caller's campaign email and unanswered
    # invitation -> 3 of 5; phone: 1 of 2.
    assert priors["email"].rate == pytest.approx(3 / 5)
    assert priors["phone"].rate == pytest.approx(1 / 2)
    pref = channel_preferences([emailer.pk], priors=priors)[emailer.pk]
    k, p = priors["email"].strength, priors["email"].rate
    assert pref.rate == pytest.approx((3 + k * p) / (3 + k))
    assert pref.rate < 1.0  # three of three answered is not taken as certain


def test_preferred_channel_for_falls_back_to_the_default(book):
    emailer, caller, quiet = book
    assert preferred_channel_for([emailer.pk, caller.pk, quiet.pk], "mail") == {
        emailer.pk: "email", caller.pk: "phone", quiet.pk: "mail"}


def test_reads_in_chunks(book, monkeypatch):
    emailer, caller, quiet = book
    monkeypatch.setattr(channels, "CHUNK", 1)
    assert set(channel_preferences([emailer.pk, caller.pk, quiet.pk])) == {emailer.pk, caller.pk}


def test_shown_on_the_360_page(client, book, alice):
    emailer, _caller, _quiet = book
    client.force_login(alice)
    page = client.get(reverse("customer-detail", args=[emailer.pk])).content.decode()
    row = page.split('data-testid="preferred-channel"')[1].split("</tr>")[0]
    assert "Email" in row and "3 of 3 contacts" in row
    new = make_customer("New", owner=alice)
    page = client.get(reverse("customer-detail", args=[new.pk])).content.decode()
    assert "not known yet" in page.split('data-testid="preferred-channel"')[1].split("</tr>")[0]


def test_prior_on_a_sample_of_a_large_book(book):
    """On a large book the prior is estimated on customers whose id is a multiple of a step."""
    from django.db.models import Max

    from patron.customers.models import Customer

    for i in range(6):  # more ids, so that the steps between 1 and the largest id are many
        make_customer(f"Filler {i}")
    top = Customer.objects.aggregate(top=Max("pk"))["top"]
    emailer, caller, _quiet = book

    def step_of(sample: int) -> int:
        return max(top // sample, 1)  # as channel_priors takes it

    # A sample size whose step keeps exactly one of the two contacted customers.
    sample = next(n for n in range(1, top + 1) if (emailer.pk % step_of(n) == 0) != (caller.pk % step_of(n) == 0))
    step = step_of(sample)
    sampled = [c.pk for c in book if c.pk % step == 0]
    full = channel_priors()
    priors = channel_priors(sample=sample)
    counts = channels._counts(sampled)
    for channel in ("email", "phone"):
        n = sum(c.get(channel, (0, 0))[0] for c in counts.values())
        r = sum(c.get(channel, (0, 0))[1] for c in counts.values())
        if n:
            assert priors[channel].rate == pytest.approx(r / n)
        else:
            assert channel not in priors
    assert priors != full  # one of the two customers left out


def test_the_books_prior_is_read_once_per_cache_period(book):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    emailer, _caller, _quiet = book
    with CaptureQueriesContext(connection) as first:
        channel_preferences([emailer.pk])
    with CaptureQueriesContext(connection) as second:
        again = channel_preferences([emailer.pk])
    # The second call reads the customer's counts only, not the book's prior again.
    assert len(second) < len(first)
    assert not any("UNION ALL" in q["sql"] for q in second.captured_queries)
    assert again[emailer.pk].channel == "email"


def test_a_large_set_of_ids_reads_the_whole_book_once_with_the_same_answer(book, monkeypatch):
    emailer, caller, quiet = book
    ids = [emailer.pk, caller.pk, quiet.pk]
    chunked = channel_preferences(ids)
    monkeypatch.setattr(channels, "WHOLE_BOOK_FROM", 0)  # every call takes the whole-book path
    whole = channel_preferences(ids)
    assert whole == chunked and set(whole) == {emailer.pk, caller.pk}
    assert channel_preferences([caller.pk]) == {caller.pk: chunked[caller.pk]}  # only the ids asked for
