"""Campaign pages: the form, the launch with its confirmation, the campaign's page within the
reader's visibility, the call list a rep works and the mailing file's button."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from patron.campaigns.models import Campaign, CampaignMember
from patron.campaigns.services import segment_create
from patron.core.models import AuditEntry
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


FORM = {
    "name": "Summer", "channel": "phone", "offer": "Free upgrade", "subject": "", "message": "",
    "starts_on": "2026-06-01", "ends_on": "2026-06-30", "response_window_days": "30", "control_share": "0.01",
    "cost": "0",
}


@pytest.fixture
def book(alice, bob):
    return {
        "ash": make_customer("Ash Tree", owner=alice, phone="+852 9123 0001"),
        "birch": make_customer("Birch Tree", owner=bob, phone="+852 9123 0002"),
    }


def test_create_launch_and_read_a_phone_campaign(book, maya, alice):
    segment = segment_create(name="All", filter={}, created_by=None)
    marketer = _client(maya)
    bad = marketer.post(reverse("campaign-new"), {**FORM, "segment": segment.pk, "control_share": "1"})
    assert bad.status_code == 200 and not Campaign.objects.exists()
    assert "strictly between 0 and 1" in bad.content.decode()
    created = marketer.post(reverse("campaign-new"), {**FORM, "segment": segment.pk})
    campaign = Campaign.objects.get()
    assert created["Location"] == reverse("campaign-detail", args=[campaign.pk])
    confirm = marketer.get(reverse("campaign-launch", args=[campaign.pk]))
    assert 'data-testid="launch-button"' in confirm.content.decode()
    assert Campaign.objects.get().status == "draft"  # the confirmation page launches nothing
    marketer.post(reverse("campaign-launch", args=[campaign.pk]))
    assert Campaign.objects.get().status == "launched"
    page = marketer.get(reverse("campaign-detail", args=[campaign.pk])).content.decode()
    assert "Ash Tree" in page and "Birch Tree" in page and 'data-testid="campaign-calls"' in page

    rep = _client(alice)
    mine = rep.get(reverse("campaign-detail", args=[campaign.pk])).content.decode()
    assert "Ash Tree" in mine and "Birch Tree" not in mine
    calls = rep.get(reverse("campaign-calls", args=[campaign.pk])).content.decode()
    assert "Ash Tree" in calls and "Birch Tree" not in calls and "+852 9123 0001" in calls
    ash = CampaignMember.objects.get(customer=book["ash"])
    birch = CampaignMember.objects.get(customer=book["birch"])
    assert rep.post(reverse("campaign-called", args=[campaign.pk, birch.pk])).status_code == 404
    rep.post(reverse("campaign-called", args=[campaign.pk, ash.pk]))
    ash.refresh_from_db()
    birch.refresh_from_db()
    assert ash.contacted_at is not None and birch.contacted_at is None
    assert AuditEntry.objects.filter(action="campaign.call", customer_id=book["ash"].pk).count() == 1


def test_readers_cannot_create_or_launch(book, nora, alice):
    segment = segment_create(name="All", filter={}, created_by=None)
    for user in (nora, alice):
        client = _client(user)
        assert client.get(reverse("campaign-list")).status_code == 200
        assert client.post(reverse("campaign-new"), {**FORM, "segment": segment.pk}).status_code == 403
    assert not Campaign.objects.exists()


def test_mail_campaign_offers_the_mailing_file(book, maya):
    make_customer("Post Box", address="1 Post Rd")
    segment = segment_create(name="All", filter={}, created_by=None)
    client = _client(maya)
    client.post(reverse("campaign-new"), {**FORM, "channel": "mail", "segment": segment.pk})
    campaign = Campaign.objects.get()
    client.post(reverse("campaign-launch", args=[campaign.pk]))
    page = client.get(reverse("campaign-detail", args=[campaign.pk])).content.decode()
    assert reverse("campaign-mailing", args=[campaign.pk]) in page
    assert "No postal address" in page  # the two without an address, by reason
    csv_text = b"".join(client.get(reverse("campaign-mailing", args=[campaign.pk])).streaming_content).decode("utf-8-sig")
    assert "Post Box" in csv_text and "Ash Tree" not in csv_text
