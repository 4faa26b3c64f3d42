"""Theme taxonomies: what an admin configures, how it is stored, and how comments are matched.

A :class:`Taxonomy` is an ordered set of :class:`Theme` s, each with a stable code, labels in
English, Simplified and Traditional Chinese, a description (the labelling rule), words per
language, phrases that do not count (``exclude``), the touchpoints it belongs to and optionally
a broader theme it refines (``within``: "call_centre" within "service"; when both match, only
the narrower one is kept). The taxonomy itself has a code, labels and the labels of its
touchpoints.

It is plain data: :meth:`Taxonomy.to_dict` / :meth:`Taxonomy.from_mapping` and
:meth:`Taxonomy.to_json` / :meth:`Taxonomy.from_json` round-trip it exactly (for storage in a
database), :meth:`Taxonomy.from_toml` reads the same shape from TOML. Patron ships one per
industry (:data:`PRESETS`, ``data/taxonomies/*.toml``); a file may start from one of them
(``base``) and add themes or words, so a bank and an insurer each keep theirs.

Matching rules (:meth:`Taxonomy.match_tokens`): English words match whole words after light
stemming, phrases match words in a row. Chinese words (Traditional ones are converted first)
match a segmented word, a run of adjacent words, or (two characters or more) part of a longer
word that is not itself a keyword: "售后" matches in "售后服务", but "服务" does not match in
"服务员" when that is a keyword. One-character words match whole words only.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from patron.analytics.errors import AnalyticsInputError
from patron.analytics.text import segment
from patron.analytics.text._resources import read_text
from patron.analytics.text.segment import Token

__all__ = [
    "DEFAULT_PRESET",
    "LABEL_LANGUAGES",
    "PRESETS",
    "WORD_LANGUAGES",
    "Taxonomy",
    "Theme",
    "default_taxonomy",
    "load_taxonomy",
    "preset",
]

#: Languages of labels, and of word lists (Chinese words of either script are matched after
#: conversion to Simplified; the Traditional list is for regional words such as 櫃檯 or 專線).
LABEL_LANGUAGES = ("en", "zh-Hans", "zh-Hant")
WORD_LANGUAGES = ("en", "zh-Hans", "zh-Hant")
#: The packaged taxonomies, by industry; "general" holds every theme and is the base of the others.
PRESETS = ("general", "retail", "bank", "insurance", "car_rental", "b2b")

_MAX_WINDOW = 4  # keywords up to four tokens long ("value for money", "worth every penny")
_SKIP = ("punct", "num", "emoji")


def _check_code(code: object, what: str) -> str:
    if not isinstance(code, str) or not code or not code.isascii():
        raise AnalyticsInputError(f"{what} {code!r} must be ASCII letters, digits and underscores")
    if not code.replace("_", "").isalnum():
        raise AnalyticsInputError(f"{what} {code!r} must be ASCII letters, digits and underscores")
    return code


def _labels(value: object, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, str):
        return {"en": value}
    if not isinstance(value, Mapping):
        raise AnalyticsInputError(f"{where}: label must be a table or a string")
    out = {}
    for lang, text in value.items():
        if lang not in LABEL_LANGUAGES:
            raise AnalyticsInputError(
                f"{where}: label language {lang!r} is not one of {', '.join(LABEL_LANGUAGES)}"
            )
        if not isinstance(text, str) or not text.strip():
            raise AnalyticsInputError(f"{where}: label {lang!r} must be non-empty text")
        out[str(lang)] = text.strip()
    return out


def _str_tuple(value: object, where: str, what: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise AnalyticsInputError(f"{where}: {what} must be a list of strings")
    out = []
    for v in value:
        if not isinstance(v, str) or not v.strip():
            raise AnalyticsInputError(f"{where}: {what} keywords must be non-empty strings")
        out.append(v.strip())
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class Theme:
    """One theme. ``code`` is stable (stored with analysed comments); the rest may change.

    ``words`` maps "en", "zh-Hans" and "zh-Hant" to keywords; ``touchpoints`` are codes of the
    taxonomy's touchpoints (empty: any); ``within`` the code of a broader theme this one refines.
    """

    code: str
    labels: Mapping[str, str] = field(default_factory=dict)
    description: str = ""
    words: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    exclude: tuple[str, ...] = ()
    touchpoints: tuple[str, ...] = ()
    within: str | None = None

    def label(self, language: str = "en") -> str:
        """The label in ``language`` ("en", "zh-Hans", "zh-Hant"; "zh" means Simplified),
        falling back to Simplified for Traditional, then English, then the code."""
        if language == "zh":
            language = "zh-Hans"
        return (
            self.labels.get(language)
            or (self.labels.get("zh-Hans") if language == "zh-Hant" else None)
            or self.labels.get("en")
            or self.code
        )

    @property
    def keywords_en(self) -> tuple[str, ...]:
        return tuple(self.words.get("en", ()))

    @property
    def keywords_zh(self) -> tuple[str, ...]:
        return (*self.words.get("zh-Hans", ()), *self.words.get("zh-Hant", ()))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"label": dict(self.labels)}
        if self.description:
            out["description"] = self.description
        for lang in WORD_LANGUAGES:
            if self.words.get(lang):
                out[lang] = list(self.words[lang])
        if self.exclude:
            out["exclude"] = list(self.exclude)
        if self.touchpoints:
            out["touchpoints"] = list(self.touchpoints)
        if self.within:
            out["within"] = self.within
        return out

    @classmethod
    def from_spec(cls, code: str, spec: object) -> Theme:
        where = f"theme {code!r}"
        _check_code(code, "theme code")
        if not isinstance(spec, Mapping):
            raise AnalyticsInputError(f"{where} must be a table")
        unknown = set(spec) - {"label", "description", "zh", "exclude", "touchpoints", "within"}
        unknown -= set(WORD_LANGUAGES)
        if unknown:
            raise AnalyticsInputError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
        words = {}
        for lang in WORD_LANGUAGES:
            key_words = _str_tuple(spec.get(lang, ()), where, lang)
            if lang == "zh-Hans":  # "zh" is short for Simplified
                key_words = tuple(
                    dict.fromkeys((*key_words, *_str_tuple(spec.get("zh", ()), where, "zh")))
                )
            if key_words:
                words[lang] = key_words
        within = spec.get("within")
        if within is not None:
            _check_code(within, f"{where}: within")
        description = spec.get("description", "")
        if not isinstance(description, str):
            raise AnalyticsInputError(f"{where}: description must be text")
        return cls(
            code=code,
            labels=_labels(spec.get("label"), where),
            description=description.strip(),
            words=words,
            exclude=_str_tuple(spec.get("exclude", ()), where, "exclude"),
            touchpoints=_str_tuple(spec.get("touchpoints", ()), where, "touchpoints"),
            within=within,
        )


def _keyword_key(keyword: str) -> str:
    return segment.join_tokens([t for t in segment.tokenize(keyword) if t.kind != "punct"])


@dataclass(frozen=True)
class Taxonomy:
    """An ordered set of :class:`Theme` s with a keyword index for matching."""

    themes: tuple[Theme, ...]
    code: str = "custom"
    labels: Mapping[str, str] = field(default_factory=dict)
    touchpoints: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    _index: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _keyword: dict[str, str] = field(init=False, repr=False, compare=False)
    _exclude: dict[str, tuple[str, ...]] = field(init=False, repr=False, compare=False)
    _within: dict[str, str] = field(init=False, repr=False, compare=False)
    _max_window: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_code(self.code, "taxonomy code")
        codes = [t.code for t in self.themes]
        if not codes:
            raise AnalyticsInputError("a taxonomy needs at least one theme")
        dupes = sorted({c for c in codes if codes.count(c) > 1})
        if dupes:
            raise AnalyticsInputError(f"theme codes must be unique; repeated: {', '.join(dupes)}")
        for theme in self.themes:
            _check_code(theme.code, "theme code")
            if theme.within is not None and (
                theme.within not in codes or theme.within == theme.code
            ):
                raise AnalyticsInputError(
                    f"theme {theme.code!r}: within {theme.within!r} is not another theme of the "
                    "taxonomy"
                )
            missing = [tp for tp in theme.touchpoints if tp not in self.touchpoints]
            if missing:
                raise AnalyticsInputError(
                    f"theme {theme.code!r}: touchpoints {', '.join(missing)} are not declared in "
                    "the taxonomy's [touchpoints]"
                )
        within = {t.code: t.within for t in self.themes if t.within}
        for code in within:  # no loops: a chain of "within" must end
            seen = {code}
            while code in within:
                code = within[code]
                if code in seen:
                    raise AnalyticsInputError(
                        f"themes {', '.join(sorted(seen))} are within each other"
                    )
                seen.add(code)
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
        object.__setattr__(self, "_within", within)
        longest = max((len(k.split(" ")) for k in [*index, *exclude]), default=1)
        object.__setattr__(self, "_max_window", max(_MAX_WINDOW, longest))

    # -- construction and storage -----------------------------------------------------------

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Taxonomy:
        """From the shape of :meth:`to_dict` (and of the TOML files)::

            {"taxonomy": {"code": "bank", "label": {...}, "base": "general",
                          "themes": ["price", ...]},
             "touchpoints": {"branch": {"en": "Branch", ...}},
             "themes": {code: {"label": {...}, "description": ..., "en": [...],
                               "zh-Hans": [...], "zh-Hant": [...], "exclude": [...],
                               "touchpoints": [...], "within": code}}}

        Only ``themes`` is required. With ``base`` (a preset code), the taxonomy starts from
        that preset: ``taxonomy.themes`` picks and orders the base's themes to keep (default:
        all), a ``[themes.<code>]`` table of a kept theme adds its words, exclusions and
        touchpoints to the base's (and replaces its label, description or ``within`` if given),
        and a new code adds a theme.
        """
        if not isinstance(data, Mapping):
            raise AnalyticsInputError("a taxonomy must be a table (mapping)")
        head = data.get("taxonomy", {})
        if not isinstance(head, Mapping):
            raise AnalyticsInputError("[taxonomy] must be a table")
        raw = data.get("themes")
        base_code = head.get("base")
        if not isinstance(raw, Mapping) or (not raw and base_code is None):
            raise AnalyticsInputError("a taxonomy needs a non-empty [themes] table")
        code = head.get("code", "custom")
        labels = _labels(head.get("label"), "taxonomy")
        touchpoints_raw = data.get("touchpoints", {})
        if not isinstance(touchpoints_raw, Mapping):
            raise AnalyticsInputError("[touchpoints] must be a table of labels")
        touchpoints = {
            _check_code(tp, "touchpoint code"): _labels(lab, f"touchpoint {tp!r}")
            for tp, lab in touchpoints_raw.items()
        }
        if base_code is None:
            themes = tuple(Theme.from_spec(str(c), spec) for c, spec in raw.items())
            return cls(themes, code=code, labels=labels, touchpoints=touchpoints)
        base = preset(base_code)
        keep = head.get("themes", list(base.codes))
        keep = _str_tuple(keep, "taxonomy", "themes")
        unknown = [c for c in keep if c not in base.codes]
        if unknown:
            raise AnalyticsInputError(
                f"taxonomy: themes {', '.join(unknown)} are not in the base {base_code!r}"
            )
        by_code = {c: base[c] for c in keep}
        for theme_code, spec in raw.items():
            if theme_code in by_code:
                by_code[theme_code] = _merge(by_code[theme_code], Theme.from_spec(theme_code, spec))
            elif theme_code in base.codes:
                raise AnalyticsInputError(
                    f"theme {theme_code!r} is in the base but not in taxonomy.themes"
                )
            else:
                by_code[theme_code] = Theme.from_spec(theme_code, spec)
        kept = tuple(by_code.values())
        kept = tuple(
            t if t.within is None or t.within in by_code else _replace(t, within=None) for t in kept
        )
        used = {tp for t in kept for tp in t.touchpoints}
        all_tp = {**base.touchpoints, **touchpoints}
        return cls(
            kept,
            code=code,
            labels=labels or dict(base.labels),
            touchpoints={tp: lab for tp, lab in all_tp.items() if tp in used or tp in touchpoints},
        )

    def to_dict(self) -> dict[str, Any]:
        """The whole taxonomy as plain data (no ``base``): :meth:`from_mapping` gives it back."""
        return {
            "taxonomy": {"code": self.code, "label": dict(self.labels)},
            "touchpoints": {tp: dict(lab) for tp, lab in self.touchpoints.items()},
            "themes": {t.code: t.to_dict() for t in self.themes},
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as JSON text (Chinese kept as is), for a database column."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str | bytes) -> Taxonomy:
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise AnalyticsInputError(f"taxonomy is not valid JSON: {exc}") from exc
        return cls.from_mapping(data)

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
        """A copy with words added to existing themes, or new themes added.

        ``additions`` maps a code to a theme table (as in :meth:`from_mapping`); for an existing
        theme its words, exclusions and touchpoints are added and a given label or description
        replaces the old one.
        """
        by_code = {t.code: t for t in self.themes}
        for code, spec in additions.items():
            new = Theme.from_spec(code, spec)
            by_code[code] = _merge(by_code[code], new) if code in by_code else new
        return Taxonomy(
            tuple(by_code.values()),
            code=self.code,
            labels=self.labels,
            touchpoints=self.touchpoints,
        )

    def for_touchpoints(self, *touchpoints: str) -> Taxonomy:
        """The themes of these touchpoints and those of any touchpoint (none listed): what a
        survey after, say, a claim can be about."""
        keep = tuple(
            t for t in self.themes if not t.touchpoints or set(t.touchpoints) & set(touchpoints)
        )
        return Taxonomy(
            tuple(
                _replace(t, within=t.within if t.within in {k.code for k in keep} else None)
                for t in keep
            ),
            code=self.code,
            labels=self.labels,
            touchpoints={tp: lab for tp, lab in self.touchpoints.items() if tp in touchpoints},
        )

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

    def label(self, language: str = "en") -> str:
        return Theme(self.code, self.labels).label(language)

    def touchpoint_label(self, touchpoint: str, language: str = "en") -> str:
        return Theme(touchpoint, self.touchpoints.get(touchpoint, {})).label(language)

    def knows_key(self, key: str) -> bool:
        """Whether ``key`` (a matching key, as :func:`~patron.analytics.text.segment.join_tokens`
        makes them) is a keyword of some theme."""
        return key in self._index

    def knows(self, term: str) -> bool:
        """Whether ``term`` (a word or phrase, either language) is a keyword of some theme."""
        return _keyword_key(term) in self._index

    def as_frame(self, language: str = "en") -> pd.DataFrame:
        """One row per theme: code, label, description, touchpoints, keyword counts."""
        return pd.DataFrame(
            {
                "theme": [t.code for t in self.themes],
                "label": [t.label(language) for t in self.themes],
                "description": [t.description for t in self.themes],
                "touchpoints": [t.touchpoints for t in self.themes],
                "within": [t.within or "" for t in self.themes],
                "keywords_en": [len(t.keywords_en) for t in self.themes],
                "keywords_zh": [len(t.keywords_zh) for t in self.themes],
            }
        )

    # -- matching ----------------------------------------------------------------------------

    def match_tokens(self, tokens: Sequence[Token]) -> dict[str, tuple[str, ...]]:
        """Themes found in ``tokens``: code -> the keywords matched (as listed), in taxonomy
        order; a theme is dropped when a narrower one ``within`` it matched too."""
        hits: list[tuple[str, str, int, int]] = []  # code, keyword, first token, end token
        excluded: dict[str, list[tuple[int, int]]] = defaultdict(list)
        index, exclude, keyword = self._index, self._exclude, self._keyword
        n = len(tokens)
        for i in range(n):
            if tokens[i].kind in _SKIP:
                continue
            whole_keyword = False
            for width in range(1, min(self._max_window, n - i) + 1):
                window = tokens[i : i + width]
                if window[-1].kind in _SKIP:
                    break
                key = segment.join_tokens(window)
                codes = index.get(key)
                if codes:
                    whole_keyword = whole_keyword or width == 1
                    hits.extend((code, keyword[key], i, i + width) for code in codes)
                for code in exclude.get(key, ()):
                    excluded[code].append((i, i + width))
            tok = tokens[i]
            if tok.kind == "zh" and not whole_keyword and len(tok.raw) >= 3:
                # part of a longer word the taxonomy does not list ("售后" in "售后服务")
                # longest first, and not inside a longer one: "手续费" in "手续费收", not "手续"
                word = tok.raw
                covered: list[tuple[int, int]] = []
                for size in range(len(word) - 1, 1, -1):
                    for start in range(len(word) - size + 1):
                        codes = index.get(word[start : start + size])
                        if codes and not any(a <= start and start + size <= b for a, b in covered):
                            covered.append((start, start + size))
                            kw = keyword[word[start : start + size]]
                            hits.extend((code, kw, i, i + 1) for code in codes)
        # a keyword inside a longer keyword of another theme is part of that one: "machine" in
        # "card machine", "size" in "find my size"
        spans = {(start, end, code) for code, _kw, start, end in hits}
        found: dict[str, list[str]] = defaultdict(list)
        for code, kw, start, end in hits:
            if any(a <= start and end <= b for a, b in excluded.get(code, ())):
                continue
            if any(
                a <= start and end <= b and b - a > end - start and other != code
                for a, b, other in spans
            ):
                continue
            if kw not in found[code]:
                found[code].append(kw)
        broader = {self._within[c] for c in found if c in self._within}
        while True:  # a chain: drop every theme above a match
            more = {self._within[c] for c in broader if c in self._within} - broader
            if not more:
                break
            broader |= more
        return {
            code: tuple(found[code]) for code in self.codes if code in found and code not in broader
        }

    def match(self, text: object) -> dict[str, tuple[str, ...]]:
        """Themes of one comment: code -> matched keywords."""
        return self.match_tokens(segment.tokenize(text))


def _replace(theme: Theme, **changes: Any) -> Theme:
    return dataclasses.replace(theme, **changes)


def _merge(old: Theme, new: Theme) -> Theme:
    """``old`` with ``new``'s words, exclusions and touchpoints added; ``new``'s label,
    description and ``within`` replace ``old``'s when given."""
    words = {
        lang: tuple(dict.fromkeys((*old.words.get(lang, ()), *new.words.get(lang, ()))))
        for lang in WORD_LANGUAGES
        if old.words.get(lang) or new.words.get(lang)
    }
    return Theme(
        code=old.code,
        labels={**old.labels, **new.labels},
        description=new.description or old.description,
        words=words,
        exclude=tuple(dict.fromkeys((*old.exclude, *new.exclude))),
        touchpoints=tuple(dict.fromkeys((*old.touchpoints, *new.touchpoints))),
        within=new.within or old.within,
    )


# --- the packaged taxonomies -----------------------------------------------------------------


def _preset_data(code: str) -> dict[str, Any]:
    if code not in PRESETS:
        raise AnalyticsInputError(f"no packaged taxonomy {code!r}; there are: {', '.join(PRESETS)}")
    return tomllib.loads(read_text(f"taxonomies/{code}.toml"))


@functools.cache
def preset(code: str = "general") -> Taxonomy:
    """A packaged taxonomy (one of :data:`PRESETS`), loaded once."""
    return Taxonomy.from_mapping(_preset_data(code))


#: The preset used when no taxonomy is given: the themes Patron had before the industry presets
#: (the codes stored with analysed comments), until an organisation picks its own.
DEFAULT_PRESET = "retail"


def default_taxonomy() -> Taxonomy:
    """The taxonomy used when none is given: the :data:`DEFAULT_PRESET` preset."""
    return preset(DEFAULT_PRESET)


def load_taxonomy(source: str | Path | Mapping[str, Any] | Taxonomy | None = None) -> Taxonomy:
    """A taxonomy from a preset code, a TOML path or text, a mapping, a :class:`Taxonomy`, or
    the default."""
    if source is None:
        return default_taxonomy()
    if isinstance(source, Taxonomy):
        return source
    if isinstance(source, Mapping):
        return Taxonomy.from_mapping(source)
    if isinstance(source, str) and source in PRESETS:
        return preset(source)
    if isinstance(source, str | Path):
        return Taxonomy.from_toml(source)
    raise AnalyticsInputError(
        f"taxonomy must be a Taxonomy, a mapping, a preset code or a TOML path, got "
        f"{type(source).__name__}"
    )


def _packaged_words() -> list[str]:
    """Chinese words of every packaged taxonomy, for the tokenizer's dictionary (read from the
    files: building the taxonomies needs the tokenizer)."""
    words: list[str] = []
    for code in PRESETS:
        data = _preset_data(code)
        for spec in data.get("themes", {}).values():
            for key in ("zh", "zh-Hans", "zh-Hant", "exclude"):
                words += spec.get(key, [])
    return words


segment.register_dictionary(_packaged_words)
