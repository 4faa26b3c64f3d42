"""Themes of many comments, and discovery of what the taxonomy misses.

:func:`extract_themes` tags comments with every theme of a taxonomy (see
:mod:`patron.analytics.text.taxonomy`) whose words they contain; :func:`uncovered_terms` lists
frequent words no theme knows, so an admin can extend the taxonomy with
:meth:`~patron.analytics.text.taxonomy.Taxonomy.extended` or a file of their own.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import pandas as pd

from patron.analytics.errors import AnalyticsInputError
from patron.analytics.text import segment
from patron.analytics.text.lexicon import lexicon
from patron.analytics.text.normalise import as_series, ensure_text
from patron.analytics.text.segment import Token
from patron.analytics.text.taxonomy import Taxonomy, default_taxonomy

__all__ = ["extract_themes", "match_themes", "uncovered_terms"]


def match_themes(text: object, taxonomy: Taxonomy | None = None) -> dict[str, tuple[str, ...]]:
    """Themes of one comment: code -> matched keywords (default taxonomy unless given)."""
    return (taxonomy or default_taxonomy()).match(text)


def extract_themes(comments: object, taxonomy: Taxonomy | None = None) -> pd.DataFrame:
    """Themes of many comments, one row per (comment, theme).

    ``comments`` is a Series (its index identifies the comments) or a list of texts (index
    0..n-1); missing values are comments without text and get no row. Columns: ``comment``
    (the index label), ``theme`` (code) and ``terms`` (tuple of the keywords matched). A comment
    can have several rows; comments with no theme have none.
    """
    series = as_series(comments)
    tax = taxonomy or default_taxonomy()
    rows_comment: list[object] = []
    rows_theme: list[str] = []
    rows_terms: list[tuple[str, ...]] = []
    for idx, value in series.items():
        text = ensure_text(value)
        if not text.strip():
            continue
        for code, terms in tax.match(text).items():
            rows_comment.append(idx)
            rows_theme.append(code)
            rows_terms.append(terms)
    return pd.DataFrame(
        {
            "comment": pd.Series(
                rows_comment, dtype=series.index.dtype if len(rows_comment) else object
            ),
            "theme": pd.Series(rows_theme, dtype=object),
            "terms": pd.Series(rows_terms, dtype=object),
        }
    )


def uncovered_terms(
    comments: object,
    taxonomy: Taxonomy | None = None,
    *,
    min_comments: int = 3,
    top: int | None = 50,
    only_unthemed: bool = False,
) -> pd.DataFrame:
    """Frequent words and English two-word phrases that no theme lists.

    Stop words, sentiment words, numbers and one-letter words are left out, and so are
    one-character Chinese words. ``only_unthemed`` counts only comments that matched no theme
    (what the taxonomy misses entirely). Columns: ``term`` (most frequent surface form),
    ``language`` ("zh" or "en"), ``comments`` (how many comments contain it), ``share`` (of the
    comments counted) and ``example`` (the shortest such comment). Sorted by ``comments``.
    """
    if not isinstance(min_comments, int) or min_comments < 1:
        raise AnalyticsInputError("min_comments must be a positive integer")
    series = as_series(comments)
    tax = taxonomy or default_taxonomy()
    lex = lexicon()
    stops = segment.stop_words()
    doc_freq: Counter[str] = Counter()
    surface: dict[str, Counter[str]] = defaultdict(Counter)
    lang_of: dict[str, str] = {}
    example: dict[str, str] = {}
    counted = 0

    def skip(key: str, raw: str) -> bool:
        return (
            raw in stops
            or key in lex.valence
            or raw in lex.valence
            or lex.is_known(raw)
            or tax.knows_key(key)
        )

    for value in series:
        text = ensure_text(value)
        if not text.strip():
            continue
        tokens = segment.tokenize(text)
        if only_unthemed and tax.match_tokens(tokens):
            continue
        counted += 1
        seen: set[str] = set()
        prev: Token | None = None
        for tok in tokens:
            if tok.kind == "zh" and len(tok.raw) >= 2 and not skip(tok.raw, tok.raw):
                key = tok.raw
                seen.add(key)
                surface[key][tok.raw] += 1
                lang_of[key] = "zh"
            elif tok.kind == "en" and len(tok.raw) >= 3 and not skip(tok.text, tok.raw):
                key = tok.text
                seen.add(key)
                surface[key][tok.raw] += 1
                lang_of[key] = "en"
                if (
                    prev is not None
                    and prev.kind == "en"
                    and len(prev.raw) >= 3
                    and not skip(prev.text, prev.raw)
                ):
                    bigram = f"{prev.text} {tok.text}"
                    if not tax.knows_key(bigram):
                        seen.add(bigram)
                        surface[bigram][f"{prev.raw} {tok.raw}"] += 1
                        lang_of[bigram] = "en"
            prev = tok if tok.kind != "punct" else None
        for key in seen:
            doc_freq[key] += 1
            if key not in example or len(text) < len(example[key]):
                example[key] = text
    rows = [
        (surface[k].most_common(1)[0][0], lang_of[k], n, n / counted, example[k])
        for k, n in doc_freq.items()
        if n >= min_comments
    ]
    rows.sort(key=lambda r: (-r[2], r[0]))
    if top is not None:
        rows = rows[:top]
    return pd.DataFrame(rows, columns=["term", "language", "comments", "share", "example"])
