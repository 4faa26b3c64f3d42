"""Training the sentiment fallback of :mod:`patron.analytics.text.learned`.

    python -m patron.analytics.text.train tests/analytics/data/text/comments_dev.csv

fits the model on the labelled dev comments and writes ``data/sentiment_model.json``. Only the
dev comments are used: the held-out test comments must stay unseen.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from patron.analytics.errors import AnalyticsInputError
from patron.analytics.text import segment
from patron.analytics.text.evaluation import load_labelled
from patron.analytics.text.learned import MODEL_FILE, C, token_features

__all__ = ["main", "train"]


def train(path: str | Path) -> dict[str, object]:
    """Fit the model on a labelled CSV (see :mod:`patron.analytics.text.evaluation`) and return
    it as the JSON-ready mapping stored in ``data/sentiment_model.json``."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    frame = load_labelled(path)
    vectorizer = TfidfVectorizer(
        analyzer=lambda text: token_features(segment.tokenize(text)), sublinear_tf=True
    )
    x = vectorizer.fit_transform(frame["text"].tolist())
    clf = LogisticRegression(C=C, max_iter=5000, class_weight="balanced", solver="newton-cg")
    clf.fit(x, np.asarray(frame["sentiment"]))
    features = {
        f: [round(float(vectorizer.idf_[i]), 5), *(round(float(c), 5) for c in clf.coef_[:, i])]
        for f, i in sorted(vectorizer.vocabulary_.items())
    }
    return {
        "trained_on": Path(path).name,
        "comments": len(frame),
        "classes": [str(c) for c in clf.classes_],
        "intercept": [round(float(b), 5) for b in clf.intercept_],
        "features": features,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m patron.analytics.text.train",
        description="Train the sentiment fallback on labelled comments and write its weights.",
    )
    parser.add_argument("csv", help="labelled comments (the dev set)")
    parser.add_argument(
        "--out",
        default=str(Path(__file__).parent / "data" / MODEL_FILE),
        help="where to write the weights (default: the package's data file)",
    )
    args = parser.parse_args(argv)
    try:
        data = train(args.csv)
    except AnalyticsInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    Path(args.out).write_text(
        json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    print(f"wrote {args.out}: {len(data['features'])} features from {data['comments']} comments")  # type: ignore[arg-type]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
