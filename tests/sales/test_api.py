"""The sales API: leads and opportunities (list, get, create, PATCH), a lead's conversion once,
an opportunity's stage history; bad input is a clear 4xx, never a 500."""

from __future__ import annotations

import pytest

from patron.sales.models import Lead, Opportunity, StageChange
from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(alice):
    return client_for(alice)


def test_leads_list_get_create_patch(api, deals, alice):
    listed = api.get("/leads").json()
    assert [x["name"] for x in listed["items"]] == ["Wang Fang"] and listed["count"] == 1
    one = api.get(f"/leads/{deals.alice_lead.pk}").json()
    assert one["phone"] == "+8616613207659" and one["owner"] == "alice" and one["branch"] == "N1" and one["region"] == "N"
    assert api.get(f"/leads/{deals.bob_lead.pk}").status_code == 404
    created = api.post("/leads", {"name": "Chen Jie", "company": "Jie Ltd", "source": "web", "channel": "phone",
                                  "phone": "138 0013 8000", "external_id": "L-1"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["owner"] == "alice" and body["phone"] == "+8613800138000" and body["status"] == "open"
    patched = api.patch(f"/leads/{body['id']}", {"company": "Jie Group", "email": None})
    assert patched.status_code == 200 and patched.json()["company"] == "Jie Group"
    assert api.get("/leads", q="Jie", sort="-name").json()["count"] == 1
    assert api.get("/leads", status="disqualified").json()["count"] == 0
    out = api.patch(f"/leads/{body['id']}", {"status": "disqualified", "disqualify_reason": "Student project"})
    assert out.status_code == 200 and out.json()["status"] == "disqualified"
    assert api.post(f"/leads/{body['id']}/convert").status_code == 409


def test_convert_once(api, deals):
    first = api.post(f"/leads/{deals.alice_lead.pk}/convert")
    assert first.status_code == 200, first.content
    body = first.json()
    assert body["opportunity_ids"] == [deals.alice_lead_deal.pk]
    assert Opportunity.objects.get(pk=deals.alice_lead_deal.pk).customer_id == body["customer_id"]
    again = api.post(f"/leads/{deals.alice_lead.pk}/convert")
    assert again.status_code == 409 and again.json()["code"] == "already_converted"
    # The converted customer is the rep's: it reads it.
    assert api.get(f"/customers/{body['customer_id']}").status_code == 200
    assert Lead.objects.get(pk=deals.alice_lead.pk).status == "converted"


def test_opportunities_list_get_create_move_history(api, deals, alice):
    listed = api.get("/opportunities").json()
    assert sorted(x["name"] for x in listed["items"]) == ["Alder renewal", "Fang tea order"]
    assert api.get(f"/opportunities/{deals.bob_deal.pk}").status_code == 404
    created = api.post("/opportunities", {"name": "Alder extra", "customer_id": deals.alice_customer.pk,
                                          "amount": "99.90", "currency": "USD", "expected_close": "2031-06-30",
                                          "stage": "meet", "next_step": "Send samples"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["stage"] == "meet" and body["amount"] == "99.90" and body["owner"] == "alice"
    assert body["currency"] == "USD" and body["outcome"] == "open"
    moved = api.patch(f"/opportunities/{body['id']}", {"stage": "propose"})
    assert moved.status_code == 200 and moved.json()["stage"] == "propose"
    no_reason = api.patch(f"/opportunities/{body['id']}", {"stage": "won"})
    assert no_reason.status_code == 422 and "won_reason" in no_reason.json()["details"]
    won = api.patch(f"/opportunities/{body['id']}", {"stage": "won", "won_reason": "Fast delivery"})
    assert won.status_code == 200 and won.json()["closed_at"] and won.json()["won_reason"] == "Fast delivery"
    history = api.get(f"/opportunities/{body['id']}/stages").json()
    assert [(h["from_stage"], h["to_stage"]) for h in history] == [(None, "meet"), ("meet", "propose"), ("propose", "won")]
    assert all(h["changed_by"] == "alice" for h in history)
    assert api.get("/opportunities", stage="won").json()["count"] == 1
    assert api.get("/opportunities", outcome="open", sort="-amount").json()["count"] == 2
    on_lead = api.post("/opportunities", {"name": "Lead deal", "lead_id": deals.alice_lead.pk})
    assert on_lead.status_code == 201 and on_lead.json()["lead_id"] == deals.alice_lead.pk


@pytest.mark.parametrize(
    "body",
    [
        {"name": "X", "customer_id": 0},
        {"name": "X", "amount": "-1"},
        {"name": "X", "amount": "ten"},
        {"name": "X", "amount": "1e400"},
        {"name": "X", "currency": "usd"},
        {"name": "X", "expected_close": "2031-02-30"},
        {"name": "X", "expected_close": "tomorrow"},
        {"name": "X", "stage": "signed"},
        {"name": "X", "stage": ""},
        {"name": ""},
        {"name": "X", "owner": "nobody"},
        {"name": "X", "lead_id": "LEAD"},
        {"name": "X", "surprise": 1},
    ],
)
def test_bad_opportunity_input_is_a_4xx(api, deals, body):
    if "customer_id" not in body and "lead_id" not in body:
        body = {**body, "customer_id": deals.alice_customer.pk}
    response = api.post("/opportunities", body)
    assert 400 <= response.status_code < 500, (body, response.content)
    assert response.json()["message"]


def test_both_or_neither_party_is_a_422(api, deals):
    both = api.post("/opportunities", {"name": "X", "customer_id": deals.alice_customer.pk, "lead_id": deals.alice_lead.pk})
    neither = api.post("/opportunities", {"name": "X"})
    assert both.status_code == 422 and neither.status_code == 422
    assert api.post("/opportunities", {"name": "X", "customer_id": deals.bob_customer.pk}).status_code == 404
    assert api.post("/opportunities", {"name": "X", "lead_id": deals.bob_lead.pk}).status_code == 404


@pytest.mark.parametrize(
    "body",
    [{"stage": "nope"}, {"stage": None}, {"amount": -5}, {"amount": "x"}, {"currency": "EURO"},
     {"expected_close": "31/12/2030"}, {"name": None}, {"stage": "lost"}],
)
def test_bad_patch_is_a_4xx(api, deals, body):
    response = api.patch(f"/opportunities/{deals.alice_deal.pk}", body)
    assert 400 <= response.status_code < 500, (body, response.content)


@pytest.mark.parametrize("body", [{"name": ""}, {"source": "tv"}, {"channel": "smoke"}, {"email": "not-an-email"},
                                  {"phone": "12"}, {"branch": "NOPE"}, {"name": "X", "owner": "ghost"}])
def test_bad_lead_input_is_a_4xx(api, body):
    response = api.post("/leads", {"name": "X", **body} if "name" not in body else body)
    assert 400 <= response.status_code < 500, (body, response.content)


def test_an_analyst_reads_but_does_not_write(deals, nora):
    api = client_for(nora)
    assert api.get("/opportunities").json()["count"] == 3
    assert api.get(f"/leads/{deals.alice_lead.pk}").status_code == 200
    assert api.patch(f"/opportunities/{deals.alice_deal.pk}", {"stage": "meet"}).status_code == 403
    assert api.post(f"/leads/{deals.alice_lead.pk}/convert").status_code == 403
    assert api.post("/leads", {"name": "X"}).status_code == 403
    assert api.post("/opportunities", {"name": "X", "customer_id": deals.alice_customer.pk}).status_code == 403
    assert not StageChange.objects.filter(opportunity=deals.alice_deal, to_stage__key="meet").exists()


def test_unknown_sort_is_a_422(api, deals):
    response = api.get("/opportunities", sort="colour")
    assert response.status_code == 422 and "expected_close" in response.json()["message"]


def test_a_rep_cannot_hand_a_lead_out_of_sight(api, deals, bob):
    refused = api.post("/leads", {"name": "Given away", "owner": "bob"})
    assert refused.status_code == 403
    assert not Lead.objects.filter(name="Given away").exists()
    moved = api.patch(f"/leads/{deals.alice_lead.pk}", {"owner": "bob"})
    assert moved.status_code == 403 and Lead.objects.get(pk=deals.alice_lead.pk).owner.username == "alice"
    assert api.patch(f"/leads/{deals.alice_lead.pk}", {"disqualify_reason": "x"}).status_code == 422
