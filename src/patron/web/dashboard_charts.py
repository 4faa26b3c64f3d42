"""ECharts options of the dashboards, built from precomputed figures.

Each option carries ``patronLinks`` (see static/patron/charts.js): per series, one customer-list
URL per data point, filtered to the customers behind that bar or cell.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from patron.core.models import base_currency
from patron.insights import charts as model_charts
from patron.insights.models import ValueClass

NEGATIVE = "#c0392b"
PYRAMID = ["below_zero", "other", "most_growable", "most_valuable"]  # bottom to top


def customers_url(**params: Any) -> str:
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return f"{reverse('customer-list')}?{query}" if query else reverse("customer-list")


def _money(label: str) -> str:
    """An axis name for money: the label and the base currency every figure is in."""
    return f"{label} ({base_currency()})"


def _n(value: float) -> str:
    return number_format(value, decimal_pos=0, use_l10n=True, force_grouping=True)


def value_pyramid(figures: dict[str, Any]) -> dict[str, Any] | None:
    classes = figures.get("classes") or {}
    if not any(c.get("n") for c in classes.values()):
        return None
    labels = [str(ValueClass(c).label) for c in PYRAMID]
    links = [customers_url(value_class=c) for c in PYRAMID]
    return {
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "legend": {"data": [_("Customers"), _("Profit, last 12 months")], "bottom": 0},
        "grid": {"left": 120, "bottom": 60},
        "yAxis": {"type": "category", "data": labels},
        "xAxis": [{"type": "value", "name": _("Customers")}, {"type": "value", "name": _money(_("Profit")), "position": "top"}],
        "series": [
            {"name": _("Customers"), "type": "bar", "xAxisIndex": 0,
             "data": [classes.get(c, {}).get("n", 0) for c in PYRAMID]},
            {"name": _("Profit, last 12 months"), "type": "bar", "xAxisIndex": 1,
             "data": [
                 {"value": round(classes.get(c, {}).get("profit_12m", 0.0)),
                  "itemStyle": {"color": NEGATIVE} if classes.get(c, {}).get("profit_12m", 0.0) < 0 else {}}
                 for c in PYRAMID
             ]},
        ],
        "patronLinks": {"0": links, "1": links},
    }  # fmt: skip


def _bins(
    edges: list[int], counts: list[int], *, skip_below_first: bool
) -> list[tuple[str, int, dict[str, Any], bool]]:
    """(label, count, filter bounds, below zero) per bar; the open-ended ends when non-empty."""
    out = []
    for i, n in enumerate(counts):
        lo = edges[i - 1] if i > 0 else None
        hi = edges[i] if i < len(edges) else None
        if lo is None and (skip_below_first or n == 0):
            continue
        if hi is None and n == 0:
            continue
        if hi is not None and lo is not None:
            label = f"{_n(lo)} – {_n(hi)}"
        elif hi is not None:
            label = f"< {_n(hi)}"
        else:
            label = f"≥ {_n(lo or 0)}"
        out.append((label, n, {"min": lo, "max": hi}, hi is not None and hi <= 0))
    return out


def histogram_chart(
    edges: list[int],
    counts: list[int],
    *,
    param: str,
    axis_name: str,
    skip_below_first: bool = False,
) -> dict[str, Any] | None:
    if not edges or not any(counts):
        return None
    bins = _bins(edges, counts, skip_below_first=skip_below_first)
    return {
        "tooltip": {"trigger": "axis"},
        "grid": {"bottom": 90},
        "xAxis": {"type": "category", "data": [b[0] for b in bins], "name": axis_name, "nameLocation": "middle",
                  "nameGap": 70, "axisLabel": {"rotate": 45}},
        "yAxis": {"type": "value", "name": _("Customers")},
        "series": [{
            "name": _("Customers"), "type": "bar",
            "data": [{"value": n, "itemStyle": {"color": NEGATIVE} if negative else {}} for _l, n, _b, negative in bins],
        }],
        "patronLinks": {"0": [
            customers_url(**{f"{param}_min": b["min"], f"{param}_max": b["max"]}) for _l, _n2, b, _neg in bins
        ]},
    }  # fmt: skip


def profit_histogram(figures: dict[str, Any], edges: list[int]) -> dict[str, Any] | None:
    return histogram_chart(
        edges, figures.get("profit_hist") or [], param="profit", axis_name=_money(_("Profit to date"))
    )


def clv_histogram(figures: dict[str, Any], edges: list[int]) -> dict[str, Any] | None:
    return histogram_chart(
        edges, figures.get("clv_hist") or [], param="clv", axis_name=_money(_("Predicted value, next 12 months")),
        skip_below_first=True,
    )  # fmt: skip


def migration_heatmap(migration: dict[str, Any]) -> dict[str, Any] | None:
    option = model_charts.migration_chart(migration)
    if option is None:
        return None
    classes = migration["classes"]
    # Cell (from i, to j) opens the customers now in class i, those most likely to move down first.
    option["patronLinks"] = {
        "0": [
            customers_url(value_class=classes[i], sort="-move_down")
            for i in range(len(classes))
            for _j in classes
        ]
    }
    return option


def forecast(migration: dict[str, Any]) -> dict[str, Any] | None:
    option = model_charts.forecast_chart(migration)
    if option is None:
        return None
    steps = len(migration.get("forecast") or [])
    option["patronLinks"] = {
        str(i): [customers_url(value_class=c)] * steps for i, c in enumerate(migration["classes"])
    }
    return option


def cohort_heatmap(cohorts: dict[str, Any]) -> dict[str, Any] | None:
    labels = sorted(cohorts)
    if not labels:
        return None
    width = max(len(cohorts[c]["active"]) for c in labels)
    data, links = [], []
    for y, label in enumerate(labels):
        size = cohorts[label]["size"]
        for x, active in enumerate(cohorts[label]["active"]):
            data.append([x, y, round(100.0 * active / size, 1) if size else None])
            links.append(customers_url(cohort=label))
    return {
        "tooltip": {"position": "top"},
        "grid": {"left": 80, "bottom": 80},
        "xAxis": {"type": "category", "data": [str(k) for k in range(width)], "name": _("Quarters after the first order"),
                  "nameLocation": "middle", "nameGap": 30},
        "yAxis": {"type": "category", "data": [f"{c} ({_n(cohorts[c]['size'])})" for c in labels], "inverse": True,
                  "name": _("First order")},
        "visualMap": {"min": 0, "max": 100, "calculable": False, "orient": "horizontal", "left": "center", "bottom": 0},
        "series": [{"type": "heatmap", "data": data, "label": {"show": True, "formatter": "{@[2]}%"}}],
        "patronLinks": {"0": links},
    }  # fmt: skip
