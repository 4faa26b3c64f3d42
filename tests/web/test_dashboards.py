"""Dashboards: figures precomputed by the scoring run, restricted by visibility, charts linking to customers."""

from __future__ import annotations

import json
import re
from collections import Counter
from urllib.parse import urlsplit

import numpy as np
import pytest
from django.http import QueryDict
from django.urls import reverse

from patron.customers.models import Customer
from patron.customers.selectors import (
    CustomerFilter,
    filter_customers,
    quarter_range,
    visible_customers,
)
from patron.insights.models import CurrentScore, DashboardFigures, DashboardSlice
from patron.insights.selectors import dashboard_for
from tests.web.scored import scored_book

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def book(django_db_setup, django_db_blocker):
    yield from scored_book(django_db_blocker)


def _chart(page: str, name: str) -> dict:
    match = re.search(
        rf'<script id="chart-{name}" type="application/json">(.*?)</script>', page, re.S
    )
    assert match, f"chart {name} missing"
    return json.loads(match.group(1))


def _matching(user, url: str) -> int:
    """How many customers the customer list shows for a chart's link."""
    parts = urlsplit(url)
    assert parts.path == reverse("customer-list")
    return filter_customers(
        visible_customers(user), CustomerFilter.from_params(QueryDict(parts.query))
    ).count()


def _bars(option: dict) -> list[tuple[int, str]]:
    values = [d["value"] if isinstance(d, dict) else d for d in option["series"][0]["data"]]
    return list(zip(values, option["patronLinks"]["0"], strict=True))


def _recount(values: np.ndarray, edges: list[int]) -> list[int]:
    counts = [0] * (len(edges) + 1)
    for v in values:
        counts[sum(1 for e in edges if v >= e)] += 1
    return counts


def test_whole_book_figures_match_a_recomputation(book):
    total = DashboardFigures.objects.get(run=book.run).figures
    assert total["customers"] == Customer.objects.count()
    classes = Counter(CurrentScore.objects.values_list("value_class", flat=True))
    assert {c: v["n"] for c, v in total["classes"].items()} == {
        c: classes.get(c, 0) for c in total["classes"]
    }
    assert sum(v["n"] for v in total["classes"].values()) == Customer.objects.count()
    profits = np.array([float(p) for p in Customer.objects.values_list("profit_total", flat=True)])
    assert total["profit_hist"] == _recount(profits, total["profit_edges"])
    assert total["below_zero"]["n"] == Customer.objects.filter(profit_total__lt=0).count() > 0
    assert total["profit"] == pytest.approx(float(profits.sum()), abs=0.05)
    clvs = np.array(
        list(CurrentScore.objects.filter(clv__isnull=False).values_list("clv", flat=True))
    )
    assert total["clv_hist"] == _recount(clvs, total["clv_edges"])
    assert 0 in total["profit_edges"]
    assert total["quality"]["no_owner"] == Customer.objects.filter(owner__isnull=True).count() > 0
    assert total["quality"]["no_orders"] == Customer.objects.filter(order_count=0).count()


def test_cohorts_match_the_first_orders_and_the_slices_add_up(book):
    total = DashboardFigures.objects.get(run=book.run).figures
    assert len(total["cohorts"]) >= 8
    for label, cohort in total["cohorts"].items():
        start, end = quarter_range(label)
        assert (
            cohort["size"]
            == Customer.objects.filter(first_order_at__gte=start, first_order_at__lt=end).count()
        )
        assert (
            cohort["active"][0] == cohort["size"]
        )  # everyone buys in the quarter of their first order
    # The slices are counted by group, the whole book by the analytics core: they must agree.
    from patron.insights.figures import add

    summed = add(DashboardSlice.objects.filter(run=book.run).values_list("figures", flat=True))
    assert summed["cohorts"] == total["cohorts"]
    assert summed["profit_hist"] == total["profit_hist"]
    assert summed["customers"] == total["customers"]
    assert {c: v["n"] for c, v in summed["classes"].items()} == {
        c: v["n"] for c, v in total["classes"].items()
    }


@pytest.mark.parametrize("who", ["root", "alice", "mia"])
def test_figures_cover_exactly_the_visible_customers(book, who):
    user = getattr(book, who)
    figures = dashboard_for(user).figures
    visible = visible_customers(user)
    assert figures["customers"] == visible.count() > 0
    assert figures["below_zero"]["n"] == visible.filter(profit_total__lt=0).count()
    classes = Counter(
        CurrentScore.objects.filter(customer__in=visible).values_list("value_class", flat=True)
    )
    assert {c: v["n"] for c, v in figures["classes"].items() if v["n"]} == {
        c: n for c, n in classes.items() if n
    }
    if who == "mia":
        assert figures["customers"] < Customer.objects.count()


@pytest.mark.parametrize("who", ["root", "alice", "mia"])
def test_every_bar_and_cell_links_to_the_customers_behind_it(client, book, who):
    user = getattr(book, who)
    client.force_login(user)
    page = client.get(reverse("dashboards")).content.decode()
    profit = _bars(_chart(page, "profit"))
    assert sum(n for n, _u in profit) == visible_customers(user).count()
    for n, url in profit:
        assert _matching(user, url) == n, url
    for n, url in _bars(_chart(page, "clv")):
        assert _matching(user, url) == n, url
    pyramid = _chart(page, "pyramid")
    for n, url in zip(pyramid["series"][0]["data"], pyramid["patronLinks"]["0"], strict=True):
        assert _matching(user, url) == n, url
    cohorts = _chart(page, "cohorts")
    shown = {label.split(" ")[0] for label in cohorts["yAxis"]["data"]}
    figures = dashboard_for(user).figures["cohorts"]
    assert {
        QueryDict(urlsplit(url).query)["cohort"] for url in cohorts["patronLinks"]["0"]
    } == shown
    for url in set(cohorts["patronLinks"]["0"]):
        label = QueryDict(urlsplit(url).query)["cohort"]
        assert _matching(user, url) == figures[label]["size"], url
    # Following a link shows those customers: the below-zero tail.
    tail = client.get(f"{reverse('customer-list')}?profit_max=0&sort=profit").content.decode()
    worst = visible_customers(user).order_by("profit_total").first()
    assert worst.profit_total < 0 and worst.name in tail


def test_a_rep_is_told_the_figures_are_theirs_only(client, book):
    client.force_login(book.alice)
    page = client.get(reverse("dashboards")).content.decode()
    assert "Your customers only" in page
    client.force_login(book.nora)
    assert "All customers." in client.get(reverse("dashboards")).content.decode()


@pytest.mark.parametrize("who", ["root", "alice", "mia", "maya", "carl"])
def test_dashboards_page_query_count_is_bounded(client, book, who, django_assert_max_num_queries):
    client.force_login(getattr(book, who))
    with django_assert_max_num_queries(6):
        response = client.get(reverse("dashboards"))
    assert response.status_code == 200


def test_migration_and_forecast_charts_link_to_value_classes(client, book):
    client.force_login(book.root)
    page = client.get(reverse("dashboards")).content.decode()
    migration = _chart(page, "migration")
    classes = book.run.diagnostics["migration"]["classes"]
    assert (
        len(migration["patronLinks"]["0"])
        == len(migration["series"][0]["data"])
        == len(classes) ** 2
    )
    for url in migration["patronLinks"]["0"]:
        assert QueryDict(urlsplit(url).query)["value_class"] in classes
    forecast = _chart(page, "forecast")
    assert set(forecast["patronLinks"]) == {str(i) for i in range(len(classes))}
