"""Accuracy of language detection, sentiment and themes on a labelled set of comments.

    python -m patron.analytics.text.evaluate tests/analytics/data/comments_labelled.csv

prints a Markdown report (the figures in ``bench/results/text.md``). The CSV has columns
``id``, ``language`` (zh, en, mixed), ``text``, ``sentiment`` (negative, neutral, positive),
``themes`` (theme codes separated by ``;``, may be empty) and optionally ``script``
(zh-Hans, zh-Hant, en, mixed) and ``split`` (dev, test).

Protocol: the lexicon scorer and the taxonomy have no trained parameters, so they are scored
on every comment and, separately, on the ``dev`` part (used while writing the lexicons) and the
``test`` part (not looked at while writing them). The supervised model is scored by repeated
stratified k-fold cross-validation (out-of-fold predictions; mean and standard deviation over
the repeats), and the lexicon is scored on the same comments for comparison.
"""

from __future__ import annotations

import argparse
import functools
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import RepeatedStratifiedKFold

from patron.analytics.errors import AnalyticsInputError, check_columns
from patron.analytics.text import segment
from patron.analytics.text.analyse import analyse, warm_up
from patron.analytics.text.normalise import detect_language
from patron.analytics.text.drivers import theme_drivers
from patron.analytics.text.model import SentimentModel
from patron.analytics.text.sentiment import score_sentiment
from patron.analytics.text.taxonomy import Taxonomy, default_taxonomy

__all__ = [
    "LABELS",
    "cross_validate_sentiment",
    "language_confusion",
    "load_labelled",
    "main",
    "report",
    "sentiment_scores",
    "simulated_responses",
    "theme_scores",
    "time_analyse",
]

LABELS = ("negative", "neutral", "positive")
GROUPS = ("all", "en", "zh", "zh-Hans", "zh-Hant", "mixed")


def load_labelled(path: str | Path, taxonomy: Taxonomy | None = None) -> pd.DataFrame:
    """Read and check a labelled CSV; ``themes`` becomes a tuple of codes."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    check_columns(frame, ["id", "language", "text", "sentiment", "themes"], name=str(path))
    tax = taxonomy or default_taxonomy()
    bad_sent = sorted(set(frame["sentiment"]) - set(LABELS))
    if bad_sent:
        raise AnalyticsInputError(f"{path}: unknown sentiment labels {bad_sent}")
    bad_lang = sorted(set(frame["language"]) - {"zh", "en", "mixed"})
    if bad_lang:
        raise AnalyticsInputError(f"{path}: unknown languages {bad_lang}")
    frame["themes"] = [tuple(t for t in s.split(";") if t) for s in frame["themes"]]
    unknown = sorted({t for ts in frame["themes"] for t in ts} - set(tax.codes))
    if unknown:
        raise AnalyticsInputError(f"{path}: theme codes not in the taxonomy: {unknown}")
    if "script" not in frame:
        frame["script"] = frame["language"]
    if "split" not in frame:
        frame["split"] = "dev"
    return frame


def _group_mask(frame: pd.DataFrame, group: str) -> pd.Series:
    if group == "all":
        return pd.Series(True, index=frame.index)
    if group in ("zh-Hans", "zh-Hant"):
        return frame["script"] == group
    return frame["language"] == group


def sentiment_scores(
    frame: pd.DataFrame, predicted: Sequence[str], groups: Sequence[str] = GROUPS
) -> pd.DataFrame:
    """Accuracy and macro-F1 per language group (macro over the labels present in the group)."""
    pred = pd.Series(list(predicted), index=frame.index)
    rows = []
    for group in groups:
        mask = _group_mask(frame, group)
        if not mask.any():
            continue
        y, p = frame.loc[mask, "sentiment"], pred[mask]
        rows.append(
            {
                "group": group,
                "n": int(mask.sum()),
                "accuracy": accuracy_score(y, p),
                # over the labels that occur in the group (the generator's templates have no
                # neutral class)
                "macro_f1": f1_score(
                    y,
                    p,
                    labels=[lab for lab in LABELS if lab in set(y)],
                    average="macro",
                    zero_division=0,
                ),
            }
        )
    return pd.DataFrame(rows)


def theme_scores(
    frame: pd.DataFrame,
    predicted: Sequence[Sequence[str]],
    taxonomy: Taxonomy | None = None,
    languages: Sequence[str] = ("all", "en", "zh", "mixed"),
) -> pd.DataFrame:
    """Precision, recall and F1 per theme and language, plus micro and macro averages.

    Rows: ``theme`` (a code, ``micro`` or ``macro``), ``language``, ``support`` (comments
    labelled with the theme), ``predicted``, ``tp``, ``precision``, ``recall``, ``f1``.
    """
    tax = taxonomy or default_taxonomy()
    pred = list(predicted)
    rows = []
    for lang in languages:
        mask = _group_mask(frame, lang).to_numpy()
        truth = [set(t) for t, m in zip(frame["themes"], mask, strict=True) if m]
        guess = [set(p) for p, m in zip(pred, mask, strict=True) if m]
        tot_tp = tot_pred = tot_sup = 0
        per_theme = []
        for code in tax.codes:
            tp = sum(1 for t, g in zip(truth, guess, strict=True) if code in t and code in g)
            n_pred = sum(1 for g in guess if code in g)
            support = sum(1 for t in truth if code in t)
            tot_tp, tot_pred, tot_sup = tot_tp + tp, tot_pred + n_pred, tot_sup + support
            prec, rec, f1 = _prf(tp, n_pred, support)
            per_theme.append((prec, rec, f1, support))
            rows.append(
                {
                    "theme": code,
                    "language": lang,
                    "support": support,
                    "predicted": n_pred,
                    "tp": tp,
                    "precision": prec,
                    "recall": rec,
                    "f1": f1,
                }
            )
        prec, rec, f1 = _prf(tot_tp, tot_pred, tot_sup)
        rows.append(
            {
                "theme": "micro",
                "language": lang,
                "support": tot_sup,
                "predicted": tot_pred,
                "tp": tot_tp,
                "precision": prec,
                "recall": rec,
                "f1": f1,
            }
        )
        present = [r for r in per_theme if r[3] > 0]
        rows.append(
            {
                "theme": "macro",
                "language": lang,
                "support": tot_sup,
                "predicted": tot_pred,
                "tp": tot_tp,
                "precision": float(np.nanmean([r[0] for r in present])) if present else np.nan,
                "recall": float(np.nanmean([r[1] for r in present])) if present else np.nan,
                "f1": float(np.nanmean([r[2] for r in present])) if present else np.nan,
            }
        )
    return pd.DataFrame(rows)


def _prf(tp: int, n_pred: int, support: int) -> tuple[float, float, float]:
    prec = tp / n_pred if n_pred else (1.0 if support == 0 else 0.0)
    rec = tp / support if support else np.nan
    if support == 0:
        return prec, rec, np.nan
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return prec, rec, f1


def language_confusion(frame: pd.DataFrame) -> pd.DataFrame:
    """Labelled language (rows) against :func:`detect_language` (columns)."""
    detected = [detect_language(t) for t in frame["text"]]
    return pd.crosstab(frame["language"], pd.Series(detected, index=frame.index, name="detected"))


@dataclass(frozen=True)
class CVResult:
    """Per-repeat scores of out-of-fold predictions: ``scores`` has columns repeat, method,
    group, n, accuracy, macro_f1."""

    scores: pd.DataFrame
    folds: int
    repeats: int

    def summary(self) -> pd.DataFrame:
        g = self.scores.groupby(["method", "group"], sort=False)
        out = g.agg(
            n=("n", "first"),
            accuracy=("accuracy", "mean"),
            accuracy_sd=("accuracy", "std"),
            macro_f1=("macro_f1", "mean"),
            macro_f1_sd=("macro_f1", "std"),
        )
        return out.reset_index()


def cross_validate_sentiment(
    frame: pd.DataFrame,
    models: dict[str, Callable[[], SentimentModel]] | None = None,
    *,
    folds: int = 5,
    repeats: int = 5,
    seed: int = 0,
    groups: Sequence[str] = ("all", "en", "zh", "mixed"),
) -> CVResult:
    """Repeated stratified k-fold CV (strata: language x label) of supervised models, with the
    lexicon scored on the same out-of-fold comments."""
    if models is None:
        models = {}
        for c in (1.0, 4.0, 16.0):
            models[f"tf-idf + logistic regression, C={c:g}"] = functools.partial(
                SentimentModel, C=c
            )
        for c in (1.0, 4.0, 16.0):
            models[f"tf-idf + lexicon features + logistic regression, C={c:g}"] = functools.partial(
                SentimentModel, C=c, use_lexicon=True
            )
    texts = frame["text"].tolist()
    y = frame["sentiment"].to_numpy()
    strata = (frame["language"] + "/" + frame["sentiment"]).to_numpy()
    # a stratum too small to appear in every fold joins the largest one with its label
    sizes = pd.Series(strata).value_counts()
    largest = {
        lab: max((s for s in sizes.index if s.endswith("/" + lab)), key=lambda s: int(sizes[s]))
        for lab in set(y)
    }
    strata = np.array(
        [largest[lab] if sizes[s] < folds else s for s, lab in zip(strata, y, strict=True)]
    )
    lexicon_pred = [score_sentiment(t).label for t in texts]
    cv = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=seed)
    splits = list(cv.split(np.zeros(len(y)), strata))
    rows = []
    for name, factory in models.items():
        for r in range(repeats):
            oof = np.empty(len(y), dtype=object)
            for train, test in splits[r * folds : (r + 1) * folds]:
                model = factory().fit([texts[i] for i in train], y[train])
                oof[test] = model.predict([texts[i] for i in test])
            for _, row in sentiment_scores(frame, list(oof), groups).iterrows():
                rows.append({"repeat": r, "method": name, **row.to_dict()})
    for _, row in sentiment_scores(frame, lexicon_pred, groups).iterrows():
        rows.append({"repeat": 0, "method": "lexicon (no training)", **row.to_dict()})
    return CVResult(pd.DataFrame(rows), folds, repeats)


def time_analyse(texts: Sequence[str], rounds: int = 5) -> dict[str, float]:
    """Time :func:`analyse` per comment after warm-up, in milliseconds.

    Each comment is analysed ``rounds`` times; its time is the median of those runs (so a
    moment when another process held the CPU does not count as the comment's cost). Both the
    process CPU time and the wall-clock time are reported. The ``uncached`` figures are for
    comments never seen before (segmentation caches emptied first).
    """
    t0 = time.perf_counter()
    warm_up()
    warm = time.perf_counter() - t0
    for t in texts:  # fill caches the way a long-running worker has them
        analyse(t)
    cpu: list[list[float]] = [[] for _ in texts]
    wall: list[list[float]] = [[] for _ in texts]
    for _ in range(rounds):
        for i, t in enumerate(texts):
            c, w = time.process_time(), time.perf_counter()
            analyse(t)
            cpu[i].append((time.process_time() - c) * 1000)
            wall[i].append((time.perf_counter() - w) * 1000)
    from patron.analytics.text import sentiment

    segment._segment_short.cache_clear()
    sentiment._zh_items_cached.cache_clear()
    cold = []
    for t in texts:
        c = time.process_time()
        analyse(t)
        cold.append((time.process_time() - c) * 1000)
    per_cpu = sorted(statistics.median(v) for v in cpu)
    per_wall = sorted(statistics.median(v) for v in wall)
    cold.sort()

    def p95(values: list[float]) -> float:
        return values[int(0.95 * (len(values) - 1))]

    return {
        "warm_up_s": warm,
        "comments": float(len(texts)),
        "rounds": float(rounds),
        "cpu_median_ms": statistics.median(per_cpu),
        "cpu_p95_ms": p95(per_cpu),
        "cpu_max_ms": per_cpu[-1],
        "wall_median_ms": statistics.median(per_wall),
        "wall_p95_ms": p95(per_wall),
        "wall_max_ms": per_wall[-1],
        "uncached_cpu_median_ms": statistics.median(cold),
        "uncached_cpu_p95_ms": p95(cold),
        "uncached_cpu_max_ms": cold[-1],
    }


# --- report ----------------------------------------------------------------------------------


def _fmt(x: object) -> str:
    if isinstance(x, float):
        return "–" if np.isnan(x) else f"{x:.3f}"
    return str(x)


def _md(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v) for v in row) + " |")
    return "\n".join(lines)


def generator_templates() -> pd.DataFrame:
    """The comment templates of Patron's data generator as a labelled frame.

    They were written for the generator, independently of this module's lexicons, with one
    theme and a negative or positive sentiment each; ``{cat}`` is filled with a fixed product
    category. The generator's theme names map to codes here (quality -> product_quality,
    app -> app_website).
    """
    from patron.generator import vocab

    names = {"quality": "product_quality", "app": "app_website"}
    rows: list[dict[str, object]] = []
    for theme, by_lang in vocab.COMMENTS.items():
        for lang, by_sent in by_lang.items():
            for sent, templates in by_sent.items():
                for template in templates:
                    text = template.format(cat="办公用品" if lang == "zh" else "office supplies")
                    rows.append(
                        {
                            "id": str(len(rows) + 1),
                            "language": lang,
                            "script": "zh-Hans" if lang == "zh" else "en",
                            "text": text,
                            "sentiment": "negative" if sent == "neg" else "positive",
                            "themes": (names.get(theme, theme),),
                            "split": "external",
                        }
                    )
    return pd.DataFrame(rows)


def simulated_responses(frame: pd.DataFrame, n: int | None = None, seed: int = 0) -> pd.DataFrame:
    """NPS responses made from labelled comments: an answer drawn from the sentiment label
    (negative 0-6, neutral 7-8, positive 9-10) and the comment; ``n`` rows resampled with
    replacement (default: each comment once)."""
    rng = np.random.default_rng(seed)
    rows = frame if n is None else frame.sample(n=n, replace=True, random_state=seed)
    low = rows["sentiment"].map({"negative": 0, "neutral": 7, "positive": 9}).to_numpy()
    high = rows["sentiment"].map({"negative": 6, "neutral": 8, "positive": 10}).to_numpy()
    score = rng.integers(low, high + 1)
    return pd.DataFrame({"score": score, "comment": rows["text"].to_numpy()})


def report(
    path: str | Path, *, folds: int = 5, repeats: int = 5, seed: int = 0, timing: bool = True
) -> str:
    """The full Markdown report for a labelled CSV."""
    t0 = time.perf_counter()
    warm_up()
    warm_up_s = time.perf_counter() - t0
    frame = load_labelled(path)
    tax = default_taxonomy()
    out: list[str] = []
    counts = frame.groupby(["script", "sentiment"]).size().unstack(fill_value=0)
    out.append(f"# Comment analytics: accuracy on `{path}`\n")
    out.append(
        f"- Date: {datetime.now(UTC).date().isoformat()}; machine: {_machine()}; "
        f"Python {platform.python_version()}"
    )
    out.append(
        f"- Command: `python -m patron.analytics.text.evaluate {path}"
        + (f" --folds {folds}" if folds != 5 else "")
        + (f" --repeats {repeats}" if repeats != 5 else "")
        + (f" --seed {seed}" if seed != 0 else "")
        + ("" if timing else " --no-timing")
        + "`"
    )
    out.append(
        f"- Data: {len(frame)} comments ({(frame['split'] == 'dev').sum()} dev, "
        f"{(frame['split'] == 'test').sum()} test), "
        f"{sum(len(t) for t in frame['themes'])} theme labels"
    )
    out.append("\n## Labelled set\n")
    out.append(_md(counts.reset_index()))

    out.append("\n## Language detection\n")
    out.append(_md(language_confusion(frame).reset_index()))

    lex_pred = [score_sentiment(t).label for t in frame["text"]]
    out.append("\n## Sentiment: lexicon scorer\n")
    for split in ("all", "dev", "test"):
        sub = frame if split == "all" else frame[frame["split"] == split]
        sub_pred = [
            p for p, keep in zip(lex_pred, frame.index.isin(sub.index), strict=True) if keep
        ]
        out.append(f"\n### {split} comments\n")
        out.append(_md(sentiment_scores(sub, sub_pred)))
    conf = pd.crosstab(frame["sentiment"], pd.Series(lex_pred, index=frame.index, name="predicted"))
    out.append("\nConfusion (all comments; rows: label, columns: predicted):\n")
    out.append(_md(conf.reset_index()))

    out.append(
        f"\n## Sentiment: supervised baseline ({folds}-fold cross-validation, "
        f"{repeats} repeats, seed {seed})\n"
    )
    cv = cross_validate_sentiment(frame, folds=folds, repeats=repeats, seed=seed)
    out.append(_md(cv.summary()))

    theme_pred = [tuple(tax.match(t)) for t in frame["text"]]
    out.append("\n## Themes: taxonomy keywords\n")
    ts = theme_scores(frame, theme_pred, tax)
    for split in ("all", "dev", "test"):
        mask = np.ones(len(frame), bool) if split == "all" else (frame["split"] == split).to_numpy()
        sub = frame[mask]
        sub_themes = [p for p, m in zip(theme_pred, mask, strict=True) if m]
        s = theme_scores(sub, sub_themes, tax)
        summ = s[s["theme"].isin(["micro", "macro"])]
        out.append(f"\n### Averages, {split} comments\n")
        out.append(
            _md(
                summ[
                    ["theme", "language", "support", "predicted", "tp", "precision", "recall", "f1"]
                ]
            )
        )
    out.append("\n### Per theme and language, all comments\n")
    per = ts[~ts["theme"].isin(["micro", "macro"])]
    out.append(_md(per[per["language"] != "mixed"]))

    ext = generator_templates()
    ext_pred = [score_sentiment(t).label for t in ext["text"]]
    ext_themes = [tuple(tax.match(t)) for t in ext["text"]]
    out.append(
        f"\n## External check: the data generator's {len(ext)} comment templates\n\n"
        "Written for `patron.generator.vocab` by another author, with one theme and a negative "
        "or positive label each (no neutral class, so this tests polarity only).\n"
    )
    out.append(_md(sentiment_scores(ext, ext_pred, ("all", "en", "zh"))))
    ext_ts = theme_scores(ext, ext_themes, tax, ("all", "en", "zh"))
    out.append("")
    out.append(_md(ext_ts[ext_ts["theme"].isin(["micro", "macro"])]))

    responses = simulated_responses(frame, seed=seed)
    drivers = theme_drivers(responses)
    out.append(
        "\n## Root cause on the labelled comments\n\n"
        "`theme_drivers` over the labelled comments with an NPS answer drawn from each comment's "
        "sentiment label (negative 0-6, neutral 7-8, positive 9-10, uniformly; seed "
        f"{seed}), to show the output; the top five themes by impact:\n"
    )
    shown = drivers.head(5).assign(
        examples=lambda d: d["examples"].map(lambda e: " / ".join(e[:2]))
    )[
        [
            "theme",
            "mentions",
            "share_diff",
            "log_odds_ratio",
            "p_value",
            "nps_with",
            "nps_without",
            "impact",
            "examples",
        ]
    ]
    out.append(_md(shown))

    if timing:
        load = _load_average()
        t = time_analyse(frame["text"].tolist())
        t["warm_up_s"] = warm_up_s
        out.append("\n## Speed of `analyse()` (one comment, after `warm_up()`)\n")
        out.append(
            f"- Warm-up in a fresh process (jieba dictionary from its cache, lexicons, taxonomy): "
            f"{t['warm_up_s']:.2f} s\n"
            f"- {int(t['comments'])} comments x {int(t['rounds'])} rounds, per-comment median; "
            f"CPU time: median {t['cpu_median_ms']:.3f} ms, p95 {t['cpu_p95_ms']:.3f} ms, "
            f"max {t['cpu_max_ms']:.3f} ms; wall clock: median {t['wall_median_ms']:.3f} ms, "
            f"p95 {t['wall_p95_ms']:.3f} ms, max {t['wall_max_ms']:.3f} ms\n"
            f"- Comments never seen before (segmentation caches emptied), CPU time: median "
            f"{t['uncached_cpu_median_ms']:.3f} ms, p95 {t['uncached_cpu_p95_ms']:.3f} ms, "
            f"max {t['uncached_cpu_max_ms']:.3f} ms\n"
            f"- Load average when the timing started: {load} (the machine is shared)"
        )
        big = simulated_responses(frame, n=20_000, seed=seed)
        c, w = time.process_time(), time.perf_counter()
        theme_drivers(big)
        cpu, wall = time.process_time() - c, time.perf_counter() - w
        big["themes"] = [analyse(t).themes for t in big["comment"]]
        c = time.process_time()
        theme_drivers(big, themes_col="themes")
        out.append(
            f"- `theme_drivers` on 20,000 responses (the labelled comments resampled, scores "
            f"as above): CPU {cpu:.2f} s (wall {wall:.2f} s) analysing the comments itself; "
            f"CPU {time.process_time() - c:.2f} s with stored themes (`themes_col`)"
        )
    return "\n".join(out) + "\n"


def _machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu}"


def _load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m patron.analytics.text.evaluate", description=__doc__.split("\n")[0]
    )
    parser.add_argument("csv", help="labelled comments (see the module docstring)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-timing", action="store_true", help="skip the speed measurement")
    args = parser.parse_args(argv)
    try:
        text = report(
            args.csv,
            folds=args.folds,
            repeats=args.repeats,
            seed=args.seed,
            timing=not args.no_timing,
        )
    except (OSError, AnalyticsInputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
