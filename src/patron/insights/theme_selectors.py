"""Reads for the root-cause view: which comment themes separate detractors from promoters.

Counted in the database from the themes stored on each response (``Response.themes``, written
with the comment): one query for every theme's mentions per score class, then one small query per
theme for its example comments. Both are bounded by the taxonomy's size, not by the data, but the
first reads every commented answer (a LIKE per theme per row).

The page's default view (no filter) reads the precomputed figures instead (``NpsFigures``, the
``themes`` part of ``insights.nps_figures``), as the NPS page does: the counts of the rows a user's
visibility selects, summed, and the example comments merged from each row's first candidates and
fetched in one query; the same report as of the last refresh, in a few queries whatever the
number of answers. Filtered views are counted live.

Per theme, over NPS answers with a comment (D detractors, P promoters, d and p of them mentioning
it): ``detractor_share = d / D``, ``promoter_share = p / P``, ``separation`` = their difference
(what the view ranks by); significance from the Haldane-corrected log odds ratio of mentioning the
theme, detractors against promoters, a two-sided normal p-value and Benjamini-Hochberg q-values
across themes: the same formulas as ``patron.analytics.text.theme_drivers`` (tested to agree).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import translation

from patron.analytics.text import default_taxonomy
from patron.core.models import User
from patron.customers.models import Customer
from patron.customers.selectors import customer_scope
from patron.feedback.comments import theme_pattern
from patron.feedback.models import Response, ScoreClass, SurveyKind
from patron.insights.nps_selectors import NPSFilters, Precomputed, nps_responses
from patron.insights.nps_selectors import precomputed as nps_precomputed

SIGNIFICANT_Q = 0.05


@dataclass(frozen=True)
class ThemeRow:
    code: str
    label: str
    mentions: int
    detractor_mentions: int
    promoter_mentions: int
    detractor_share: float | None  # 0..1; None without detractor comments
    promoter_share: float | None
    separation: float | None  # detractor_share - promoter_share
    z: float
    p_value: float
    q_value: float
    nps_with: float | None
    nps_without: float | None
    examples: list[Response]

    @property
    def significant(self) -> bool:
        return self.q_value < SIGNIFICANT_Q

    @property
    def leans_detractor(self) -> bool:
        return (self.separation or 0.0) >= 0


@dataclass(frozen=True)
class ThemeReport:
    rows: list[ThemeRow]
    comments: int  # NPS answers with a comment, within the filters
    detractors: int
    promoters: int
    not_analysed: int  # comments stored before analysis existed (see `patron analyse_comments`)
    computed_at: datetime | None = None  # set when read from the precomputed figures


def taxonomy_language() -> str:
    """The taxonomy's label language for the user's interface language."""
    language = (translation.get_language() or "en").lower()
    if language.startswith("zh"):
        return "zh-Hant" if language in {"zh-hant", "zh-tw", "zh-hk", "zh-mo"} else "zh-Hans"
    return "en"


def _bh(p_values: list[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values, in the input's order."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, p_values[i] * m / rank)
        adjusted[i] = min(running, 1.0)
    return adjusted


def _nps(promoters: int, detractors: int, n: int) -> float | None:
    return 100.0 * (promoters - detractors) / n if n else None


def theme_report(
    user: User,
    filters: NPSFilters | None = None,
    *,
    n_examples: int = 3,
    precomputed: bool = True,
) -> ThemeReport:
    """The themes over the NPS answers ``user`` may see, within ``filters``.

    Without filters (the page's default view) it reads the precomputed figures when there are
    some, as the NPS page does; ``precomputed=False`` counts live whatever the filters."""
    # Imported here: the figures module brings pandas, which the home pages never need.
    from patron.insights.nps_figures import EXAMPLES

    default = filters is None or filters == NPSFilters()
    if precomputed and default and n_examples <= EXAMPLES:
        pre = nps_precomputed(user, "themes")
        if pre is not None:
            return _report_from(user, pre, n_examples)
    return _live_report(user, filters, n_examples)


def _live_report(user: User, filters: NPSFilters | None, n_examples: int) -> ThemeReport:
    """Counted in the database: one query for the counts, one per theme for its examples."""
    codes = list(default_taxonomy().codes)
    commented = nps_responses(user, filters).exclude(comment="")
    mentions = {
        f"t{i}": Count("pk", filter=Q(themes__contains=theme_pattern(code)))
        for i, code in enumerate(codes)
    }
    grouped = (
        commented.values("score_class")
        .annotate(n=Count("pk"), pending=Count("pk", filter=Q(sentiment__isnull=True)), **mentions)
        .order_by()
    )
    per_class = {row["score_class"]: row for row in cast(list[dict[str, Any]], list(grouped))}
    empty = {"n": 0, "pending": 0, **dict.fromkeys(mentions, 0)}
    det, pas, pro = (
        per_class.get(c, empty)
        for c in (ScoreClass.DETRACTOR, ScoreClass.PASSIVE, ScoreClass.PROMOTER)
    )
    found = _found(
        [
            (code, int(det[f"t{i}"]), int(pas[f"t{i}"]), int(pro[f"t{i}"]))
            for i, code in enumerate(codes)
        ],
        n_det=int(det["n"]),
        n_pas=int(pas["n"]),
        n_pro=int(pro["n"]),
    )
    rows = []
    for f in found:
        leans_detractor = (f["separation"] or 0.0) >= 0
        side = ScoreClass.DETRACTOR if leans_detractor else ScoreClass.PROMOTER
        # The clearest voices first: most negative comments for a complaint, most positive for praise.
        sentiment = (
            F("sentiment").asc(nulls_last=True)
            if leans_detractor
            else F("sentiment").desc(nulls_last=True)
        )
        examples = list(
            commented.filter(score_class=side, themes__contains=theme_pattern(f["code"]))
            .select_related("customer")
            .order_by(sentiment, "-created_at", "-pk")[:n_examples]
        )
        rows.append(ThemeRow(examples=examples, **f))
    return ThemeReport(
        rows=rows,
        comments=int(det["n"]) + int(pas["n"]) + int(pro["n"]),
        detractors=int(det["n"]),
        promoters=int(pro["n"]),
        not_analysed=sum(int(r["pending"]) for r in (det, pas, pro)),
    )


def _report_from(user: User, pre: Precomputed, n_examples: int) -> ThemeReport:
    """The same report from the precomputed figures (``nps_figures``, ``themes`` part): the
    counts summed over the rows the user's visibility selects, the examples merged from each
    row's first candidates, then fetched in one query."""
    t = pre.figures.get("themes") or {}  # nothing when the user sees no answer
    n_pro, n_pas, n_det = (int(n) for n in t.get("commented", (0, 0, 0)))
    stored = t.get("mentions", {})
    stored_examples = t.get("examples", {})
    found = _found(
        [
            (code, int(d), int(pa), int(p))
            for code in default_taxonomy().codes
            for p, pa, d in [stored.get(code, (0, 0, 0))]
        ],
        n_det=n_det,
        n_pas=n_pas,
        n_pro=n_pro,
    )
    chosen: list[list[int]] = []
    for f in found:
        side = "detractor" if (f["separation"] or 0.0) >= 0 else "promoter"
        keys = sorted(stored_examples.get(f["code"], {}).get(side, []))[:n_examples]
        chosen.append([-int(k[-1]) for k in keys])  # the last sort key is -id
    by_pk = _visible_answers(user, [pk for pks in chosen for pk in pks])
    rows = [
        ThemeRow(examples=[by_pk[pk] for pk in pks if pk in by_pk], **f)
        for f, pks in zip(found, chosen, strict=True)
    ]
    return ThemeReport(
        rows=rows,
        comments=n_det + n_pas + n_pro,
        detractors=n_det,
        promoters=n_pro,
        not_analysed=sum(int(n) for n in t.get("pending", ())),
        computed_at=pre.computed_at,
    )


def _visible_answers(user: User, pks: list[int]) -> dict[int, Response]:
    """The chosen answers with their customers, in one query; only those the user may still see
    (a customer reassigned since the refresh is not shown).

    The visibility is checked per chosen answer (``EXISTS`` on its customer) rather than with
    ``visible_responses``, whose list of every visible customer a database builds first."""
    answers = Response.objects.filter(survey__kind=SurveyKind.NPS).exclude(comment="")
    scope = customer_scope(user)
    if scope is not None:  # else every answer, anonymous ones included
        answers = answers.filter(Exists(Customer.objects.filter(scope, pk=OuterRef("customer_id"))))
    return answers.select_related("customer").in_bulk(pks)


def _found(
    counts: list[tuple[str, int, int, int]], *, n_det: int, n_pas: int, n_pro: int
) -> list[dict[str, Any]]:
    """Each theme mentioned at least once with its shares and significance, ranked by
    separation; ``counts``: (code, detractors, passives, promoters mentioning it)."""
    taxonomy = default_taxonomy()
    language = taxonomy_language()
    total = n_det + n_pas + n_pro
    found: list[dict[str, Any]] = []
    for code, d, pa, p in counts:
        if d + pa + p == 0:
            continue
        a, b, c, e = d + 0.5, n_det - d + 0.5, p + 0.5, n_pro - p + 0.5
        z = math.log((a * e) / (b * c)) / math.sqrt(1 / a + 1 / b + 1 / c + 1 / e)
        det_share = d / n_det if n_det else None
        pro_share = p / n_pro if n_pro else None
        found.append(
            {
                "code": code,
                "label": taxonomy[code].label(language),
                "mentions": d + pa + p,
                "detractor_mentions": d,
                "promoter_mentions": p,
                "detractor_share": det_share,
                "promoter_share": pro_share,
                "separation": (det_share or 0.0) - (pro_share or 0.0) if n_det or n_pro else None,
                "z": z,
                "p_value": math.erfc(abs(z) / math.sqrt(2)),
                "nps_with": _nps(p, d, d + pa + p),
                "nps_without": _nps(n_pro - p, n_det - d, total - (d + pa + p)),
            }
        )
    for f, q_value in zip(found, _bh([f["p_value"] for f in found]), strict=True):
        f["q_value"] = q_value
    found.sort(key=lambda f: (-(f["separation"] or 0.0), f["code"]))
    return found
