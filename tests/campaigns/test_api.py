"""/api/v1/segments: CRUD, counts for the caller's visibility, members, 422 naming the key, roles."""

from __future__ import annotations

import pytest

from patron.campaigns.models import Segment
from patron.core.models import AuditEntry
from tests.api.conftest import client_for
from tests.campaigns.conftest import scored
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(db, alice, bob, north, south):
    a = make_customer("Ash", owner=alice, branch=north, tags=["vip"])
    b = make_customer("Beech", owner=bob, branch=south, tags=["vip"])
    c = make_customer("Cork", owner=alice, branch=north)
    scored(a, clv=1000.0, churn_risk=0.7)
    scored(b, clv=400.0, churn_risk=0.8)
    scored(c, clv=50.0, churn_risk=0.1)
    return {"a": a, "b": b, "c": c}


@pytest.fixture
def as_maya(maya):
    return client_for(maya)


def test_create_then_read_with_count_and_value(book, as_maya, maya):
    created = as_maya.post("/segments", {"name": "VIPs at risk", "filter": {"tags": ["vip"], "churn_risk_min": 0.5}})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["name"] == "VIPs at risk"
    assert body["filter"] == {"tags": ["vip"], "churn_risk_min": 0.5}
    assert (body["count"], body["total_predicted_value"]) == (2, 1400.0)
    assert body["created_by"] == "maya"
    segment = Segment.objects.get(pk=body["id"])
    assert segment.created_by == maya and segment.filter == body["filter"]

    got = as_maya.get(f"/segments/{body['id']}").json()
    assert (got["id"], got["count"], got["total_predicted_value"]) == (body["id"], 2, 1400.0)


def test_count_and_members_follow_the_callers_visibility(book, as_maya, as_alice):
    segment_id = as_maya.post("/segments", {"name": "VIP", "filter": {"tags": ["vip"]}}).json()["id"]
    mine = as_alice.get(f"/segments/{segment_id}").json()
    assert (mine["count"], mine["total_predicted_value"]) == (1, 1000.0)
    members = as_alice.get(f"/segments/{segment_id}/customers").json()
    assert members["count"] == 1
    assert [c["name"] for c in members["items"]] == ["Ash"]
    everyone = as_maya.get(f"/segments/{segment_id}/customers", sort="-name").json()
    assert [c["name"] for c in everyone["items"]] == ["Beech", "Ash"]


def test_members_page_like_the_customer_list(book, as_maya):
    segment_id = as_maya.post("/segments", {"name": "All", "filter": {}}).json()["id"]
    first = as_maya.get(f"/segments/{segment_id}/customers", limit=2).json()
    assert first["count"] == 3 and len(first["items"]) == 2 and first["next"]
    listed = as_maya.get("/customers", limit=2).json()
    assert first["items"] == listed["items"]  # same shape, same default order
    second = as_maya.get(f"/segments/{segment_id}/customers", limit=2, offset=2).json()
    assert [c["name"] for c in second["items"]] == ["Cork"] and second["next"] is None


def test_list_is_paged(book, as_maya, as_alice):
    for name in ("B", "A", "C"):
        as_maya.post("/segments", {"name": name})
    page = as_alice.get("/segments", limit=2).json()
    assert page["count"] == 3
    assert [s["name"] for s in page["items"]] == ["A", "B"]
    assert page["next"] is not None


@pytest.mark.parametrize(
    ("segment_filter", "key"),
    [
        ({"colour": "red"}, "colour"),
        ({"churn_risk_min": 2}, "churn_risk_min"),
        ({"value_class": ["gold"]}, "value_class"),
        ({"nps_class": ["fan"]}, "nps_class"),
        ({"key_account": "maybe"}, "key_account"),
        ({"orders_min": 4, "orders_max": 1}, "orders_max"),
    ],
)
def test_bad_filter_is_422_naming_the_key(as_maya, segment_filter, key):
    response = as_maya.post("/segments", {"name": "Bad", "filter": segment_filter})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "invalid"
    assert key in body["message"]
    assert any(detail["loc"][1:3] == ["filter", key] for detail in body["details"]), body["details"]
    assert not Segment.objects.exists()


def test_patch_and_delete(book, as_maya):
    segment_id = as_maya.post("/segments", {"name": "VIP", "filter": {"tags": ["vip"]}}).json()["id"]
    renamed = as_maya.patch(f"/segments/{segment_id}", {"name": "Big VIP"})
    assert renamed.status_code == 200
    assert renamed.json()["filter"] == {"tags": ["vip"]}  # unchanged when absent
    refiltered = as_maya.patch(f"/segments/{segment_id}", {"filter": {"churn_risk_max": 0.5}}).json()
    assert refiltered["name"] == "Big VIP"
    assert (refiltered["filter"], refiltered["count"]) == ({"churn_risk_max": 0.5}, 1)
    bad = as_maya.patch(f"/segments/{segment_id}", {"filter": {"clv_min": "lots"}})
    assert bad.status_code == 422 and "clv_min" in bad.json()["message"]
    assert Segment.objects.get(pk=segment_id).filter == {"churn_risk_max": 0.5}
    assert as_maya.delete(f"/segments/{segment_id}").status_code == 204
    assert as_maya.get(f"/segments/{segment_id}").status_code == 404


def test_writes_are_audit_logged(book, as_maya, maya):
    segment_id = as_maya.post("/segments", {"name": "VIP", "filter": {"tags": ["vip"]}}).json()["id"]
    as_maya.patch(f"/segments/{segment_id}", {"filter": {"tags": ["vip", "tea"]}})
    as_maya.delete(f"/segments/{segment_id}")
    entries = list(AuditEntry.objects.filter(object_type="segment", object_id=segment_id).order_by("pk"))
    assert [e.action for e in entries] == ["segment.create", "segment.update", "segment.delete"]
    assert all(e.actor_id == maya.pk and e.source == "api" for e in entries)
    assert entries[0].changes == {"segment_name": "VIP", "filter": {"tags": ["vip"]}}
    assert entries[1].changes == {"filter": [{"tags": ["vip"]}, {"tags": ["vip", "tea"]}]}


def test_roles_that_only_use_segments_get_403_on_writes(book, as_maya, as_alice, carl):
    segment_id = as_maya.post("/segments", {"name": "VIP"}).json()["id"]
    for client in (as_alice, client_for(carl)):
        assert client.post("/segments", {"name": "Mine"}).status_code == 403
        assert client.patch(f"/segments/{segment_id}", {"name": "Theirs"}).status_code == 403
        assert client.delete(f"/segments/{segment_id}").status_code == 403
        assert client.get(f"/segments/{segment_id}").status_code == 200
    assert list(Segment.objects.values_list("name", flat=True)) == ["VIP"]


def test_editing_roles(db, as_nora, as_mia, as_root, as_maya):
    for client in (as_nora, as_mia, as_root, as_maya):
        assert client.post("/segments", {"name": "Any"}).status_code == 201


def test_unknown_segment_is_404(as_maya):
    response = as_maya.get("/segments/999")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_anonymous_is_401():
    from tests.api.conftest import ApiClient

    assert ApiClient(None).get("/segments").status_code == 401
