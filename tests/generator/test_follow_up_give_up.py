"""The demo's team gives up on a case after a while: its open follow-ups are recent ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from patron.generator import simulate
from patron.generator.simulate import Population

END = "2026-06-30"


def test_cases_unresolved_past_the_limit_are_closed_as_not_reached() -> None:
    kept = simulate.simulate(2_000, 5, Population(end=END))
    cleared = simulate.simulate(2_000, 5, Population(end=END, follow_up_give_up_days=90))
    end = pd.Timestamp(END)
    # The same answers open the same cases; only the old unresolved ones differ.
    assert len(kept.follow_ups) == len(cleared.follow_ups)
    old_open = kept.follow_ups["closed_at"].isna() & (kept.follow_ups["opened_at"] < end - pd.Timedelta(days=90))
    assert old_open.sum() > 20  # without a limit, years-old cases stay open
    f = cleared.follow_ups
    open_now = f["closed_at"].isna()
    assert (f.loc[open_now, "opened_at"] >= end - pd.Timedelta(days=91)).all()
    gave_up = ~f["reached"]
    # Only cases that were left open give up, and about as many as were open that long.
    assert not (gave_up.to_numpy() & kept.follow_ups["closed_at"].notna().to_numpy()).any()
    assert abs(int(gave_up.sum()) - int(old_open.sum())) <= 3
    assert ((f.loc[gave_up, "closed_at"] - f.loc[gave_up, "opened_at"]) == pd.Timedelta(days=90)).all()
    assert f["reached"].to_numpy()[~gave_up.to_numpy()].all()


@pytest.mark.django_db
def test_written_as_could_not_reach_without_a_first_contact() -> None:
    from patron.feedback.models import FollowUp
    from patron.generator.writer import generate_dataset

    generate_dataset(400, 5, params=Population(end=END, follow_up_give_up_days=60))
    no_reach = FollowUp.objects.filter(outcome=FollowUp.Outcome.NO_REACH)
    assert no_reach.exists() and not no_reach.filter(first_contact_at__isnull=False).exists()
    resolved = FollowUp.objects.filter(outcome=FollowUp.Outcome.RESOLVED)
    assert resolved.exists() and not resolved.filter(first_contact_at__isnull=True).exists()
    assert np.all([f.closed_at is not None for f in no_reach])
