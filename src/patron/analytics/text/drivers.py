"""Root cause: which comment themes separate detractors from promoters.

For NPS responses with a comment, each theme gets (D = detractors 0-6, P = promoters 9-10,
``d`` and ``p`` of them mentioning the theme):

* ``detractor_share = d / D`` and ``promoter_share = p / P``, and their difference;
* the log odds ratio of mentioning the theme, detractors vs promoters, with the Haldane
  correction (0.5 added to every cell of the 2x2 table, so it is finite when a cell is 0)::

      lor = ln((d + .5)(P - p + .5) / ((D - d + .5)(p + .5)))
      se  = sqrt(1/(d + .5) + 1/(D - d + .5) + 1/(p + .5) + 1/(P - p + .5))

  its z = lor / se, a two-sided normal p-value, and a Benjamini-Hochberg ``q_value`` across the
  themes (several themes are tested at once);
* the NPS of responses mentioning the theme and of those not mentioning it (passives count in
  both), and the **impact**: ``mentions / responses x (nps_without - nps_with)``, the NPS points
  the score would gain if the responses mentioning the theme scored like the rest. Themes are
  sorted by impact, largest first: the top rows are what drags NPS down most.

Only responses with a non-empty comment are counted (detractors write comments more often than
promoters, so counting the silent ones would mix the comment rate into the shares).
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from patron.analytics.errors import AnalyticsInputError, InvalidScoreError, check_columns
from patron.analytics.text import segment
from patron.analytics.text.normalise import detect_language, ensure_text, normalise
from patron.analytics.text.sentiment import score_tokens
from patron.analytics.text.taxonomy import Taxonomy, default_taxonomy

__all__ = ["DRIVER_COLUMNS", "nps_class", "theme_drivers"]

DRIVER_COLUMNS = [
    "theme",
    "label",
    "mentions",
    "detractor_mentions",
    "promoter_mentions",
    "detractor_share",
    "promoter_share",
    "share_diff",
    "log_odds_ratio",
    "se",
    "z",
    "p_value",
    "q_value",
    "nps_with",
    "nps_without",
    "impact",
    "examples",
]

_MIN_INFORMATIVE_TOKENS = 4
_LATIN_WORD = re.compile(r"[A-Za-z]+")
_HAN_CHAR = re.compile("[\u3400-\u9fff]")


def _scores(frame: pd.DataFrame, score_col: str) -> np.ndarray:
    raw = frame[score_col]
    values = pd.to_numeric(raw, errors="coerce")
    bad_mask = values.isna() | (values < 0) | (values > 10) | (values.round() != values)
    if bad_mask.any():
        bad = list(dict.fromkeys(raw[bad_mask].tolist()))
        raise InvalidScoreError(
            f"{score_col!r} must hold NPS answers, integers 0 to 10; "
            f"{int(bad_mask.sum())} do not (e.g. {', '.join(map(repr, bad[:5]))})",
            bad_values=bad[:10],
            n_bad=int(bad_mask.sum()),
        )
    return values.to_numpy(dtype=float).astype(np.int64)


def nps_class(scores: object) -> pd.Series:
    """ "detractor" (0-6), "passive" (7-8) or "promoter" (9-10) per score; invalid scores raise
    :class:`~patron.analytics.errors.InvalidScoreError`."""
    series = scores if isinstance(scores, pd.Series) else pd.Series(list(scores))  # type: ignore[call-overload]
    values = _scores(series.to_frame("score"), "score")
    out = np.where(values <= 6, "detractor", np.where(values <= 8, "passive", "promoter"))
    return pd.Series(out, index=series.index, dtype=object)


def _nps(promoters: int, detractors: int, n: int) -> float:
    return 100.0 * (promoters - detractors) / n if n else math.nan


def _bh(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (NaN kept)."""
    out = np.full_like(p_values, np.nan)
    ok = ~np.isnan(p_values)
    p = p_values[ok]
    if p.size == 0:
        return out
    order = np.argsort(p)
    ranked = p[order] * p.size / np.arange(1, p.size + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    adj = np.empty_like(p)
    adj[order] = np.minimum(ranked, 1.0)
    out[ok] = adj
    return out


def theme_drivers(
    frame: pd.DataFrame,
    score_col: str = "score",
    text_col: str = "comment",
    *,
    themes_col: str | None = None,
    taxonomy: Taxonomy | None = None,
    n_examples: int = 3,
    examples_language: str | None = None,
    min_mentions: int = 1,
    language: str = "en",
) -> pd.DataFrame:
    """Themes ranked by how much they drag NPS down; one row per theme mentioned.

    ``frame`` has one row per response: an NPS answer (integer 0-10) in ``score_col`` and the
    comment in ``text_col`` (missing or blank = no comment). Invalid scores raise
    :class:`~patron.analytics.errors.InvalidScoreError`; non-text comments raise
    :class:`~patron.analytics.errors.AnalyticsInputError`.

    Themes are found with ``taxonomy`` (default: Patron's), unless ``themes_col`` names a
    column that already holds each comment's theme codes (a tuple or list, e.g. the stored
    :attr:`CommentAnalysis.themes`, or a ``;``-separated string), which saves re-analysing
    every comment. Themes with fewer than ``min_mentions`` mentions are left out.

    ``examples`` holds up to ``n_examples`` comments mentioning the theme, from detractors when
    the theme leans to detractors and from promoters otherwise: comments of at least four words
    first, then those whose sentiment points the same way, then the shortest (in words);
    ``examples_language`` ("zh" or "en") puts comments in that language first. ``label`` is in
    ``language`` ("en", "zh-Hans", "zh-Hant"). Columns: :data:`DRIVER_COLUMNS` (see the module
    docstring for the formulas).
    """
    check_columns(frame, [score_col, text_col] + ([themes_col] if themes_col else []))
    if not isinstance(n_examples, int) or n_examples < 0:
        raise AnalyticsInputError("n_examples must be a non-negative integer")
    if not isinstance(min_mentions, int) or min_mentions < 1:
        raise AnalyticsInputError("min_mentions must be a positive integer")
    if examples_language not in (None, "zh", "en"):
        raise AnalyticsInputError('examples_language must be None, "zh" or "en"')
    tax = taxonomy or default_taxonomy()
    scores = _scores(frame, score_col)
    texts: list[str] = []
    bad_rows = []
    for idx, value in frame[text_col].items():
        try:
            texts.append(ensure_text(value))
        except AnalyticsInputError:
            bad_rows.append(idx)
    if bad_rows:
        raise AnalyticsInputError(
            f"{text_col!r} must hold text (or be empty); {len(bad_rows)} rows do not, at: "
            + ", ".join(map(str, bad_rows[:10]))
        )

    has_text = np.array([bool(t.strip()) for t in texts])
    if not has_text.any():
        return pd.DataFrame({c: pd.Series(dtype=object) for c in DRIVER_COLUMNS})
    keep = np.flatnonzero(has_text)
    scores = scores[keep]
    texts = [texts[i] for i in keep]
    comments = _Comments(texts)
    if themes_col is None:
        matches = [set(tax.match_tokens(comments.tokens(i))) for i in range(len(texts))]
    else:
        matches = _given_themes(frame[themes_col].iloc[keep], themes_col, tax)

    detractor = scores <= 6
    promoter = scores >= 9
    n_total = len(texts)
    n_det = int(detractor.sum())
    n_pro = int(promoter.sum())

    rows = []
    for theme in tax:
        mentioned = np.array([theme.code in m for m in matches])
        n_with = int(mentioned.sum())
        if n_with < min_mentions:
            continue
        d = int((mentioned & detractor).sum())
        p = int((mentioned & promoter).sum())
        det_share = d / n_det if n_det else math.nan
        pro_share = p / n_pro if n_pro else math.nan
        a, b, c, e = d + 0.5, n_det - d + 0.5, p + 0.5, n_pro - p + 0.5
        lor = math.log((a * e) / (b * c))
        se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / e)
        z = lor / se
        p_value = math.erfc(abs(z) / math.sqrt(2))
        nps_with = _nps(p, d, n_with)
        nps_without = _nps(n_pro - p, n_det - d, n_total - n_with)
        impact = n_with / n_total * (nps_without - nps_with) if n_with < n_total else math.nan
        leans_detractor = (det_share if n_det else 0.0) >= (pro_share if n_pro else 0.0)
        side = detractor if leans_detractor else promoter
        examples = comments.examples(
            [int(i) for i in np.flatnonzero(mentioned & side)],
            want_negative=leans_detractor,
            n=n_examples,
            prefer_language=examples_language,
        )
        rows.append(
            {
                "theme": theme.code,
                "label": theme.label(language),
                "mentions": n_with,
                "detractor_mentions": d,
                "promoter_mentions": p,
                "detractor_share": det_share,
                "promoter_share": pro_share,
                "share_diff": det_share - pro_share,
                "log_odds_ratio": lor,
                "se": se,
                "z": z,
                "p_value": p_value,
                "nps_with": nps_with,
                "nps_without": nps_without,
                "impact": impact,
                "examples": examples,
            }
        )
    out = pd.DataFrame(rows, columns=[c for c in DRIVER_COLUMNS if c != "q_value"])
    if out.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in DRIVER_COLUMNS})
    out.insert(
        DRIVER_COLUMNS.index("q_value"), "q_value", _bh(out["p_value"].to_numpy(dtype=float))
    )
    out["_abs_z"] = out["z"].abs()
    out = out.sort_values(
        ["impact", "_abs_z", "theme"], ascending=[False, False, True], na_position="last"
    )
    return out.drop(columns="_abs_z").reset_index(drop=True)


def _given_themes(values: pd.Series, column: str, tax: Taxonomy) -> list[set[str]]:
    known = set(tax.codes)
    out: list[set[str]] = []
    unknown: set[str] = set()
    for value in values:
        if value is None or (isinstance(value, float) and value != value):
            codes: set[str] = set()
        elif isinstance(value, str):
            codes = {c.strip() for c in value.split(";") if c.strip()}
        elif isinstance(value, list | tuple | set | frozenset | np.ndarray):
            codes = {str(c) for c in value}
        else:
            raise AnalyticsInputError(
                f"{column!r} must hold theme codes (a list, tuple or ';'-separated text), "
                f"got {type(value).__name__}"
            )
        unknown |= codes - known
        out.append(codes)
    if unknown:
        raise AnalyticsInputError(
            f"{column!r} holds theme codes the taxonomy does not have: {', '.join(sorted(unknown))}"
        )
    return out


class _Comments:
    """The commented responses, tokenised and scored lazily (only what is needed)."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self._tokens: dict[int, list[segment.Token]] = {}
        self._sentiment: dict[int, float] = {}

    def tokens(self, i: int) -> list[segment.Token]:
        if i not in self._tokens:
            self._tokens[i] = segment.tokenize(self.texts[i])
        return self._tokens[i]

    def _cheap_rank(self, i: int) -> tuple[bool, int, int]:
        text = self.texts[i]
        words = len(_LATIN_WORD.findall(text)) + len(_HAN_CHAR.findall(text)) / 1.5
        return (words < _MIN_INFORMATIVE_TOKENS, len(text), i)

    def words(self, i: int) -> int:
        return sum(1 for t in self.tokens(i) if t.kind in ("zh", "en"))

    def sentiment(self, i: int) -> float:
        if i not in self._sentiment:
            self._sentiment[i] = score_tokens(self.tokens(i)).score
        return self._sentiment[i]

    def examples(
        self, candidates: list[int], *, want_negative: bool, n: int, prefer_language: str | None
    ) -> list[str]:
        if n == 0 or not candidates:
            return []
        if len(candidates) > 50 * n:
            # the shortest texts with enough words hold the winners: rank on a cheap word
            # estimate rather than tokenising thousands of comments
            candidates = sorted(candidates, key=self._cheap_rank)[: 50 * n]
        scored = []
        for i in candidates:
            words = self.words(i)
            other_language = (
                prefer_language is not None and detect_language(self.texts[i]) != prefer_language
            )
            sentiment = self.sentiment(i)
            agrees = sentiment < 0 if want_negative else sentiment > 0
            scored.append(
                (
                    other_language,
                    words < _MIN_INFORMATIVE_TOKENS,
                    not agrees,
                    words,
                    len(self.texts[i]),
                    i,
                )
            )
        scored.sort()
        out: list[str] = []
        seen: set[str] = set()
        for *_, i in scored:
            key = normalise(self.texts[i]).strip()
            if key in seen:
                continue
            seen.add(key)
            out.append(self.texts[i].strip())
            if len(out) == n:
                break
        return out
