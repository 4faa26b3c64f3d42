"""Campaign history with a known uplift per value class (``patron generate --campaigns K``).

After a data set is written, ``generate_campaign_history`` launches K campaigns in the past, each
over a random subset of the data set's customers split at random (seeded) into a contacted
treatment group and a control group. A member responds with probability

    BASE_RESPONSE[value class] + (1 if treated else 0) * TRUE_UPLIFT[value class]

and a responder brings revenue drawn from a gamma distribution (mean ``REVENUE_MEAN``) with
margin ``MARGIN_SHARE`` of it. The uplift model (``campaigns.uplift``) can therefore be checked
against ``TRUE_UPLIFT`` (tests/generator/test_campaign_history.py). The parameters are recorded
in the data set's ``truth["campaigns"]``.

The value class at launch is the customer's current one (``insights.CurrentScore``) when the
book is scored; otherwise, for a book just generated, it comes from the profit to date: below
zero when negative, else the top 20% by profit "most valuable", the next 30% "most growable" and
the rest "other" (same names, so the model and the pages read them alike). The other scores at
launch (CLV, churn risk, P(alive), RFM segment) are copied from the current scores, or left
empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
from django.db import transaction
from django.utils import timezone

from patron.campaigns.models import Campaign, CampaignChannel, CampaignGroup, CampaignMember
from patron.core import bulk
from patron.core.audit import audit_bulk
from patron.customers.models import Customer
from patron.generator.models import GeneratedDataset
from patron.insights.models import CurrentScore

#: Response probability of a control member, per value class at launch.
BASE_RESPONSE: dict[str, float] = {"most_valuable": 0.12, "most_growable": 0.06, "other": 0.04, "below_zero": 0.05}
#: What being contacted adds to it (the true uplift), per value class at launch.
TRUE_UPLIFT: dict[str, float] = {"most_valuable": 0.02, "most_growable": 0.08, "other": 0.03, "below_zero": -0.02}
REVENUE_MEAN = 80.0  # base currency, per responder
MARGIN_SHARE = 0.35
CONTROL_SHARE = 0.3
RESPONSE_WINDOW_DAYS = 30
CAMPAIGN_SPACING_DAYS = 60
CHANNELS = (CampaignChannel.EMAIL, CampaignChannel.PHONE, CampaignChannel.MAIL)
# Plain strings: a database driver may write an enum member by its name, not its value.
TREATED, CONTROL = CampaignGroup.TREATMENT.value, CampaignGroup.CONTROL.value
MEMBER_COLUMNS = [
    "campaign_id", "customer_id", "group", "value_class", "clv", "churn_risk", "p_alive", "rfm_segment",
    "channel", "contacted", "contacted_at", "skipped_reason", "responded_at", "response_source", "revenue", "margin",
]


class CampaignHistoryError(ValueError):
    """A request for campaign history the generator refuses, with a message for people."""


def campaign_name(seed: int, k: int) -> str:
    return f"Generated campaign {k + 1} (seed {seed})"


def delete_generated_campaigns(seed: int) -> int:
    """Remove the campaigns generated for ``seed`` (their members cascade); returns how many."""
    removed, _ = Campaign.objects.filter(name__startswith="Generated campaign ", name__endswith=f"(seed {seed})").delete()
    return removed


def launch_classes(customers: pd.DataFrame) -> pd.Series:
    """Value class at launch for customers without a current score, from profit to date."""
    profit = customers["profit_total"].astype(float)
    rank = profit.rank(ascending=False, method="first", pct=True)
    return pd.Series(
        np.select([profit < 0, rank <= 0.2, rank <= 0.5], ["below_zero", "most_valuable", "most_growable"], "other"),
        index=customers.index,
    )


def _book(seed: int) -> pd.DataFrame:
    prefix = f"gen-{seed}-"
    rows = Customer.objects.filter(external_id__startswith=prefix).order_by("pk").values_list("pk", "profit_total")
    frame = pd.DataFrame(list(rows), columns=["customer_id", "profit_total"])
    if frame.empty:
        raise CampaignHistoryError(f"There are no customers generated with seed {seed} to send campaigns to.")
    scores = pd.DataFrame(
        list(
            CurrentScore.objects.filter(customer__external_id__startswith=prefix).values_list(
                "customer_id", "value_class", "clv", "churn_risk", "p_alive", "rfm_segment"
            )
        ),
        columns=["customer_id", "scored_class", "clv", "churn_risk", "p_alive", "rfm_segment"],
    )
    frame = frame.merge(scores, on="customer_id", how="left")
    own = launch_classes(frame)
    scored = frame["scored_class"].fillna("").astype(str)
    frame["value_class"] = scored.where(scored != "", own)
    frame["rfm_segment"] = frame["rfm_segment"].fillna("")
    return frame


@dataclass(frozen=True)
class CampaignHistory:
    campaigns: list[int]
    members: int
    truth: dict[str, Any]


def _none(values: pd.Series) -> list[Any]:
    return [None if pd.isna(v) else float(v) for v in values]


def generate_campaign_history(
    *,
    seed: int,
    campaigns: int,
    members: int = 5_000,
    control_share: float = CONTROL_SHARE,
    dataset: GeneratedDataset | None = None,
    now: datetime | None = None,
) -> CampaignHistory:
    """Launch ``campaigns`` past campaigns over the customers generated with ``seed``.

    Each takes ``members`` customers at random (all of them when fewer), ``control_share`` of
    them (seeded) as control. Campaign k (0-based) is launched ``30 + 60 * (K - 1 - k)`` days
    before ``now``, so every response window has closed. Earlier campaigns generated for the
    seed are replaced. The parameters go to ``dataset.truth["campaigns"]`` when given.
    """
    if not isinstance(campaigns, int) or campaigns < 1:
        raise CampaignHistoryError("The number of campaigns must be a whole number of at least 1.")
    if not isinstance(members, int) or members < 2:
        raise CampaignHistoryError("Each campaign needs at least 2 members.")
    if not 0 < control_share < 1:
        raise CampaignHistoryError("The control share must be strictly between 0 and 1.")
    now = now or timezone.now()
    book = _book(seed)
    base = book["value_class"].map(BASE_RESPONSE).to_numpy(dtype=float)
    lift = book["value_class"].map(TRUE_UPLIFT).to_numpy(dtype=float)
    ids: list[int] = []
    written = 0
    with transaction.atomic():
        delete_generated_campaigns(seed)
        for k in range(campaigns):
            rng = np.random.default_rng([seed, 2_024, k])  # one stream per campaign
            launched = now - timedelta(days=RESPONSE_WINDOW_DAYS + CAMPAIGN_SPACING_DAYS * (campaigns - 1 - k))
            channel = CHANNELS[k % len(CHANNELS)]
            campaign = Campaign.objects.create(
                name=campaign_name(seed, k), channel=channel, offer="Generated offer",
                starts_on=timezone.localdate(launched), ends_on=timezone.localdate(launched) + timedelta(days=14),
                response_window_days=RESPONSE_WINDOW_DAYS, control_share=control_share,
                status=Campaign.Status.LAUNCHED, seed=int(seed * 1_000 + k), launched_at=launched,
            )
            ids.append(campaign.pk)
            chosen = np.sort(rng.choice(len(book), size=min(members, len(book)), replace=False))
            treated = rng.random(chosen.size) >= control_share
            p = np.clip(base[chosen] + treated * lift[chosen], 0.0, 1.0)
            responded = rng.random(chosen.size) < p
            after = rng.uniform(0, RESPONSE_WINDOW_DAYS * 86_400, chosen.size)
            revenue = np.round(rng.gamma(2.0, REVENUE_MEAN / 2.0, chosen.size), 2) * responded
            part = book.iloc[chosen]
            rows = [
                [
                    campaign.pk, int(cid), TREATED if t else CONTROL, vc, clv, churn,
                    alive, rfm, channel.value, bool(t), launched if t else None, "",
                    launched + timedelta(seconds=float(s)) if r else None, "generated" if r else "",
                    Decimal(f"{v:.2f}"), Decimal(f"{v * MARGIN_SHARE:.2f}"),
                ]
                for cid, vc, clv, churn, alive, rfm, t, r, s, v in zip(
                    part["customer_id"], part["value_class"], _none(part["clv"]), _none(part["churn_risk"]),
                    _none(part["p_alive"]), part["rfm_segment"], treated, responded, after, revenue, strict=True,
                )
            ]
            bulk.insert(CampaignMember, MEMBER_COLUMNS, rows)
            written += len(rows)
        truth = {
            "campaigns": campaigns, "members_per_campaign": members, "control_share": control_share,
            "base_response": BASE_RESPONSE, "true_uplift": TRUE_UPLIFT, "revenue_mean": REVENUE_MEAN,
            "margin_share": MARGIN_SHARE, "response_window_days": RESPONSE_WINDOW_DAYS,
            "campaign_ids": ids, "members": written,
            "value_class_from": "scores" if book["scored_class"].notna().any() else "profit to date",
        }
        audit_bulk("campaigns.generate", object_type="campaign", ids=ids, details={"seed": seed, "members": written})
        if dataset is not None:
            dataset.truth = {**(dataset.truth or {}), "campaigns": truth}
            dataset.save(update_fields=["truth"])
    return CampaignHistory(campaigns=ids, members=written, truth=truth)
