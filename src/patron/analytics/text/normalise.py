"""Text in, text out: input checks, normalisation and language detection.

:func:`normalise` is the first step of every comment: Unicode NFKC (full-width letters, digits
and punctuation become ASCII), Traditional Chinese characters mapped to Simplified (a character
table derived from OpenCC, ``data/t2s_chars.txt``), lower case, curly apostrophes made straight.
Regional words that differ from the mainland's beyond the characters (軟體 for 软件, 冇 for 没有)
are listed in the lexicons and taxonomies in their converted form.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from typing import Literal

import pandas as pd

from patron.analytics.errors import AnalyticsInputError
from patron.analytics.text._resources import read_lines

__all__ = [
    "HAN",
    "Language",
    "as_series",
    "detect_language",
    "ensure_text",
    "has_han",
    "normalise",
]

Language = Literal["zh", "en", "mixed", "unknown"]

#: Character class of Chinese characters (CJK unified ideographs, extension A, compatibility).
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RE = re.compile(f"[{HAN}]")
_LATIN_WORD_RE = re.compile(r"[A-Za-z]+")


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


def has_han(text: str) -> bool:
    return _HAN_RE.search(text) is not None


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


def as_series(comments: object, name: str = "comments") -> pd.Series:
    """``comments`` (a Series, or a list of texts) as a Series; anything that is not text or
    missing raises :class:`AnalyticsInputError` listing the offending index labels."""
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
        ensure_text(value)
    except AnalyticsInputError:
        return False
    return True
