"""Each customer's preferred channel, learned from their responses to past contacts.

A contact is a campaign message that went out (``CampaignMember.contacted``; a response is
``responded_at``) or a survey invitation sent by email (``Invitation.sent_at`` or answered; a
response is ``answered_at``). Links, kiosks and the API are not contacts on a campaign channel,
so they do not count. The maths (an empirical-Bayes Beta prior per channel) is
``analytics.channels``; this module reads the counts in aggregates: the book's per-channel totals
in one query, and each customer's counts per channel in chunks of ids (two grouped queries per
chunk), so it serves one customer on the 360° page and a million at a campaign's launch (the prior is
estimated on a sample of customers on a large book: ``channel_priors``).

Callers pass the ids of customers they may see; this module does not filter by visibility.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import cast

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Max, Q

from patron.analytics.channels import (
    ChannelPrior,
    ChannelTotals,
    Preference,
    channel_prior,
    preferred,
)
from patron.campaigns.models import CampaignChannel, CampaignMember
from patron.customers.models import Customer
from patron.feedback.models import Channel as InvitationChannel
from patron.feedback.models import Invitation

__all__ = ["CHUNK", "Preference", "channel_preferences", "channel_priors", "preferred_channel_for"]

CHUNK = 5000  # ids per IN (...) list: below every database's limit on parameters
WHOLE_BOOK_FROM = 50_000  # from this many ids on, the contacts of everyone are grouped once
PRIOR_SAMPLE = 50_000  # customers the book's prior is estimated on
# The book's prior moves with thousands of contacts, not one: kept this long per process, so the
# 360° page does not pay its query (about 0.2 s at a million customers) on every view.
PRIOR_CACHE_SECONDS = 600

_INVITATION_SENT = Q(channel=InvitationChannel.EMAIL, customer__isnull=False) & (
    Q(sent_at__isnull=False) | Q(answered_at__isnull=False)
)


def channel_priors(sample: int | None = None) -> dict[str, ChannelPrior]:
    """Each campaign channel's book-wide rate and prior strength, in one query: the contacts
    grouped per customer and channel, then summed per channel (``analytics.channels``).

    On a large book the prior is estimated on a systematic sample of about ``sample`` customers
    (``PRIOR_SAMPLE``; those whose id is a multiple of ``max id // sample``): a rate and a spread,
    not a per-customer figure, so a sample of tens of thousands pins them down, and the 360° page
    pays a fraction of a second instead of grouping every contact of the book."""
    qn = connection.ops.quote_name
    members, invitations = CampaignMember._meta.db_table, Invitation._meta.db_table
    top = Customer.objects.aggregate(top=Max("pk"))["top"] or 0
    step = max(top // (sample or PRIOR_SAMPLE), 1)
    sampled = f" AND {qn('customer_id')} %% %s = 0" if step > 1 else ""
    sql = (
        "SELECT channel, COUNT(*), SUM(n), SUM(r), SUM(1.0 * r * r / n), SUM(n - 1) FROM ("  # noqa: S608 - names from models
        " SELECT customer_id, channel, COUNT(*) AS n, SUM(resp) AS r FROM ("
        f"  SELECT {qn('customer_id')} AS customer_id, {qn('channel')} AS channel,"
        f"   CASE WHEN {qn('responded_at')} IS NULL THEN 0 ELSE 1 END AS resp"
        f"   FROM {qn(members)} WHERE {qn('contacted')} = %s{sampled}"
        "  UNION ALL"
        f"  SELECT {qn('customer_id')}, %s, CASE WHEN {qn('answered_at')} IS NULL THEN 0 ELSE 1 END"
        f"   FROM {qn(invitations)} WHERE {qn('channel')} = %s AND {qn('customer_id')} IS NOT NULL"
        f"   AND ({qn('sent_at')} IS NOT NULL OR {qn('answered_at')} IS NOT NULL){sampled}"
        " ) u GROUP BY customer_id, channel"
        ") c GROUP BY channel"
    )
    email = str(CampaignChannel.EMAIL.value)
    params: list[bool | int | str] = (
        [True, step, email, str(InvitationChannel.EMAIL.value), step]
        if step > 1 else [True, email, str(InvitationChannel.EMAIL.value)]
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return {
        str(channel): channel_prior(ChannelTotals(int(k), int(n), int(r), float(r2n), float(nm1)))
        for channel, k, n, r, r2n, nm1 in rows
    }


def _counts(ids: list[int] | None) -> dict[int, dict[str, tuple[int, int]]]:
    """Contacts and responses per customer and channel: of ``ids``, or of everyone (None)."""
    out: dict[int, dict[str, tuple[int, int]]] = defaultdict(dict)
    of = {} if ids is None else {"customer_id__in": ids}
    members = (
        CampaignMember.objects.filter(contacted=True, **of)
        .values("customer_id", "channel")
        .annotate(n=Count("pk"), r=Count("pk", filter=Q(responded_at__isnull=False)))
        .order_by()
    )
    for row in members:
        out[row["customer_id"]][row["channel"]] = (row["n"], row["r"])
    invitations = (
        Invitation.objects.filter(_INVITATION_SENT, **of)
        .values("customer_id")
        .annotate(n=Count("pk"), r=Count("pk", filter=Q(answered_at__isnull=False)))
        .order_by()
    )
    email = CampaignChannel.EMAIL.value
    for answered in invitations:
        n, r = out[answered["customer_id"]].get(email, (0, 0))
        out[answered["customer_id"]][email] = (n + answered["n"], r + answered["r"])
    return out


def _cached_priors() -> dict[str, ChannelPrior]:
    cached = cache.get("campaigns.channel_priors")
    if cached is None:
        cached = channel_priors()
        cache.set("campaigns.channel_priors", cached, PRIOR_CACHE_SECONDS)
    return cast(dict[str, ChannelPrior], cached)


def channel_preferences(
    customer_ids: Iterable[int], *, priors: Mapping[str, ChannelPrior] | None = None
) -> dict[int, Preference]:
    """``{customer id: Preference(channel, rate, contacts, responses)}`` for those of
    ``customer_ids`` contacted at least once (the others are absent)."""
    book = priors if priors is not None else _cached_priors()
    ids = list(dict.fromkeys(int(i) for i in customer_ids))
    if len(ids) > WHOLE_BOOK_FROM:
        # A large share of the book (a campaign's launch): two grouped scans of the contacts beat
        # hundreds of IN lists, each of which PostgreSQL answers with scans of its own.
        wanted = set(ids)
        grouped = {k: v for k, v in _counts(None).items() if k in wanted}
    else:
        grouped = {}
        for start in range(0, len(ids), CHUNK):
            grouped.update(_counts(ids[start:start + CHUNK]))
    out: dict[int, Preference] = {}
    for customer_id, counts in grouped.items():
        pref = preferred(counts, book)
        if pref is not None:
            out[customer_id] = pref
    return out


def preferred_channel_for(customer_ids: Iterable[int], default: str) -> dict[int, str]:
    """The channel to reach each customer on: their preferred one, else ``default`` (a campaign's
    channel when ``use_preferred_channel`` is set). Every id given is in the answer."""
    ids = list(dict.fromkeys(int(i) for i in customer_ids))
    prefs = channel_preferences(ids)
    return {i: prefs[i].channel if i in prefs else default for i in ids}
