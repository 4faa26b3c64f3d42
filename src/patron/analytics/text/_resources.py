"""Loading the package data files (lexicons, stop words, dictionaries), each read once."""

from __future__ import annotations

import functools
from importlib import resources

__all__ = ["read_lines", "read_table", "read_text"]

_PACKAGE = "patron.analytics.text"


def read_text(name: str) -> str:
    """The whole of ``data/<name>``."""
    return resources.files(_PACKAGE).joinpath("data", name).read_text(encoding="utf-8")


_text = read_text


@functools.cache
def read_lines(name: str) -> tuple[str, ...]:
    """Non-empty lines of ``data/<name>`` that are not ``#`` comments, stripped."""
    return tuple(
        line.strip()
        for line in _text(name).splitlines()
        if line.strip() and not line.startswith("#")
    )


@functools.cache
def read_table(
    name: str, min_fields: int, max_fields: int | None = None
) -> tuple[tuple[str, ...], ...]:
    """Tab-separated rows of ``data/<name>`` with ``min_fields`` to ``max_fields`` fields each.

    A malformed row raises ``ValueError`` naming the file and line, so a bad edit to a lexicon
    fails loudly at the first use instead of silently losing words.
    """
    rows = []
    for number, line in enumerate(_text(name).splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        fields = tuple(f.strip() for f in line.split("\t"))
        top = max_fields or min_fields
        if not min_fields <= len(fields) <= top or not all(fields):
            raise ValueError(
                f"{name} line {number}: expected {min_fields}-{top} tab-separated fields, "
                f"got {line!r}"
            )
        rows.append(fields)
    return tuple(rows)
