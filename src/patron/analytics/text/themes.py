"""Comment themes: a keyword taxonomy in Chinese and English, and discovery of uncovered terms.

The taxonomy ships as ``data/themes.toml`` (documented there and in ``docs/analytics/text.md``):
each theme has a stable code, labels in English and Chinese, a description saying what belongs
to it, and keywords per language. :func:`extract_themes` tags comments with every theme whose
keywords they contain; :func:`uncovered_terms` lists frequent words no theme knows, so an admin
can extend the taxonomy with :meth:`Taxonomy.extended` or a TOML file of their own.
"""

from __future__ import annotations

import functools
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from patron.analytics.errors import AnalyticsInputError
from patron.analytics.text import segment
from patron.analytics.text.segment import Token

__all__ = [
    "Taxonomy",
    "Theme",
    "default_taxonomy",
    "extract_themes",
    "load_taxonomy",
    "match_themes",
    "uncovered_terms",
]

_MAX_WINDOW = 4  # keywords up to four tokens long ("value for money", "worth every penny")
_LABEL_LANGUAGES = ("en", "zh-Hans", "zh-Hant")


@dataclass(frozen=True)
class Theme:
    """One theme of the taxonomy. ``code`` is stable; labels and keywords may change."""

    code: str
    labels: Mapping[str, str]
    description: str = ""
    keywords_en: tuple[str, ...] = ()
    keywords_zh: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def label(self, language: str = "en") -> str:
        """The label in ``language`` ("en", "zh-Hans", "zh-Hant"; "zh" means Simplified),
        falling back to English, then to the code."""
        if language == "zh":
            language = "zh-Hans"
        return self.labels.get(language) or self.labels.get("en") or self.code


def _keyword_key(keyword: str) -> str:
    tokens = [t for t in segment.tokenize(keyword) if t.kind != "punct"]
    return _join(tokens) if tokens else ""


def _join(tokens: Sequence[Token]) -> str:
    out = ""
    prev: Token | None = None
    for t in tokens:
        if prev is not None and prev.kind == "en" and t.kind == "en":
            out += " "
        out += t.text if t.kind == "en" else t.raw
        prev = t
    return out


@dataclass(frozen=True)
class Taxonomy:
    """An ordered set of :class:`Theme` s with a keyword index for matching."""

    themes: tuple[Theme, ...]
    _index: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _keyword: dict[str, str] = field(init=False, repr=False, compare=False)
    _exclude: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _max_window: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        codes = [t.code for t in self.themes]
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise AnalyticsInputError(f"theme codes must be unique; repeated: {', '.join(dupes)}")
        for code in codes:
            if not code or not code.replace("_", "").isalnum() or not code.isascii():
                raise AnalyticsInputError(
                    f"theme code {code!r} must be ASCII letters, digits and underscores"
                )
        segment.add_words(kw for t in self.themes for kw in (*t.keywords_zh, *t.exclude))
        index: dict[str, list[str]] = defaultdict(list)
        shown: dict[str, str] = {}
        exclude: dict[str, list[str]] = defaultdict(list)
        for theme in self.themes:
            for phrase in theme.exclude:
                key = _keyword_key(phrase)
                if not key:
                    raise AnalyticsInputError(
                        f"theme {theme.code!r}: exclusion {phrase!r} has no letters to match"
                    )
                exclude[key].append(theme.code)
            for kw in (*theme.keywords_en, *theme.keywords_zh):
                key = _keyword_key(kw)
                if not key:
                    raise AnalyticsInputError(
                        f"theme {theme.code!r}: keyword {kw!r} has no letters to match"
                    )
                if theme.code not in index[key]:
                    index[key].append(theme.code)
                shown.setdefault(key, kw)
        object.__setattr__(self, "_index", {k: tuple(v) for k, v in index.items()})
        object.__setattr__(self, "_keyword", shown)
        object.__setattr__(self, "_exclude", {k: tuple(v) for k, v in exclude.items()})
        longest = max((len(k.split(" ")) for k in [*index, *exclude]), default=1)
        object.__setattr__(self, "_max_window", max(_MAX_WINDOW, longest))

    # -- construction -----------------------------------------------------------------------

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Taxonomy:
        """From ``{"themes": {code: {"label": {...}, "description": ..., "en": [...],
        "zh": [...]}}}`` (the TOML file's shape)."""
        raw = data.get("themes") if isinstance(data, Mapping) else None
        if not isinstance(raw, Mapping) or not raw:
            raise AnalyticsInputError("a taxonomy needs a non-empty [themes] table")
        themes = []
        for code, spec in raw.items():
            if not isinstance(spec, Mapping):
                raise AnalyticsInputError(f"theme {code!r} must be a table")
            label = spec.get("label", {})
            if isinstance(label, str):
                label = {"en": label}
            if not isinstance(label, Mapping):
                raise AnalyticsInputError(f"theme {code!r}: label must be a table or a string")
            themes.append(
                Theme(
                    code=str(code),
                    labels={str(k): str(v) for k, v in label.items()},
                    description=str(spec.get("description", "")),
                    keywords_en=_str_tuple(spec.get("en", ()), code, "en"),
                    keywords_zh=_str_tuple(spec.get("zh", ()), code, "zh"),
                    exclude=_str_tuple(spec.get("exclude", ()), code, "exclude"),
                )
            )
        return cls(tuple(themes))

    @classmethod
    def from_toml(cls, source: str | Path) -> Taxonomy:
        """From a TOML file (a :class:`~pathlib.Path`, or a string of one line) or TOML text."""
        if isinstance(source, Path) or "\n" not in source:
            path = Path(source)
            try:
                text = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise AnalyticsInputError(f"cannot read taxonomy file {path}: {exc}") from exc
        else:
            text = source
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise AnalyticsInputError(f"taxonomy is not valid TOML: {exc}") from exc
        return cls.from_mapping(data)

    def extended(self, additions: Mapping[str, Mapping[str, Any]]) -> Taxonomy:
        """A copy with keywords added to existing themes, or new themes added.

        ``additions`` maps a code to ``{"en": [...], "zh": [...], "exclude": [...]}`` (and,
        for a new theme, ``"label"`` and ``"description"``). Existing keywords are kept.
        """
        by_code = {t.code: t for t in self.themes}
        order = [t.code for t in self.themes]
        for code, spec in additions.items():
            en = _str_tuple(spec.get("en", ()), code, "en")
            zh = _str_tuple(spec.get("zh", ()), code, "zh")
            ex = _str_tuple(spec.get("exclude", ()), code, "exclude")
            if code in by_code:
                old = by_code[code]
                label = spec.get("label")
                by_code[code] = Theme(
                    code,
                    {**old.labels, **(label if isinstance(label, Mapping) else {})},
                    str(spec.get("description", old.description)),
                    tuple(dict.fromkeys((*old.keywords_en, *en))),
                    tuple(dict.fromkeys((*old.keywords_zh, *zh))),
                    tuple(dict.fromkeys((*old.exclude, *ex))),
                )
            else:
                label = spec.get("label", {"en": code})
                if isinstance(label, str):
                    label = {"en": label}
                by_code[code] = Theme(
                    code, dict(label), str(spec.get("description", "")), en, zh, ex
                )
                order.append(code)
        return Taxonomy(tuple(by_code[c] for c in order))

    # -- access ------------------------------------------------------------------------------

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(t.code for t in self.themes)

    def __iter__(self) -> Iterator[Theme]:
        return iter(self.themes)

    def __len__(self) -> int:
        return len(self.themes)

    def __getitem__(self, code: str) -> Theme:
        for t in self.themes:
            if t.code == code:
                return t
        raise KeyError(code)

    def knows(self, term: str) -> bool:
        """Whether ``term`` (a word or phrase, either language) is a keyword of some theme."""
        return _keyword_key(term) in self._index

    def as_frame(self, language: str = "en") -> pd.DataFrame:
        """One row per theme: code, label, description, keyword counts (for admin pages)."""
        return pd.DataFrame(
            {
                "theme": [t.code for t in self.themes],
                "label": [t.label(language) for t in self.themes],
                "description": [t.description for t in self.themes],
                "keywords_en": [len(t.keywords_en) for t in self.themes],
                "keywords_zh": [len(t.keywords_zh) for t in self.themes],
            }
        )

    # -- matching ----------------------------------------------------------------------------

    def match_tokens(self, tokens: Sequence[Token]) -> dict[str, tuple[str, ...]]:
        """Themes found in ``tokens``: code -> the keywords matched (as listed), in taxonomy
        order. See ``data/themes.toml`` for the matching rules."""
        hits: list[tuple[str, str, int, int]] = []  # code, keyword, first token, end token
        excluded: dict[str, list[tuple[int, int]]] = defaultdict(list)
        index, exclude = self._index, self._exclude
        n = len(tokens)
        for i in range(n):
            if tokens[i].kind in ("punct", "num", "emoji"):
                continue
            whole_keyword = False
            for width in range(1, min(self._max_window, n - i) + 1):
                window = tokens[i : i + width]
                if window[-1].kind in ("punct", "num", "emoji"):
                    break
                key = _join(window)
                codes = index.get(key)
                if codes:
                    whole_keyword = whole_keyword or width == 1
                    hits.extend((code, self._keyword[key], i, i + width) for code in codes)
                for code in exclude.get(key, ()):
                    excluded[code].append((i, i + width))
            tok = tokens[i]
            if tok.kind == "zh" and not whole_keyword and len(tok.raw) >= 3:
                # part of a longer word the taxonomy does not list ("售后" in "售后服务")
                word = tok.raw
                for size in range(len(word) - 1, 1, -1):
                    for start in range(len(word) - size + 1):
                        codes = index.get(word[start : start + size])
                        if codes:
                            kw = self._keyword[word[start : start + size]]
                            hits.extend((code, kw, i, i + 1) for code in codes)
        found: dict[str, list[str]] = defaultdict(list)
        for code, kw, start, end in hits:
            if any(a <= start and end <= b for a, b in excluded.get(code, ())):
                continue
            if kw not in found[code]:
                found[code].append(kw)
        return {code: tuple(found[code]) for code in self.codes if code in found}

    def match(self, text: object) -> dict[str, tuple[str, ...]]:
        """Themes of one comment: code -> matched keywords."""
        return self.match_tokens(segment.tokenize(text))


def _str_tuple(value: object, code: object, lang: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise AnalyticsInputError(f"theme {code!r}: {lang} must be a list of strings")
    out = []
    for v in value:
        if not isinstance(v, str) or not v.strip():
            raise AnalyticsInputError(f"theme {code!r}: {lang} keywords must be non-empty strings")
        out.append(v.strip())
    return tuple(dict.fromkeys(out))


@functools.cache
def default_taxonomy() -> Taxonomy:
    """The taxonomy shipped with Patron (``data/themes.toml``), loaded once."""
    text = (
        resources.files("patron.analytics.text")
        .joinpath("data", "themes.toml")
        .read_text(encoding="utf-8")
    )
    return Taxonomy.from_toml(text)


def load_taxonomy(source: str | Path | Mapping[str, Any] | Taxonomy | None = None) -> Taxonomy:
    """A taxonomy from a TOML path or text, a mapping, a :class:`Taxonomy`, or the default."""
    if source is None:
        return default_taxonomy()
    if isinstance(source, Taxonomy):
        return source
    if isinstance(source, Mapping):
        return Taxonomy.from_mapping(source)
    if isinstance(source, str | Path):
        return Taxonomy.from_toml(source)
    raise AnalyticsInputError(
        f"taxonomy must be a Taxonomy, a mapping or a TOML path, got {type(source).__name__}"
    )


def match_themes(text: object, taxonomy: Taxonomy | None = None) -> dict[str, tuple[str, ...]]:
    """Themes of one comment: code -> matched keywords (default taxonomy unless given)."""
    return (taxonomy or default_taxonomy()).match(text)


def _as_series(comments: object, name: str = "comments") -> pd.Series:
    if isinstance(comments, pd.Series):
        series = comments
    elif isinstance(comments, pd.DataFrame):
        raise AnalyticsInputError(f"{name} must be a Series or a list of texts, not a DataFrame")
    elif isinstance(comments, str) or not isinstance(comments, Iterable):
        raise AnalyticsInputError(f"{name} must be a Series or a list of texts")
    else:
        series = pd.Series(list(comments), dtype=object)
    bad = [idx for idx, v in series.items() if not _is_text_or_missing(v)]
    if bad:
        shown = ", ".join(map(str, bad[:10]))
        raise AnalyticsInputError(
            f"{name} must hold strings (or missing values); {len(bad)} do not, at: {shown}"
        )
    return series


def _is_text_or_missing(value: object) -> bool:
    try:
        segment.ensure_text(value)
    except AnalyticsInputError:
        return False
    return True


def extract_themes(comments: object, taxonomy: Taxonomy | None = None) -> pd.DataFrame:
    """Themes of many comments, one row per (comment, theme).

    ``comments`` is a Series (its index identifies the comments) or a list of texts (index
    0..n-1); missing values are comments without text and get no row. Columns: ``comment``
    (the index label), ``theme`` (code) and ``terms`` (tuple of the keywords matched). A comment
    can have several rows; comments with no theme have none.
    """
    series = _as_series(comments)
    tax = taxonomy or default_taxonomy()
    rows_comment: list[object] = []
    rows_theme: list[str] = []
    rows_terms: list[tuple[str, ...]] = []
    for idx, value in series.items():
        text = segment.ensure_text(value)
        if not text.strip():
            continue
        for code, terms in tax.match(text).items():
            rows_comment.append(idx)
            rows_theme.append(code)
            rows_terms.append(terms)
    return pd.DataFrame(
        {
            "comment": pd.Series(
                rows_comment, dtype=series.index.dtype if len(rows_comment) else object
            ),
            "theme": pd.Series(rows_theme, dtype=object),
            "terms": pd.Series(rows_terms, dtype=object),
        }
    )


def uncovered_terms(
    comments: object,
    taxonomy: Taxonomy | None = None,
    *,
    min_comments: int = 3,
    top: int | None = 50,
    only_unthemed: bool = False,
) -> pd.DataFrame:
    """Frequent words and English two-word phrases that no theme lists.

    Stop words, sentiment words, numbers and one-letter words are left out, and so are
    one-character Chinese words. ``only_unthemed`` counts only comments that matched no theme
    (what the taxonomy misses entirely). Columns: ``term`` (most frequent surface form),
    ``language`` ("zh" or "en"), ``comments`` (how many comments contain it), ``share`` (of the
    comments counted) and ``example`` (the shortest such comment). Sorted by ``comments``.
    """
    from patron.analytics.text.sentiment import lexicon

    if not isinstance(min_comments, int) or min_comments < 1:
        raise AnalyticsInputError("min_comments must be a positive integer")
    series = _as_series(comments)
    tax = taxonomy or default_taxonomy()
    lex = lexicon()
    stops = segment.stop_words()
    doc_freq: Counter[str] = Counter()
    surface: dict[str, Counter[str]] = defaultdict(Counter)
    lang_of: dict[str, str] = {}
    example: dict[str, str] = {}
    counted = 0

    def skip(key: str, raw: str) -> bool:
        return (
            raw in stops
            or key in lex.valence
            or raw in lex.valence
            or lex.is_known(raw)
            or key in tax._index
        )

    for value in series:
        text = segment.ensure_text(value)
        if not text.strip():
            continue
        tokens = segment.tokenize(text)
        if only_unthemed and tax.match_tokens(tokens):
            continue
        counted += 1
        seen: set[str] = set()
        prev: Token | None = None
        for tok in tokens:
            if tok.kind == "zh" and len(tok.raw) >= 2 and not skip(tok.raw, tok.raw):
                key = tok.raw
                seen.add(key)
                surface[key][tok.raw] += 1
                lang_of[key] = "zh"
            elif tok.kind == "en" and len(tok.raw) >= 3 and not skip(tok.text, tok.raw):
                key = tok.text
                seen.add(key)
                surface[key][tok.raw] += 1
                lang_of[key] = "en"
                if (
                    prev is not None
                    and prev.kind == "en"
                    and len(prev.raw) >= 3
                    and not skip(prev.text, prev.raw)
                ):
                    bigram = f"{prev.text} {tok.text}"
                    if bigram not in tax._index:
                        seen.add(bigram)
                        surface[bigram][f"{prev.raw} {tok.raw}"] += 1
                        lang_of[bigram] = "en"
            prev = tok if tok.kind != "punct" else None
        for key in seen:
            doc_freq[key] += 1
            if key not in example or len(text) < len(example[key]):
                example[key] = text
    rows = [
        (surface[k].most_common(1)[0][0], lang_of[k], n, n / counted, example[k])
        for k, n in doc_freq.items()
        if n >= min_comments
    ]
    rows.sort(key=lambda r: (-r[2], r[0]))
    if top is not None:
        rows = rows[:top]
    return pd.DataFrame(rows, columns=["term", "language", "comments", "share", "example"])
