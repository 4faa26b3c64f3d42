"""ECharts options for the Models page, built from a run's stored diagnostics."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from patron.insights.models import ValueClass


def holdout_chart(holdout: dict[str, Any]) -> dict[str, Any] | None:
    buckets = holdout.get("buckets") or []
    if not buckets:
        return None
    labels = [f"{b['frequency']}+" if i == len(buckets) - 1 and b["frequency"] >= 7 else str(b["frequency"])
              for i, b in enumerate(buckets)]
    names = {"bgnbd": _("BG/NBD"), "paretonbd": _("Pareto/NBD")}
    by_model = buckets[0].get("by_model") or {}
    # One line per back-tested model (runs before the back-test: the one model's "predicted").
    lines = [
        {"name": names.get(code, code), "type": "line", "data": [round(b["by_model"][code], 3) for b in buckets]}
        for code in by_model
    ] or [{"name": _("Predicted"), "type": "line", "data": [round(b["predicted"], 3) for b in buckets]}]
    actual = {"name": _("Actual"), "type": "bar", "data": [round(b["actual"], 3) for b in buckets]}
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [line["name"] for line in lines] + [_("Actual")]},
        "xAxis": {"type": "category", "data": labels, "name": _("Repeat purchases in calibration")},
        "yAxis": {"type": "value", "name": _("Mean purchases in holdout")},
        "series": [*lines, actual],
    }


def calibration_chart(churn: dict[str, Any]) -> dict[str, Any] | None:
    full = churn.get("calibration") or []
    if not full:
        return None
    behaviour = churn.get("calibration_behaviour") or []

    def points(rows: list[dict[str, Any]]) -> list[list[float]]:
        return [[round(r["mean_predicted"], 4), round(r["observed_rate"], 4)] for r in rows]

    return {
        "tooltip": {"trigger": "item"},
        "legend": {"data": [_("Behaviour and attitude"), _("Behaviour only"), _("Perfect calibration")]},
        "xAxis": {"type": "value", "min": 0, "max": 1, "name": _("Predicted churn")},
        "yAxis": {"type": "value", "min": 0, "max": 1, "name": _("Observed churn")},
        "series": [
            {"name": _("Behaviour and attitude"), "type": "line", "data": points(full)},
            {"name": _("Behaviour only"), "type": "line", "data": points(behaviour), "lineStyle": {"type": "dashed"}},
            {"name": _("Perfect calibration"), "type": "line", "data": [[0, 0], [1, 1]], "symbol": "none",
             "lineStyle": {"color": "#999", "type": "dotted"}},
        ],
    }


def migration_chart(migration: dict[str, Any]) -> dict[str, Any] | None:
    probs = migration.get("probabilities")
    if not probs:
        return None
    names = [str(ValueClass(c).label) for c in migration["classes"]]
    data = [[j, i, None if v is None else round(v * 100, 1)] for i, row in enumerate(probs) for j, v in enumerate(row)]
    return {
        "tooltip": {"position": "top"},
        "xAxis": {"type": "category", "data": names, "name": _("Next quarter")},
        "yAxis": {"type": "category", "data": names, "name": _("This quarter"), "inverse": True},
        "visualMap": {"min": 0, "max": 100, "calculable": False, "orient": "horizontal", "left": "center", "bottom": 0},
        "grid": {"bottom": 70, "left": 110},
        "series": [{"type": "heatmap", "data": data, "label": {"show": True, "formatter": "{@[2]}%"}}],
    }


def forecast_chart(migration: dict[str, Any]) -> dict[str, Any] | None:
    forecast = migration.get("forecast") or []
    if not forecast:
        return None
    classes = migration["classes"]
    steps = [
        _("Now") if f["step"] == 0 else ngettext("+%(n)d quarter", "+%(n)d quarters", f["step"]) % {"n": f["step"]}
        for f in forecast
    ]
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"data": [str(ValueClass(c).label) for c in classes]},
        "xAxis": {"type": "category", "data": steps},
        "yAxis": {"type": "value", "max": 100, "name": "%"},
        "series": [
            {"name": str(ValueClass(c).label), "type": "bar", "stack": "mix",
             "data": [round(f.get(c, 0.0) * 100, 1) for f in forecast]}
            for c in classes
        ],
    }
