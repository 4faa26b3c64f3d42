"""The 360° page's small chart: predicted value and 12-month profit over the customer's scoring runs."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from patron.insights.selectors import Insight


def value_trend(insight: Insight) -> dict[str, Any] | None:
    """A line per figure over the runs' snapshots; None until two runs have scored the customer."""
    if len(insight.clv_history) < 2:
        return None
    days = [day for day, _v in insight.clv_history]

    def points(history: list[tuple[str, float | None]]) -> list[float | None]:
        return [None if v is None else round(v, 2) for _d, v in history]

    return {
        "tooltip": {"trigger": "axis"},
        "legend": {
            "data": [_("Predicted value, next 12 months"), _("Profit, last 12 months")],
            "bottom": 0,
        },
        "grid": {"top": 16, "bottom": 56, "left": 64, "right": 16},
        "xAxis": {"type": "category", "data": days},
        "yAxis": {"type": "value"},
        "series": [
            {
                "name": _("Predicted value, next 12 months"),
                "type": "line",
                "data": points(insight.clv_history),
            },
            {
                "name": _("Profit, last 12 months"),
                "type": "line",
                "data": points(insight.profit_history),
            },
        ],
    }
