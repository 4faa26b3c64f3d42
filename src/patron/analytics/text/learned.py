"""A learned fallback for comments in which the lexicon finds no evaluative word.

Many complaints state a bare fact ("Ordered a blue one, got grey.", "分行只开两个窗口"). When the
lexicon and the cues of :mod:`patron.analytics.text.sentiment` find nothing in a comment, its
label comes from a linear model instead: tf-idf of Chinese character 1- to 3-grams, English
stemmed words and word pairs, and emoji (the features of
:class:`~patron.analytics.text.model.SentimentModel`), multinomial logistic regression with
balanced class weights, trained on the labelled dev comments
(``tests/analytics/data/text/comments_dev.csv``) and shipped as plain weights in
``data/sentiment_model.json``. It is computed here without scikit-learn, so a fallback costs a
few dictionary look-ups; its contributions are the features that moved the score most.

Retrain with :mod:`patron.analytics.text.train` (deterministic; a test checks the shipped file
is what it gives).
"""

from __future__ import annotations

import functools
import itertools
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from patron.analytics.text._resources import read_text
from patron.analytics.text.segment import Token

__all__ = ["MODEL_FILE", "C", "LinearModel", "model", "token_features"]

MODEL_FILE = "sentiment_model.json"
#: Regularisation of the shipped model (inverse strength, as scikit-learn's ``C``).
C = 4.0


def token_features(tokens: Sequence[Token]) -> list[str]:
    """The bag of features of one tokenised comment, prefixed by kind (c: characters of a run
    of Chinese words, w: English words and pairs, e: emoji)."""
    out: list[str] = []
    run = ""
    words: list[str] = []
    for t in [*tokens, Token("", "", "punct")]:
        if t.kind == "zh":
            run += t.raw
            continue
        if run:
            for n in (1, 2, 3):
                out.extend("c:" + run[i : i + n] for i in range(len(run) - n + 1))
            run = ""
        if t.kind == "en":
            words.append(t.text)
            continue
        if words:
            out.extend("w:" + w for w in words)
            out.extend(f"w:{a} {b}" for a, b in itertools.pairwise(words))
            words = []
        if t.kind == "emoji":
            out.append("e:" + t.raw.rstrip("\ufe0f"))
    return out


@dataclass(frozen=True)
class LinearModel:
    """tf-idf (sublinear tf, smooth idf, l2 norm) and a multinomial linear classifier."""

    classes: tuple[str, ...]
    intercept: tuple[float, ...]
    features: dict[str, tuple[float, ...]]  # feature -> (idf, weight per class)

    def predict(self, tokens: Sequence[Token]) -> tuple[str, float, list[tuple[str, float]]]:
        """(label, score in [-1, 1], the five features that weighed most), where the score is
        P(positive) - P(negative) and a feature's value is its push towards positive."""
        counts = Counter(f for f in token_features(tokens) if f in self.features)
        if not counts:
            return "neutral", 0.0, []
        x = {f: (1.0 + math.log(n)) * self.features[f][0] for f, n in counts.items()}
        norm = math.sqrt(sum(v * v for v in x.values()))
        decision = list(self.intercept)
        for f, v in x.items():
            w = self.features[f]
            for k in range(len(self.classes)):
                decision[k] += w[k + 1] * v / norm
        top = max(decision)
        exp = [math.exp(d - top) for d in decision]
        total = sum(exp)
        prob = dict(zip(self.classes, (e / total for e in exp), strict=True))
        label = self.classes[decision.index(top)]
        pos, neg = self.classes.index("positive") + 1, self.classes.index("negative") + 1
        pushes = sorted(
            ((f, (self.features[f][pos] - self.features[f][neg]) * v / norm) for f, v in x.items()),
            key=lambda fv: -abs(fv[1]),
        )
        return label, prob["positive"] - prob["negative"], pushes[:5]


@functools.cache
def model() -> LinearModel:
    """The shipped model, loaded once."""
    data = json.loads(read_text(MODEL_FILE))
    return LinearModel(
        classes=tuple(data["classes"]),
        intercept=tuple(data["intercept"]),
        features={f: tuple(v) for f, v in data["features"].items()},
    )
