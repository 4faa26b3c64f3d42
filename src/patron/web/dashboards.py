"""The dashboards page: charts of the latest scoring run's precomputed figures.

Three queries whatever the number of customers (see ``insights.selectors.dashboard_for``):
people who see every customer read the run's whole-book row, managers and reps the sum of the
slices their visibility selects.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from patron.core.roles import user_of
from patron.insights.models import ValueClass
from patron.insights.selectors import dashboard_for
from patron.web import dashboard_charts as charts


@login_required
def dashboards(request: HttpRequest) -> HttpResponse:
    dashboard = dashboard_for(user_of(request))
    context: dict = {"dashboard": dashboard}
    if dashboard is not None:
        f, shared = dashboard.figures, dashboard.shared
        context |= {
            "f": f,
            "class_rows": [
                (code, label, (f.get("classes") or {}).get(code, {}))
                for code, label in ValueClass.choices
            ],
            "charts": {
                "pyramid": charts.value_pyramid(f),
                "profit": charts.profit_histogram(f, shared.get("profit_edges") or []),
                "clv": charts.clv_histogram(f, shared.get("clv_edges") or []),
                "migration": charts.migration_heatmap(dashboard.migration),
                "forecast": charts.forecast(dashboard.migration),
                "cohorts": charts.cohort_heatmap(f.get("cohorts") or {}),
            },
            "below_zero_url": charts.customers_url(profit_max=0, sort="profit"),
        }
    return render(request, "web/dashboards.html", context)
