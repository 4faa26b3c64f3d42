"""Simulated data as the scoring pipeline's input frames, without a database.

What ``patron.insights.extract`` would read back after ``patron generate``, built straight from
a :class:`~patron.generator.simulate.Chunk`: the same columns, times as naive *local* time (the
business's calendar), money in currency units. Tests and notebooks use it to run the analytics
core on generated data in seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from patron.analytics.pipeline import ScoringInputs
from patron.generator.simulate import Chunk, Population


def _local(values: pd.Series, params: Population) -> pd.Series:
    return pd.to_datetime(values) + pd.Timedelta(hours=params.utc_offset_hours)


def scoring_inputs(chunk: Chunk, params: Population | None = None) -> ScoringInputs:
    """The frames of :class:`~patron.analytics.pipeline.ScoringInputs`, keyed by customer index."""
    params = params or Population()
    o = chunk.orders
    orders = pd.DataFrame(
        {
            "order_id": o["order_index"].to_numpy(),
            "customer_id": o["customer_index"].to_numpy(),
            "date": _local(o["ordered_at"], params),
            "revenue": o["revenue_cents"].to_numpy() / 100.0,
            "cogs": o["cogs_cents"].to_numpy() / 100.0,
        }
    )
    lines = pd.DataFrame(
        {
            "order_id": chunk.lines["order_index"].to_numpy(),
            "product_id": chunk.lines["product_index"].to_numpy(),
        }
    )
    e = chunk.cost_events
    costs = pd.DataFrame(
        {
            "customer_id": e["customer_index"].to_numpy(),
            "date": _local(e["occurred_at"], params),
            "amount": e["amount_cents"].to_numpy() / 100.0,
        }
    )
    r = chunk.responses
    nps = pd.DataFrame(
        {
            "customer_id": r["customer_index"].to_numpy(),
            "date": _local(r["answered_at"], params),
            "score": r["score"].to_numpy(dtype=np.int64),
        }
    )
    i = chunk.interactions
    interactions = pd.DataFrame(
        {
            "customer_id": i["customer_index"].to_numpy(),
            "date": _local(i["occurred_at"], params),
            "kind": i["channel"].to_numpy(),
        }
    )
    f = chunk.follow_ups
    follow_ups = pd.DataFrame(
        {
            "customer_id": f["customer_index"].to_numpy(),
            "opened_at": _local(f["opened_at"], params),
            "closed_at": _local(f["closed_at"], params),
        }
    )
    return ScoringInputs(
        orders=orders,
        lines=lines,
        costs=costs,
        customers=pd.DataFrame({"customer_id": chunk.customers["customer_index"].to_numpy()}),
        nps=nps,
        interactions=interactions,
        follow_ups=follow_ups,
    )
