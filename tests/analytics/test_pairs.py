"""Duplicate (a, b) pairs found by packing two integer keys equal pandas' own answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from patron.analytics import _pairs


@pytest.mark.parametrize(
    "frame",
    [
        pd.DataFrame({"a": [3, 1, 3, 1, 2, 3], "b": [7, 0, 7, 1, 0, 7]}, index=[10, 11, 12, 13, 14, 15]),
        pd.DataFrame({"a": np.random.default_rng(1).integers(0, 50, 5000), "b": np.random.default_rng(2).integers(0, 9, 5000)}),
        pd.DataFrame({"a": [-1, -1, 2], "b": [0, 0, 1]}),  # negative: pandas' path
        pd.DataFrame({"a": [1.0, np.nan, 1.0, np.nan], "b": [2, 2, 2, 2]}),  # missing: pandas' path
        pd.DataFrame({"a": [2**61, 2**61, 5], "b": [9, 9, 9]}),  # too wide to pack
        pd.DataFrame({"a": pd.Series([], dtype="int64"), "b": pd.Series([], dtype="int64")}),
    ],
)
def test_same_rows_as_pandas(frame):
    expected = frame.duplicated(["a", "b"])
    got = _pairs.duplicated(frame, "a", "b")
    pd.testing.assert_series_equal(got, expected, check_names=False)
    pd.testing.assert_frame_equal(_pairs.drop_duplicates(frame, "a", "b"), frame.drop_duplicates(["a", "b"]))


def test_packed_keys_do_not_collide_across_columns():
    # (1, 10) and (2, 0) would collide with a width of 10; the width is max(b) + 1 = 11.
    frame = pd.DataFrame({"a": [1, 2, 0], "b": [10, 0, 21]})
    assert not _pairs.duplicated(frame, "a", "b").any()
