"""Who to target next: an uplift model learned from past campaigns, applied to a segment.

Training rows are the members of every launched campaign (optionally of one channel): the
scores they had at launch (CLV, churn risk, P(alive), RFM segment and value class, one-hot for
the last two), treatment = the member's group (intent to treat: a treated member the contact
budget skipped still counts as treated, as the split assigned them), outcome = responded. The
learner is ``analytics.uplift.TwoModelUplift`` (docs/campaigns.md#uplift). The model learns
from all members, whoever sees them (like every scoring model, it reports no one's record);
what it lists is only the segment's customers the reader sees, scored on their current scores.

Quality is the Qini coefficient on a held-out 30% of the members (seeded split): 0 is no better
than a random choice, 1 the perfect ranking. The model is then refitted on all members. Fitted
models are kept per process, keyed by the history's size and last change, so a page view does
not refit unless a campaign's members or responses changed.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Count, Max, Q, QuerySet

from patron.analytics.uplift import (
    TwoModelUplift,
    UpliftInputError,
    qini_coefficient,
    uplift_by_group,
)
from patron.campaigns.models import Campaign, CampaignGroup, CampaignMember, Segment
from patron.campaigns.selectors import segment_customers
from patron.core.models import User

FEATURES = ["clv", "churn_risk", "p_alive", "value_class", "rfm_segment"]
# Enough history to fit two models and judge them on a held-out part: the held-out 30% then
# holds at least 60 members of each group; with responses as rare as a few percent, fewer
# responders than these leave the per-group models guessing.
MIN_MEMBERS_PER_GROUP = 200
MIN_RESPONDERS_PER_GROUP = 10
HELD_OUT_SHARE = 0.3
SPLIT_SEED = 20_240
MAX_LIMIT = 500
_CACHE_SIZE = 8


@dataclass(frozen=True)
class History:
    treatment: int
    control: int
    treatment_responders: int
    control_responders: int

    @property
    def enough(self) -> bool:
        return (
            min(self.treatment, self.control) >= MIN_MEMBERS_PER_GROUP
            and min(self.treatment_responders, self.control_responders) >= MIN_RESPONDERS_PER_GROUP
        )


@dataclass(frozen=True)
class TrainedUplift:
    model: TwoModelUplift
    qini: float  # held-out Qini coefficient
    held_out: int
    by_class: list[dict[str, Any]]


@dataclass(frozen=True)
class RankedCustomer:
    customer_id: int
    name: str
    value_class: str
    clv: float | None
    churn_risk: float | None
    uplift: float


@dataclass(frozen=True)
class SegmentUplift:
    history: History
    channel: str | None
    trained: TrainedUplift | None = None
    scored: int = 0  # the segment's customers the reader sees, all scored by the model
    positive: int = 0  # of them, with a predicted uplift above zero
    mean_uplift: float | None = None
    customers: list[RankedCustomer] = field(default_factory=list)

    @property
    def enough_history(self) -> bool:
        return self.trained is not None


def _members(channel: str | None) -> QuerySet[CampaignMember]:
    qs = CampaignMember.objects.filter(campaign__status=Campaign.Status.LAUNCHED)
    return qs.filter(campaign__channel=channel) if channel else qs


def history_summary(channel: str | None = None) -> History:
    treated, responded = Q(group=CampaignGroup.TREATMENT), Q(responded_at__isnull=False)
    row = _members(channel).aggregate(
        t=Count("pk", filter=treated), c=Count("pk", filter=~treated),
        rt=Count("pk", filter=treated & responded), rc=Count("pk", filter=~treated & responded),
    )
    return History(row["t"], row["c"], row["rt"], row["rc"])


def history_frame(channel: str | None = None) -> pd.DataFrame:
    """One row per launched campaign's member: features at launch, ``treated``, ``responded``."""
    rows = _members(channel).order_by("pk").values_list("pk", "group", "responded_at", *FEATURES)
    frame = pd.DataFrame(list(rows), columns=["id", "group", "responded_at", *FEATURES])
    frame["treated"] = (frame["group"] == CampaignGroup.TREATMENT).astype(int)
    frame["responded"] = frame["responded_at"].notna().astype(int)
    for name in ("clv", "churn_risk", "p_alive"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    for name in ("value_class", "rfm_segment"):
        frame[name] = frame[name].fillna("").astype(str)
    return frame.drop(columns=["group", "responded_at"])


_trained: OrderedDict[tuple[Any, ...], TrainedUplift] = OrderedDict()


def _fingerprint(channel: str | None) -> tuple[Any, ...]:
    row = _members(channel).aggregate(n=Count("pk"), last=Max("pk"), r=Count("responded_at"), at=Max("responded_at"))
    return (channel, row["n"], row["last"], row["r"], row["at"])


def train(channel: str | None = None) -> TrainedUplift:
    """Fit on 70% of the members, measure the Qini on the rest, refit on all (cached)."""
    key = _fingerprint(channel)
    if key in _trained:
        _trained.move_to_end(key)
        return _trained[key]
    frame = history_frame(channel)
    held = np.random.default_rng(SPLIT_SEED).random(len(frame)) < HELD_OUT_SHARE
    fit_part, test_part = frame[~held], frame[held]
    first = TwoModelUplift().fit(fit_part, FEATURES, "treated", "responded")
    qini = qini_coefficient(test_part["responded"], test_part["treated"], first.predict_uplift(test_part))
    model = TwoModelUplift().fit(frame, FEATURES, "treated", "responded")
    table = uplift_by_group(frame.assign(value_class=frame["value_class"].replace("", "unscored")), "value_class", "treated", "responded")
    by_class = [
        {str(k): (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}
        for row in table.rename(columns={"group": "value_class"}).to_dict("records")
    ]
    trained = TrainedUplift(model=model, qini=float(qini), held_out=int(held.sum()), by_class=by_class)
    _trained[key] = trained
    while len(_trained) > _CACHE_SIZE:
        _trained.popitem(last=False)
    return trained


def _number(value: Any) -> float | None:
    return None if pd.isna(value) else float(value)


def segment_uplift(user: User, segment: Segment, *, channel: str | None = None, top: int = 50) -> SegmentUplift:
    """The segment's customers ``user`` sees, ranked by predicted uplift (the ``top`` first),
    with the model's held-out Qini; without ``trained`` when the history is too thin."""
    history = history_summary(channel)
    if not history.enough:
        return SegmentUplift(history=history, channel=channel)
    try:
        trained = train(channel)
    except UpliftInputError:
        # A part of the split with responders in one group only: as good as no history.
        return SegmentUplift(history=history, channel=channel)
    rows = segment_customers(user, segment.filter).values_list(
        "pk", "name", "score__value_class", "score__clv", "score__churn_risk", "score__p_alive", "score__rfm_segment"
    )
    frame = pd.DataFrame(list(rows), columns=["id", "name", "value_class", "clv", "churn_risk", "p_alive", "rfm_segment"])
    if frame.empty:
        return SegmentUplift(history=history, channel=channel, trained=trained)
    for name in ("clv", "churn_risk", "p_alive"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype(float)
    for name in ("value_class", "rfm_segment"):
        frame[name] = frame[name].fillna("").astype(str)
    frame["uplift"] = trained.model.predict_uplift(frame)
    best = frame.sort_values(["uplift", "id"], ascending=[False, True], kind="mergesort").head(max(1, min(top, MAX_LIMIT)))
    customers = [
        RankedCustomer(
            customer_id=int(cid), name=str(name), value_class=str(vc), clv=_number(clv), churn_risk=_number(risk),
            uplift=float(u),
        )
        for cid, name, vc, clv, risk, u in zip(
            best["id"], best["name"], best["value_class"], best["clv"], best["churn_risk"], best["uplift"], strict=True
        )
    ]
    return SegmentUplift(
        history=history, channel=channel, trained=trained, scored=len(frame),
        positive=int((frame["uplift"] > 0).sum()), mean_uplift=float(frame["uplift"].mean()), customers=customers,
    )
