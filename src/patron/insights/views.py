"""The Models page: parameters, fit diagnostics and validation charts of the scoring runs."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils.translation import gettext as _

from patron.commerce.models import Product
from patron.core.roles import can_view_models, user_of
from patron.insights import charts
from patron.insights.models import PurchaseModel, ScoringRun, ValueClass
from patron.insights.selectors import latest_runs

# Fader, Hardie & Lee (2005) and Fader & Hardie's Gamma-Gamma note, on the CDNOW sample; the
# analytics core reproduces them (tests/analytics), shown here as the reference fit.
PUBLISHED = {
    "bgnbd": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
    "paretonbd": {"r": 0.553, "alpha": 10.58, "s": 0.606, "beta": 11.67},
    "gammagamma": {"p": 6.25, "q": 3.74, "gamma": 15.44},
}


@login_required
def models_page(request: HttpRequest, run_id: int | None = None) -> HttpResponse:
    if not can_view_models(user_of(request)):
        raise PermissionDenied(_("Only analysts, managers, marketers and administrators see the models."))
    runs = latest_runs()
    run: ScoringRun | None
    if run_id is not None:
        run = get_object_or_404(ScoringRun.objects.defer("churn_model"), pk=run_id)
    else:
        run = next((r for r in runs if r.status == ScoringRun.Status.DONE), None)
    diag = run.diagnostics if run else {}
    params = run.params if run else {}
    # Runs stored before the model was chosen per run used BG/NBD.
    chosen = params.get("purchase_model") or "bgnbd"
    context = {
        "purchase": {
            "code": chosen,
            "label": dict(PurchaseModel.choices).get(chosen, chosen),
            "params": params.get(chosen, {}),
            "diag": diag.get(chosen, {}),
            "published": PUBLISHED.get(chosen, {}),
        },
        "comparison": _comparison(diag.get("holdout", {})),
        "migration_backtest": _migration_backtest(diag.get("migration", {})),
        "rules": _named_rules(diag.get("baskets", {}).get("top_rules", [])),
        "value_classes": [
            (code, label, diag.get("value_classes", {}).get(code, 0)) for code, label in ValueClass.choices
        ],
        "runs": runs,
        "run": run,
        "diag": diag,
        "published": PUBLISHED,
        "charts": {
            "holdout": charts.holdout_chart(diag.get("holdout", {})),
            "calibration": charts.calibration_chart(diag.get("churn", {})),
            "migration": charts.migration_chart(diag.get("migration", {})),
            "forecast": charts.forecast_chart(diag.get("migration", {})),
        },
    }
    return render(request, "insights/models.html", context)


def _named_rules(rules: list[dict]) -> list[dict]:
    ids = {i for r in rules for i in (*r["antecedents"], *r["consequents"])}
    names = dict(Product.objects.filter(pk__in=ids).values_list("pk", "name"))
    return [
        {**r, "antecedents": [names.get(i, i) for i in r["antecedents"]],
         "consequents": [names.get(i, i) for i in r["consequents"]]}
        for r in rules[:10]
    ]


def _comparison(holdout: dict) -> list[dict]:
    """The back-test's rows for the page: each model's errors, the winner first."""
    models = holdout.get("models") or {}
    labels = dict(PurchaseModel.choices)
    rows = [
        {"code": code, "label": labels.get(code, code), "winner": code == holdout.get("winner"), **figures}
        for code, figures in models.items()
    ]
    return sorted(rows, key=lambda r: not r["winner"])


def _migration_backtest(migration: dict) -> dict | None:
    back = migration.get("backtest") or {}
    errors = back.get("errors") or {}
    if not back.get("forecasts") or not errors:
        return None
    classes = migration["classes"]
    names = {
        "model": _("Forecast (entries and exits)"),
        "no_change": _("No change"),
        "last_matrix": _("Last quarter's matrix"),
    }
    return {
        "classes": [str(ValueClass(c).label) for c in classes],
        "rows": [
            {"label": names.get(m, m), "errors": [errors[m].get(c) for c in classes], "total": errors[m].get("total")}
            for m in ("model", "no_change", "last_matrix")
            if m in errors
        ],
    }
