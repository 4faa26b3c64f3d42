"""One call per comment for the request path, and its batch form."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from patron.analytics.text import segment
from patron.analytics.text.lexicon import lexicon
from patron.analytics.text.normalise import Language, as_series, detect_language, ensure_text
from patron.analytics.text.sentiment import SentimentLabel, score_tokens
from patron.analytics.text.taxonomy import PRESETS, Taxonomy, default_taxonomy, preset

__all__ = ["MAX_CHARS", "CommentAnalysis", "analyse", "analyse_many", "warm_up"]


@dataclass(frozen=True, slots=True)
class CommentAnalysis:
    """What Patron stores about a comment.

    ``language``: "zh", "en", "mixed" or "unknown" (no letters); ``sentiment``: score in
    [-1, 1]; ``sentiment_label``: "negative", "neutral" or "positive"; ``themes``: theme codes
    in taxonomy order; ``terms``: the keywords that matched, per theme; ``truncated``: only the
    first ``max_chars`` characters were analysed.
    """

    language: Language
    sentiment: float
    sentiment_label: SentimentLabel
    themes: tuple[str, ...]
    terms: dict[str, tuple[str, ...]]
    truncated: bool = False


#: Longer comments are analysed on their first 10,000 characters (about 50 ms), so one huge
#: comment cannot hold a request for seconds; the result says so (``truncated``).
MAX_CHARS = 10_000

_EMPTY = CommentAnalysis("unknown", 0.0, "neutral", (), {})


def warm_up() -> None:
    """Build the jieba tokenizer and load the lexicon and the packaged taxonomies now (about a
    second) rather than on the first Chinese comment; call it when a web worker or a scoring
    run starts."""
    segment.build()
    lexicon()
    for code in PRESETS:
        preset(code)


def analyse(
    text: object, taxonomy: Taxonomy | None = None, *, max_chars: int | None = MAX_CHARS
) -> CommentAnalysis:
    """Language, sentiment and themes of one comment; tokenises once.

    ``None`` or blank text gives a neutral analysis with no themes; a value that is not a
    string raises :class:`~patron.analytics.errors.AnalyticsInputError`. Typical comments take
    well under a millisecond once :func:`~patron.analytics.text.warm_up` has run (see
    ``docs/analytics/text.md`` for the measured figures). Text beyond ``max_chars`` characters
    is not analysed and ``truncated`` is set (``None``: no limit).
    """
    text = ensure_text(text)
    if not text.strip():
        return _EMPTY
    truncated = max_chars is not None and len(text) > max_chars
    if truncated:
        text = text[:max_chars]
    tokens = segment.tokenize(text)
    sentiment = score_tokens(tokens)
    terms = (taxonomy or default_taxonomy()).match_tokens(tokens)
    return CommentAnalysis(
        language=detect_language(text),
        sentiment=sentiment.score,
        sentiment_label=sentiment.label,
        themes=tuple(terms),
        terms=terms,
        truncated=truncated,
    )


def analyse_many(comments: object, taxonomy: Taxonomy | None = None) -> pd.DataFrame:
    """:func:`analyse` over a Series or list; one row per comment, same index.

    Columns: ``language``, ``sentiment``, ``sentiment_label``, ``themes`` (tuple of codes),
    ``truncated``.
    """
    series = as_series(comments)
    results = [analyse(v, taxonomy) for v in series]
    return pd.DataFrame(
        {
            "language": [r.language for r in results],
            "sentiment": [r.sentiment for r in results],
            "sentiment_label": [r.sentiment_label for r in results],
            "themes": [r.themes for r in results],
            "truncated": [r.truncated for r in results],
        },
        index=series.index,
    )
