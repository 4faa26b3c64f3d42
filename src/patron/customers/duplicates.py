"""Possible duplicates: customers sharing an email, a phone number or a name, flagged in pairs.

Every write of a customer flags its pairs: the customer services (the API, the admin) for the one
customer they wrote, an import for the customers it touched, a merge for the one it kept. Each
key is an indexed column, so flagging one customer is a few index look-ups, not a pass over the
book: the email by ``Lower("email")`` (index ``customers_email_lower``), the phone by
``phone_digits`` (the E.164 digits, customers/phones.py), the name by ``name_key`` (``name_key``
below). The pairs are reviewed, merged or dismissed on the Possible duplicates page (imports).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Count, QuerySet
from django.db.models.functions import Lower

from patron.customers.models import Customer, PossibleDuplicate

# A value shared by more customers than this (a switchboard number, a very common name) says
# nothing about any two of them and is not used to flag duplicates.
DUPLICATE_GROUP_LIMIT = 25
MIN_PHONE_DIGITS = 6  # shorter numbers (extensions, typos) say nothing either
CHUNK = 2000

_NAME_JUNK = re.compile(r"[\W_]+", re.UNICODE)


def has_cjk(text: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


def name_key(name: str) -> str:
    """The name as duplicates compare it: casefolded without spaces and punctuation ("Zhang,  Wei"
    and "zhang wei" are one); a Chinese name as written (张伟 and 张 伟 differ)."""
    name = (name or "").strip()
    if has_cjk(name):
        return name[:200]
    return _NAME_JUNK.sub("", name.casefold())[:200]


def email_key(email: str) -> str:
    return (email or "").strip().lower()


# The reasons a pair is flagged, and the column each compares (an annotation for the email).
_COLUMNS = {"email": "email_lower", "phone": "phone_digits", "name": "name_key"}


def _customers() -> QuerySet[Customer]:
    return Customer.objects.order_by().annotate(email_lower=Lower("email"))


def _target_keys(ids: list[int]) -> dict[str, set[str]]:
    wanted: dict[str, set[str]] = {reason: set() for reason in _COLUMNS}
    for start in range(0, len(ids), CHUNK):
        rows = Customer.objects.filter(pk__in=ids[start : start + CHUNK]).values_list("email", "phone_digits", "name_key")
        for email, digits, name in rows:
            if e := email_key(email):
                wanted["email"].add(e)
            if len(digits) >= MIN_PHONE_DIGITS:
                wanted["phone"].add(digits)
            if name:
                wanted["name"].add(name)
    return wanted


def _groups(reason: str, values: set[str] | None) -> dict[str, list[int]]:
    """The customers sharing each value of the key (``values``, or every value if None), for the
    values held by 2 to DUPLICATE_GROUP_LIMIT customers."""
    column = _COLUMNS[reason]
    qs = _customers().exclude(**{column: ""})
    chunks: list[list[str] | None] = [None] if values is None else [
        sorted(values)[i : i + CHUNK] for i in range(0, len(values), CHUNK)
    ]
    groups: dict[str, list[int]] = {}
    if values is not None and len(values) == 1:
        # One customer's value (an API call, a form): one look-up, bounded.
        (value,) = values
        ids = list(qs.filter(**{column: value}).values_list("pk", flat=True)[: DUPLICATE_GROUP_LIMIT + 1])
        return {value: ids} if 2 <= len(ids) <= DUPLICATE_GROUP_LIMIT else {}
    for chunk in chunks:
        some = qs if chunk is None else qs.filter(**{f"{column}__in": chunk})
        shared = [
            value
            for value, n in some.values(column).annotate(n=Count("pk")).values_list(column, "n")
            if 2 <= n <= DUPLICATE_GROUP_LIMIT and (reason != "phone" or len(value) >= MIN_PHONE_DIGITS)
        ]
        for start in range(0, len(shared), CHUNK):
            for pk, value in qs.filter(**{f"{column}__in": shared[start : start + CHUNK]}).values_list("pk", column):
                groups.setdefault(value, []).append(pk)
    return groups


def possible_duplicates_flag(*, customer_ids: Iterable[int] | None = None) -> int:
    """Flag pairs of customers sharing an email (whatever its case), a phone number (its E.164
    digits) or a name (``name_key``), where at least one of the pair is in ``customer_ids``
    (every customer if None). Pairs already flagged or dismissed are left alone. Returns the
    number of new pairs."""
    targets: set[int] | None = None if customer_ids is None else {int(pk) for pk in customer_ids}
    wanted: dict[str, set[str]] | None = None
    if targets is not None:
        if not targets:
            return 0
        wanted = _target_keys(sorted(targets))
        if not any(wanted.values()):
            return 0
    pairs: dict[tuple[int, int], set[str]] = defaultdict(set)
    for reason in _COLUMNS:
        values = None if wanted is None else wanted[reason]
        if values is not None and not values:
            continue
        for ids in _groups(reason, values).values():
            ids.sort()
            for i, a in enumerate(ids):
                for b in ids[i + 1 :]:
                    if targets is None or a in targets or b in targets:
                        pairs[(a, b)].add(reason)
    if not pairs:
        return 0
    known: set[tuple[int, int]] = set()
    firsts = sorted({a for a, _b in pairs})
    for start in range(0, len(firsts), CHUNK):
        known.update(
            PossibleDuplicate.objects.filter(customer_id__in=firsts[start : start + CHUNK]).values_list(
                "customer_id", "other_id"
            )
        )
    new = [
        PossibleDuplicate(customer_id=a, other_id=b, reasons=sorted(reasons))
        for (a, b), reasons in sorted(pairs.items())
        if (a, b) not in known
    ]
    PossibleDuplicate.objects.bulk_create(new, batch_size=CHUNK, ignore_conflicts=True)
    return len(new)


def open_duplicates_of(customer_ids: Iterable[int], among: QuerySet[Customer]) -> dict[int, list[int]]:
    """For each customer of ``customer_ids``, the other customers of its open pairs that are in
    ``among`` (the reader's ``visible_customers``), in id order: one query."""
    ids = sorted({int(pk) for pk in customer_ids})
    found: dict[int, list[int]] = {pk: [] for pk in ids}
    if not ids:
        return found
    visible = among.order_by().values("pk")
    rows = PossibleDuplicate.objects.filter(status=PossibleDuplicate.Status.OPEN)
    for a, b in rows.filter(customer_id__in=ids, other__in=visible).values_list("customer_id", "other_id"):
        found[a].append(b)
    for a, b in rows.filter(other_id__in=ids, customer__in=visible).values_list("customer_id", "other_id"):
        found[b].append(a)
    return {pk: sorted(set(others)) for pk, others in found.items()}
