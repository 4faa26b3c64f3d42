"""An email campaign's messages, sent by the worker through a real SMTP server on loopback: to
the contacted treatment members only, once each, with the offer and an unsubscribe link."""

from __future__ import annotations

from datetime import date
from unittest import mock

import pytest
from django.utils import timezone

from patron.campaigns import campaign_tasks
from patron.campaigns.campaign_services import campaign_create, campaign_launch
from patron.campaigns.models import CampaignMember
from patron.campaigns.services import segment_create
from patron.customers.models import Customer
from tests.factories import make_customer
from tests.feedback.conftest import body, links_in, run_worker, smtp  # noqa: F401  (the loopback SMTP server)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _base_url(settings):
    settings.PATRON_BASE_URL = "https://crm.example.com"


def _launch(root, *, channel="email", share=0.5, seed=3):
    segment = segment_create(name="Everyone", filter={}, created_by=None)
    campaign = campaign_create(
        values={
            "name": "Winter", "segment_id": segment.pk, "channel": channel, "offer": "15% off boots",
            "subject": "Winter is coming", "message": "Warm boots for cold days.",
            "starts_on": date(2026, 12, 1), "ends_on": date(2026, 12, 31), "control_share": share,
        },
        created_by=root,
    )
    return campaign_launch(campaign=campaign, user=root, seed=seed).campaign


def _people(n=4):
    return [make_customer(f"Person {i}", email=f"p{i}@example.com", consent_email=True) for i in range(n)]


def test_the_worker_sends_each_contacted_treatment_member_once(smtp, root):  # noqa: F811
    _people(4)
    make_customer("Quiet", email="quiet@example.com", consent_email=False)
    campaign = _launch(root)
    run_worker()
    contacted = CampaignMember.objects.filter(campaign=campaign, contacted=True).select_related("customer")
    expected = sorted(m.customer.email for m in contacted)
    assert expected and sorted(str(m["To"]) for m in smtp.messages) == expected
    assert "quiet@example.com" not in {str(m["To"]) for m in smtp.messages}
    controls = set(CampaignMember.objects.filter(campaign=campaign, group="control").values_list("customer__email", flat=True))
    assert controls and not controls & {str(m["To"]) for m in smtp.messages}
    for member in contacted:
        assert member.contacted_at is not None
    message = smtp.messages[0]
    assert message["Subject"] == "Winter is coming"
    text = body(message, "plain")
    assert "Warm boots for cold days." in text and "15% off boots" in text
    [unsubscribe] = [link for link in links_in(text) if "/s/u/" in link]  # surveys' signed unsubscribe link
    assert str(message["List-Unsubscribe"]).strip() == f"<{unsubscribe}>"
    run_worker()  # nothing queued again, and a rerun of the task sends nothing twice
    campaign_tasks.campaign_emails_send.call(campaign.pk)
    assert len(smtp.messages) == len(expected)


def test_a_member_handed_over_before_a_crash_is_not_sent_again(smtp, root):  # noqa: F811
    _people(2)
    campaign = _launch(root, share=0.01)
    first = CampaignMember.objects.filter(campaign=campaign, contacted=True).order_by("pk").first()
    CampaignMember.objects.filter(pk=first.pk).update(contacted_at=timezone.now())  # the worker died here
    run_worker()
    assert [str(m["To"]) for m in smtp.messages] == ["p1@example.com"]


def test_the_message_id_is_stable(root):
    _people(2)
    campaign = _launch(root, share=0.01)
    member, other = CampaignMember.objects.filter(campaign=campaign).select_related("customer")
    first = campaign_tasks.member_message(member, campaign).message()["Message-ID"]
    assert first == campaign_tasks.member_message(member, campaign).message()["Message-ID"]
    assert campaign_tasks.member_message(other, campaign).message()["Message-ID"] != first


def test_consent_withdrawn_after_the_launch_is_respected(smtp, root):  # noqa: F811
    people = _people(2)
    campaign = _launch(root, share=0.01)
    Customer.objects.filter(pk=people[0].pk).update(consent_email=False)
    run_worker()
    assert [str(m["To"]) for m in smtp.messages] == ["p1@example.com"]
    assert CampaignMember.objects.get(campaign=campaign, customer=people[0]).contacted_at is None


def test_a_refusal_by_the_server_clears_the_marker(smtp, root):  # noqa: F811
    import smtplib

    _people(1)
    campaign = _launch(root, share=0.01)
    with mock.patch("patron.core.mail._SMTP.send", side_effect=smtplib.SMTPDataError(554, b"no")):
        result = campaign_tasks.campaign_emails_send.call(campaign.pk)
    assert result == {"sent": 0, "failed": 1}
    assert CampaignMember.objects.get(campaign=campaign).contacted_at is None


def test_phone_and_mail_campaigns_send_no_email(smtp, root):  # noqa: F811
    _people(2)
    for channel in ("phone", "mail"):
        _launch(root, channel=channel, share=0.01)
    run_worker()
    assert smtp.messages == []
