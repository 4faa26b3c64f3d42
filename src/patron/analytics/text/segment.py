"""Tokenisation of short feedback texts in Chinese, English or both.

:func:`tokenize` normalises a comment (:func:`~patron.analytics.text.normalise.normalise`) and
splits it: runs of Chinese characters are segmented with jieba (Patron's own
``jieba.Tokenizer`` with a domain dictionary, built once on first use with its log output
silenced); runs of Latin letters become words with a light suffix-stripping stemmer; emoji and
emoticons are tokens; clause punctuation is kept as a boundary token.

So a mixed comment such as "物流 tracking 一直不更新" is handled token by token, and the
lexicons and theme keywords are matched the same way in both languages.

The lexicon and the taxonomies register the Chinese words they need kept whole with
:func:`register_dictionary` (read when the tokenizer is built, so segmentation does not depend
on which of them was loaded first) or :func:`add_words`; this module imports neither.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from patron.analytics.text._resources import read_lines
from patron.analytics.text.normalise import HAN, ensure_text, normalise

if TYPE_CHECKING:
    import jieba

__all__ = [
    "Token",
    "add_words",
    "build",
    "clear_caches",
    "is_dictionary_word",
    "join_tokens",
    "register_dictionary",
    "stem",
    "stop_words",
    "tokenize",
]

TokenKind = Literal["zh", "en", "num", "emoji", "punct"]

_HAN = HAN
_EMOJI = "\U0001f300-\U0001faff\u2600-\u27bf\u2b50\u2b55\u2764"
_TOKEN_RE = re.compile(
    # Chinese with letters or digits attached ("cp值", "app很好用") goes to jieba as one run
    rf"(?P<zh>(?:[a-z0-9]*[{_HAN}]+)+[a-z0-9]*)"
    r"|(?P<en>[a-z]+(?:'[a-z]+)*)"
    r"|(?P<num>\d+(?:[.,:]\d+)*%?)"
    r"|(?P<emoticon>:-?[()])"
    rf"|(?P<emoji>[{_EMOJI}]\ufe0f?)"
    r"|(?P<punct>[.!?;,:\n…~。！？；，、：]+)"
)
_HAN_RE = re.compile(f"[{_HAN}]")


@dataclass(frozen=True, slots=True)
class Token:
    """One token: ``text`` is what lexicons are matched on (the Simplified Chinese word, or
    the stemmed English word), ``raw`` the normalised surface form, ``kind`` its script."""

    text: str
    raw: str
    kind: TokenKind
    #: which quoted span the token is in (1, 2, ... in order; 0: not quoted). Customers put
    #: praise in scare quotes to mean the opposite: 服务真是"一流", 'next day delivery'.
    quote: int = 0


_VOWELS = frozenset("aeiouy")
# words the rules would merge with a different word ("please" -> "pleas" <- "pleased")
_KEEP = frozenset({"please", "news", "this", "series", "species"})


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light English stemmer: plural -s/-es/-ies, -ed, -ing and a final -e are removed.

    Deliberately simpler than Porter's: it only needs to make "refunds", "refunded" and
    "refunding" meet "refund", and "arrive", "arrived", "arriving" meet each other. Lexicons
    and keywords go through the same function, so any word listed in its plain form matches its
    inflections. Words with an apostrophe and words of three letters or fewer are kept as they
    are.
    """
    if word.endswith("'s") and len(word) > 3:  # possessive: "app's" is "app"
        word = word[:-2]
    if len(word) <= 3 or "'" in word or word in _KEEP:
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ied") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("ed") and not word.endswith("eed") and len(word) > 4:
        word = _undouble(word[:-2]) if _VOWELS & set(word[:-2]) else word
    elif word.endswith("ing") and len(word) > 5:
        word = _undouble(word[:-3]) if _VOWELS & set(word[:-3]) else word
    if word.endswith("e") and not word.endswith("ee") and len(word) > 3:
        word = word[:-1]
    return word


def _undouble(word: str) -> str:
    # "shipped" -> "shipp" -> "ship"; keep ll/ss/zz ("called", "missed")
    if len(word) > 2 and word[-1] == word[-2] and word[-1] not in "lsz" + "aeiou":
        return word[:-1]
    return word


@functools.cache
def stop_words() -> frozenset[str]:
    """English and Chinese stop words (normalised forms; English unstemmed)."""
    return frozenset(read_lines("stopwords_en.txt")) | frozenset(read_lines("stopwords_zh.txt"))


# ---------------------------------------------------------------------------------------------
# jieba: one private tokenizer, built on first use

_jieba_lock = threading.Lock()
_jieba_tokenizer: jieba.Tokenizer | None = None
_extra_words: set[str] = set()
_sources: list[Callable[[], Iterable[str]]] = []


def register_dictionary(source: Callable[[], Iterable[str]]) -> None:
    """Have ``source()`` (Chinese words to keep whole) read when the tokenizer is built, or at
    once if it is built already. The lexicon and the packaged taxonomies register their words
    this way when their modules are imported."""
    with _jieba_lock:
        _sources.append(source)
        built = _jieba_tokenizer is not None
    if built:
        add_words(source())


def _dictionary_word(word: str) -> str | None:
    w = normalise(ensure_text(word, name="word")).strip()
    return w if len(w) >= 2 and _HAN_RE.search(w) else None


def _build_jieba() -> jieba.Tokenizer:
    with warnings.catch_warnings():
        # jieba 0.42 has invalid escape sequences and imports pkg_resources
        warnings.simplefilter("ignore")
        import jieba

    # jieba's logger ("jieba", DEBUG, with its own stderr handler) prints "Building prefix
    # dict ..." on initialisation; silence it for the build only.
    logger = jieba.default_logger
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        tokenizer = jieba.Tokenizer()
        tokenizer.initialize()
        for line in read_lines("userdict_zh.txt"):
            word, freq, tag = line.split()
            tokenizer.add_word(word, int(freq), tag)
        for source in _sources:
            _extra_words.update(w for w in map(_dictionary_word, source()) if w)
        for word in sorted(_extra_words):
            tokenizer.add_word(word)
    finally:
        logger.setLevel(level)
    return tokenizer


def _jieba() -> jieba.Tokenizer:
    global _jieba_tokenizer
    if _jieba_tokenizer is None:
        with _jieba_lock:
            if _jieba_tokenizer is None:
                _jieba_tokenizer = _build_jieba()
    return _jieba_tokenizer


def add_words(words: Iterable[str]) -> None:
    """Make jieba keep each of ``words`` (Chinese) as one word when segmenting.

    The sentiment lexicon and theme keywords are registered this way, so "性价比" or "转人工"
    stay whole. Takes effect at once if the tokenizer is already built.
    """
    new = {w for w in map(_dictionary_word, words) if w and w not in _extra_words}
    if not new:
        return
    with _jieba_lock:
        _extra_words.update(new)
        if _jieba_tokenizer is not None:
            for w in sorted(new):
                _jieba_tokenizer.add_word(w)
    _segment_short.cache_clear()


def is_dictionary_word(word: str) -> bool:
    """Whether jieba knows ``word`` from a dictionary (rather than guessing it with its HMM)."""
    return bool(_jieba().FREQ.get(word))


def clear_caches() -> None:
    """Forget segmented phrases (for measuring the cost of text never seen before)."""
    _segment_short.cache_clear()


def build() -> None:
    """Build the tokenizer now (about a second) rather than on the first Chinese comment."""
    _jieba()


@functools.lru_cache(maxsize=16384)
def _segment_short(run: str) -> tuple[str, ...]:
    return tuple(_jieba().cut(run, HMM=True))


def _segment_han(run: str) -> tuple[str, ...]:
    # comments repeat the same short phrases; long runs are not worth keeping in the cache
    if len(run) <= 32:
        return _segment_short(run)
    return tuple(_jieba().cut(run, HMM=True))


# a short span in double quotes, corner brackets, or single quotes that are not apostrophes
_QUOTED_RE = re.compile(
    r"[\"\u201c]([^\"\u201c\u201d\n]{1,40})[\"\u201d]"
    r"|[\u300c\u300e]([^\u300c\u300d\u300e\u300f\n]{1,40})[\u300d\u300f]"
    r"|(?<![a-z0-9])'([^'\n]{1,40})'(?![a-z0-9])"
)


def tokenize(text: object) -> list[Token]:
    """Normalise ``text`` and split it into :class:`Token` s (see the module docstring)."""
    text = normalise(ensure_text(text))
    tokens: list[Token] = []
    spans = [m.span() for m in _QUOTED_RE.finditer(text)]
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup
        value = m.group()
        if spans:
            quote = next((n for n, (a, b) in enumerate(spans, 1) if a < m.start() < b), 0)
            if quote:
                before = len(tokens)
                _add(tokens, kind, value)
                tokens[before:] = [Token(t.text, t.raw, t.kind, quote) for t in tokens[before:]]
                continue
        _add(tokens, kind, value)
    return tokens


def _add(tokens: list[Token], kind: str | None, value: str) -> None:
    if kind == "zh":
        for w in _segment_han(value):
            if _HAN_RE.search(w):
                tokens.append(Token(w, w, "zh"))
            elif w.isascii() and w.isalpha():
                tokens.append(Token(stem(w), w, "en"))
            elif w.isdigit():
                tokens.append(Token(w, w, "num"))
            elif w.strip():
                tokens.append(Token(w, w, "punct" if not w.isalnum() else "num"))
    elif kind == "en":
        tokens.append(Token(stem(value), value, "en"))
    elif kind == "num":
        tokens.append(Token(value, value, "num"))
    elif kind in ("emoji", "emoticon"):
        tokens.append(Token(value, value, "emoji"))
    else:
        tokens.append(Token(value, value, "punct"))


def join_tokens(tokens: Sequence[Token]) -> str:
    """The matching key of a run of tokens: English words (stemmed) joined by a space, Chinese
    words and anything else by nothing. Lexicon and taxonomy phrases are keyed the same way."""
    out = ""
    prev: Token | None = None
    for t in tokens:
        if prev is not None and prev.kind == "en" and t.kind == "en":
            out += " "
        out += t.text if t.kind == "en" else t.raw
        prev = t
    return out
