"""Benchmark: CLV model fitting and prediction, Patron vs lifetimes and pymc-marketing.

    .venv/bin/python bench/bench_clv.py --customers 1000000

Simulates ``--customers`` customers from the BG/NBD process with the CDNOW parameters of
Fader, Hardie & Lee (2005) (acquired over 12 weeks, observed to week 39, dates to the day,
like the CDNOW sample), and ``--gg-customers`` repeat customers' mean spends from the
Gamma-Gamma model with the parameters of Fader & Hardie's note. Then, in the same process:

* Patron: BG/NBD, Pareto/NBD and Gamma-Gamma fits (maximum likelihood, standard errors
  included; best and median of ``--rounds``) and predictions for every customer (best and
  median of ``--predict-rounds``: they take a tenth of a second, so on a shared machine one
  round says little), including Gamma-Gamma ``expected_spend`` and ``lifetime_value`` on the
  ``--customers`` summary (its repeat customers given simulated mean spends);
* lifetimes 0.11.3: ``BetaGeoFitter`` and ``GammaGammaFitter`` on the same data and its
  predictions; ``ParetoNBDFitter`` on a random subsample of ``--pareto-peer-customers``
  (it takes ~7 minutes at a million), timed against Patron on the same subsample;
* pymc-marketing ``BetaGeoModel`` MAP fit (default priors) if it is installed
  (``uv sync --group bench``); skipped with a note otherwise.

Log-likelihoods are all evaluated with the same formula (Patron's, which the tests check
against lifetimes' own to 1e-9), at each tool's parameters, on the full data. Writes a
Markdown report to ``--output`` (default bench/results/clv.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from patron.analytics import clv
from patron.analytics.clv import bgnbd, gammagamma, paretonbd
from patron.analytics.clv._base import group_rows

BG_TRUTH = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
GG_TRUTH = {"p": 6.25, "q": 3.74, "gamma": 15.44}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


CPU_TIMES: dict[int, list[float]] = {}  # id(times list) -> CPU seconds of each round


def timed(fn: Callable[[], Any], rounds: int) -> tuple[list[float], Any]:
    """Wall-clock seconds of each round (and, on the side, the process CPU seconds: on a
    shared machine wall time includes waiting for a core, CPU time does not)."""
    times: list[float] = []
    cpu: list[float] = []
    out = None
    for _ in range(rounds):
        c, t = time.process_time(), time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    CPU_TIMES[id(times)] = cpu
    return times, out


def bg_ll(params: dict[str, float], s: pd.DataFrame) -> float:
    d = bgnbd._prepare(s["frequency"].to_numpy(float), s["recency"].to_numpy(), s["T"].to_numpy())
    theta = np.log([params[k] for k in ("r", "alpha", "a", "b")])
    return -bgnbd._nll(theta, d)[0] * d.total


def pn_ll(params: dict[str, float], s: pd.DataFrame) -> float:
    d = paretonbd._prepare(s["frequency"].to_numpy(float), s["recency"].to_numpy(), s["T"].to_numpy())
    theta = np.log([params[k] for k in ("r", "alpha", "s", "beta")])
    return -paretonbd._nll(theta, d)[0] * d.total


def gg_ll(params: dict[str, float], g: pd.DataFrame) -> float:
    x, m = g["frequency"].to_numpy(float), g["monetary_value"].to_numpy()
    (xs,), nx = group_rows(x)
    data = gammagamma._GGData(xs, nx, x, x * m, float(x @ np.log(m)), float(len(x)))
    theta = np.log([params[k] for k in ("p", "q", "gamma")])
    return -gammagamma._Objective(data)(theta)[0] * len(x) - float(np.log(m).sum())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--gg-customers", type=int, default=500_000, help="repeat customers for Gamma-Gamma")
    ap.add_argument("--pareto-peer-customers", type=int, default=20_000,
                    help="subsample on which lifetimes' ParetoNBDFitter is timed (0: full data)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--predict-rounds", type=int, default=9, help="rounds of each prediction timing")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--skip-lifetimes", action="store_true")
    ap.add_argument("--skip-pymc", action="store_true")
    ap.add_argument("--output", default=str(Path(__file__).parent / "results" / "clv.md"))
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore")
    load_start = os.getloadavg()

    rng = np.random.default_rng(args.seed)
    n = args.customers
    T = (273 - rng.integers(0, 85, n)) / 7.0  # first purchase in weeks 0-12, observed to day 273
    s = clv.simulate_bgnbd(n, BG_TRUTH, T, seed=rng, resolution=1 / 7)
    x_gg = rng.geometric(0.3, args.gg_customers)
    g = pd.DataFrame({"frequency": x_gg, "monetary_value": clv.simulate_spend(x_gg, GG_TRUTH, seed=rng)})
    # Mean spends for the purchase summary's own repeat customers (0 for the others, as in
    # rfm_summary), for expected_spend and lifetime_value at the full size.
    s["monetary_value"] = clv.simulate_spend(s["frequency"].to_numpy(), GG_TRUTH, seed=rng)
    n_groups = len(group_rows(s["frequency"].to_numpy(float), s["recency"].to_numpy(), s["T"].to_numpy())[1])
    print(f"{n:,} customers ({int((s['frequency'] > 0).sum()):,} repeaters, {n_groups:,} distinct "
          f"(x, t_x, T) rows); {len(g):,} repeat customers for Gamma-Gamma")

    rows: list[dict[str, Any]] = []

    def record(task: str, tool: str, times: list[float], ll: float | None = None, note: str = "",
               data: str = "") -> None:
        cpu = min(CPU_TIMES.get(id(times), [float("nan")]))
        rows.append({"task": task, "tool": tool, "best": min(times), "median": statistics.median(times),
                     "cpu": cpu, "rounds": len(times), "ll": ll, "note": note, "data": data})
        print(f"{task:30s} {tool:42s} best {min(times):8.3f} s  cpu {cpu:8.3f} s"
              + (f"  LL {ll:,.2f}" if ll is not None else ""), flush=True)

    size = f"{n:,}"
    # --- Patron ----------------------------------------------------------------------------
    clv.BetaGeo().fit(s.iloc[:5000])  # warm-up (imports, first calls)
    t_bg, bg = timed(lambda: clv.BetaGeo().fit(s), args.rounds)
    record("BG/NBD fit", "Patron BetaGeo", t_bg, bg.log_likelihood_, data=size)
    t_pn, pn = timed(lambda: clv.ParetoNBD().fit(s), args.rounds)
    record("Pareto/NBD fit", "Patron ParetoNBD", t_pn, pn.log_likelihood_, data=size)
    t_gg, gg = timed(lambda: clv.GammaGamma().fit(g), args.rounds)
    record("Gamma-Gamma fit", "Patron GammaGamma", t_gg, gg.log_likelihood_, data=f"{len(g):,}")
    pr = args.predict_rounds
    record("BG/NBD expected_purchases", "Patron", timed(lambda: bg.expected_purchases(s, 52), pr)[0], data=size)
    record("BG/NBD p_alive", "Patron", timed(lambda: bg.p_alive(s), pr)[0], data=size)
    record("Pareto/NBD expected_purchases", "Patron", timed(lambda: pn.expected_purchases(s, 52), pr)[0], data=size)
    record("Pareto/NBD p_alive", "Patron", timed(lambda: pn.p_alive(s), pr)[0], data=size)
    record("Gamma-Gamma expected_spend", "Patron", timed(lambda: gg.expected_spend(g), pr)[0], data=f"{len(g):,}")
    record("Gamma-Gamma expected_spend", "Patron", timed(lambda: gg.expected_spend(s), pr)[0], data=size,
           note="whole summary, non-repeaters included")
    record("lifetime_value, BG/NBD + GG, 52 weekly steps", "Patron",
           timed(lambda: clv.lifetime_value(bg, gg, s, horizon=52, discount_rate=0.0019), pr)[0], data=size)
    record("lifetime_value, BG/NBD + GG, 12 monthly steps", "Patron",
           timed(lambda: clv.lifetime_value(bg, gg, s, horizon=12 * 4.345, discount_rate=0.0019, step=4.345),
                 pr)[0], data=size)

    # --- lifetimes -------------------------------------------------------------------------
    lt_version = None
    if not args.skip_lifetimes:
        import lifetimes
        from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter

        lt_version = lifetimes.__version__
        f, r, TT = s["frequency"], s["recency"], s["T"]
        t, lbg = timed(lambda: BetaGeoFitter().fit(f, r, TT), 1)
        lp = {k: float(v) for k, v in lbg.params_.items()}
        record("BG/NBD fit", "lifetimes BetaGeoFitter", t, bg_ll(lp, s), data=size)
        record("BG/NBD expected_purchases", "lifetimes",
               timed(lambda: lbg.conditional_expected_number_of_purchases_up_to_time(52, f, r, TT), 1)[0], data=size)
        record("BG/NBD p_alive", "lifetimes", timed(lambda: lbg.conditional_probability_alive(f, r, TT), 1)[0], data=size)
        t, lgg = timed(lambda: GammaGammaFitter().fit(g["frequency"], g["monetary_value"]), 1)
        gp = {"p": float(lgg.params_["p"]), "q": float(lgg.params_["q"]), "gamma": float(lgg.params_["v"])}
        record("Gamma-Gamma fit", "lifetimes GammaGammaFitter", t, gg_ll(gp, g), data=f"{len(g):,}")
        record("Gamma-Gamma expected_spend", "lifetimes",
               timed(lambda: lgg.conditional_expected_average_profit(g["frequency"], g["monetary_value"]), 1)[0],
               data=f"{len(g):,}")
        k = args.pareto_peer_customers or n
        sub = s.sample(n=min(k, n), random_state=args.seed) if k < n else s
        t, lpn = timed(lambda: ParetoNBDFitter().fit(sub["frequency"], sub["recency"], sub["T"]), 1)
        pp = {kk: float(v) for kk, v in lpn.params_.items()}
        sub_note = "subsample" if k < n else ""
        record("Pareto/NBD fit", "lifetimes ParetoNBDFitter", t, pn_ll(pp, sub), note=sub_note, data=f"{len(sub):,}")
        t_sub, pn_sub = timed(lambda: clv.ParetoNBD().fit(sub), args.rounds)
        record("Pareto/NBD fit", "Patron ParetoNBD", t_sub, pn_sub.log_likelihood_, note=sub_note, data=f"{len(sub):,}")
        record("Pareto/NBD expected_purchases", "lifetimes",
               timed(lambda: lpn.conditional_expected_number_of_purchases_up_to_time(52, f, r, TT), 1)[0], data=size)

    # --- pymc-marketing --------------------------------------------------------------------
    pymc_note = ""
    if args.skip_pymc:
        pymc_note = "pymc-marketing skipped (--skip-pymc)."
    else:
        try:
            t_imp = time.perf_counter()
            import pymc_marketing
            from pymc_marketing.clv import BetaGeoModel

            t_imp = time.perf_counter() - t_imp
        except ImportError:
            pymc_note = "pymc-marketing is not installed (`uv sync --group bench`); skipped."
            print(pymc_note)
        else:
            def pymc_fit() -> Any:
                model = BetaGeoModel(data=s.reset_index())
                return model.fit(method="map")

            t, idata = timed(pymc_fit, 1)
            post = idata.posterior
            mp = {k: float(post[k].values.ravel()[0]) for k in ("r", "alpha", "a", "b")}
            record("BG/NBD fit", f"pymc-marketing {pymc_marketing.__version__} BetaGeoModel MAP", t,
                   bg_ll(mp, s), data=size,
                   note="MAP with default priors (not the MLE); includes model build and compilation")
            pymc_note = (f"pymc-marketing {pymc_marketing.__version__}: import took {t_imp:.0f} s (not "
                         f"counted); MAP estimate {', '.join(f'{k} {v:.4f}' for k, v in mp.items())}.")

    load_end = os.getloadavg()
    if args.no_write:
        return 0

    def patron_row(task: str, data: str = size) -> dict[str, Any]:
        return next(r for r in rows
                    if r["task"] == task and r["tool"].startswith("Patron") and r["data"] == data)

    def patron_best(task: str, data: str = size) -> float:
        return float(patron_row(task, data)["best"])

    def target(label: str, task: str, limit: float, data: str = size) -> str:
        r = patron_row(task, data)
        verdict = "met" if r["best"] <= limit else ("met on CPU time only" if r["cpu"] <= limit else "missed")
        if verdict == "met" and r["median"] > limit:
            verdict = "met at best, not at median"
        return f"| {label} | {limit:g} | {r['best']:.3f} | {r['median']:.3f} | {r['cpu']:.3f} | {verdict} |"

    targets = "\n".join([
        target(f"BG/NBD fit, {size}", "BG/NBD fit", 0.6),
        target(f"Pareto/NBD fit, {size}", "Pareto/NBD fit", 10.0),
        target(f"Gamma-Gamma fit, {len(g):,} repeaters", "Gamma-Gamma fit", 0.25, f"{len(g):,}"),
        target(f"BG/NBD expected_purchases, {size}", "BG/NBD expected_purchases", 0.2),
        target(f"BG/NBD p_alive, {size}", "BG/NBD p_alive", 0.2),
        target(f"Pareto/NBD expected_purchases, {size}", "Pareto/NBD expected_purchases", 0.2),
        target(f"Pareto/NBD p_alive, {size}", "Pareto/NBD p_alive", 0.2),
    ])

    lines = []
    for row in rows:
        ratio = ""
        if not row["tool"].startswith("Patron"):
            ratio = f"{row['best'] / patron_best(row['task'], row['data']):.1f}x"
        ll = f"{row['ll']:,.2f}" if row["ll"] is not None else ""
        lines.append(f"| {row['task']} | {row['tool']} | {row['data']} | {row['best']:.3f} | {row['median']:.3f} | "
                     f"{row['cpu']:.3f} | {row['rounds']} | {ll} | {ratio} | {row['note']} |")
    cmd = "bench/bench_clv.py " + " ".join(sys.argv[1:] if argv is None else argv)
    nproc = subprocess.run(["nproc"], capture_output=True, text=True, check=False).stdout.strip()
    p = bg.params_
    report = f"""# CLV models: Patron vs lifetimes and pymc-marketing

- Date: {dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")}
- Machine: {nproc or os.cpu_count()} CPUs (nproc), {cpu_model()}. **Shared with other engineers' work
  while this ran**: load average {load_start[0]:.2f} / {load_start[1]:.2f} / {load_start[2]:.2f} at the start,
  {load_end[0]:.2f} / {load_end[1]:.2f} / {load_end[2]:.2f} at the end, so absolute times are noisy; ratios come from one run.
- Software: Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__},
  scipy {__import__("scipy").__version__}, lifetimes {lt_version or "not run"}.
- Data: {n:,} customers simulated from BG/NBD with the CDNOW parameters ({BG_TRUTH}),
  first purchase spread over 12 weeks, observed to week 39, recency to the day (weeks as
  days/7): {int((s["frequency"] > 0).sum()):,} repeaters, {n_groups:,} distinct (x, t_x, T) rows.
  Gamma-Gamma: {len(g):,} repeat customers, x ~ Geometric(0.3), spends from {GG_TRUTH}. Seed {args.seed}.
- Command: `.venv/bin/python {cmd.strip()}`

Times are wall-clock seconds; Patron's are best / median of {args.rounds} rounds for fits (which include the
standard errors) and of {args.predict_rounds} for predictions, peers run once. "min CPU" is the process CPU time of the fastest round (all
threads; on this shared machine wall time also counts waiting for a core). "LL" is the log-likelihood at that tool's parameters, all
evaluated with the same formula on the same data; "x Patron" is the peer's time over Patron's
on the same data.

| task | tool | customers | best wall (s) | median wall (s) | min CPU (s) | rounds | LL | x Patron (wall) | note |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |
{chr(10).join(lines)}

Patron's BG/NBD estimate: {", ".join(f"{k} {v:.4f}" for k, v in p.items())} (truth {BG_TRUTH});
Pareto/NBD: {", ".join(f"{k} {v:.4f}" for k, v in pn.params_.items())};
Gamma-Gamma: {", ".join(f"{k} {v:.4f}" for k, v in gg.params_.items())} (truth {GG_TRUTH}).

Targets of the issue (Patron's best and median wall time and the CPU time of the best round; the
CPU time is what the code needs, the wall time adds the wait for a core on this shared machine):

| target | limit (s) | best wall (s) | median wall (s) | CPU (s) | |
| --- | ---: | ---: | ---: | ---: | --- |
{targets}

Notes:
- lifetimes' ParetoNBDFitter is timed on a random subsample because it takes minutes at a
  million customers; Patron is timed on the same subsample for the ratio. {pymc_note}
- Why Patron is fast: identical (x, t_x, T) rows are evaluated once with a weight (day-stamped
  data have few distinct rows), analytic gradients, L-BFGS-B on log-parameters (trust-region
  Newton with the analytic Hessian for Gamma-Gamma), and the Pareto/NBD hypergeometric terms
  computed once per distinct (x, t) by a log-space quadrature that also yields the gradient.
- Predictions: BG/NBD and Pareto/NBD expected purchases (and lifetime_value) are evaluated once
  per distinct (x, t_x, T) row and spread back; customers without a repeat purchase are grouped
  by T alone, frequencies are coded by subtraction rather than hashed, and the row key is
  grouped through a presence table when its range is small. BG/NBD p_alive is elementwise over
  the repeat customers only (the others are exactly 1). No threads: numpy ufuncs and pandas'
  factorisation run on one core.
"""
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
