"""Finding people by name the way Chinese users type: characters, full pinyin or initials.

A record's ``name_search`` key (``customers.selectors.search_key``) holds the pinyin with
spaces, joined, and the initials: 张伟 -> "zhang wei zhangwei zw". A query becomes word
prefixes that must all start some word of the key, so "zhang wei", "zhangwei", "zhangw" and
"zw" all find 张伟. A query in Chinese characters is matched through its pinyin (indexed) and
then on the characters themselves, so 张伟 does not find the homophone 章维.

On PostgreSQL the prefixes run as a full-text query over a GIN index on
``to_tsvector('simple', name_search)`` (created by the customers migration 0002), so the
search stays fast on millions of rows. SQLite has no such index; it scans with LIKE.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from django.db import connection
from django.db.models import BooleanField, F, Func, Model, Q, QuerySet, Value
from django.db.models.functions import Coalesce

from patron.customers.phones import digits, phone_prefixes

M = TypeVar("M", bound=Model)

CJK = re.compile(r"[\u3400-\u9fff]+")
WORD = re.compile(r"[a-z0-9]+")
MAX_WORDS = 6
MAX_QUERY = 100


class WordPrefixes(Func):
    """``to_tsvector('simple', <column>) @@ to_tsquery('simple', 'w1:* & w2:*')`` (PostgreSQL)."""

    output_field = BooleanField()
    conditional = True

    def __init__(self, column: str, words: list[str]) -> None:
        super().__init__(F(column))
        # Words are [a-z0-9]+ only, so they need no escaping inside a tsquery.
        self.tsquery = " & ".join(f"{w}:*" for w in words)

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        column, params = compiler.compile(self.source_expressions[0])
        return f"to_tsvector('simple', {column}) @@ to_tsquery('simple', %s)", [
            *params,
            self.tsquery,
        ]


def query_words(q: str) -> tuple[list[str], list[str]]:
    """The pinyin/latin word prefixes of a query and its runs of Chinese characters."""
    from pypinyin import lazy_pinyin

    q = q.strip().lower()[:MAX_QUERY]
    han = CJK.findall(q)
    # lazy_pinyin turns Chinese characters into syllables and passes other text through.
    text = " ".join(lazy_pinyin(q)) if han else q
    words = WORD.findall(text)
    return words[:MAX_WORDS], han


def name_match(q: str, *, key: str = "name_search", name: str = "name") -> Q | None:
    """A filter matching records whose name fits ``q``; None when ``q`` has nothing to match."""
    words, han = query_words(q)
    if not words:
        return None
    if connection.vendor == "postgresql":
        match = Q(WordPrefixes(key, words))
    else:
        match = Q()
        for w in words:
            match &= Q(**{f"{key}__startswith": w}) | Q(**{f"{key}__contains": f" {w}"})
    for run in han:
        match &= Q(**{f"{name}__contains": run})
    return match


PROBE = 5000  # matches beyond which a search counts as broad (see first_by_name)


def first_by_name(matches: QuerySet[M], n: int, *, first_keystroke: bool = False) -> list[M]:
    """The first ``n`` of ``matches`` in name order.

    A search is fastest found through the search index and its matches sorted; walking the name
    index instead filters every name that sorts before the first match, which for a clustered
    match ("li na": names starting with 李) is most of the table (1.7 s against 0.3 s at a million
    customers). Only a first keystroke ("w") matches so many names, spread over the whole order,
    that sorting them all costs more (2.0 s) than walking the name index (0.6 s) (a Chinese
    character is no such keystroke: 王 matches a cluster of names); one bounded
    probe then checks that it really is broad (more than ``PROBE`` matches) before walking.
    """
    if first_keystroke:
        probe = matches.order_by().values_list("pk", flat=True)[: PROBE + 1]
        if len(probe) > PROBE:
            return list(matches.order_by("name", "pk")[:n])
    return list(matches.order_by(by_name_of_matches(), "pk")[:n])


def by_name_of_matches() -> Coalesce:
    """Sort key for search results: the name, hidden from the planner's name index.

    Ordered by the bare name, PostgreSQL walks the (name, id) index and filters every row until it
    has a page of matches; for a common prefix like "zw" whose names sort late that is most of the
    table (2.3 s at a million customers). Sorting the matches found through the search indexes is
    what a selective query needs.
    """
    return Coalesce(F("name"), Value(""))


def looks_like_phone(q: str) -> bool:
    digits = sum(ch.isdigit() for ch in q)
    return digits >= 3 and all(ch.isdigit() or ch in "+-() " for ch in q)


def phone_match(q: str, *, phone_digits: str = "phone_digits") -> Q | None:
    """A phone typed from its start, in any form ("16613207659", "166 1320", "+86 166-1320",
    "021 6232"): its digits against the start of the indexed E.164 digits, with and without the
    default country code (``customers.phones.phone_prefixes``); None when ``q`` is no phone."""
    if not looks_like_phone(q):
        return None
    match: Q | None = None
    for prefix in phone_prefixes(q):
        part = Q(**{f"{phone_digits}__startswith": prefix})
        match = part if match is None else match | part
    return match


def phone_contains(text: str, *, phone_digits: str = "phone_digits") -> Q:
    """A phone containing the digits of ``text`` anywhere (the API's ``q``, a substring search);
    a match of nothing when ``text`` is no phone."""
    if not looks_like_phone(text.strip()):
        return Q(pk__in=[])
    return Q(**{f"{phone_digits}__contains": digits(text)})


def contact_point_match(q: str, *, email: str = "email", phone_digits: str = "phone_digits") -> Q | None:
    """Email or phone typed from its start (indexed prefix matches)."""
    q = q.strip()
    if looks_like_phone(q):
        return phone_match(q, phone_digits=phone_digits)
    if q and not any(ch.isspace() for ch in q) and not CJK.search(q):
        return Q(**{f"{email}__istartswith": q})
    return None


def customer_match(q: str) -> Q | None:
    """Customers by name (characters or pinyin), email, phone or external id."""
    parts = [name_match(q), contact_point_match(q)]
    if q.strip():
        parts.append(Q(external_id__startswith=q.strip()))
    match: Q | None = None
    for part in parts:
        if part is not None:
            match = part if match is None else match | part
    return match
