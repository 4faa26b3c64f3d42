"""Product association rules and next-product recommendations (cross-sell).

Input is a *long* frame with one row per (basket, product) - an order line extract - and the
output matches mlxtend (``fpgrowth`` + ``association_rules``): the same itemsets, the same rules,
the same metric columns, so users can check us against the tool they know.

Method (why it is fast): a level-wise (Apriori-style) search in which

* single items are counted with ``np.bincount``;
* pairs, which are most of the work in retail data, are counted all at once with one sparse
  matrix product ``X.T @ X`` of the basket x item incidence matrix (cost ~ sum of squared
  basket sizes, in C);
* itemsets of three or more items are counted on packed ``uint64`` bitsets (one bit per basket)
  with ``np.bitwise_and`` and ``np.bitwise_count`` (popcount), restricted to the baskets that hold
  enough frequent items to matter at that level.

Candidates are generated from frequent (k-1)-itemsets sharing a (k-2)-prefix and pruned with the
Apriori property, so every itemset whose support is >= ``min_support`` is found exactly once.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from patron.analytics.errors import AnalyticsInputError

__all__ = [
    "RULE_METRICS",
    "BasketInputError",
    "association_rules",
    "frequent_itemsets",
    "recommend_next",
]

# Same names and order as mlxtend.frequent_patterns.association_rules.
RULE_METRICS: tuple[str, ...] = (
    "antecedent support",
    "consequent support",
    "support",
    "confidence",
    "lift",
    "representativity",
    "leverage",
    "conviction",
    "zhangs_metric",
    "jaccard",
    "certainty",
    "kulczynski",
)

# Bitset batches are capped at this many bytes so memory stays flat on big data.
_BATCH_BYTES = 32 * 1024 * 1024
# Above this, (customer, product, rule) codes no longer pack into one int64 sort key.
_PACKED_KEY_LIMIT = 2**62


class BasketInputError(AnalyticsInputError):
    """Input to the basket analysis is malformed (missing columns, bad thresholds...)."""


# --------------------------------------------------------------------------------------------
# Frequent itemsets
# --------------------------------------------------------------------------------------------


def frequent_itemsets(
    baskets: pd.DataFrame,
    *,
    basket_col: str = "order_id",
    item_col: str = "product_id",
    min_support: float = 0.01,
    max_len: int | None = None,
) -> pd.DataFrame:
    """All itemsets whose support (share of baskets containing every item) is >= ``min_support``.

    Parameters
    ----------
    baskets:
        Long frame, one row per (basket, item); duplicate rows are counted once.
    basket_col, item_col:
        Column names of the basket (order) id and the item (product) id.
    min_support:
        In (0, 1]. An itemset is kept when ``count / n_baskets >= min_support`` (mlxtend's rule).
    max_len:
        Longest itemset to look for (``None``: no limit).

    Returns
    -------
    DataFrame with columns ``support`` (float), ``itemsets`` (frozenset of item ids),
    ``count`` (number of baskets) and ``length``; sorted by length, then support descending.
    ``attrs["n_baskets"]`` holds the number of baskets.
    """
    if not 0.0 < min_support <= 1.0:
        raise BasketInputError(f"min_support must be in (0, 1], got {min_support!r}")
    if max_len is not None and max_len < 1:
        raise BasketInputError(f"max_len must be >= 1 or None, got {max_len!r}")
    b_codes, i_codes, labels, n_baskets = _encode(baskets, basket_col, item_col)

    found_sets: list[np.ndarray] = []  # one (n_k x k) int array of item codes per level
    found_counts: list[np.ndarray] = []
    if n_baskets:
        item_counts = np.bincount(i_codes, minlength=len(labels))
        keep = item_counts / float(n_baskets) >= min_support
        frequent = np.flatnonzero(keep)
        if len(frequent):
            found_sets.append(frequent[:, None])
            found_counts.append(item_counts[frequent])
        if len(frequent) > 1 and (max_len is None or max_len >= 2):
            # Work only with frequent items, renumbered 0..F-1 (ascending original code).
            remap = np.full(len(labels), -1, dtype=np.int64)
            remap[frequent] = np.arange(len(frequent))
            mask = keep[i_codes]
            fb, fi = b_codes[mask], remap[i_codes[mask]]
            level, counts = _count_pairs(fb, fi, len(frequent), n_baskets, min_support)
            k = 2
            while len(level):
                found_sets.append(frequent[level])
                found_counts.append(counts)
                k += 1
                if max_len is not None and k > max_len:
                    break
                cands = _candidates(level, len(frequent))
                if not len(cands):
                    break
                cand_counts = _count_candidates(cands, fb, fi, len(frequent))
                ok = cand_counts / float(n_baskets) >= min_support
                level, counts = cands[ok], cand_counts[ok]

    rows_sets: list[frozenset[Any]] = []
    rows_counts: list[np.ndarray] = []
    rows_len: list[np.ndarray] = []
    for sets, counts in zip(found_sets, found_counts, strict=True):
        order = np.argsort(-counts, kind="stable")
        sets, counts = sets[order], counts[order]
        names = labels[sets.ravel()].reshape(sets.shape).tolist()
        rows_sets.extend(frozenset(r) for r in names)
        rows_counts.append(counts)
        rows_len.append(np.full(len(counts), sets.shape[1]))
    count_arr = np.concatenate(rows_counts) if rows_counts else np.empty(0, dtype=np.int64)
    out = pd.DataFrame(
        {
            "support": count_arr / float(n_baskets) if n_baskets else np.empty(0),
            "itemsets": pd.Series(rows_sets, dtype=object),
            "count": count_arr.astype(np.int64),
            "length": (np.concatenate(rows_len) if rows_len else np.empty(0)).astype(np.int64),
        }
    )
    out.attrs["n_baskets"] = int(n_baskets)
    return out


def _encode(
    baskets: pd.DataFrame, basket_col: str, item_col: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Deduplicated (basket code, item code) pairs, item labels (sorted when sortable), n."""
    if not isinstance(baskets, pd.DataFrame):
        raise BasketInputError("baskets must be a pandas DataFrame")
    missing = [c for c in (basket_col, item_col) if c not in baskets.columns]
    if missing:
        raise BasketInputError(
            f"baskets is missing column(s) {missing}; pass basket_col= and item_col= "
            f"(available: {list(baskets.columns)})"
        )
    if baskets[basket_col].isna().any() or baskets[item_col].isna().any():
        raise BasketInputError(f"{basket_col!r} and {item_col!r} must not contain nulls")
    b_codes, b_uniques = pd.factorize(baskets[basket_col])
    try:
        i_codes, i_uniques = pd.factorize(baskets[item_col], sort=True)
    except TypeError:  # unorderable mix of types: keep first-seen order
        i_codes, i_uniques = pd.factorize(baskets[item_col])
    n_items = len(i_uniques)
    key = _sorted_unique(b_codes.astype(np.int64) * max(n_items, 1) + i_codes)
    labels = np.asarray(i_uniques, dtype=object)
    return key // max(n_items, 1), key % max(n_items, 1), labels, len(b_uniques)


def _sorted_unique(a: np.ndarray) -> np.ndarray:
    # np.unique on numpy 2.3+ goes through a hash table that is ~30x slower than sorting here.
    a = np.sort(a)
    return a[np.r_[True, a[1:] != a[:-1]]] if len(a) else a


def _count_pairs(
    fb: np.ndarray, fi: np.ndarray, n_items: int, n_baskets: int, min_support: float
) -> tuple[np.ndarray, np.ndarray]:
    """Frequent pairs (a < b) and their counts from one sparse product X.T @ X."""
    x = sparse.csr_matrix((np.ones(len(fb), dtype=np.int32), (fb, fi)), shape=(n_baskets, n_items))
    co = sparse.triu(x.T.tocsr() @ x, k=1).tocoo()
    ok = co.data / float(n_baskets) >= min_support
    pairs = np.column_stack([co.row[ok], co.col[ok]]).astype(np.int64)
    counts = co.data[ok].astype(np.int64)
    order = np.lexsort((pairs[:, 1], pairs[:, 0]))
    return pairs[order], counts[order]


def _candidates(level: np.ndarray, n_items: int) -> np.ndarray:
    """Apriori join + prune: k-itemsets whose every (k-1)-subset is in ``level``.

    ``level`` is an (n x k-1) array of sorted item codes, rows in lexicographic order.
    """
    n, km1 = level.shape
    if n < 2:
        return np.empty((0, km1 + 1), dtype=np.int64)
    # Rows sharing the first k-2 items form a group; join every pair inside a group.
    if km1 == 1:
        new_group = np.r_[True, np.zeros(n - 1, dtype=bool)]
    else:
        new_group = np.r_[True, np.any(level[1:, :-1] != level[:-1, :-1], axis=1)]
    starts = np.flatnonzero(new_group)
    ends = np.r_[starts[1:], n]
    group_end = np.repeat(ends, ends - starts)
    n_partners = group_end - np.arange(n) - 1
    total = int(n_partners.sum())
    if total == 0:
        return np.empty((0, km1 + 1), dtype=np.int64)
    left = np.repeat(np.arange(n), n_partners)
    offsets = np.arange(total) - np.repeat(np.cumsum(n_partners) - n_partners, n_partners)
    right = left + 1 + offsets
    cands = np.column_stack([level[left], level[right, -1]])
    if km1 >= 2:
        # Subsets that drop one of the first k-2 items must be frequent too.
        lookup = _ItemsetLookup(level, n_items)
        keep = np.ones(len(cands), dtype=bool)
        for drop in range(km1 - 1):
            sub = np.delete(cands, drop, axis=1)
            keep &= lookup.contains(sub)
        cands = cands[keep]
    return cands


class _ItemsetLookup:
    """Membership test for rows of sorted item codes (integer keys when they fit in int64)."""

    def __init__(self, rows: np.ndarray, n_items: int) -> None:
        self._base = max(n_items, 2)
        self._fits = rows.shape[1] * math.log2(self._base) < 62
        if self._fits:
            self._keys = np.sort(self._encode(rows))
        else:
            self._set = {tuple(r) for r in rows.tolist()}

    def _encode(self, rows: np.ndarray) -> np.ndarray:
        key = np.zeros(len(rows), dtype=np.int64)
        for j in range(rows.shape[1]):
            key = key * self._base + rows[:, j]
        return key

    def contains(self, rows: np.ndarray) -> np.ndarray:
        if self._fits:
            key = self._encode(rows)
            pos = np.searchsorted(self._keys, key)
            pos = np.minimum(pos, len(self._keys) - 1)
            return self._keys[pos] == key
        return np.fromiter((tuple(r) in self._set for r in rows.tolist()), bool, len(rows))

    def index(self, rows: np.ndarray) -> np.ndarray:
        """Position of each row in ``np.sort`` key order (rows must be present)."""
        if not self._fits:  # callers use the tuple dictionary instead in this case
            raise RuntimeError("index() needs packed integer keys; check _fits first")
        return np.searchsorted(self._keys, self._encode(rows))


def _count_candidates(
    cands: np.ndarray, fb: np.ndarray, fi: np.ndarray, n_items: int
) -> np.ndarray:
    """Support counts of k-item candidates by AND-ing packed basket bitsets."""
    k = cands.shape[1]
    # Only baskets holding >= k items that appear in some candidate can contain one.
    used = np.zeros(n_items, dtype=bool)
    used[cands.ravel()] = True
    m = used[fi]
    b, i = fb[m], fi[m]
    per_basket = np.bincount(b)
    rich = per_basket >= k
    m = rich[b]
    b, i = b[m], i[m]
    if not len(b):
        return np.zeros(len(cands), dtype=np.int64)
    present = np.zeros(len(per_basket), dtype=np.int64)
    present[b] = 1
    b = np.cumsum(present)[b] - 1  # renumber the remaining baskets densely
    bits = _bitsets(b, i, n_items)
    words = bits.shape[1]
    batch = max(1, _BATCH_BYTES // (8 * words))
    out = np.empty(len(cands), dtype=np.int64)
    for s in range(0, len(cands), batch):
        c = cands[s : s + batch]
        acc = bits[c[:, 0]] & bits[c[:, 1]]
        for j in range(2, k):
            acc &= bits[c[:, j]]
        out[s : s + batch] = np.bitwise_count(acc).sum(axis=1, dtype=np.int64)
    return out


def _bitsets(b: np.ndarray, i: np.ndarray, n_items: int) -> np.ndarray:
    """(n_items x ceil(n_baskets/64)) uint64 matrix; bit b of row i set if basket b has item i."""
    words = int(b.max()) // 64 + 1
    word = b >> 6
    key = i * words + word
    order = np.argsort(key, kind="stable")
    key = key[order]
    vals = np.left_shift(np.uint64(1), (b[order] & 63).astype(np.uint64))
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    out = np.zeros(n_items * words, dtype=np.uint64)
    out[key[starts]] = np.bitwise_or.reduceat(vals, starts)
    return out.reshape(n_items, words)


# --------------------------------------------------------------------------------------------
# Association rules
# --------------------------------------------------------------------------------------------


def association_rules(
    itemsets: pd.DataFrame,
    *,
    metric: str = "confidence",
    min_threshold: float = 0.8,
    n_baskets: int | None = None,
) -> pd.DataFrame:
    """Rules A -> C for every frequent itemset split into non-empty antecedent and consequent.

    Parameters
    ----------
    itemsets:
        Output of :func:`frequent_itemsets` (columns ``itemsets``, ``support`` and ``count``).
        Every subset of an itemset must be present (true of any complete frequent-itemset mine).
    metric, min_threshold:
        Keep rules with ``metric >= min_threshold``; ``metric`` is one of :data:`RULE_METRICS`.
    n_baskets:
        Number of baskets; defaults to ``itemsets.attrs["n_baskets"]`` or is recovered from
        ``count / support``.

    Returns
    -------
    DataFrame with columns ``antecedents``, ``consequents`` (frozensets) and the metrics of
    :data:`RULE_METRICS`, sorted by lift then confidence, descending. Ratios are computed from
    the integer counts (``confidence = n(A and C) / n(A)``), so thresholds that fall exactly on
    a ratio such as 0.5 behave as written.
    """
    if metric not in RULE_METRICS:
        raise BasketInputError(f"metric must be one of {RULE_METRICS}, got {metric!r}")
    missing = [c for c in ("itemsets", "support", "count") if c not in itemsets.columns]
    if missing:
        raise BasketInputError(
            f"itemsets is missing column(s) {missing}; pass the output of frequent_itemsets()"
        )
    n = _n_baskets(itemsets, n_baskets)
    columns = ["antecedents", "consequents", *RULE_METRICS]
    if itemsets.empty or n == 0:
        return pd.DataFrame(columns=columns)

    # Code items 0..F-1 and each itemset as a sorted code row, then look subsets up by key.
    sets = list(itemsets["itemsets"])
    counts_all = itemsets["count"].to_numpy(dtype=np.int64)
    vocab = sorted({x for s in sets for x in s}, key=_sort_key)
    code = {x: j for j, x in enumerate(vocab)}
    lengths = np.fromiter((len(s) for s in sets), np.int64, len(sets))
    by_len: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for k in np.unique(lengths).tolist():
        idx = np.flatnonzero(lengths == k)
        rows = np.array([sorted(code[x] for x in sets[t]) for t in idx], dtype=np.int64)
        by_len[k] = (rows.reshape(len(idx), k), counts_all[idx])

    lookups = {k: _CountLookup(rows, cnt, len(vocab)) for k, (rows, cnt) in by_len.items()}
    ant_rows: list[np.ndarray] = []
    con_rows: list[np.ndarray] = []
    c_ac: list[np.ndarray] = []
    c_a: list[np.ndarray] = []
    c_c: list[np.ndarray] = []
    for k, (rows, cnt) in by_len.items():
        if k < 2:
            continue
        for mask in range(1, 2**k - 1):
            a_pos = [j for j in range(k) if mask >> j & 1]
            c_pos = [j for j in range(k) if not mask >> j & 1]
            a, c = rows[:, a_pos], rows[:, c_pos]
            if len(a_pos) not in lookups or len(c_pos) not in lookups:
                raise BasketInputError("itemsets is not closed under subsets (incomplete mine)")
            ant_rows.extend(a)
            con_rows.extend(c)
            c_ac.append(cnt)
            c_a.append(lookups[len(a_pos)].count(a))
            c_c.append(lookups[len(c_pos)].count(c))
    if not c_ac:
        return pd.DataFrame(columns=columns)
    m = _rule_metrics(
        np.concatenate(c_ac).astype(float),
        np.concatenate(c_a).astype(float),
        np.concatenate(c_c).astype(float),
        float(n),
    )
    keep = np.flatnonzero(m[metric] >= min_threshold)
    vocab_arr = np.asarray(vocab, dtype=object)
    out = pd.DataFrame(
        {
            "antecedents": pd.Series(
                [frozenset(vocab_arr[ant_rows[t]].tolist()) for t in keep], dtype=object
            ),
            "consequents": pd.Series(
                [frozenset(vocab_arr[con_rows[t]].tolist()) for t in keep], dtype=object
            ),
            **{name: m[name][keep] for name in RULE_METRICS},
        }
    )
    return out.sort_values(["lift", "confidence"], ascending=False, kind="stable").reset_index(
        drop=True
    )


def _n_baskets(itemsets: pd.DataFrame, n_baskets: int | None) -> int:
    if n_baskets is not None:
        return int(n_baskets)
    if "n_baskets" in itemsets.attrs:
        return int(itemsets.attrs["n_baskets"])
    if itemsets.empty:
        return 0
    first = itemsets.iloc[0]
    return round(float(first["count"]) / float(first["support"]))


def _sort_key(x: Hashable) -> tuple[str, Any]:
    # Items may mix types (ints and strings); sort by type name first so sorting never fails.
    return (type(x).__name__, x)


class _CountLookup:
    def __init__(self, rows: np.ndarray, counts: np.ndarray, n_items: int) -> None:
        self._lookup = _ItemsetLookup(rows, n_items)
        if self._lookup._fits:
            order = np.argsort(self._lookup._encode(rows), kind="stable")
            self._counts = counts[order]
        else:
            self._dict = {tuple(r): int(c) for r, c in zip(rows.tolist(), counts, strict=True)}

    def count(self, rows: np.ndarray) -> np.ndarray:
        if self._lookup._fits:
            if not self._lookup.contains(rows).all():
                raise BasketInputError("itemsets is not closed under subsets (incomplete mine)")
            return self._counts[self._lookup.index(rows)]
        try:
            return np.array([self._dict[tuple(r)] for r in rows.tolist()], dtype=np.int64)
        except KeyError as exc:
            raise BasketInputError(
                "itemsets is not closed under subsets (incomplete mine)"
            ) from exc


def _rule_metrics(cac: np.ndarray, ca: np.ndarray, cc: np.ndarray, n: float) -> dict[str, Any]:
    """mlxtend's metrics, written on counts so ratios are exact where they can be."""
    lev_num = cac * n - ca * cc  # exact in float64 while counts stay below ~9e7
    with np.errstate(divide="ignore", invalid="ignore"):
        conviction = np.where(cac < ca, (n - cc) * ca / (n * (ca - cac)), np.inf)
        zhang_den = np.maximum(cac * (n - ca), ca * (cc - cac))
        zhang = np.where(zhang_den == 0, 0.0, lev_num / zhang_den)
        certainty = np.where(cc == n, 0.0, lev_num / (ca * (n - cc)))
    return {
        "antecedent support": ca / n,
        "consequent support": cc / n,
        "support": cac / n,
        "confidence": cac / ca,
        "lift": cac * n / (ca * cc),
        "representativity": np.ones_like(cac),
        "leverage": lev_num / (n * n),
        "conviction": conviction,
        "zhangs_metric": zhang,
        "jaccard": cac / (ca + cc - cac),
        "certainty": certainty,
        "kulczynski": (cac / ca + cac / cc) / 2.0,
    }


# --------------------------------------------------------------------------------------------
# Next-product recommendations
# --------------------------------------------------------------------------------------------


def recommend_next(
    purchases: pd.DataFrame,
    rules: pd.DataFrame,
    k: int = 5,
    *,
    customer_col: str = "customer_id",
    item_col: str = "product_id",
) -> pd.DataFrame:
    """Top-``k`` products each customer has not bought yet, with the rule that explains each.

    A rule A -> C applies to a customer when every item of A is among the products they have
    bought; it then proposes each item of C they do not own. A product proposed by several rules
    is scored by its best rule, ``score = lift x confidence``: confidence alone favours products
    everybody buys anyway (high confidence, lift ~ 1), lift alone favours rare niche pairs; the
    product rewards rules that are both reliable and specific. Ties break on confidence, then
    support, then the rule's position in ``rules``, then product id, so the output is
    deterministic.

    Returns a frame with columns ``customer_id`` (``customer_col``), ``rank`` (1..k),
    ``product_id`` (``item_col``), ``score``, ``confidence``, ``lift``, ``support``,
    ``antecedents`` and ``consequents`` (the explaining rule). Customers no rule applies to are
    absent.
    """
    if k < 1:
        raise BasketInputError(f"k must be >= 1, got {k!r}")
    for frame, cols, name in (
        (purchases, (customer_col, item_col), "purchases"),
        (rules, ("antecedents", "consequents", "confidence", "lift", "support"), "rules"),
    ):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise BasketInputError(f"{name} is missing column(s) {missing}")
    out_cols = [customer_col, "rank", item_col, "score", "confidence", "lift", "support",
                "antecedents", "consequents"]  # fmt: skip
    if purchases.empty or rules.empty:
        return pd.DataFrame(columns=out_cols)

    # Integer-code customers and items (items shared between purchases and rules).
    cust_codes, cust_labels = pd.factorize(purchases[customer_col])
    rule_items = [x for s in rules["antecedents"] for x in s] + [
        x for s in rules["consequents"] for x in s
    ]
    item_index = _item_index(purchases[item_col], rule_items)
    p_item = item_index.get_indexer(pd.Index(purchases[item_col]))
    n_items = len(item_index)
    owned = _sorted_unique(cust_codes.astype(np.int64) * n_items + p_item)
    own_c, own_i = owned // n_items, owned % n_items

    # Rank rules once - score, then confidence, then support, all descending, then position -
    # and renumber them by that rank, so "best rule" is simply "smallest rule number".
    conf = rules["confidence"].to_numpy(dtype=float)
    lift = rules["lift"].to_numpy(dtype=float)
    supp = rules["support"].to_numpy(dtype=float)
    score = lift * conf
    n_rules = len(rules)
    by_rank = np.lexsort((np.arange(n_rules), -supp, -conf, -score))
    ants = rules["antecedents"].to_numpy()[by_rank]
    cons = rules["consequents"].to_numpy()[by_rank]
    ant_rule, ant_item = _explode(ants, item_index)
    con_rule, con_item = _explode(cons, item_index)  # grouped by rule, rules ascending
    ant_len = np.bincount(ant_rule, minlength=n_rules)
    con_len = np.bincount(con_rule, minlength=n_rules)
    con_ptr = np.r_[0, np.cumsum(con_len)]

    # (customer, rule) pairs where the customer owns every antecedent item: the sparse product
    # owned (customers x items) @ antecedents (items x rules) counts owned antecedent items.
    n_cust = len(cust_labels)
    own_m = sparse.csr_matrix(
        (np.ones(len(own_c), dtype=np.int32), (own_c, own_i)), shape=(n_cust, n_items)
    )
    ant_m = sparse.csr_matrix(
        (np.ones(len(ant_rule), dtype=np.int32), (ant_item, ant_rule)),
        shape=(n_items, n_rules),
    )
    hits = (own_m @ ant_m).tocoo()
    full = hits.data == ant_len[hits.col]
    m_c, m_r = hits.row[full].astype(np.int64), hits.col[full].astype(np.int64)

    # Expand each matched rule into its consequent items the customer does not own yet.
    n = con_len[m_r]
    c, r = np.repeat(m_c, n), np.repeat(m_r, n)
    i = con_item[np.repeat(con_ptr[m_r], n) + np.arange(len(c)) - np.repeat(np.cumsum(n) - n, n)]
    key = c * n_items + i
    if n_cust * n_items <= 200_000_000:  # a flat bitmap is the fastest membership test
        is_owned = np.zeros(n_cust * n_items, dtype=bool)
        is_owned[owned] = True
        new = ~is_owned[key]
    else:
        where = np.minimum(np.searchsorted(owned, key), len(owned) - 1)
        new = owned[where] != key
    c, r, i, key = c[new], r[new], i[new], key[new]
    if not len(c):
        return pd.DataFrame(columns=out_cols)

    # Best (smallest-numbered) rule per (customer, product), then each customer's products in
    # rule order (product code breaks ties between products proposed by the same rule).
    if n_cust * n_items * n_rules < _PACKED_KEY_LIMIT:
        # Sorting one packed int64 key is ~10x faster than np.lexsort on two or three arrays.
        k2 = np.sort(key * n_rules + r)
        k2 = k2[np.r_[True, k2[1:] // n_rules != k2[:-1] // n_rules]]
        key, r = k2 // n_rules, k2 % n_rules
        c, i = key // n_items, key % n_items
        k3 = np.sort((c * n_rules + r) * n_items + i)
        c, r, i = k3 // (n_rules * n_items), k3 // n_items % n_rules, k3 % n_items
    else:
        o = np.lexsort((r, key))
        first = o[np.r_[True, key[o][1:] != key[o][:-1]]]
        c, r, i = c[first], r[first], i[first]
        o = np.lexsort((i, r, c))
        c, r, i = c[o], r[o], i[o]
    c_start = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
    rank = np.arange(len(c)) - np.repeat(c_start, np.diff(np.r_[c_start, len(c)])) + 1
    top = rank <= k
    c, r, i, rank = c[top], r[top], i[top], rank[top]
    orig = by_rank[r]
    return pd.DataFrame(
        {
            customer_col: np.asarray(cust_labels, dtype=object)[c],
            "rank": rank,
            item_col: np.asarray(item_index, dtype=object)[i],
            "score": score[orig],
            "confidence": conf[orig],
            "lift": lift[orig],
            "support": supp[orig],
            "antecedents": ants[r],
            "consequents": cons[r],
        }
    )


def _item_index(bought: pd.Series, rule_items: list[Any]) -> pd.Index:
    """Every item, purchases' first then the rules', in order of first appearance.

    Integer items (product ids) stay in numpy: a Python object per purchase cost more than the
    whole recommendation at a million customers. Other labels go through objects.
    """
    if pd.api.types.is_integer_dtype(bought.dtype) and all(
        isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in rule_items
    ):
        values = np.concatenate([bought.to_numpy(dtype="int64"), np.asarray(rule_items, dtype="int64")])
        return pd.Index(pd.unique(values))
    return pd.Index(pd.unique(pd.Series(list(bought) + rule_items, dtype=object)))


def _explode(sets: Iterable[frozenset[Any]], index: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    rule_ids: list[int] = []
    items: list[Any] = []
    for r, s in enumerate(sets):
        for x in s:
            rule_ids.append(r)
            items.append(x)
    return np.asarray(rule_ids, dtype=np.int64), index.get_indexer(pd.Index(items, dtype=object))
