"""A campaign launched on each customer's preferred channel: every member reached on theirs, with
that channel's consent and budget, in the email run, the call list or the mailing file."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from django.urls import reverse

from patron.campaigns.campaign_selectors import call_list, mailing_csv
from patron.campaigns.campaign_services import campaign_create, campaign_launch
from patron.campaigns.models import CampaignMember
from patron.campaigns.services import segment_create
from patron.feedback.models import ContactLog, ContactRule
from tests.api.conftest import client_for
from tests.campaigns.history import launched, member
from tests.factories import make_customer
from tests.feedback.conftest import run_worker, smtp  # noqa: F401  (the loopback SMTP server)

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(db):
    """Three customers who answered on email, on the phone, and never: each reachable on all three."""
    contact = {"consent_email": True, "phone": "+852 9123 0101", "address": "1 Main St"}
    emailer = make_customer("Emailer", email="emailer@example.com", **contact)
    caller = make_customer("Caller", email="caller@example.com", **contact)
    quiet = make_customer("Quiet", email="quiet@example.com", **contact)
    by_email, by_phone = launched(channel="email", offer="earlier email"), launched(channel="phone", offer="earlier call")
    member(by_email, emailer, responded=True, margin="5")
    member(by_phone, emailer, responded=False)
    member(by_phone, caller, responded=True, margin="8")
    member(by_email, caller, responded=False)
    return emailer, caller, quiet


def _campaign(root, **over):
    segment = segment_create(name="Everyone", filter={}, created_by=None)
    values = {
        "name": "Spring", "segment_id": segment.pk, "channel": "mail", "offer": "15% off",
        "starts_on": date(2026, 3, 1), "ends_on": date(2026, 3, 31), "control_share": 0.01,
        "use_preferred_channel": True,
    }
    values.update(over)
    return campaign_create(values=values, created_by=root)


def _channels(campaign):
    return dict(CampaignMember.objects.filter(campaign=campaign).values_list("customer__name", "channel"))


def test_each_member_is_reached_on_their_preferred_channel(smtp, people, root):  # noqa: F811
    emailer, caller, quiet = people
    result = campaign_launch(campaign=_campaign(root), user=root, seed=1)
    assert _channels(result.campaign) == {"Emailer": "email", "Caller": "phone", "Quiet": "mail"}  # no history: the campaign's
    assert result.channels == {"email": 1, "phone": 1, "mail": 1}
    logged = dict(ContactLog.objects.filter(ref=f"campaign:{result.campaign.pk}").values_list("customer_id", "channel"))
    assert logged == {emailer.pk: "email", caller.pk: "phone", quiet.pk: "mail"}
    # The worker emails the email member only; the call list and the mailing file hold theirs.
    run_worker()
    assert [str(m["To"]) for m in smtp.messages] == ["emailer@example.com"]
    assert [m.customer_id for m in call_list(root, result.campaign)] == [caller.pk]
    rows = list(csv.reader(io.StringIO("".join(mailing_csv(root, result.campaign)).lstrip("\ufeff"))))
    assert [row[0] for row in rows[1:]] == [str(quiet.pk)]
    # Mail counts as contacted at the launch; email when handed over; the call when recorded.
    reached = dict(CampaignMember.objects.filter(campaign=result.campaign).values_list("customer_id", "contacted_at"))
    assert reached[quiet.pk] is not None and reached[emailer.pk] is not None and reached[caller.pk] is None


def test_each_members_channel_has_its_own_consent_and_budget(people, root):
    emailer, caller, quiet = people
    emailer.consent_email = False
    emailer.save(update_fields=["consent_email"])
    ContactRule.objects.create(name="No calls", purpose="campaign", channel="phone", max_contacts=0, window_days=30)
    result = campaign_launch(campaign=_campaign(root), user=root, seed=1)
    skipped = dict(CampaignMember.objects.filter(campaign=result.campaign).values_list("customer_id", "skipped_reason"))
    assert skipped == {emailer.pk: "no_consent", caller.pk: "budget", quiet.pk: ""}
    assert result.channels == {"mail": 1} and result.contacted == 1


def test_without_the_flag_everyone_gets_the_campaigns_channel(people, root):
    result = campaign_launch(campaign=_campaign(root, use_preferred_channel=False), user=root, seed=1)
    assert set(_channels(result.campaign).values()) == {"mail"}
    assert result.channels == {"mail": 3}


def test_the_api_sets_reads_and_checks_the_flag(people, root):
    api = client_for(root)
    segment = segment_create(name="Everyone", filter={}, created_by=None)
    body = {"name": "Mixed", "segment_id": segment.pk, "channel": "email", "starts_on": "2026-03-01",
            "ends_on": "2026-03-31", "control_share": 0.01, "use_preferred_channel": True}
    created = api.post("/campaigns", body)
    assert created.status_code == 201, created.content
    assert created.json()["use_preferred_channel"] is True
    assert api.patch(f"/campaigns/{created.json()['id']}", {"use_preferred_channel": "often"}).status_code == 422
    launched_ = api.post(f"/campaigns/{created.json()['id']}/launch", {"seed": 2})
    assert launched_.status_code == 200, launched_.content
    assert launched_.json()["channels"] == {"email": 2, "phone": 1}  # Quiet: no history, the campaign's email
    calls = api.get(f"/campaigns/{created.json()['id']}/call-list")
    assert calls.status_code == 200 and [r["name"] for r in calls.json()["items"]] == ["Caller"]


def test_the_page_says_so_and_shows_each_members_channel(client, people, root):
    result = campaign_launch(campaign=_campaign(root), user=root, seed=1)
    client.force_login(root)
    page = client.get(reverse("campaign-detail", args=[result.campaign.pk])).content.decode()
    assert "preferred channel" in page
    assert 'data-testid="campaign-calls"' in page and 'data-testid="campaign-mailing"' in page
    members = page.split('data-testid="campaign-members"')[1]
    for label in ("<td>Email</td>", "<td>Phone call</td>", "<td>Mail</td>"):
        assert label in members
