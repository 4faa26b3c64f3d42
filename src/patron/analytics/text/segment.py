"""Normalisation, language detection and tokenisation of short feedback texts.

Every comment, whatever its language, goes through one pipeline:

1. :func:`normalise`: Unicode NFKC (full-width letters, digits and punctuation become ASCII),
   Traditional Chinese characters mapped to Simplified (a character table derived from OpenCC),
   lower case, curly apostrophes made straight.
2. :func:`tokenize`: runs of Chinese characters are segmented with jieba (Patron's own
   ``jieba.Tokenizer`` with a domain dictionary, built once on first use with its log output
   silenced); runs of Latin letters become words with a light suffix-stripping stemmer; emoji
   and emoticons are tokens; clause punctuation is kept as a boundary token.

So a mixed comment such as "物流 tracking 一直不更新" is handled token by token, and the
lexicons and theme keywords are matched the same way in both languages.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import unicodedata
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import pandas as pd

from patron.analytics.errors import AnalyticsInputError
from patron.analytics.text._resources import read_lines

if TYPE_CHECKING:
    import jieba

__all__ = [
    "Language",
    "Token",
    "add_words",
    "detect_language",
    "ensure_text",
    "is_dictionary_word",
    "normalise",
    "stem",
    "stop_words",
    "tokenize",
    "warm_up",
]

Language = Literal["zh", "en", "mixed", "unknown"]
TokenKind = Literal["zh", "en", "num", "emoji", "punct"]

_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
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
_LATIN_WORD_RE = re.compile(r"[A-Za-z]+")


@dataclass(frozen=True, slots=True)
class Token:
    """One token: ``text`` is what lexicons are matched on (the Simplified Chinese word, or
    the stemmed English word), ``raw`` the normalised surface form, ``kind`` its script."""

    text: str
    raw: str
    kind: TokenKind


def ensure_text(text: object, *, name: str = "text") -> str:
    """``text`` as a string: ``None`` and NaN (a missing comment) become ``""``.

    Anything else that is not a string raises :class:`AnalyticsInputError`: a number or a list
    where a comment was expected is a bug upstream, not a comment to analyse.
    """
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    if (isinstance(text, float) and text != text) or text is pd.NA:  # missing in pandas
        return ""
    raise AnalyticsInputError(f"{name} must be a string, got {type(text).__name__}")


@functools.cache
def _t2s_table() -> dict[int, int]:
    return {ord(pair[0]): ord(pair[1]) for pair in read_lines("t2s_chars.txt")}


def normalise(text: str) -> str:
    """NFKC, Traditional to Simplified Chinese, lower case, straight apostrophes."""
    text = unicodedata.normalize("NFKC", text)
    return text.translate(_t2s_table()).lower().replace("\u2019", "'").replace("\u2018", "'")


def detect_language(text: object) -> Language:
    """``"zh"``, ``"en"``, ``"mixed"`` or ``"unknown"`` (no letters: empty, digits, emoji).

    Counts Chinese characters (1.5 characters make a word, the average word length) and Latin
    words. A comment is ``"mixed"`` when both languages have at least two words and the smaller
    one holds at least a fifth of them; so a Chinese comment with one English loanword
    ("App很好用") is Chinese. Latin-script text is taken as English: other European languages are
    not told apart.
    """
    text = ensure_text(text)
    han = len(_HAN_RE.findall(text))
    latin = len(_LATIN_WORD_RE.findall(text))
    zh_words = han / 1.5
    if han == 0 and latin == 0:
        return "unknown"
    if latin == 0:
        return "zh"
    if han == 0:
        return "en"
    if latin >= 2 and han >= 2 and min(zh_words, latin) / (zh_words + latin) >= 0.2:
        return "mixed"
    return "zh" if zh_words >= latin else "en"


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
        # the packaged lexicon and taxonomy words, so segmentation does not depend on which
        # of them happened to be loaded first
        _extra_words.update(_packaged_words())
        for word in sorted(_extra_words):
            tokenizer.add_word(word)
    finally:
        logger.setLevel(level)
    return tokenizer


def _packaged_words() -> set[str]:
    import tomllib

    from patron.analytics.text._resources import read_table, read_text

    words = [row[0] for row in read_table("sentiment_zh.tsv", 2, 3)]
    words += [row[2] for row in read_table("modifiers.tsv", 4) if row[1] == "zh"]
    words += [row[1] for row in read_table("aspects.tsv", 2)]
    for spec in tomllib.loads(read_text("themes.toml"))["themes"].values():
        words += spec.get("zh", [])
    out = set()
    for word in words:
        w = normalise(word).strip()
        if len(w) >= 2 and _HAN_RE.search(w):
            out.add(w)
    return out


def _jieba() -> jieba.Tokenizer:
    global _jieba_tokenizer
    if _jieba_tokenizer is None:
        with _jieba_lock:
            if _jieba_tokenizer is None:
                _jieba_tokenizer = _build_jieba()
    return _jieba_tokenizer


def add_words(words: object) -> None:
    """Make jieba keep each of ``words`` (Chinese) as one word when segmenting.

    The sentiment lexicon and theme keywords are registered this way, so "性价比" or "转人工"
    stay whole. Takes effect at once if the tokenizer is already built.
    """
    new = set()
    for word in words:  # type: ignore[attr-defined]
        w = normalise(ensure_text(word, name="word")).strip()
        if len(w) >= 2 and _HAN_RE.search(w) and w not in _extra_words:
            new.add(w)
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


def warm_up() -> None:
    """Build the jieba tokenizer and load the lexicons now (about a second) rather than on the
    first Chinese comment; call it when a web worker or a scoring run starts."""
    from patron.analytics.text import sentiment, themes

    sentiment.lexicon()
    themes.default_taxonomy()
    _jieba()


@functools.lru_cache(maxsize=16384)
def _segment_short(run: str) -> tuple[str, ...]:
    return tuple(_jieba().cut(run, HMM=True))


def _segment_han(run: str) -> tuple[str, ...]:
    # comments repeat the same short phrases; long runs are not worth keeping in the cache
    if len(run) <= 32:
        return _segment_short(run)
    return tuple(_jieba().cut(run, HMM=True))


def tokenize(text: object) -> list[Token]:
    """Normalise ``text`` and split it into :class:`Token` s (see the module docstring)."""
    text = normalise(ensure_text(text))
    tokens: list[Token] = []
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup
        value = m.group()
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
    return tokens
