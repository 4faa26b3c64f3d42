"""The NPS analytics page, the root-cause (themes) view and the answers behind their figures.

Every figure comes from ``nps_selectors`` / ``theme_selectors``, which start from
``visible_responses(user)`` and count in the database; a page runs a fixed number of queries
whatever the number of answers (tested). The NPS and themes pages without filters read the
precomputed figures (``NpsFigures``) instead; filtered views and period comparisons are counted
live.
"""

from __future__ import annotations

import html
import math
from dataclasses import replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any, cast
from urllib.parse import quote_plus, urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import numberformat, timezone
from django.utils.formats import get_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language
from django.views.decorators.http import require_GET

from patron.analytics.nps import NPSResult
from patron.analytics.text import default_taxonomy
from patron.core.models import Branch, User
from patron.feedback.comments import decode_themes, theme_pattern
from patron.feedback.models import ScoreClass, Survey, SurveyKind
from patron.insights import nps_charts
from patron.insights import nps_selectors as nps
from patron.insights import theme_selectors as themes
from patron.insights.nps_forms import CompareForm, DrillForm, FilterForm, NPSFilterForm

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    return cast(User, request.user)


def _filter_form(request: HttpRequest, form_class: type[FilterForm] = FilterForm) -> FilterForm:
    surveys = list(
        Survey.objects.filter(kind=SurveyKind.NPS).order_by("name").values_list("pk", "name")
    )
    branches = list(Branch.objects.order_by("name").values_list("pk", "name"))
    return form_class(request.GET, surveys=surveys, branches=branches)


def _filter_params(filters: nps.NPSFilters) -> dict[str, Any]:
    params = {
        "survey": filters.survey,
        "start": filters.start,
        "end": filters.end,
        "branch": filters.branch,
    }
    return {k: v.isoformat() if isinstance(v, date) else v for k, v in params.items() if v}


def _drill_url(filters: nps.NPSFilters, **extra: Any) -> str:
    params = {**_filter_params(filters), **{k: v for k, v in extra.items() if v is not None}}
    return f"{reverse('feedback:nps-responses')}?{urlencode(params)}"


@lru_cache(maxsize=65536)
def _half_up(value: float) -> int:
    # floatformat's rounding: of the number as printed, half away from zero; the same figures
    # come back on every request until the next refresh, hence the cache.
    return int(Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


class _Numbers:
    """The page's table cells as ``{{ n }}`` and ``floatformat:0`` would show them, in the
    active language.

    A weekly page has over a thousand such cells, and the filters cost tens of µs each
    (Decimal parsing, a locale lookup per call): the formats are read once per request.
    """

    def __init__(self) -> None:
        language = get_language()
        self._decimal = get_format("DECIMAL_SEPARATOR", language)
        self._grouping = get_format("NUMBER_GROUPING", language)
        self._thousands = get_format("THOUSAND_SEPARATOR", language)
        # Whole numbers are printed as they are unless thousands are grouped (numberformat).
        self._plain = not (settings.USE_THOUSAND_SEPARATOR and self._grouping != 0)

    def count(self, n: int) -> str:
        """``{{ n }}``."""
        if self._plain:
            return str(n)
        return str(numberformat.format(n, self._decimal, None, self._grouping, self._thousands))

    def whole(self, value: float | None) -> str:
        """``{{ value|floatformat:0 }}``; "" for None."""
        if value is None:
            return ""
        if not math.isfinite(value):
            return str(floatformat(value, 0))
        return self.count(_half_up(value))


def _trend_rows(
    trend: list[nps.TrendPoint], numbers: _Numbers
) -> list[tuple[str, str, str, str, str]]:
    """(period, NPS, margin, n, band) display strings; "—" where a period has no answers."""
    rows = []
    for p in trend:
        r = p.result
        band = f"{numbers.whole(r.ci_low)} – {numbers.whole(r.ci_high)}" if r.n else "—"
        rows.append(
            (
                p.label,
                numbers.whole(r.nps) or "—",
                numbers.whole(r.moe) or "—",
                numbers.count(r.n),
                band,
            )
        )
    return rows


def _trend_links(trend: list[nps.TrendPoint], filters: nps.NPSFilters) -> list[str]:
    """The answers of each period within the filters, as ``_drill_url`` would make them."""
    params = _filter_params(filters)
    if "start" in params or "end" in params:  # the period's dates take the filters' places
        return [
            _drill_url(
                filters,
                start=max(p.start, filters.start or p.start).isoformat(),
                end=min(p.end - timedelta(days=1), filters.end or p.end).isoformat(),
            )
            for p in trend
        ]
    # ISO dates need no quoting: one prefix, two dates appended per period
    prefix = f"{reverse('feedback:nps-responses')}?{urlencode(params)}{'&' if params else ''}"
    return [
        f"{prefix}start={p.start.isoformat()}&end={(p.end - timedelta(days=1)).isoformat()}"
        for p in trend
    ]


_CUSTOMER_LIST_FILTERS = {"segment": "segment", "value_class": "value_class"}


def _breakdown_context(
    breakdowns: list[nps.Breakdown],
    filters: nps.NPSFilters,
    numbers: _Numbers,
) -> list[dict[str, Any]]:
    """Each breakdown's rows as display strings and links (the URLs' fixed parts built once)."""
    answers_base = f"{reverse('feedback:nps-responses')}?"
    customers_base = f"{reverse('customer-list')}?"
    params = _filter_params(filters)
    out = []
    for b in breakdowns:
        code = b.dimension.code
        answers_prefix = f"{answers_base}{urlencode({**params, 'dim': code})}&key="
        customer_filter = _CUSTOMER_LIST_FILTERS.get(code)
        rows = []
        for row in b.rows:
            key = "" if row.key is None else str(row.key)
            result: NPSResult = row.result
            rows.append(
                {
                    "label": row.label,
                    "n": numbers.count(result.n),
                    "nps": numbers.whole(result.nps),
                    "moe": numbers.whole(result.moe),
                    "few": result.n < 30,
                    "answers_url": answers_prefix + quote_plus(key),
                    "customers_url": (
                        f"{customers_base}{customer_filter}={quote_plus(key)}"
                        if customer_filter and row.key
                        else None
                    ),
                    "group": f"{code}:{key}",
                }
            )
        out.append({"dimension": b.dimension, "rows": rows})
    return out


def _group_options(breakdowns: list[dict[str, Any]], selected: str | None) -> SafeString:
    """The comparison's list of groups: every breakdown row as an option, by dimension.

    Built here rather than by a template loop: the page has two such lists of every row."""
    parts = []
    for b in breakdowns:
        parts.append(f'<optgroup label="{html.escape(str(b["dimension"].label))}">')
        for r in b["rows"]:
            mark = " selected" if r["group"] == selected else ""
            parts.append(
                f'<option value="{html.escape(r["group"])}"{mark}>{html.escape(r["label"])}</option>'
            )
        parts.append("</optgroup>")
    return mark_safe("".join(parts))  # noqa: S308 -- every value escaped above


def _comparison(
    user: User, form: CompareForm, filters: nps.NPSFilters, pre: nps.Precomputed | None
) -> nps.Comparison:
    d = form.cleaned_data
    if d["cmp"] == "groups" and pre is not None:
        return nps.group_comparison_from(pre.figures, d["dimension"], d["key_a"], d["key_b"])
    if d["cmp"] == "periods":  # counted live: any two periods may be asked for
        return nps.nps_compare(
            user,
            filters,
            a=replace(filters, start=d["a_start"], end=d["a_end"]),
            b=replace(filters, start=d["b_start"], end=d["b_end"]),
            label_a=form.period_label("a"),
            label_b=form.period_label("b"),
        )
    return nps.nps_compare(
        user,
        filters,
        dimension=d["dimension"],
        key_a=d["key_a"],
        key_b=d["key_b"],
        label_a=d["group_a"],
        label_b=d["group_b"],
    )


def _group_label(breakdowns: list[dict[str, Any]], group: str) -> str:
    for b in breakdowns:
        for r in b["rows"]:
            if r["group"] == group:
                return f"{b['dimension'].label}: {r['label']}"
    return group


@login_required
@require_GET
def nps_page(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = _filter_form(request, NPSFilterForm)
    context: dict[str, Any] = {"form": form}
    if not form.is_valid():
        return render(request, "insights/nps.html", context, status=400)
    filters = form.filters()
    period, weight = form.cleaned_data["period"], form.cleaned_data["weight"]
    # The default view reads the precomputed figures; filtered views are counted live.
    pre = nps.precomputed(user) if filters == nps.NPSFilters() else None
    if pre is not None:
        trend = nps.trend_from(pre.figures, period)
        summary = nps.summary_from(pre.figures)
        breakdown_list = nps.breakdowns_from(pre.figures)
        value = nps.value_from(pre.figures, weight)
    else:
        trend = nps.nps_trend(user, period=period, filters=filters)
        summary = nps.nps_summary(user, filters=filters)
        breakdown_list = nps.nps_breakdowns(user, filters)
        value = nps.value_figures(user, filters, weight=weight)
    numbers = _Numbers()
    compare = CompareForm(request.GET, today=filters.end or timezone.localdate())
    breakdowns = _breakdown_context(breakdown_list, filters, numbers)
    comparison = None
    if compare.is_valid():
        comparison = _comparison(user, compare, filters, pre)
        if compare.cleaned_data["cmp"] == "groups":
            comparison = replace(
                comparison,
                label_a=_group_label(breakdowns, compare.cleaned_data["group_a"]),
                label_b=_group_label(breakdowns, compare.cleaned_data["group_b"]),
            )
    context.update(
        filters=filters,
        filter_query=urlencode(_filter_params(filters)),
        summary=summary,
        figures_as_of=pre.computed_at if pre is not None else None,
        trend_rows=_trend_rows(trend, numbers),
        trend_script=nps_charts.script(
            nps_charts.trend_chart(trend, _trend_links(trend, filters)), "chart-nps-trend"
        ),
        breakdowns=breakdowns,
        group_a_options=_group_options(breakdowns, compare.data.get("group_a")),
        group_b_options=_group_options(breakdowns, compare.data.get("group_b")),
        value=value,
        weight_label=nps.WEIGHTS[weight][1],
        compare=compare,
        comparison=comparison,
        all_url=_drill_url(filters),
        detractors_url=_drill_url(filters, score_class="detractor"),
    )
    return render(request, "insights/nps.html", context, status=200 if compare.is_valid() else 400)


@login_required
@require_GET
def themes_page(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = _filter_form(request)
    context: dict[str, Any] = {"form": form}
    if not form.is_valid():
        return render(request, "insights/themes.html", context, status=400)
    filters = form.filters()
    report = themes.theme_report(user, filters)
    context.update(
        filters=filters,
        filter_query=urlencode(_filter_params(filters)),
        report=report,
        figures_as_of=report.computed_at,
        rows=[
            {
                "row": r,
                "detractors_url": _drill_url(filters, theme=r.code, score_class="detractor"),
                "promoters_url": _drill_url(filters, theme=r.code, score_class="promoter"),
                "all_url": _drill_url(filters, theme=r.code),
            }
            for r in report.rows
        ],
        chart=nps_charts.theme_chart(
            report.rows,
            [_drill_url(filters, theme=r.code, score_class="detractor") for r in report.rows],
            [_drill_url(filters, theme=r.code, score_class="promoter") for r in report.rows],
        ),
        significant_q=themes.SIGNIFICANT_Q,
    )
    return render(request, "insights/themes.html", context)


@login_required
@require_GET
def nps_responses_page(request: HttpRequest) -> HttpResponse:
    """The NPS answers behind a figure of the NPS or themes page, newest first."""
    user = _user(request)
    form = _filter_form(request)
    taxonomy = default_taxonomy()
    drill = DrillForm(request.GET, themes=list(taxonomy.codes))
    keep = [
        (k, request.GET[k]) for k in ("dim", "key", "theme", "score_class") if request.GET.get(k)
    ]
    context: dict[str, Any] = {"form": form, "drill": drill, "keep": keep}
    if not (form.is_valid() and drill.is_valid()):
        return render(request, "insights/nps_responses.html", context, status=400)
    filters = form.filters()
    d = drill.cleaned_data
    qs = nps.nps_responses(user, filters)
    what = []
    if d.get("dim"):
        qs = nps.filter_by_key(qs, d["dim"], d["key"])
        what.append(nps.group_label(d["dim"], d["key"]))
    if d.get("theme"):
        qs = qs.filter(themes__contains=theme_pattern(d["theme"]))
        what.append(taxonomy[d["theme"]].label(themes.taxonomy_language()))
    if d.get("score_class"):
        qs = qs.filter(score_class=d["score_class"])
    qs = qs.select_related("customer", "survey", "branch").order_by("-created_at", "-pk")
    page = Paginator(qs, PAGE_SIZE).get_page(d.get("page") or 1)
    language = themes.taxonomy_language()
    labels_by_code = {t.code: t.label(language) for t in taxonomy}
    context.update(
        filters=filters,
        page=page,
        rows=[
            (r, [labels_by_code.get(c, c) for c in decode_themes(r.themes)])
            for r in page.object_list
        ],
        what=what,
        score_class=ScoreClass(d["score_class"]).label if d.get("score_class") else "",
        summary=nps.nps_of_answers(qs),
        query=urlencode({k: v for k, v in request.GET.items() if k != "page"}),
    )
    return render(request, "insights/nps_responses.html", context)
