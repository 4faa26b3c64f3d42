"""The sentiment lexicon: valences of words and phrases, and the words that modify them.

Read once from the package data: ``data/sentiment_en.tsv``, ``data/sentiment_zh.tsv`` and
``data/emoji.tsv`` (``term<TAB>valence[<TAB>negated valence]``), ``data/modifiers.tsv``
(negators, intensifiers, contrast and concession markers) and ``data/aspects.tsv`` (words whose
direction, "high" or "低", takes its sign from the aspect: high prices, high quality). The
scoring rules are in :mod:`patron.analytics.text.sentiment`.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from patron.analytics.text import segment
from patron.analytics.text._resources import read_table
from patron.analytics.text.normalise import normalise

__all__ = ["Lexicon", "is_latin", "lexicon", "term_key"]


@dataclass(frozen=True)
class Lexicon:
    """Valences and modifiers, keyed by normalised term (English: stemmed words joined by a
    space; Chinese: the Simplified characters)."""

    valence: dict[str, float]
    negated_valence: dict[str, float]
    negators: dict[str, float]
    intensifiers: dict[str, float]
    contrast: dict[str, bool]  # term -> only when opening a clause
    concession: dict[str, bool]
    directions: dict[str, float] = field(default_factory=dict)  # high +1, low -1
    aspects: dict[str, float] = field(default_factory=dict)  # cost -1, benefit +1
    max_words: int = field(default=1)
    pass_over: frozenset[str] = frozenset()  # words a pending negator passes over
    undone: frozenset[str] = frozenset()  # negators of an action not done ("还没", "no one")
    interjections: frozenset[str] = frozenset()  # praise that can stand alone as sarcasm

    def is_known(self, term: str) -> bool:
        return (
            term in self.valence
            or term in self.negators
            or term in self.intensifiers
            or term in self.contrast
            or term in self.concession
            or term in self.directions
            or term in self.aspects
        )


def term_key(term: str) -> str:
    """The lookup key of a lexicon term: its tokens' matching forms joined like the scanner
    joins them (English words by a space, Chinese by nothing)."""
    tokens = segment.tokenize(term)
    return segment.join_tokens(tokens) if tokens else normalise(term).strip()


def _modifier_key(term: str) -> str:
    # modifiers are matched on raw (unstemmed) forms: "nothing" must not become "noth"
    return normalise(term).strip()


@functools.cache
def lexicon() -> Lexicon:
    """The packaged lexicon, loaded once (its Chinese words are in jieba's dictionary, so they
    are segmented whole)."""
    valence: dict[str, float] = {}
    negated: dict[str, float] = {}
    for name in ("sentiment_zh.tsv", "sentiment_en.tsv", "emoji.tsv"):
        for row in read_table(name, 2, 3):
            term = row[0]
            # English keys are stemmed below; Chinese and emoji keys are the normalised term
            key = term if name == "sentiment_en.tsv" else normalise(term).strip()
            if key in valence:
                raise ValueError(f"{name}: {term!r} is listed twice")
            valence[key] = float(row[1])
            if len(row) == 3:
                negated[key] = float(row[2])
    negators: dict[str, float] = {}
    intensifiers: dict[str, float] = {}
    contrast: dict[str, bool] = {}
    concession: dict[str, bool] = {}
    sets: dict[str, set[str]] = {"passover": set(), "undone": set(), "interjection": set()}
    for kind, _lang, term, value in read_table("modifiers.tsv", 4):
        key = _modifier_key(term)
        if kind == "negator":
            negators[key] = float(value)
        elif kind == "intensifier":
            intensifiers[key] = float(value)
        elif kind == "contrast":
            contrast[key] = value == "1"
        elif kind == "concession":
            concession[key] = value == "1"
        elif kind in sets:
            sets[kind].add(key)
        else:
            raise ValueError(f"modifiers.tsv: unknown kind {kind!r} for {term!r}")
    # English terms: stem each word ("delays" -> "delay") so inflections meet
    keyed_valence: dict[str, float] = {}
    keyed_negated: dict[str, float] = {}
    for key, v in valence.items():
        k = term_key(key) if is_latin(key) else key
        if k in keyed_valence and keyed_valence[k] != v:
            raise ValueError(f"sentiment lexicon: {key!r} and another term both stem to {k!r}")
        keyed_valence[k] = v
        if key in negated:
            keyed_negated[k] = negated[key]
    directions: dict[str, float] = {}
    aspects: dict[str, float] = {}
    sign = {"up": 1.0, "down": -1.0, "cost": -1.0, "benefit": 1.0}
    for kind, term in read_table("aspects.tsv", 2):
        if kind not in sign:
            raise ValueError(f"aspects.tsv: unknown kind {kind!r} for {term!r}")
        key = term_key(term) if is_latin(term) else normalise(term).strip()
        (directions if kind in ("up", "down") else aspects)[key] = sign[kind]
    max_words = max(
        len(k.split(" ")) for k in [*keyed_valence, *aspects, *directions] if is_latin(k)
    )
    return Lexicon(
        valence=keyed_valence,
        negated_valence=keyed_negated,
        negators=negators,
        intensifiers=intensifiers,
        contrast=contrast,
        concession=concession,
        directions=directions,
        aspects=aspects,
        max_words=max(max_words, 3),
        pass_over=frozenset(sets["passover"]),
        undone=frozenset(sets["undone"]),
        # matched against contributions, whose English terms are stemmed
        interjections=frozenset(term_key(t) if is_latin(t) else t for t in sets["interjection"]),
    )


def is_latin(term: str) -> bool:
    return bool(term) and term[0].isascii() and term[0].isalpha()


def _chinese_terms() -> list[str]:
    """The lexicon's Chinese terms, read from the data files (not through :func:`lexicon`, which
    needs the tokenizer this feeds)."""
    words = [row[0] for row in read_table("sentiment_zh.tsv", 2, 3)]
    words += [row[2] for row in read_table("modifiers.tsv", 4) if row[1] == "zh"]
    words += [row[1] for row in read_table("aspects.tsv", 2)]
    return words


segment.register_dictionary(_chinese_terms)
