"""The NPS page's default figures, computed from one frame of NPS answers (no Django here).

Everything is kept as counts and sums that add up across disjoint groups of answers, so the
figures of any set of whole groups are the element-wise sum of the groups' figures (:func:`add`).
The groups are the customers' (owner, branch, region), the three fields a user's visibility is a
condition on, plus one group of anonymous answers (no customer). A page then sums the groups a
user may see instead of aggregating the answers per request.

One group's figures::

    {"counts": [promoters, passives, detractors],
     "trend": {"week": {"2026-01-05": [p, pa, d], ...}, "month": {...}, "quarter": {...}},
     "breakdowns": {"branch": {"3": [p, pa, d], "": [...]}, "touchpoint": {...}, ...},
     "value": {"clv": {"n": .., "weighted_n": .., "w_p": .., "w_pa": .., "w_d": .., "w_sq": ..,
                       "detractors": .., "unscored": .., "risk": ..}, "margin": {...}},
     "themes": {"commented": [p, pa, d], "pending": [p, pa, d],
                "mentions": {"delivery": [p, pa, d], ...},
                "examples": {"delivery": {"detractor": [[null, s, -t, -id], ...],
                                          "promoter": [...]}, ...}}}

Trend keys are the first local day of the period (weeks start on Monday); breakdown keys are the
group's key as text ("" for the row of unset values; ids as decimal text). Value figures are over
each customer's latest answer (latest ``created_at``, ties to the higher id); anonymous answers
have none.

``themes`` is what the root-cause view counts (``insights.theme_selectors``), over answers with
a comment: how many per class, how many not analysed yet (no sentiment), and per theme code the
answers mentioning it (a code between two commas of ``Response.themes``, as ``themes LIKE
'%,code,%'``). ``examples`` keeps, per theme and side, the group's first :data:`EXAMPLES`
detractors' or promoters' answers in the view's order of example comments, as sort keys
``[sentiment missing, sentiment (negated for promoters), -created_at in µs, -id]``: the first
answers of a union of groups are among the groups' first answers, so :func:`add` merges them
(sort, keep the first) rather than summing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

COLUMNS = [
    "response_id",
    "created_at",  # aware (UTC) timestamps
    "score_class",
    "touchpoint",
    "channel",
    "answer_branch_id",
    "answer_region_id",  # the region of the branch where the answer was given
    "customer_id",  # missing: an anonymous answer
    "owner_id",
    "branch_id",
    "region_id",
    "segment",
    "value_class",
    "clv",
    "profit_12m",
    "churn_risk",
    "commented",  # the answer has a comment
    "sentiment",  # the comment's; missing: not analysed
    "themes",  # the comment's theme codes as ",price,delivery,"
]
GROUP = ["owner_id", "branch_id", "region_id"]
PERIODS = ("week", "month", "quarter")
DIMENSIONS = ("touchpoint", "channel", "branch", "region", "rep", "segment", "value_class")
NUMERIC_DIMENSIONS = {"branch", "region", "rep"}
WEIGHTS = {"clv": "clv", "margin": "profit_12m"}
VALUE_FIELDS = ("n", "weighted_n", "w_p", "w_pa", "w_d", "w_sq", "detractors", "unscored", "risk")
_CLASSES = ["_p", "_pa", "_d"]
_KEYS = ["_anon", "_o", "_b", "_r"]

EXAMPLES = 3  # example comments kept per group, theme and side
SIDES = {"detractor": "_d", "promoter": "_p"}
_THEME_CODE = re.compile(r"(?<=,)[^,]+(?=,)")  # what LIKE '%,code,%' finds
_EPOCH = pd.Timestamp(0, tz="UTC")

Key = tuple[int | None, int | None, int | None] | None  # None: the anonymous answers


@dataclass
class Figures:
    total: dict[str, Any]  # every answer
    slices: list[tuple[Key, dict[str, Any]]]  # per (owner, branch, region); None: anonymous
    # Per (branch, region) of the customers, every owner together: the sum of the slices of that
    # pair, kept so that a manager seeing whole branches or regions reads a few rows.
    pairs: list[tuple[tuple[int | None, int | None], dict[str, Any]]]


def compute(frame: pd.DataFrame, tz: str) -> Figures:
    """The figures over every answer, per slice and per (branch, region) pair. ``tz``: the
    site's time zone, in which periods are counted."""
    f = _prepare(frame, tz)
    latest = _latest_answers(f)
    mentions = _mentions(f)
    total = _figures_by(f, latest, mentions, []).get((), _empty())
    for weight in WEIGHTS:  # zeros rather than missing when there is no customer's answer
        total["value"].setdefault(weight, _value_row({}))
    slices: list[tuple[Key, dict[str, Any]]] = []
    for (anon, o, b, r), figures in sorted(_figures_by(f, latest, mentions, _KEYS).items()):
        slices.append((None if anon else (_id(o), _id(b), _id(r)), figures))
    known = f[f["_anon"] == 0]
    known_mentions = mentions[mentions["_anon"] == 0]
    pairs = [
        ((_id(b), _id(r)), figures)
        for (b, r), figures in sorted(
            _figures_by(known, latest, known_mentions, ["_b", "_r"]).items()
        )
    ]
    return Figures(total, slices, pairs)


def _figures_by(
    f: pd.DataFrame, latest: pd.DataFrame, mentions: pd.DataFrame, by: list[str]
) -> dict[tuple[int, ...], dict[str, Any]]:
    """Figures per group of the ``by`` columns (one group ``()`` when empty).

    One GROUP BY per figure over the whole frame, never a pass over the frame per group."""
    groups: dict[tuple[int, ...], dict[str, Any]] = {}

    def group(g: tuple[int, ...]) -> dict[str, Any]:
        figures = groups.get(g)
        if figures is None:
            figures = groups[g] = _empty()
        return figures

    def rows(counts: pd.DataFrame, path: tuple[str, ...] | None):
        """(group, key text or None, [p, pa, d]) per row of a grouped sum."""
        values = counts.to_numpy(dtype="int64").tolist()
        index = counts.index
        n_by = len(by)
        levels = (
            [index.get_level_values(i).tolist() for i in range(n_by)]
            if isinstance(index, pd.MultiIndex)
            else [index.tolist()]
            if n_by
            else []
        )
        groups_ = list(zip(*levels, strict=True)) if n_by else [()] * len(values)
        if path is None:
            return zip(groups_, [None] * len(values), values, strict=True)
        keys = _key_texts(index if n_by == 0 else index.get_level_values(n_by), path)
        return zip(groups_, keys, values, strict=True)

    if f.empty:
        return groups
    counts = f.groupby(by)[_CLASSES].sum() if by else f[_CLASSES].sum().to_frame().T
    for g, _k, v in rows(counts, None):
        group(g)["counts"] = v
    paths = [("trend", p, f"_t_{p}") for p in PERIODS] + [
        ("breakdowns", d, f"_k_{d}") for d in DIMENSIONS
    ]
    for part, name, column in paths:
        path = (part, name)
        counts = f.groupby([*by, column], sort=False)[_CLASSES].sum()
        for g, k, v in rows(counts, path):
            _node(group(g), path)[k] = v

    chosen = latest[latest.index.isin(f.index)]
    for weight, column in WEIGHTS.items():
        sums = _value_sums(chosen, column)
        if chosen.empty:
            continue
        if not by:
            group(())["value"][weight] = _value_row(sums.sum(numeric_only=True).to_dict())
            continue
        per_group = sums.groupby(by).sum()
        for g, row in zip(per_group.index.tolist(), per_group.to_dict("records"), strict=True):
            group(g if isinstance(g, tuple) else (g,))["value"][weight] = _value_row(row)

    commented = f[f["_commented"] == 1]
    pending = commented[commented["_pending"]]
    for name, answers in [("commented", commented), ("pending", pending)]:
        if answers.empty:
            continue
        counts = answers.groupby(by)[_CLASSES].sum() if by else answers[_CLASSES].sum().to_frame().T
        for g, _k, v in rows(counts, None):
            group(g)["themes"][name] = v
    if mentions.empty:
        return groups
    counts = mentions.groupby([*by, "_theme"], sort=False)[_CLASSES].sum()
    for g, k, v in rows(counts, ("themes", "mentions")):
        _node(group(g), ("themes", "mentions"))[k] = v
    for side, column in SIDES.items():
        ranked = mentions[mentions[column] == 1].sort_values(
            ["_x_null", f"_x_{side}", "_x_t", "_x_id"], kind="mergesort"
        )
        first = ranked.groupby([*by, "_theme"], sort=False).head(EXAMPLES)
        keys = first[["_x_null", f"_x_{side}", "_x_t", "_x_id"]]
        candidates = zip(
            *(first[c].tolist() for c in by),
            first["_theme"].tolist(),
            keys["_x_null"].tolist(),
            keys[f"_x_{side}"].tolist(),
            keys["_x_t"].tolist(),
            keys["_x_id"].tolist(),
            strict=True,
        )
        n_by = len(by)
        for values in candidates:  # in each group's order, so each list is sorted
            g, theme, key = tuple(values[:n_by]), values[n_by], list(values[n_by + 1 :])
            examples = group(g)["themes"]["examples"]
            examples.setdefault(theme, {}).setdefault(side, []).append(key)
    return groups


def _mentions(f: pd.DataFrame) -> pd.DataFrame:
    """One row per (answer with a comment, theme code it mentions), with the answer's group,
    class and example sort keys; the index is the answer's in ``f``.

    The codes are read once per distinct ``themes`` text (a few hundred combinations), not per
    answer."""
    commented = f[f["_commented"] == 1]
    codes, texts = pd.factorize(commented["themes"], sort=False)
    pairs = [
        (i, code)
        for i, text in enumerate(texts.tolist())
        for code in dict.fromkeys(_THEME_CODE.findall(text))
    ]
    table = pd.DataFrame(pairs, columns=["_u", "_theme"]).astype({"_u": "int64", "_theme": str})
    positions = pd.DataFrame({"_pos": np.arange(len(commented)), "_u": codes})
    both = positions.merge(table, on="_u", how="inner", sort=False)
    at, theme = both["_pos"].to_numpy(), both["_theme"].to_numpy()
    out = commented.iloc[at][[*_KEYS, *_CLASSES]].copy()
    sentiment = commented["sentiment"].to_numpy()[at]
    missing = np.isnan(sentiment)
    out["_theme"] = theme
    out["_x_null"] = missing.astype("int64")  # not analysed: last
    out["_x_detractor"] = np.where(missing, 0.0, sentiment)  # most negative first
    out["_x_promoter"] = -np.where(missing, 0.0, sentiment)  # most positive first
    out["_x_t"] = -commented["_us"].to_numpy()[at]  # then the newest
    out["_x_id"] = -commented["response_id"].to_numpy()[at]  # then the higher id
    return out


def _id(value: int) -> int | None:
    return None if value == -1 else value


def _empty() -> dict[str, Any]:
    return {
        "counts": [0, 0, 0],
        "trend": {p: {} for p in PERIODS},
        "breakdowns": {d: {} for d in DIMENSIONS},
        "value": {},
        "themes": {"commented": [0, 0, 0], "pending": [0, 0, 0], "mentions": {}, "examples": {}},
    }


def _node(figures: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    node = figures
    for part in path:
        node = node[part]
    return node


def _key_texts(keys: pd.Index, path: tuple[str, ...]) -> list[str]:
    if path[0] == "trend":
        return list(pd.DatetimeIndex(keys).strftime("%Y-%m-%d"))
    if path[1] in NUMERIC_DIMENSIONS:
        ids = keys.to_numpy(dtype="int64")
        return np.where(ids == -1, "", ids.astype(str)).tolist()
    return [str(k) for k in keys.tolist()]


def _text(series: pd.Series) -> pd.Series:
    return series.fillna("").astype(str)


def _ids(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series, errors="coerce").fillna(-1).astype("int64")


def _prepare(frame: pd.DataFrame, tz: str) -> pd.DataFrame:
    missing = set(COLUMNS) - set(frame.columns)
    if missing:
        raise ValueError(f"missing columns: {', '.join(sorted(missing))}")
    created = pd.to_datetime(frame["created_at"], utc=True)
    local = created.dt.tz_convert(tz).dt.tz_localize(None).dt.normalize()
    score_class = _text(frame["score_class"])
    customer = _ids(frame["customer_id"])
    anonymous = customer == -1
    owner, branch, region = (_ids(frame[c]) for c in GROUP)
    answer_branch, answer_region = _ids(frame["answer_branch_id"]), _ids(frame["answer_region_id"])
    commented = frame["commented"].astype("boolean").fillna(False).astype(bool)
    sentiment = pd.to_numeric(frame["sentiment"], errors="coerce").astype("float64")
    out = pd.DataFrame(
        {
            "response_id": _ids(frame["response_id"]),
            "created_at": created,
            "customer_id": customer,
            "_anon": anonymous.astype("int64"),
            # An anonymous answer's customer fields are all empty anyway; forced so that the
            # anonymous group never merges with customers lacking owner, branch and region.
            "_o": owner.where(~anonymous, -1),
            "_b": branch.where(~anonymous, -1),
            "_r": region.where(~anonymous, -1),
            "_p": (score_class == "promoter").astype("int64"),
            "_pa": (score_class == "passive").astype("int64"),
            "_d": (score_class == "detractor").astype("int64"),
            "_t_week": local - pd.to_timedelta(local.dt.day_of_week, unit="D"),
            "_t_month": local.dt.to_period("M").dt.start_time,
            "_t_quarter": local.dt.to_period("Q").dt.start_time,
            "_k_touchpoint": _text(frame["touchpoint"]),
            "_k_channel": _text(frame["channel"]),
            # As the live selectors: where the answer was given, else the customer's.
            "_k_branch": answer_branch.where(answer_branch != -1, branch),
            "_k_region": answer_region.where(answer_region != -1, region),
            "_k_rep": owner,
            "_k_segment": _text(frame["segment"]),
            "_k_value_class": _text(frame["value_class"]),
            "clv": pd.to_numeric(frame["clv"], errors="coerce").astype("float64"),
            "profit_12m": pd.to_numeric(frame["profit_12m"], errors="coerce").astype("float64"),
            "churn_risk": pd.to_numeric(frame["churn_risk"], errors="coerce").astype("float64"),
            "_us": (created - _EPOCH) // pd.Timedelta(microseconds=1),
            "_commented": commented.astype("int64"),
            "_pending": commented & sentiment.isna(),
            "sentiment": sentiment,
            "themes": _text(frame["themes"]),
        },
        index=frame.index,
    )
    for column in ("clv", "profit_12m", "churn_risk"):
        if np.isinf(out[column].to_numpy()).any():
            raise ValueError(f"{column} holds an infinite value")
    return out


def _latest_answers(f: pd.DataFrame) -> pd.DataFrame:
    """Each customer's latest answer (ties: the higher id); anonymous answers left out."""
    known = f[f["_anon"] == 0]
    ordered = known.sort_values(["customer_id", "created_at", "response_id"], kind="mergesort")
    return ordered.drop_duplicates("customer_id", keep="last")


def _value_sums(latest: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per answer, the terms of the value figures' sums (as ``nps_selectors.value_figures``)."""
    raw = latest[column]
    w = raw.fillna(0.0).clip(lower=0.0)
    detractor = latest["_d"] == 1
    margin = latest["profit_12m"].fillna(0.0).clip(lower=0.0)
    risk = margin * latest["churn_risk"].fillna(0.0)
    unscored = detractor & (latest["churn_risk"].isna() | latest["profit_12m"].isna())
    return pd.DataFrame(
        {
            **{k: latest[k] for k in _KEYS},
            "n": np.ones(len(latest), dtype="int64"),
            "weighted_n": (raw > 0).astype("int64"),
            "w_p": w * latest["_p"],
            "w_pa": w * latest["_pa"],
            "w_d": w * latest["_d"],
            "w_sq": w * w,
            "detractors": latest["_d"].astype("int64"),
            "unscored": unscored.astype("int64"),
            "risk": risk.where(detractor, 0.0),
        },
        index=latest.index,
    )


def _value_row(row: Mapping[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in VALUE_FIELDS:
        value = row.get(name, 0)
        if name in ("n", "weighted_n", "detractors", "unscored"):
            out[name] = int(value)
        else:
            number = float(value)
            if not math.isfinite(number):  # never stored silently
                raise ValueError(f"value figure {name} is not finite: {number}")
            out[name] = number
    return out


def add(parts: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Element-wise sum of figures of disjoint groups (the same structure as one group's).

    No rounding: the sums of weights feed a ratio and a variance."""
    total: dict[str, Any] = {}
    for part in parts:
        _add_into(total, part)
    return total


def _add_into(total: dict[str, Any], part: dict[str, Any], path: tuple[str, ...] = ()) -> None:
    for k, v in part.items():
        if path == ("themes",) and k == "examples":
            _merge_examples(total.setdefault(k, {}), v)
        elif isinstance(v, dict):
            node = total.get(k)
            if node is None:
                node = total[k] = {}
            _add_into(node, v, (*path, k))
        elif isinstance(v, list):
            have = total.get(k)
            total[k] = list(v) if have is None else [a + b for a, b in zip(have, v, strict=True)]
        else:
            total[k] = total.get(k, 0) + v


def _merge_examples(total: dict[str, Any], part: dict[str, Any]) -> None:
    """The first :data:`EXAMPLES` sort keys of both, per theme and side."""
    for theme, sides in part.items():
        node = total.setdefault(theme, {})
        for side, keys in sides.items():
            have = node.get(side)
            node[side] = [list(k) for k in keys] if have is None else sorted(have + keys)[:EXAMPLES]
