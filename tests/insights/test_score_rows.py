"""Score rows for the database: the column-wise conversion gives exactly the per-cell values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from patron.insights import services


def test_rows_match_cell_conversion_and_never_hold_nan() -> None:
    n = 5
    frame = pd.DataFrame(index=pd.Index([3, 1, 7, 9, 12], name="customer_id"))
    for name in services.SCORE_FIELDS:
        frame[name] = np.linspace(-2.5, 3.5, n)
    frame["p_alive"] = [0.5, np.nan, np.inf, 0.0, 1.0]
    frame["clv"] = None  # a model that was not fitted leaves an object column of None
    frame["r_score"] = [1.0, 5.0, np.nan, 3.0, 2.0]
    frame["value_class"] = ["most_valuable", None, "other", "below_zero", np.nan]
    frame["trend"] = ["up", "down", None, "flat", "up"]
    frame["rfm_segment"] = ["champions", "", None, "lost", "new"]
    frame["churn_reasons"] = [["detractor"], None, [], np.nan, ["low_spend", "few_purchases"]]
    frame["recommendations"] = [[np.int64(4), 5], None, [], np.nan, [7]]
    rows = services._rows(frame)
    expected = [
        (
            int(cid),
            tuple(services._cell(name, frame.loc[cid, name]) for name in services.SCORE_FIELDS),
        )
        for cid in frame.index
    ]
    assert rows == expected
    by_name = dict(
        zip(services.SCORE_FIELDS, zip(*(values for _, values in rows), strict=True), strict=True)
    )
    assert by_name["p_alive"] == (0.5, None, None, 0.0, 1.0)
    assert by_name["clv"] == (None,) * n
    assert by_name["r_score"] == (1, 5, None, 3, 2) and all(
        type(v) is int for v in by_name["r_score"] if v is not None
    )
    assert by_name["value_class"] == ("most_valuable", "", "other", "below_zero", "")
    assert by_name["recommendations"][0] == "[4, 5]"
    assert not any(isinstance(v, float) and math.isnan(v) for _, values in rows for v in values)


def test_json_lists_equal_in_value_but_not_in_type_are_encoded_apart() -> None:
    values = [[1, 2], [1.0, 2], [1, 2], [np.int64(1), 2], [[1], 2], ("a",), None, [1, 2]]
    got = services._json_column("recommendations", values)
    assert got == [services._cell("recommendations", v) for v in values]
    assert got[0] == got[2] == got[7] == got[3] == "[1, 2]" and got[1] == '["1.0", 2]'
