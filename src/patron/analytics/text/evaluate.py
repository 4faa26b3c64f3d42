"""The comment analysis measured: accuracy per language beside the libraries, and speed.

    python -m patron.analytics.text.evaluate \\
        tests/analytics/data/text/comments_dev.csv tests/analytics/data/text/comments_test2.csv

prints a Markdown report (the figures in ``docs/analytics/text.md``): sentiment and theme
accuracy per language (definitions in :mod:`patron.analytics.text.evaluation`) on the dev and
the held-out test comments for Patron and for SnowNLP, VADER, jieba's keyword extraction and
OpenCC on the same comments; accuracy per hard case; the failure cases the analysis was rebuilt
for; and comments per second on one core. ``--extra PATH`` adds another labelled set (its
industry with ``--extra-industry``), ``--no-speed`` skips the timing. The comments are data
given to it: this module reads no other part of Patron.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from patron.analytics.errors import AnalyticsInputError
from patron.analytics.text import baselines, learned, segment, sentiment
from patron.analytics.text.analyse import analyse, warm_up
from patron.analytics.text.evaluation import (
    load_labelled,
    predict,
    scores_by,
    sentiment_metrics,
    theme_metrics,
)
from patron.analytics.text.taxonomy import preset

__all__ = ["FAILURE_CASES", "GOALS", "main", "report", "throughput"]

#: What the analysis must reach on the held-out comments, per language.
GOALS = {"sentiment": 0.85, "themes": 0.80}
LANGS = ("en", "zh-Hans", "zh-Hant")

#: The cases that were read wrongly before (issue 18), with the label they must get.
FAILURE_CASES = (
    ("完全不理会我的问题", "negative"),
    ("营业厅的服务人员态度恶劣，完全不理会我的问题。", "negative"),
    ("營業廳的服務人員態度惡劣，完全不理會我的問題。", "negative"),
    ("The room was lovely, but check-in took an hour", "negative"),
    ('服务真是"一流"', "negative"),
    ("啲職員好冇禮貌", "negative"),
    ("虽然价格贵了一点，但是服务很好", "positive"),
)


def _fmt(x: object) -> str:
    if isinstance(x, float):
        return "–" if np.isnan(x) else f"{x:.3f}"
    return str(x)


def _md(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(map(str, cols)) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    lines += [
        "| " + " | ".join(_fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)
    ]
    return "\n".join(lines)


def _wide(rows: list[tuple[str, pd.DataFrame]], value: str) -> pd.DataFrame:
    """Methods as rows, languages as columns: ``value`` (n in the header)."""
    out = []
    for method, scores in rows:
        row: dict[str, object] = {"method": method}
        for r in scores.itertuples(index=False):
            row[f"{r.language} ({r.n})"] = getattr(r, value)
        out.append(row)
    return pd.DataFrame(out)


def _sentiment_methods(dev: pd.DataFrame, frame: pd.DataFrame) -> list[tuple[str, Sequence[str]]]:
    """Each method's labels for ``frame`` (SnowNLP's thresholds chosen on ``dev``)."""
    texts = frame["text"].tolist()
    methods: list[tuple[str, Sequence[str]]] = [
        ("Patron (lexicon and rules, learned fallback)", predict(frame)["sentiment"].tolist()),
        (
            "Patron, lexicon and rules only",
            [sentiment.score_sentiment(t, fallback=False).label for t in texts],
        ),
        (
            "Patron's learned model only (trained on dev)",
            [learned.model().predict(segment.tokenize(t))[0] for t in texts],
        ),
        ("always negative (majority label)", ["negative"] * len(texts)),
    ]
    have = baselines.available()
    chinese = (frame["language"] != "en").to_numpy()
    if have["snownlp"]:
        zh_dev = dev[dev["language"] != "en"]
        thresholds = baselines.fit_snownlp_thresholds(
            baselines.snownlp_scores(zh_dev["text"].tolist()), zh_dev["sentiment"].tolist()
        )
        labels = baselines.snownlp_labels(baselines.snownlp_scores(texts), thresholds)
        methods.append(
            (
                f"SnowNLP, Chinese only (P(positive) ≤ {thresholds[0]:.2f} negative, ≥ "
                f"{thresholds[1]:.2f} positive, thresholds chosen on dev)",
                [lab if zh else _NOT_APPLICABLE for lab, zh in zip(labels, chinese, strict=True)],
            )
        )
    if have["vader"]:
        labels = baselines.vader_labels(texts)
        methods.append(
            (
                "VADER, English only (compound ±0.05)",
                [_NOT_APPLICABLE if zh else lab for lab, zh in zip(labels, chinese, strict=True)],
            )
        )
    return methods


_NOT_APPLICABLE = "n/a"


def _theme_methods(frame: pd.DataFrame) -> list[tuple[str, Sequence[Sequence[str]]]]:
    methods: list[tuple[str, Sequence[Sequence[str]]]] = [
        ("Patron, the industry's taxonomy", predict(frame)["themes"].tolist()),
        ("Patron, the general taxonomy", predict(frame, preset("general"))["themes"].tolist()),
    ]
    if baselines.available()["jieba"]:
        taxonomies = [preset(i) for i in frame["industry"]]
        methods.append(
            (
                "jieba keyword extraction (top 5) looked up in the taxonomy",
                baselines.jieba_themes(frame["text"].tolist(), taxonomies),
            ),
        )
    return methods


def _accuracy_table(
    frame: pd.DataFrame,
    methods: Sequence[tuple[str, Sequence[object]]],
    metric: Callable[..., dict[str, float]],
    column: str,
    values: Sequence[str],
) -> str:
    groups = [g for g in LANGS if (frame["language"] == g).any()]
    parts = []
    scored = []
    for name, pred in methods:
        keep = np.array([p != _NOT_APPLICABLE for p in pred])  # a library for one language
        sub = frame[keep]
        pred_kept = [p for p, k in zip(pred, keep, strict=True) if k]
        scores = scores_by(sub, pred_kept, metric, column=column, groups=groups)
        scored.append((name, scores[scores["language"] != "all"] if not keep.all() else scores))
    for value in values:
        parts.append(f"\n{value}:\n")
        parts.append(_md(_wide(scored, value)))
    return "\n".join(parts)


def _normalisers(frame: pd.DataFrame) -> str:
    """Traditional comments through Patron's character table or OpenCC first."""
    hant = frame[frame["language"] == "zh-Hant"]
    if hant.empty or not baselines.available()["opencc"]:
        return "(no Traditional comments, or OpenCC not installed)"
    rows = []
    converters: list[tuple[str, Callable[[str], str]]] = [("Patron's character table", str)]
    converters += [(f"OpenCC {c}", baselines.opencc_converter(c)) for c in ("t2s", "tw2sp", "hk2s")]
    for name, convert in converters:
        start = time.process_time()
        texts = [convert(t) for t in hant["text"]]
        cost = (time.process_time() - start) / len(texts) * 1e6
        converted = hant.assign(text=texts)
        pred = predict(converted)
        rows.append(
            {
                "normalisation": name,
                "sentiment": sentiment_metrics(
                    hant["sentiment"].tolist(), pred["sentiment"].tolist()
                )["accuracy"],
                "themes": theme_metrics(hant["themes"].tolist(), pred["themes"].tolist())[
                    "accuracy"
                ],
                "conversion µs/comment": cost,
            }
        )
    return _md(pd.DataFrame(rows))


def _by_tag(frame: pd.DataFrame) -> str:
    pred = predict(frame)
    rows = []
    tags = sorted({t for ts in frame["tags"] for t in ts})
    for tag in tags:
        mask = frame["tags"].map(lambda ts, tag=tag: tag in ts)
        rows.append(
            {
                "hard case": tag,
                "comments": int(mask.sum()),
                "sentiment": sentiment_metrics(
                    frame.loc[mask, "sentiment"], pred.loc[mask, "sentiment"]
                )["accuracy"],
                "themes": theme_metrics(frame.loc[mask, "themes"], pred.loc[mask, "themes"])[
                    "accuracy"
                ],
            }
        )
    return _md(pd.DataFrame(rows))


def _failure_cases() -> str:
    rows = []
    have = baselines.available()
    for text, expected in FAILURE_CASES:
        s = sentiment.score_sentiment(text)
        row = {
            "comment": text,
            "must be": expected,
            "Patron": f"{s.label} ({s.score:+.2f})",
            "why": ", ".join(f"{c.term} {c.value:+.2f}" for c in s.contributions),
        }
        if have["snownlp"] and any("\u4e00" <= ch <= "\u9fff" for ch in text):
            row["SnowNLP P(positive)"] = f"{baselines.snownlp_scores([text])[0]:.2f}"
        elif have["vader"]:
            row["VADER"] = baselines.vader_labels([text])[0]
        rows.append(row)
    return _md(pd.DataFrame(rows).fillna(""))


def throughput(texts: Sequence[str], rounds: int = 5) -> dict[str, float]:
    """Comments per second of :func:`analyse` on one core (process CPU time; the analysis is
    single-threaded): ``cold`` with the segmentation caches emptied, each text seen for the
    first time; ``warm`` over ``rounds`` more passes, as in a long-running worker; and the
    per-comment median and 95th percentile of the warm passes in milliseconds."""
    warm_up()
    segment.clear_caches()
    sentiment.clear_caches()
    start = time.process_time()
    for t in texts:
        analyse(t)
    cold = time.process_time() - start
    per: list[float] = []
    start = time.process_time()
    for _ in range(rounds):
        for t in texts:
            c = time.process_time()
            analyse(t)
            per.append(time.process_time() - c)
    warm = time.process_time() - start
    per.sort()
    return {
        "comments": float(len(texts)),
        "rounds": float(rounds),
        "cold_per_s": len(texts) / cold,
        "warm_per_s": len(texts) * rounds / warm,
        "median_ms": statistics.median(per) * 1000,
        "p95_ms": per[int(0.95 * (len(per) - 1))] * 1000,
    }


def report(
    dev_path: str | Path,
    test_path: str | Path,
    *,
    extra: Sequence[tuple[str, str]] = (),
    speed: bool = True,
) -> str:
    """The whole Markdown report."""
    t0 = time.perf_counter()
    warm_up()
    warm_s = time.perf_counter() - t0
    dev, test = load_labelled(dev_path), load_labelled(test_path)
    command = f"python -m patron.analytics.text.evaluate {dev_path} {test_path}"
    command += "".join(f" --extra {p} --extra-industry {i}" for p, i in extra)
    command += "" if speed else " --no-speed"
    out = [
        "# Comment analytics: accuracy and speed\n",
        f"- Date: {datetime.now(UTC).date().isoformat()}; machine: {_machine()}; "
        f"Python {platform.python_version()}; load average at start: {_load_average()}",
        f"- Command: `{command}`",
        f"- Dev: {len(dev)} comments (tuned on); test: {len(test)} comments (held out); "
        "per language in test: "
        + ", ".join(f"{g} {int((test.language == g).sum())}" for g in LANGS),
    ]
    pred = predict(test)
    sent = (
        scores_by(
            test, pred["sentiment"].tolist(), sentiment_metrics, column="sentiment", groups=LANGS
        )
        .set_index("language")["accuracy"]
        .to_dict()
    )
    themes = (
        scores_by(test, pred["themes"].tolist(), theme_metrics, column="themes", groups=LANGS)
        .set_index("language")["accuracy"]
        .to_dict()
    )
    counts = {g: int((test["language"] == g).sum()) for g in LANGS}
    head = pd.DataFrame(
        {
            "language": LANGS,
            "comments": [counts[g] for g in LANGS],
            "sentiment accuracy": [float(sent[g]) for g in LANGS],
            f"goal ≥ {GOALS['sentiment']}": [
                "met" if float(sent[g]) >= GOALS["sentiment"] else "not met" for g in LANGS
            ],
            "theme accuracy (exact set)": [float(themes[g]) for g in LANGS],
            f"goal ≥ {GOALS['themes']}": [
                "met" if float(themes[g]) >= GOALS["themes"] else "not met" for g in LANGS
            ],
        }
    )
    out += ["\n## Held-out test comments, Patron\n", _md(head)]
    for name, frame in (("test (held out)", test), ("dev (tuned on)", dev)):
        out.append(f"\n## Sentiment, {name}\n")
        out.append(
            _accuracy_table(
                frame,
                _sentiment_methods(dev, frame),
                sentiment_metrics,
                "sentiment",
                ["accuracy", "macro_f1"],
            )
        )
        out.append(f"\n## Themes, {name}\n")
        out.append(
            _accuracy_table(
                frame, _theme_methods(frame), theme_metrics, "themes", ["accuracy", "jaccard", "f1"]
            )
        )
    for name, frame in (("test", test), ("dev", dev)):
        out += [
            f"\n## Traditional Chinese: normalisation before the analysis ({name})\n",
            _normalisers(frame),
        ]
    out += ["\n## Hard cases (test, Patron)\n", _by_tag(test)]
    out += ["\n## The failure cases of the old analysis\n", _failure_cases()]
    for path, industry in extra:
        frame = load_labelled(path, industry=industry)
        out.append(
            f"\n## Other labelled set: `{path}` ({len(frame)} comments, {industry} taxonomy)\n"
        )
        p = predict(frame)
        groups = [g for g in (*LANGS, "mixed") if (frame["language"] == g).any()]
        s = scores_by(
            frame, p["sentiment"].tolist(), sentiment_metrics, column="sentiment", groups=groups
        )
        t = scores_by(frame, p["themes"].tolist(), theme_metrics, column="themes", groups=groups)
        out += [_md(s), "", _md(t)]
    if speed:
        texts = [*test["text"], *dev["text"]]
        r = throughput(texts)
        out.append("\n## Speed of `analyse()` on one core\n")
        out.append(
            f"- Warm-up (`warm_up()`: jieba's dictionary, lexicon, six taxonomies): {warm_s:.2f} s\n"
            f"- {int(r['comments'])} comments, each analysed once with the caches emptied: "
            f"**{r['cold_per_s']:,.0f} comments/s**\n"
            f"- {int(r['rounds'])} more passes (caches warm, as in a worker): **{r['warm_per_s']:,.0f} "
            f"comments/s**; per comment median {r['median_ms']:.3f} ms, p95 {r['p95_ms']:.3f} ms\n"
            f"- CPU time of this process (single-threaded work), so other load on the machine "
            f"inflates it only a little"
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
    parser.add_argument("dev", help="labelled comments the rules were tuned on")
    parser.add_argument("test", help="held-out labelled comments")
    parser.add_argument("--extra", action="append", default=[], help="another labelled set")
    parser.add_argument(
        "--extra-industry", action="append", default=[], help="taxonomy of each --extra set"
    )
    parser.add_argument("--no-speed", action="store_true", help="skip the speed measurement")
    args = parser.parse_args(argv)
    industries = args.extra_industry + ["general"] * (len(args.extra) - len(args.extra_industry))
    try:
        text = report(
            args.dev,
            args.test,
            extra=list(zip(args.extra, industries, strict=False)),
            speed=not args.no_speed,
        )
    except (OSError, AnalyticsInputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
