"""Reads for the root-cause view: which comment themes separate detractors from promoters.

Counted in the database from the themes stored on each response (``Response.themes``, written
with the comment): one query for every theme's mentions per score class, then one small query per
theme for its example comments. Both are bounded by the taxonomy's size, not by the data.

Per theme, over NPS answers with a comment (D detractors, P promoters, d and p of them mentioning
it): ``detractor_share = d / D``, ``promoter_share = p / P``, ``separation`` = their difference
(what the view ranks by); significance from the Haldane-corrected log odds ratio of mentioning the
theme, detractors against promoters, a two-sided normal p-value and Benjamini-Hochberg q-values
across themes: the same formulas as ``patron.analytics.text.theme_drivers`` (tested to agree).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, cast

from django.db.models import Count, F, Q
from django.utils import translation

from patron.analytics.text import default_taxonomy
from patron.core.models import User
from patron.feedback.comments import theme_pattern
from patron.feedback.models import Response, ScoreClass
from patron.feedback.nps_selectors import NPSFilters, nps_responses

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
    user: User, filters: NPSFilters | None = None, *, n_examples: int = 3
) -> ThemeReport:
    taxonomy = default_taxonomy()
    codes = list(taxonomy.codes)
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
    n_det, n_pro, total = (
        int(det["n"]),
        int(pro["n"]),
        int(det["n"]) + int(pas["n"]) + int(pro["n"]),
    )
    language = taxonomy_language()
    found: list[dict[str, Any]] = []
    for i, code in enumerate(codes):
        d, pa, p = int(det[f"t{i}"]), int(pas[f"t{i}"]), int(pro[f"t{i}"])
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
        comments=total,
        detractors=n_det,
        promoters=n_pro,
        not_analysed=sum(int(r["pending"]) for r in (det, pas, pro)),
    )
