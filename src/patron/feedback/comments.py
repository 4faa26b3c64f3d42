"""Sentiment and themes of response comments, stored on the response when the comment is written.

Every write path calls this: the services (public link, kiosk, API, the thank-you page's comment)
one comment at a time, bulk writers (the generator) and the ``analyse_comments`` command (backfill,
or after the taxonomy changed) through :func:`analyse_texts`, which analyses each distinct text once.

Themes are stored as ``",price,delivery,"`` so "mentions theme X" is ``themes LIKE '%,X,%'`` on
SQLite and PostgreSQL alike, with no JSON functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def encode_themes(codes: Iterable[str]) -> str:
    codes = [c for c in codes if c]
    return f",{','.join(codes)}," if codes else ""


def decode_themes(stored: str) -> list[str]:
    return [c for c in stored.split(",") if c]


def theme_pattern(code: str) -> str:
    """What ``themes__contains`` looks for to find one theme."""
    return f",{code},"


def analyse_comment(text: str) -> tuple[float | None, str]:
    """(sentiment, encoded themes) of one comment; (None, "") when there is no text."""
    if not text or not text.strip():
        return None, ""
    # Imported here: jieba and the lexicons load on the first comment, not with every page.
    from patron.analytics.text import analyse

    result = analyse(text)
    return round(result.sentiment, 4), encode_themes(result.themes)


def sentiment(text: str, language: str = "") -> float:
    """The default sentiment function of follow-up rules (``f(text, language)``, see conf);
    the services pass the stored score instead of calling it when they have one."""
    return analyse_comment(text)[0] or 0.0


def analyse_texts(texts: Sequence[str]) -> list[tuple[float | None, str]]:
    """:func:`analyse_comment` over many comments; repeated texts are analysed once."""
    done: dict[str, tuple[float | None, str]] = {}
    out = []
    for text in texts:
        key = text or ""
        if key not in done:
            done[key] = analyse_comment(key)
        out.append(done[key])
    return out
