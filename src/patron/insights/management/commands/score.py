from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from patron.insights.services import scoring_run_execute


def iso_day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"not a date (YYYY-MM-DD): {value}") from exc


class Command(BaseCommand):
    help = "Score every customer (CLV, P(alive), value class, RFM, churn, migration, recommendations)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", type=iso_day, default=None, help="Day to score as of (default: today).")

    def handle(self, *args, **opts) -> None:
        columns = [TextColumn("{task.description:<10}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                   TimeElapsedColumn()]
        with Progress(*columns, disable=opts["verbosity"] == 0) as bar:
            task = bar.add_task("extract", total=1)

            def report(step: str, done: int, total: int) -> None:
                bar.update(task, description=step, completed=done, total=max(total, 1))

            try:
                run = scoring_run_execute(as_of=opts["as_of"], progress=report)
            except Exception as exc:
                raise CommandError(f"Scoring failed: {exc}") from exc
        diag = run.diagnostics
        self.stdout.write(f"Scored {run.n_customers} customers as of {run.as_of} (run {run.pk}, attempt {run.attempts}).")
        chosen = run.params.get("purchase_model")
        if chosen in run.params:
            p = run.params[chosen]
            label = {"bgnbd": "BG/NBD", "paretonbd": "Pareto/NBD"}.get(chosen, chosen)
            self.stdout.write(f"{label}: " + ", ".join(f"{k}={v:.4g}" for k, v in p.items()))
            for name, m in (diag.get("holdout", {}).get("models") or {}).items():
                if "mae" in m:
                    self.stdout.write(f"  back-test {name}: MAE per customer {m['mae']:.4f}, "
                                      f"total error {m['total_error_pct'] or 0:+.1f}%")
        for key in ("clv", "holdout", "churn", "migration", "baskets"):
            note = diag.get(key, {})
            if isinstance(note, dict) and ("skipped" in note or "error" in note):
                self.stdout.write(f"{key}: {note.get('skipped') or note.get('error')}")
        if "churn" in diag and "auc" in diag["churn"]:
            c = diag["churn"]
            self.stdout.write(f"Churn AUC out of time: {c['auc']:.3f} (behaviour only {c['auc_behaviour']:.3f})")
