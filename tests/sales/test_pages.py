"""The sales pages: the board renders each stage with its count and sum, a move by the card's form
is recorded (a won or lost one asks for the reason first), the lists filter and download, a lead
converts once from its page, and read-only roles change nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from patron.sales.models import Lead, Opportunity, StageChange

pytestmark = pytest.mark.django_db


def test_the_board_shows_each_stage_with_its_count_and_sum(client, alice, deals):
    client.force_login(alice)
    page = client.get(reverse("sales-board")).content.decode()
    qualify = page.split('data-testid="stage-qualify"')[1].split("</section>")[0]
    assert 'data-testid="count">2<' in qualify and "1,700.00" in qualify
    assert "Alder renewal" in qualify and "Fang tea order" in qualify and "Birch pilot" not in page
    assert 'draggable="true"' in page and f'action="{reverse("sales-move", args=[deals.alice_deal.pk])}"' in page
    assert "<script src=" in page and "onclick" not in page and "style=" not in page
    assert ">Sales<" in client.get(reverse("home")).content.decode()  # in the menu


def test_a_move_by_form_is_recorded(client, alice, deals):
    client.force_login(alice)
    url = reverse("sales-move", args=[deals.alice_deal.pk])
    response = client.post(url, {"stage": "propose", "next": "/sales/"})
    assert response.status_code == 302 and response["Location"] == f"/sales/#card-{deals.alice_deal.pk}"
    change = StageChange.objects.filter(opportunity=deals.alice_deal).latest("id")
    assert change.to_stage.key == "propose" and change.from_stage.key == "qualify" and change.changed_by == alice


def test_a_move_to_won_asks_for_the_reason(client, alice, deals):
    client.force_login(alice)
    url = reverse("sales-move", args=[deals.alice_deal.pk])
    response = client.post(url, {"stage": "won", "next": "/sales/"})
    assert response.status_code == 302 and "stage=won" in response["Location"]
    assert Opportunity.objects.get(pk=deals.alice_deal.pk).stage.key == "qualify"
    form = client.get(response["Location"]).content.decode()
    assert 'data-testid="reason-form"' in form and "Why was it won?" in form
    client.post(url, {"stage": "won", "reason": "Best price", "next": "/sales/"})
    deal = Opportunity.objects.get(pk=deals.alice_deal.pk)
    assert deal.stage.key == "won" and deal.won_reason == "Best price" and deal.closed_at
    assert client.post(url, {"stage": "nowhere", "next": "/sales/"}).status_code == 302


def test_read_only_roles_and_strangers_change_nothing(client, nora, bob, deals):
    url = reverse("sales-move", args=[deals.alice_deal.pk])
    client.force_login(nora)
    assert client.get(reverse("sales-board")).status_code == 200
    assert client.post(url, {"stage": "meet"}).status_code == 403
    assert client.post(reverse("lead-convert", args=[deals.alice_lead.pk])).status_code == 403
    assert client.get(reverse("lead-new")).status_code == 403
    client.force_login(bob)
    assert client.post(url, {"stage": "meet"}).status_code == 404
    assert client.get(reverse("opportunity-detail", args=[deals.alice_deal.pk])).status_code == 404
    assert not StageChange.objects.filter(to_stage__key="meet", opportunity=deals.alice_deal).exists()


def test_the_lists_filter_sort_and_download(client, alice, deals):
    client.force_login(alice)
    page = client.get(reverse("opportunity-list"), {"stage": "qualify", "sort": "-amount"}).content.decode()
    assert page.index("Alder renewal") < page.index("Fang tea order") and "Birch pilot" not in page
    csv = b"".join(client.get(reverse("opportunity-list"), {"format": "csv"}).streaming_content).decode()
    assert "Alder renewal" in csv and "Birch pilot" not in csv
    leads = client.get(reverse("lead-list"), {"q": "Fang"}).content.decode()
    assert "Wang Fang" in leads and "Li Lei" not in leads
    odd = client.get(reverse("lead-list"), {"status": "sleeping", "sort": "colour"})
    assert odd.status_code == 200 and 'data-testid="list-errors"' in odd.content.decode()


def test_a_lead_converts_once_from_its_page(client, alice, deals):
    client.force_login(alice)
    detail = client.get(reverse("lead-detail", args=[deals.alice_lead.pk])).content.decode()
    assert 'data-testid="convert"' in detail
    response = client.post(reverse("lead-convert", args=[deals.alice_lead.pk]))
    lead = Lead.objects.get(pk=deals.alice_lead.pk)
    assert response.status_code == 302 and response["Location"] == reverse("customer-detail", args=[lead.converted_customer_id])
    again = client.post(reverse("lead-convert", args=[deals.alice_lead.pk]), follow=True)
    assert "converted to a customer already" in again.content.decode()
    assert 'data-testid="convert"' not in client.get(reverse("lead-detail", args=[lead.pk])).content.decode()


def test_new_lead_and_opportunity_forms(client, alice, deals):
    client.force_login(alice)
    response = client.post(reverse("lead-new"), {"name": "Sun Li", "company": "", "email": "", "phone": "12",
                                                 "source": "web", "channel": ""})
    assert response.status_code == 200 and "not a valid phone number" in response.content.decode()
    response = client.post(reverse("lead-new"), {"name": "Sun Li", "source": "web", "phone": "13800138000"})
    lead = Lead.objects.get(name="Sun Li")
    assert response.status_code == 302 and lead.owner == alice and lead.phone == "+8613800138000"
    stage = deals.alice_deal.stage
    ok = client.post(reverse("opportunity-new"), {"name": "Alder add-on", "customer": "Alder", "amount": "10",
                                                  "currency": "CNY", "stage": stage.pk})
    assert ok.status_code == 302, ok.content.decode()[:2000]
    made = Opportunity.objects.get(name="Alder add-on")
    assert made.customer == deals.alice_customer and made.owner == alice
    detail = client.get(reverse("opportunity-detail", args=[made.pk])).content.decode()
    assert 'data-testid="history"' in detail and "Qualify" in detail
    hidden = client.post(reverse("opportunity-new"), {"name": "X", "customer": "Birch", "amount": "1", "currency": "CNY",
                                                      "stage": stage.pk})
    assert hidden.status_code == 200 and not Opportunity.objects.filter(name="X").exists()
    on_lead = client.post(reverse("opportunity-new"), {"name": "Y", "lead": lead.pk, "amount": "1", "currency": "CNY",
                                                       "stage": stage.pk})
    assert on_lead.status_code == 302 and Opportunity.objects.get(name="Y").lead == lead


def test_an_opportunity_is_changed_on_its_page_and_audited(client, alice, bob, deals):
    from patron.core.models import AuditEntry

    client.force_login(alice)
    detail = client.get(reverse("opportunity-detail", args=[deals.alice_deal.pk])).content.decode()
    edit = reverse("opportunity-edit", args=[deals.alice_deal.pk])
    assert f'href="{edit}"' in detail
    assert 'value="Alder renewal"' in client.get(edit).content.decode()
    response = client.post(edit, {"name": "Alder renewal 2027", "amount": "1500", "currency": "CNY",
                                  "expected_close": "2027-03-31", "next_step": "Call the buyer"})
    assert response.status_code == 302
    deal = Opportunity.objects.get(pk=deals.alice_deal.pk)
    assert (deal.name, str(deal.amount), str(deal.expected_close), deal.next_step) == (
        "Alder renewal 2027", "1500.00", "2027-03-31", "Call the buyer")
    entry = AuditEntry.objects.filter(action="opportunity.update", object_id=deal.pk).latest("id")
    assert set(entry.changes) == {"name", "amount", "expected_close", "next_step"}  # only what changed
    bad = client.post(edit, {"name": "", "amount": "-1", "currency": "XX"})
    assert bad.status_code == 200 and Opportunity.objects.get(pk=deal.pk).name == "Alder renewal 2027"
    errors = bad.context["form"].errors
    assert {"name", "amount", "currency"} <= set(errors)
    client.force_login(bob)
    assert client.get(edit).status_code == 404  # not his to see


def test_a_lead_is_changed_on_its_page_and_a_bad_phone_is_refused(client, alice, deals):
    client.force_login(alice)
    edit = reverse("lead-edit", args=[deals.alice_lead.pk])
    form = {"name": "Wang Fang", "company": "Fang Tea Group", "email": "fang@example.com",
            "phone": "166 1320 7659", "source": "referral", "channel": "", "branch": ""}
    assert client.post(edit, form).status_code == 302
    lead = Lead.objects.get(pk=deals.alice_lead.pk)
    assert (lead.company, lead.source, lead.phone) == ("Fang Tea Group", "referral", "+8616613207659")
    bad = client.post(edit, {**form, "phone": "12345"})
    assert bad.status_code == 200 and "phone" in bad.context["form"].errors
    assert Lead.objects.get(pk=lead.pk).phone == "+8616613207659"
