"""The segment pages: list with counts, the builder and its live count, members, navigation."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from patron.campaigns.models import Segment
from patron.campaigns.segment_tasks import segment_figures_refresh
from patron.campaigns.services import segment_create, segment_update, segments_figures_refresh_due
from patron.core.models import AuditEntry
from tests.campaigns.conftest import scored
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(db, alice, bob, north, south):
    a = make_customer("Ash", owner=alice, branch=north, tags=["vip"])
    b = make_customer("Beech", owner=bob, branch=south, tags=["vip"])
    make_customer("Cork", owner=alice, branch=north)
    scored(a, clv=1000.0, churn_risk=0.7, value_class="most_valuable")
    scored(b, clv=400.0, churn_risk=0.8, value_class="most_growable")


@pytest.fixture
def vip(book, maya):
    return segment_create(name="VIP", filter={"tags": ["vip"]}, created_by=maya)


def test_list_shows_counts_for_the_viewer(client, vip, maya, alice):
    client.force_login(maya)
    page = client.get(reverse("segment-list")).content.decode()
    assert "VIP" in page
    assert re.search(r'data-testid="segment-count">2<', page)
    assert reverse("segment-new") in page
    client.force_login(alice)
    page = client.get(reverse("segment-list")).content.decode()
    assert re.search(r'data-testid="segment-count">1<', page)
    assert reverse("segment-new") not in page  # a rep uses segments, does not build them


def test_the_list_reads_the_workers_figures_for_a_reader_who_sees_everyone(client, vip, maya, alice):
    assert segments_figures_refresh_due() == [vip.pk]  # never counted
    vip.refresh_from_db()
    assert (vip.book_count, vip.book_value) == (2, 1400.0)
    assert segments_figures_refresh_due() == []  # fresh: nothing to do
    # Stored figures are what the list shows (proved by changing them behind its back).
    Segment.objects.filter(pk=vip.pk).update(book_count=7)
    client.force_login(maya)
    page = client.get(reverse("segment-list")).content.decode()
    assert re.search(r'data-testid="segment-count">7<', page)
    assert 'data-testid="segment-counted-at"' in page
    # A rep never sees the whole book's figure: counted now, within her customers.
    client.force_login(alice)
    page = client.get(reverse("segment-list")).content.decode()
    assert re.search(r'data-testid="segment-count">1<', page) and "segment-counted-at" not in page
    # A changed definition is counted live until the worker counts it again.
    segment_update(segment=vip, changes={"filter": {}})
    client.force_login(maya)
    page = client.get(reverse("segment-list")).content.decode()
    assert re.search(r'data-testid="segment-count">3<', page) and "segment-counted-at" not in page
    assert segment_figures_refresh.call("test") == [vip.pk]
    vip.refresh_from_db()
    assert vip.book_count == 3
    # Stale after FIGURES_MAX_AGE: the worker counts it again.
    later = timezone.now() + timedelta(minutes=16)
    assert segments_figures_refresh_due(now=later) == [vip.pk]


def test_navigation_lists_segments(client, alice):
    client.force_login(alice)
    page = client.get(reverse("home")).content.decode()
    assert f'href="{reverse("segment-list")}"' in page


def test_builder_renders_with_members_link(client, vip, maya):
    client.force_login(maya)
    page = client.get(reverse("segment-edit", args=[vip.pk])).content.decode()
    assert 'value="VIP"' in page and 'value="vip"' in page  # name and the tags field filled in
    assert reverse("segment-customers", args=[vip.pk]) in page
    assert reverse("segment-preview") in page  # the live count's htmx endpoint
    assert re.search(r'data-testid="preview-count">2<', page)
    assert client.get(reverse("segment-new")).status_code == 200


def test_live_count_endpoint(client, book, maya, alice, mia):
    client.force_login(maya)
    response = client.post(reverse("segment-preview"), {"tags": "vip", "churn_risk_min": "0.75"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'data-testid="preview-count">1<', html)
    assert re.search(r'data-testid="preview-value">400 ', html)
    everything = client.post(reverse("segment-preview"), {}).content.decode()
    assert re.search(r'data-testid="preview-count">3<', everything)
    assert re.search(r'data-testid="preview-value">1,400 ', everything)
    # The manager of the north region counts her region's customers only.
    client.force_login(mia)
    mine = client.post(reverse("segment-preview"), {"tags": "vip"}).content.decode()
    assert re.search(r'data-testid="preview-count">1<', mine)


def test_live_count_shows_errors(client, book, maya):
    client.force_login(maya)
    html = client.post(reverse("segment-preview"), {"churn_risk_min": "0.9", "churn_risk_max": "0.1"}).content.decode()
    assert 'data-testid="preview-count"' not in html
    assert 'role="alert"' in html


def test_create_edit_delete_through_the_builder(client, book, maya):
    client.force_login(maya)
    response = client.post(
        reverse("segment-new"),
        {"name": "Growable north", "value_class": ["most_growable", "most_valuable"], "region": ["N"], "key_account": "no"},
    )
    segment = Segment.objects.get(name="Growable north")
    assert response.status_code == 302 and response.url == reverse("segment-edit", args=[segment.pk])
    assert segment.filter == {"value_class": ["most_growable", "most_valuable"], "region": ["N"], "key_account": False}
    assert segment.created_by == maya
    response = client.post(reverse("segment-edit", args=[segment.pk]), {"name": "Growable", "orders_min": "0"})
    segment.refresh_from_db()
    assert (segment.name, segment.filter) == ("Growable", {"orders_min": 0})
    bad = client.post(reverse("segment-edit", args=[segment.pk]), {"name": "Growable", "orders_min": "5", "orders_max": "1"})
    assert bad.status_code == 200 and "orders_min" in bad.content.decode()
    segment.refresh_from_db()
    assert segment.filter == {"orders_min": 0}
    assert client.post(reverse("segment-delete", args=[segment.pk])).status_code == 302
    assert not Segment.objects.filter(pk=segment.pk).exists()
    actions = list(AuditEntry.objects.filter(object_type="segment").order_by("pk").values_list("action", "source"))
    assert actions == [("segment.create", "web"), ("segment.update", "web"), ("segment.delete", "web")]


def test_members_page_shows_the_viewers_members(client, vip, alice):
    client.force_login(alice)
    page = client.get(reverse("segment-customers", args=[vip.pk])).content.decode()
    assert "Ash" in page
    assert "Beech" not in page and "Cork" not in page


def test_reps_may_not_build(client, vip, alice):
    client.force_login(alice)
    assert client.get(reverse("segment-new")).status_code == 403
    assert client.get(reverse("segment-edit", args=[vip.pk])).status_code == 403
    assert client.post(reverse("segment-preview"), {}).status_code == 403
    assert client.post(reverse("segment-delete", args=[vip.pk])).status_code == 403
    assert Segment.objects.filter(pk=vip.pk).exists()


@pytest.mark.parametrize("lang", ["zh-hans", "zh-hant"])
def test_builder_is_translated(client, vip, maya, lang):
    client.cookies["django_language"] = lang
    client.force_login(maya)
    page = client.get(reverse("segment-edit", args=[vip.pk])).content.decode()
    assert "Save segment" not in page and "Total predicted value" not in page
