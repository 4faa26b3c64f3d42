"""What libraries give on the same comments, for comparison with Patron's analysis.

* **SnowNLP** (Chinese sentiment, a naive Bayes model trained on product reviews, shipped in the
  package): ``SnowNLP(text).sentiments`` is P(positive); two thresholds map it to the three
  labels, chosen on the dev comments (the grid is in :func:`fit_snownlp_thresholds`).
* **VADER** (``vaderSentiment``, English, lexicon and rules): the compound score with the
  thresholds its authors recommend (>= 0.05 positive, <= -0.05 negative).
* **jieba's keyword extraction** (``jieba.analyse.extract_tags``, TF-IDF over jieba's corpus):
  the top five keywords of a comment, each looked up in the taxonomy: themes found only through
  what the library deems the comment's keywords.
* **OpenCC** (Traditional to Simplified conversion, phrase-aware: ``t2s``, ``tw2sp`` with Taiwan
  phrases, ``hk2s``): Traditional comments converted before Patron's analysis, against Patron's
  own character table.

The libraries are imported when used; :func:`available` tells which are installed (they are in
the development dependencies, not needed to run Patron).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import warnings
from collections.abc import Callable, Sequence

import numpy as np

from patron.analytics.text.taxonomy import Taxonomy

__all__ = [
    "available",
    "fit_snownlp_thresholds",
    "jieba_themes",
    "opencc_converter",
    "snownlp_labels",
    "snownlp_scores",
    "vader_labels",
]

_MODULES = {"snownlp": "snownlp", "vader": "vaderSentiment", "opencc": "opencc", "jieba": "jieba"}


def available() -> dict[str, bool]:
    """Which baseline libraries can be imported."""
    return {name: importlib.util.find_spec(mod) is not None for name, mod in _MODULES.items()}


def snownlp_scores(texts: Sequence[str]) -> list[float]:
    """SnowNLP's P(positive) per comment."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from snownlp import SnowNLP

    return [float(SnowNLP(t).sentiments) if t.strip() else 0.5 for t in texts]


def _three_way(scores: Sequence[float], low: float, high: float) -> list[str]:
    return ["negative" if s <= low else "positive" if s >= high else "neutral" for s in scores]


def fit_snownlp_thresholds(scores: Sequence[float], labels: Sequence[str]) -> tuple[float, float]:
    """The (low, high) pair, on a grid of 0.05 steps, with the best accuracy on these labelled
    comments (ties: the widest neutral band)."""
    y = np.asarray(labels)
    best: tuple[float, float, float] = (-1.0, 0.0, 0.0)
    grid = np.round(np.arange(0.05, 1.0, 0.05), 2)
    for low in grid:
        for high in grid[grid > low]:
            acc = float((np.asarray(_three_way(scores, low, high)) == y).mean())
            if acc > best[0] or (acc == best[0] and high - low > best[2] - best[1]):
                best = (acc, float(low), float(high))
    return best[1], best[2]


def snownlp_labels(scores: Sequence[float], thresholds: tuple[float, float]) -> list[str]:
    return _three_way(scores, *thresholds)


@functools.cache
def _vader() -> object:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_labels(texts: Sequence[str]) -> list[str]:
    analyzer = _vader()
    out = []
    for t in texts:
        compound = analyzer.polarity_scores(t)["compound"]  # type: ignore[attr-defined]
        out.append(
            "positive" if compound >= 0.05 else "negative" if compound <= -0.05 else "neutral"
        )
    return out


@functools.cache
def _jieba_analyse() -> object:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import jieba
        import jieba.analyse

    jieba.setLogLevel(logging.ERROR)
    return jieba.analyse


def jieba_themes(
    texts: Sequence[str], taxonomies: Sequence[Taxonomy], top: int = 5
) -> list[tuple[str, ...]]:
    """Themes whose words are among jieba's ``top`` keywords of each comment."""
    analyse = _jieba_analyse()
    out = []
    for text, tax in zip(texts, taxonomies, strict=True):
        tags = analyse.extract_tags(text, topK=top)  # type: ignore[attr-defined]
        codes: set[str] = set()
        for tag in tags:
            codes.update(tax.match(tag))
        out.append(tuple(sorted(codes)))
    return out


def opencc_converter(config: str) -> Callable[[str], str]:
    """OpenCC's ``convert`` for a configuration ("t2s", "tw2sp", "hk2s")."""
    import opencc

    return opencc.OpenCC(config).convert  # type: ignore[no-any-return]
