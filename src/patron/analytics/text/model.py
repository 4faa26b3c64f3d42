"""A small supervised sentiment baseline: tf-idf features and logistic regression.

Features per comment: Chinese character 1- to 3-grams (no segmentation needed), English
stemmed word 1- and 2-grams, and emoji. With ``use_lexicon=True`` the lexicon scorer's score and
its positive and negative sums are appended as three dense features, so the model can learn how
far to trust the lexicon. It is used by :mod:`patron.analytics.text.evaluate` to compare
against the lexicon in cross-validation; the app uses the lexicon (see
``docs/analytics/text.md`` for why).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from patron.analytics.text import segment
from patron.analytics.text.normalise import ensure_text, normalise
from patron.analytics.text.sentiment import score_sentiment

__all__ = ["SentimentModel", "features"]

_HAN_RUN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_EN_WORD = re.compile(r"[a-z]+(?:'[a-z]+)*")


def features(text: str) -> list[str]:
    """The bag of features of one comment (prefixed by kind: c: characters, w: words)."""
    norm = normalise(ensure_text(text))
    out: list[str] = []
    for run in _HAN_RUN.findall(norm):
        for n in (1, 2, 3):
            out.extend("c:" + run[i : i + n] for i in range(len(run) - n + 1))
    words = [segment.stem(w) for w in _EN_WORD.findall(norm)]
    out.extend("w:" + w for w in words)
    out.extend(f"w:{a} {b}" for a, b in itertools.pairwise(words))
    out.extend("e:" + t.raw for t in segment.tokenize(norm) if t.kind == "emoji")
    return out


def _lexicon_features(texts: Sequence[str]) -> np.ndarray:
    rows = []
    for t in texts:
        s = score_sentiment(t)
        pos = sum(c.value for c in s.contributions if c.value > 0)
        neg = sum(c.value for c in s.contributions if c.value < 0)
        rows.append((s.score, pos, neg))
    return np.asarray(rows, dtype=float)


class SentimentModel(ClassifierMixin, BaseEstimator):
    """tf-idf + multinomial logistic regression over :func:`features`."""

    def __init__(self, C: float = 4.0, use_lexicon: bool = False, lexicon_weight: float = 1.0):
        self.C = C
        self.use_lexicon = use_lexicon
        self.lexicon_weight = lexicon_weight

    def _matrix(self, texts: Sequence[str], *, fit: bool) -> sparse.csr_matrix:
        if fit:
            self.vectorizer_ = TfidfVectorizer(analyzer=features, sublinear_tf=True)
            x = self.vectorizer_.fit_transform(texts)
        else:
            x = self.vectorizer_.transform(texts)
        if self.use_lexicon:
            lex = sparse.csr_matrix(_lexicon_features(texts) * self.lexicon_weight)
            x = sparse.hstack([x, lex], format="csr")
        return x

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> SentimentModel:
        texts = [ensure_text(t) for t in texts]
        x = self._matrix(texts, fit=True)
        self.classifier_ = LogisticRegression(
            C=self.C, max_iter=5000, class_weight="balanced", solver="newton-cg"
        ).fit(x, np.asarray(labels))
        self.classes_ = self.classifier_.classes_
        return self

    def predict(self, texts: Sequence[str]) -> np.ndarray:
        texts = [ensure_text(t) for t in texts]
        return self.classifier_.predict(self._matrix(texts, fit=False))
