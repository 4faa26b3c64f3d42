"""Scoring the analysis against labelled comments: per language, sentiment and themes.

A labelled set is a CSV with columns ``id``, ``language`` (``en``, ``zh-Hans``, ``zh-Hant``,
or ``mixed``), ``text``, ``sentiment`` (negative, neutral, positive) and ``themes`` (theme codes
separated by ``;``, may be empty), and optionally ``industry`` (the packaged taxonomy to analyse
the comment with; default ``general``), ``tags`` (hard cases, ``;``-separated) and ``split``.
An older form with ``language`` zh/en/mixed and a ``script`` column is read too.

Definitions (the same for every method compared):

* **sentiment accuracy**: the share of comments whose predicted label (negative, neutral,
  positive) equals the label; macro-F1 over the three labels is reported beside it;
* **theme accuracy**: the share of comments whose predicted set of theme codes equals the
  labelled set exactly (subset accuracy; an empty set must be predicted empty). Per-comment
  Jaccard (``|A∩B| / |A∪B|``, 1 when both are empty) averaged over the comments, and micro
  precision, recall and F1 over theme labels are reported beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from patron.analytics.errors import AnalyticsInputError, check_columns
from patron.analytics.text.analyse import analyse
from patron.analytics.text.taxonomy import PRESETS, Taxonomy, preset

__all__ = [
    "LABELS",
    "LANGUAGES",
    "load_labelled",
    "predict",
    "scores_by",
    "sentiment_metrics",
    "theme_metrics",
]

LABELS = ("negative", "neutral", "positive")
LANGUAGES = ("en", "zh-Hans", "zh-Hant", "mixed")


def load_labelled(path: str | Path, *, industry: str = "general") -> pd.DataFrame:
    """Read and check a labelled CSV; ``themes`` becomes a tuple of codes, ``tags`` a tuple.
    Without an ``industry`` column every comment is of ``industry``."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError) as exc:
        raise AnalyticsInputError(f"cannot read {path}: {exc}") from exc
    check_columns(frame, ["id", "language", "text", "sentiment", "themes"], name=str(path))
    if "script" in frame:  # the older form: language zh/en/mixed, script zh-Hans/zh-Hant/...
        frame["language"] = frame["script"]
    if "industry" not in frame:
        frame["industry"] = industry
    if "tags" not in frame:
        frame["tags"] = ""
    if "split" not in frame:
        frame["split"] = ""
    bad = sorted(set(frame["sentiment"]) - set(LABELS))
    if bad:
        raise AnalyticsInputError(f"{path}: unknown sentiment labels {bad}")
    bad = sorted(set(frame["language"]) - set(LANGUAGES))
    if bad:
        raise AnalyticsInputError(f"{path}: unknown languages {bad}")
    bad = sorted(set(frame["industry"]) - set(PRESETS))
    if bad:
        raise AnalyticsInputError(f"{path}: unknown industries {bad}")
    frame["themes"] = [tuple(t for t in s.split(";") if t) for s in frame["themes"]]
    frame["tags"] = [tuple(t for t in s.split(";") if t) for s in frame["tags"]]
    for code, group in frame.groupby("industry"):
        industry = str(code)
        unknown = sorted({t for ts in group["themes"] for t in ts} - set(preset(industry).codes))
        if unknown:
            raise AnalyticsInputError(
                f"{path}: theme codes not in the {industry} taxonomy: {unknown}"
            )
    if frame["id"].duplicated().any():
        raise AnalyticsInputError(f"{path}: repeated ids")
    return frame


def predict(
    frame: pd.DataFrame, taxonomy: Taxonomy | Callable[[str], Taxonomy] | None = None
) -> pd.DataFrame:
    """Patron's analysis of each comment: columns ``sentiment`` and ``themes``, same index.

    Each comment is analysed with its industry's packaged taxonomy, unless ``taxonomy`` (one
    taxonomy, or a function of the industry) says otherwise.
    """
    if taxonomy is None:
        choose: Callable[[str], Taxonomy] = preset
    elif isinstance(taxonomy, Taxonomy):
        fixed = taxonomy

        def choose(_industry: str) -> Taxonomy:
            return fixed
    else:
        choose = taxonomy
    results = [analyse(t, choose(i)) for t, i in zip(frame["text"], frame["industry"], strict=True)]
    return pd.DataFrame(
        {
            "sentiment": [r.sentiment_label for r in results],
            "themes": [tuple(sorted(r.themes)) for r in results],
        },
        index=frame.index,
    )


def sentiment_metrics(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    """``n``, ``accuracy`` and ``macro_f1`` (over the labels present in truth or prediction)."""
    y, p = np.asarray(truth, dtype=object), np.asarray(predicted, dtype=object)
    out: dict[str, float] = {"n": float(len(y))}
    if not len(y):
        return {**out, "accuracy": np.nan, "macro_f1": np.nan}
    out["accuracy"] = float((y == p).mean())
    f1s = []
    for label in LABELS:
        tp = float(((y == label) & (p == label)).sum())
        n_pred, n_true = float((p == label).sum()), float((y == label).sum())
        if n_pred == 0 and n_true == 0:
            continue
        f1s.append(2 * tp / (n_pred + n_true))
    out["macro_f1"] = float(np.mean(f1s))
    return out


def theme_metrics(
    truth: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]
) -> dict[str, float]:
    """``n``, ``accuracy`` (exact set match), ``jaccard`` and micro ``precision``, ``recall``,
    ``f1`` over theme labels."""
    t_sets = [set(t) for t in truth]
    p_sets = [set(p) for p in predicted]
    n = len(t_sets)
    if not n:
        return {"n": 0.0, "accuracy": np.nan, "jaccard": np.nan}
    exact = sum(t == p for t, p in zip(t_sets, p_sets, strict=True))
    jac = [len(t & p) / len(t | p) if t | p else 1.0 for t, p in zip(t_sets, p_sets, strict=True)]
    tp = sum(len(t & p) for t, p in zip(t_sets, p_sets, strict=True))
    n_pred = sum(len(p) for p in p_sets)
    n_true = sum(len(t) for t in t_sets)
    precision = tp / n_pred if n_pred else np.nan
    recall = tp / n_true if n_true else np.nan
    f1 = 2 * tp / (n_pred + n_true) if n_pred + n_true else np.nan
    return {
        "n": float(n),
        "accuracy": exact / n,
        "jaccard": float(np.mean(jac)),
        "precision": precision,
        "recall": recall,
        "f1": f1,
    }


def scores_by(
    frame: pd.DataFrame,
    predicted: Sequence[object],
    metric: Callable[[Sequence, Sequence], dict[str, float]],
    *,
    column: str,
    by: str = "language",
    groups: Sequence[str] | None = None,
) -> pd.DataFrame:
    """``metric(truth, predicted)`` per value of ``by`` (and ``all``), one row each; groups with
    no comments are left out."""
    pred = pd.Series(list(predicted), index=frame.index, dtype=object)
    keys = list(groups) if groups is not None else sorted(set(frame[by]))
    rows = []
    for key in ["all", *keys]:
        mask = pd.Series(True, index=frame.index) if key == "all" else frame[by] == key
        if not mask.any():
            continue
        rows.append({by: key, **metric(list(frame.loc[mask, column]), list(pred[mask]))})
    out = pd.DataFrame(rows)
    out["n"] = out["n"].astype(int)
    return out
