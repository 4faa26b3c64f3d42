"""The figures docs/analytics/ quotes for forecasts on Patron's own generator, from one command.

    .venv/bin/python bench/forecast_checks.py --customers 20000 --seed 1

Simulates a book with the generator (``patron.generator.simulate``, no database) observed to
2025-12-31 and prints, each with the settings it ran with:

* value-class migration (quarterly classes as a scoring run draws them, 16 quarters): the
  back-test of the flow model (window 4 and every pair pooled) against "no change" and "last
  period's matrix", on 16 and on the last 8 quarters; the four-quarter forecast of the most
  valuable class from a year before the end, flow model against survivors only, with the
  counts that came; the Anderson-Goodman stationarity test;
* purchase models: BG/NBD and Pareto/NBD fitted on the book 26 weeks before the end, mean
  absolute error per customer and total error on the 26 weeks after (the scoring run's
  back-test, on every customer);
* churn: the out-of-time evaluation of the scoring run's churn model (AUC and Brier score, with
  and without the attitude features).
"""

from __future__ import annotations

import argparse
import time

import pandas as pd

from patron.analytics import clv, migration, migration_flows, value
from patron.analytics.pipeline import ScoringConfig, ScoringInputs, _churn, _summary
from patron.generator.frames import scoring_inputs
from patron.generator.simulate import simulate

AS_OF = pd.Timestamp("2025-12-31")
CLASSES = ("most_valuable", "other", "below_zero")


def labels_of(inputs: ScoringInputs, quarters: int) -> pd.DataFrame:
    last = pd.Period(AS_OF, freq="Q")
    by_q = value.profit_by_period(
        inputs.orders, inputs.costs, freq="Q", start=(last - quarters + 1).start_time, end=last.end_time
    )
    return value.classify_value(by_q, profit_col="profit", by="period")[["customer_id", "period", "value_class"]]


def migration_figures(inputs: ScoringInputs) -> None:
    labels = labels_of(inputs, 16)
    print("## Value-class migration (quarterly, most valuable / core / below zero)")
    print(migration.mix_by_period(labels, classes=CLASSES).to_string())
    recent = labels[labels["period"] > labels["period"].max() - 8]
    for name, frame in (("16 quarters", labels), ("last 8 quarters", recent)):
        for window in (4, None):
            back = migration_flows.backtest(frame, classes=CLASSES, window=window)
            print(f"\nback-test, {name}, window={window}: {back.n_forecasts} forecasts, "
                  f"beats no change: {back.beats_no_change}, beats last matrix: {back.beats_last_matrix}")
            print(back.errors.round(1).to_string())
    origin = labels["period"].max() - 4
    past = labels[labels["period"] <= origin]
    now = past.loc[past["period"] == origin, "value_class"].value_counts()
    flow = migration_flows.forecast_counts(migration_flows.flow_model(past, classes=CLASSES), now, 4)
    shares = migration.forecast_mix(
        migration.transition_matrix(past, classes=CLASSES), now.reindex(list(CLASSES)).fillna(0) / now.sum(), 4
    )
    actual = migration.mix_by_period(labels[labels["period"] > origin], classes=CLASSES)
    print(f"\nmost valuable, four quarters after {origin}:")
    print(pd.DataFrame({
        "flow model": flow["most_valuable"].to_numpy()[1:].round(0),
        "survivors only": (shares["most_valuable"] * now.sum()).to_numpy()[1:].round(0),
        "actual": actual["most_valuable"].to_numpy(),
    }, index=actual.index).to_string())
    st = migration_flows.stationarity_test(labels, classes=CLASSES)
    print(f"\nAnderson-Goodman: statistic {st.statistic:.1f}, df {st.df}, p = {st.p_value:.3g}")


def purchase_figures(inputs: ScoringInputs, holdout_weeks: int = 26) -> None:
    orders = inputs.orders
    cal_end = AS_OF - pd.Timedelta(weeks=holdout_weeks)
    summary = _summary(orders[orders["date"] < cal_end + pd.Timedelta(days=1)], cal_end)
    hold = orders[orders["date"] >= cal_end + pd.Timedelta(days=1)]
    hold = hold[hold["customer_id"].isin(summary.index)]
    actual = hold.assign(day=hold["date"].dt.normalize()).groupby("customer_id")["day"].nunique()
    actual = actual.reindex(summary.index).fillna(0.0)
    print(f"\n## Purchase models: calibration to {cal_end.date()}, {holdout_weeks}-week holdout, "
          f"{len(summary)} customers, {int(actual.sum())} holdout purchases")
    for name, cls in (("BG/NBD", clv.BetaGeo), ("Pareto/NBD", clv.ParetoNBD)):
        started = time.perf_counter()
        model = cls().fit(summary)
        predicted = model.expected_purchases(summary, float(holdout_weeks))
        mae = float((predicted - actual).abs().mean())
        total = 100 * (float(predicted.sum()) - float(actual.sum())) / float(actual.sum())
        print(f"{name}: MAE per customer {mae:.4f}, total error {total:+.1f}%, "
              f"fit {time.perf_counter() - started:.1f} s")


def churn_figures(inputs: ScoringInputs) -> None:
    config = ScoringConfig(as_of=AS_OF)
    scores = pd.DataFrame(index=pd.Index(inputs.customers["customer_id"].unique(), name="customer_id"))
    params: dict = {}
    diagnostics: dict = {}
    _churn(inputs.orders, inputs, config, AS_OF, scores, params, diagnostics, {})
    c = diagnostics["churn"]
    print(f"\n## Churn (horizon {config.churn_horizon_days} days; fitted {c['train_cutoff']}, "
          f"tested {c['test_cutoff']}; {c.get('n_test', '?')} customers tested)")
    print(f"behaviour and attitude: AUC {c['auc']:.3f}, Brier {c['brier']:.3f}")
    print(f"behaviour only:         AUC {c['auc_behaviour']:.3f}, Brier {c['brier_behaviour']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()
    inputs = scoring_inputs(simulate(args.customers, seed=args.seed))
    print(f"# Generated book: {args.customers} customers, seed {args.seed}, "
          f"{len(inputs.orders)} orders ({time.perf_counter() - started:.0f} s)\n")
    migration_figures(inputs)
    purchase_figures(inputs)
    churn_figures(inputs)


if __name__ == "__main__":
    main()
