"""Possible duplicates: customers sharing an email, a phone number or a name, flagged in pairs."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from patron.customers.models import Customer
from patron.imports.models import PossibleDuplicate
from patron.imports.parsing import normalise_email, normalise_name, normalise_phone

# A value shared by more customers than this (a switchboard number, a very common name) says
# nothing about any two of them and is not used to flag duplicates.
DUPLICATE_GROUP_LIMIT = 25


def _keys(name: str, email: str, phone: str) -> list[tuple[str, str]]:
    keys = []
    if email and (e := normalise_email(email)):
        keys.append(("email", e))
    digits = normalise_phone(phone)
    if len(digits) >= 6:
        keys.append(("phone", digits))
    if n := normalise_name(name):
        keys.append(("name", n))
    return keys


def possible_duplicates_flag(*, customer_ids: Iterable[int] | None = None) -> int:
    """Flag pairs of customers sharing an email, a phone number (digits only) or a normalised
    name (casefolded, without spaces and punctuation; Chinese names as written), where at least
    one of the pair is in ``customer_ids`` (every customer if None). Pairs already flagged or
    dismissed are left alone. Returns the number of new pairs."""
    targets: set[int] | None = None if customer_ids is None else {int(pk) for pk in customer_ids}
    wanted: set[tuple[str, str]] | None = None
    if targets is not None:
        wanted = set()
        ids = sorted(targets)
        for start in range(0, len(ids), 2000):
            for name, email, phone in Customer.objects.filter(pk__in=ids[start : start + 2000]).values_list(
                "name", "email", "phone"
            ):
                wanted.update(_keys(name, email, phone))
        if not wanted:
            return 0
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for pk, name, email, phone in Customer.objects.order_by().values_list("pk", "name", "email", "phone").iterator(
        chunk_size=5000
    ):
        for key in _keys(name, email, phone):
            if wanted is None or key in wanted:
                groups[key].append(pk)
    pairs: dict[tuple[int, int], set[str]] = defaultdict(set)
    for (reason, _value), ids in groups.items():
        if not 2 <= len(ids) <= DUPLICATE_GROUP_LIMIT:
            continue
        for i, a in enumerate(ids):
            for b in ids[i + 1 :]:
                if targets is None or a in targets or b in targets:
                    pairs[(min(a, b), max(a, b))].add(reason)
    if not pairs:
        return 0
    known: set[tuple[int, int]] = set()
    firsts = sorted({a for a, _b in pairs})
    for start in range(0, len(firsts), 2000):
        known.update(
            PossibleDuplicate.objects.filter(customer_id__in=firsts[start : start + 2000]).values_list(
                "customer_id", "other_id"
            )
        )
    new = [
        PossibleDuplicate(customer_id=a, other_id=b, reasons=sorted(reasons))
        for (a, b), reasons in sorted(pairs.items())
        if (a, b) not in known
    ]
    PossibleDuplicate.objects.bulk_create(new, batch_size=2000, ignore_conflicts=True)
    return len(new)
