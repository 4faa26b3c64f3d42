"""The page of who to target next in a segment: its customers you see, ranked by the uplift
model's prediction, with the model's held-out Qini (``campaigns.uplift``)."""

from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from patron.campaigns.models import CampaignChannel, Segment
from patron.campaigns.uplift import MIN_MEMBERS_PER_GROUP, MIN_RESPONDERS_PER_GROUP, segment_uplift
from patron.core.models import User
from patron.insights.models import ValueClass

TOP = 50


@login_required
def segment_uplift_page(request: HttpRequest, pk: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=pk)
    # An unknown channel is ignored (all channels), as a list page ignores an unknown filter value.
    channel = request.GET.get("channel") or None
    if channel not in CampaignChannel.values:
        channel = None
    result = segment_uplift(cast(User, request.user), segment, channel=channel, top=TOP)
    labels = dict(ValueClass.choices)
    # Percentages (points) computed here: the template's arithmetic does not keep signs and decimals.
    rows = [(c, labels.get(c.value_class, "—"), 100 * c.uplift) for c in result.customers]
    classes = [
        {**row, "label": labels.get(row["value_class"], row["value_class"]),
         **{k: None if row[k] is None else 100 * row[k] for k in ("uplift", "low", "high")}}
        for row in (result.trained.by_class if result.trained else [])
    ]
    return render(
        request,
        "campaigns/uplift.html",
        {
            "segment": segment,
            "result": result,
            "rows": rows,
            "classes": classes,
            "qini_pct": None if result.trained is None else 100 * result.trained.qini,
            "mean_pct": None if result.mean_uplift is None else 100 * result.mean_uplift,
            "channel": channel or "",
            "channels": CampaignChannel.choices,
            "min_members": MIN_MEMBERS_PER_GROUP,
            "min_responders": MIN_RESPONDERS_PER_GROUP,
            "top": TOP,
        },
    )
