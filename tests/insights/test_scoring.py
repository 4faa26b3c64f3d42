"""Scoring runs on generated data: recovery of the true process, idempotent re-runs, live updates."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import F
from django.utils import timezone

from patron.customers.models import Customer
from patron.insights import services
from patron.insights.models import CurrentScore, CustomerScore, ScoringRun

AS_OF = date(2025, 12, 31)  # the generator's default end of observation
N_CUSTOMERS = 2500


@pytest.fixture(scope="module")
def generated(django_db_setup, django_db_blocker):
    """One generated data set and one scoring run for the whole module, removed afterwards."""
    from patron.generator.writer import generate_dataset

    with django_db_blocker.unblock():
        dataset = generate_dataset(N_CUSTOMERS, seed=11)
        run = services.scoring_run_execute(as_of=AS_OF)
        yield dataset, run
        call_command("flush", interactive=False, verbosity=0)


def _current() -> dict[int, tuple]:
    fields = ["customer_id", *services.SCORE_FIELDS]
    return {
        row[0]: row[1:] for row in CurrentScore.objects.order_by("customer_id").values_list(*fields)
    }


def _history(run: ScoringRun) -> dict[int, tuple]:
    fields = ["customer_id", *services.SCORE_FIELDS]
    return {row[0]: row[1:] for row in CustomerScore.objects.filter(run=run).values_list(*fields)}


@pytest.mark.django_db
def test_run_scores_every_customer_without_nan(generated):
    _dataset, run = generated
    assert run.status == ScoringRun.Status.DONE
    assert run.n_customers == Customer.objects.count() == CurrentScore.objects.count()
    for score in CurrentScore.objects.all():
        for name in ("p_alive", "clv", "expected_purchases", "churn_risk", "value_gap"):
            value = getattr(score, name)
            assert value is None or math.isfinite(value), (name, value)
        if score.p_alive is not None:
            assert 0.0 <= score.p_alive <= 1.0
            assert score.clv is None or score.clv >= 0.0
    buyers = Customer.objects.filter(order_count__gt=0).count()
    assert CurrentScore.objects.filter(p_alive__isnull=False).count() == buyers
    classes = set(CurrentScore.objects.values_list("value_class", flat=True))
    assert {"most_valuable", "most_growable", "other", "below_zero"} <= classes


@pytest.mark.django_db
def test_fitted_purchase_model_recovers_the_generator_truth(generated):
    dataset, run = generated
    truth = dataset.truth["params"]
    fitted = run.params["bgnbd"]
    # Purchase rate: Gamma(r, alpha); its mean r/alpha is what the data pin down best.
    assert fitted["r"] / fitted["alpha"] == pytest.approx(truth["r"] / truth["alpha"], rel=0.15)
    assert fitted["r"] == pytest.approx(truth["r"], rel=0.35)
    # Dropout: satisfaction shifts each customer's p (logit(p) = logit(p_base) - beta*sat), so the
    # population of p is not exactly Beta(a, b); its mean is what must match.
    mean_p = fitted["a"] / (fitted["a"] + fitted["b"])
    assert mean_p == pytest.approx(dataset.truth["derived"]["mean_p"], rel=0.2)
    spend = run.params["gammagamma"]
    implied_mean = spend["p"] * spend["gamma"] / (spend["q"] - 1)
    # Companies spend company_spend_multiplier times as much as people.
    share, mult = truth["company_share"], truth["company_spend_multiplier"]
    true_mean = dataset.truth["derived"]["mean_order_value"] * (1 - share + share * mult)
    assert implied_mean == pytest.approx(true_mean, rel=0.2)


@pytest.mark.django_db
def test_models_page_diagnostics_are_stored(generated):
    _dataset, run = generated
    holdout = run.diagnostics["holdout"]
    assert holdout["buckets"] and holdout["total_actual"] > 0
    # The model predicts the holdout total within 25% on data drawn from its own process.
    assert holdout["total_predicted"] == pytest.approx(holdout["total_actual"], rel=0.25)
    churn = run.diagnostics["churn"]
    assert 0.5 < churn["auc"] <= 1.0 and len(churn["calibration"]) >= 5
    migration = run.diagnostics["migration"]
    assert all(abs(sum(row) - 1) < 1e-9 for row in migration["probabilities"] if None not in row)


@pytest.mark.django_db
def test_run_records_the_purchase_model_its_back_test_chose(generated):
    _dataset, run = generated
    run.refresh_from_db()
    comparison = run.model_comparison
    assert set(comparison) == {"bgnbd", "paretonbd"}
    scored = {k: v for k, v in comparison.items() if "mae" in v}
    assert run.purchase_model == min(scored, key=lambda k: scored[k]["mae"])
    assert run.params["purchase_model"] == run.purchase_model in run.params
    holdout = run.diagnostics["holdout"]
    assert holdout["winner"] == run.purchase_model and holdout["sample"] == holdout["customers"]


@pytest.mark.django_db
def test_migration_forecast_is_back_tested_and_its_stationarity_tested(generated):
    _dataset, run = generated
    migration = run.diagnostics["migration"]
    back = migration["backtest"]
    assert back["forecasts"] >= 1
    totals = {m: back["errors"][m]["total"] for m in ("model", "no_change", "last_matrix")}
    assert back["beats_no_change"] == (totals["model"] < totals["no_change"])
    assert back["beats_last_matrix"] == (totals["model"] < totals["last_matrix"])
    assert 0 <= migration["stationarity"]["p_value"] <= 1 and migration["stationarity"]["df"] > 0
    counts = migration["forecast_counts"]
    assert len(counts) == 5 and all(v >= 0 for row in counts for k, v in row.items() if k != "step")


@pytest.mark.django_db
def test_killed_run_rerun_ends_in_the_same_state(generated, monkeypatch):
    _dataset, run = generated
    before_current, before_history = _current(), _history(run)
    real_insert = services._insert
    calls = {"n": 0}

    def dying_insert(table, columns, rows):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed")
        real_insert(table, columns, rows)

    monkeypatch.setattr(services, "WRITE_CHUNK", 700)
    monkeypatch.setattr(services, "_insert", dying_insert)
    with pytest.raises(RuntimeError):
        services.scoring_run_execute(as_of=AS_OF)
    run.refresh_from_db()
    assert run.status == ScoringRun.Status.FAILED
    monkeypatch.setattr(services, "_insert", real_insert)
    services.scoring_run_execute(as_of=AS_OF)
    run.refresh_from_db()
    assert run.status == ScoringRun.Status.DONE and run.attempts >= 3
    assert ScoringRun.objects.count() == 1
    after_current, after_history = _current(), _history(run)
    assert after_history.keys() == before_history.keys()
    for cid, row in before_history.items():
        assert _close(row, after_history[cid]), cid
    for cid, row in before_current.items():
        assert _close(row, after_current[cid]), cid


def _close(a: tuple, b: tuple) -> bool:
    for x, y in zip(a, b, strict=True):
        if isinstance(x, float) and isinstance(y, float):
            if not math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-9):
                return False
        elif x != y:
            return False
    return True


def _on_the_runs_day(hour: int) -> datetime:
    return datetime.combine(AS_OF, time(hour), tzinfo=timezone.get_current_timezone())


def _buy(customer, ordered_at):
    from patron.commerce.services import LineInput, order_create
    from tests.factories import make_product

    return order_create(
        customer=customer,
        channel="web",
        ordered_at=ordered_at,
        lines=[LineInput(make_product(price=Decimal("500"), cost=Decimal("200")), 1)],
    )


def _valuable_buyer(**filters) -> Customer:
    score = (
        CurrentScore.objects.filter(value_class="most_valuable", frequency__gte=2, **filters)
        .order_by("-p_alive", "customer_id")
        .select_related("customer")
        .first()
    )
    assert score is not None
    return score.customer


@pytest.mark.django_db
def test_a_valuable_customer_buying_after_the_run_does_not_drop_in_p_alive(generated, client):
    """The run is as of AS_OF (a year before today). A purchase today rescored the customer as
    of today: eleven months without a purchase before today's made a most valuable customer
    look as likely gone as a lapsed one. Now the scores stay the run's, as of its day, and the
    360° page says the purchase counts from the next run."""
    from tests.factories import make_user

    _dataset, run = generated
    customer = _valuable_buyer()
    before = CurrentScore.objects.get(customer=customer)
    assert before.p_alive > 0.8
    _buy(customer, timezone.now())
    after = CurrentScore.objects.get(customer=customer)
    assert after.p_alive >= before.p_alive
    # Nothing dated after the run's day is in any score: the customer's is the run's snapshot.
    assert _close(_current()[customer.pk], _history(run)[customer.pk])
    root = make_user("rosa", "admin")
    client.force_login(root)
    page = client.get(customer.get_absolute_url()).content.decode()
    assert f'data-testid="p-alive">{round(before.p_alive * 100)}%' in page
    assert 'data-testid="score-pending"' in page


@pytest.mark.django_db
def test_an_order_dated_on_the_runs_day_counts_at_once(generated, client):
    """An order entered late, dated on the run's day: rescored at once, as of that day."""
    from tests.factories import make_user

    _dataset, run = generated
    customer = _valuable_buyer(recency__lt=F("tenure") - 4)  # last bought a month before the run
    before = CurrentScore.objects.get(customer=customer)
    _buy(customer, _on_the_runs_day(15))
    after = CurrentScore.objects.get(customer=customer)
    assert after.updated_at > before.updated_at
    assert after.frequency == before.frequency + 1
    assert after.tenure == before.tenure  # the same day: the customer is no older
    assert after.recency == pytest.approx(after.tenure)  # bought on the run's last day
    assert after.r_score == 5
    assert after.p_alive > before.p_alive
    # BG/NBD's P(alive) (Fader, Hardie and Lee 2005) with the run's fitted parameters.
    p = run.params["bgnbd"]
    x, tx, t = after.frequency, after.recency, after.tenure
    odds = p["a"] / (p["b"] + x - 1) * ((p["alpha"] + t) / (p["alpha"] + tx)) ** (p["r"] + x)
    assert after.p_alive == pytest.approx(1 / (1 + odds), rel=1e-9)
    client.force_login(make_user("rosa", "admin"))
    page = client.get(customer.get_absolute_url()).content.decode()
    assert f'data-testid="p-alive">{round(after.p_alive * 100)}%' in page
    assert 'data-testid="score-pending"' not in page


@pytest.mark.django_db
def test_rescoring_between_runs_gives_what_the_run_gave(generated):
    """With no new record, a customer's incremental score is the run's own row for them: same
    day, same fitted models, same cut-offs."""
    _dataset, run = generated
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[::7])
    assert services.scores_refresh(customer_ids=ids) == len(ids)
    current, history = _current(), _history(run)
    for cid in ids:
        assert _close(current[cid], history[cid]), cid


@pytest.mark.django_db
def test_rescoring_uses_the_settings_the_run_scored_with(generated):
    from patron.analytics.pipeline import ScoringConfig

    config = ScoringConfig(as_of=pd.Timestamp("2000-01-01"), expected_purchases_days=30, clv_horizon_weeks=26)
    run = services.scoring_run_execute(as_of=AS_OF, config=config)
    assert run.params["config"]["expected_purchases_days"] == 30
    assert run.params["as_of"] == AS_OF.isoformat()  # the run's day, not the one passed in
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[::11])
    services.scores_refresh(customer_ids=ids)
    current, history = _current(), _history(run)
    for cid in ids:
        assert _close(current[cid], history[cid]), cid


@pytest.mark.django_db
def test_customer_list_sorts_and_filters_by_scores(generated, client):
    from tests.factories import make_user

    analyst = make_user("ann", "analyst")
    client.force_login(analyst)
    response = client.get("/customers/", {"sort": "-clv"})
    rows = response.context["customers"]
    values = [c.score.clv for c in rows]
    assert values == sorted(values, reverse=True) and values[0] is not None
    top = CurrentScore.objects.exclude(clv__isnull=True).order_by("-clv").first()
    assert rows[0].pk == top.customer_id
    response = client.get("/customers/", {"value_class": "below_zero", "sort": "profit"})
    assert all(c.score.value_class == "below_zero" for c in response.context["customers"])
    response = client.get("/customers/", {"churn_min": "80"})
    assert all(c.score.churn_risk >= 0.8 for c in response.context["customers"])


@pytest.mark.django_db
def test_models_page_shows_parameters_and_charts(generated, client):
    from tests.factories import make_user

    _dataset, run = generated
    client.force_login(make_user("nina", "analyst"))
    page = client.get("/models/").content.decode()
    chosen = run.purchase_model
    assert f'data-testid="{chosen}-params"' in page
    assert f"{run.params[chosen]['r']:.4f}" in page
    assert 'data-testid="model-comparison"' in page
    for figures in run.model_comparison.values():
        assert f"{figures['mae']:.4f}" in page
    assert 'data-testid="migration-backtest"' in page and 'data-testid="migration-verdict"' in page
    for chart in ("chart-holdout", "chart-calibration", "chart-migration", "chart-forecast"):
        assert f'id="{chart}"' in page and f'data-echarts="{chart}"' in page
    client.force_login(make_user("ray", "rep"))
    assert client.get("/models/").status_code == 403


@pytest.mark.django_db
def test_run_leaves_constraints_and_garbage_collection_as_it_found_them(generated):
    """The write-back relaxes SQLite's CHECKs for its copy and the collector for the run only."""
    import gc

    from django.db import DataError, IntegrityError, connection, transaction

    thresholds = gc.get_threshold()
    services.scoring_run_execute(as_of=AS_OF)
    assert gc.get_threshold() == thresholds
    assert gc.get_freeze_count() == 0
    # A process that froze its own objects (the web server before forking) keeps them frozen.
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        services.scoring_run_execute(as_of=AS_OF)
        # (a few frozen objects may be freed by reference counting meanwhile)
        assert gc.get_freeze_count() > frozen * 0.9
    finally:
        gc.unfreeze()
    customer_id = CurrentScore.objects.values_list("customer_id", flat=True).first()
    sql = f"UPDATE {CurrentScore._meta.db_table} SET churn_reasons = %s WHERE customer_id = %s"  # noqa: S608
    with (
        pytest.raises((IntegrityError, DataError)),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql, ["not json", customer_id])


@pytest.mark.django_db
def test_deleting_a_run_keeps_the_current_scores_it_wrote(generated):
    _dataset, run = generated
    older = ScoringRun.objects.create(as_of=AS_OF - timedelta(days=1), started_at=timezone.now())
    ids = list(
        CurrentScore.objects.order_by("customer_id").values_list("customer_id", flat=True)[:5]
    )
    CurrentScore.objects.filter(customer_id__in=ids).update(run=older)
    older.delete()
    assert CurrentScore.objects.filter(customer_id__in=ids, run__isnull=True).count() == 5
    assert CurrentScore.objects.filter(run=run).count() == CurrentScore.objects.count() - 5


def _nps_rows() -> list[tuple]:
    from patron.feedback.models import NpsFigures

    return sorted(
        NpsFigures.objects.values_list("kind", "owner_id", "branch_id", "region_id", "figures"),
        key=repr,
    )


@pytest.mark.django_db
def test_nps_figures_of_a_run_equal_a_refresh_from_the_stored_scores(generated):
    """The run computes the NPS figures from the scores in memory while it writes them; the
    figures and their source equal those read back from the database afterwards."""
    from patron.feedback.models import NpsFigures
    from patron.insights import nps_refresh

    computed = []
    real = nps_refresh.compute
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(nps_refresh, "compute", lambda frame: computed.append(frame) or real(frame))
        services.scoring_run_execute(as_of=AS_OF)
    assert len(computed) == 1 and computed[0]["segment"].ne("").sum() > 100
    by_run = _nps_rows()
    assert len(by_run) > 10
    source = NpsFigures.objects.get(kind=NpsFigures.Kind.TOTAL).source
    assert source == nps_refresh.source_signature()
    assert nps_refresh.nps_figures_refresh(only_if_changed=True) is False  # nothing changed since
    nps_refresh.nps_figures_refresh()
    assert _nps_rows() == by_run


@pytest.mark.django_db
def test_rerunning_an_older_day_keeps_the_nps_figures_on_the_current_scores(generated):
    from patron.insights import nps_refresh

    nps_refresh.nps_figures_refresh()
    before = _nps_rows()
    services.scoring_run_execute(as_of=AS_OF - timedelta(days=60))  # not the latest run
    assert ScoringRun.objects.filter(as_of__gt=AS_OF - timedelta(days=60)).exists()
    assert _nps_rows() == before


@pytest.mark.django_db
@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="the test database is SQLite's shared in-memory one, whose other connections are "
    "locked out while this test's transaction writes; a file database has no such lock",
)
def test_figures_read_and_computed_in_the_thread_equal_those_read_here(generated, monkeypatch):
    """Where whole-table reads go through other connections the run reads the customers' facts
    and the NPS answers in its figures thread too (closing that thread's connections); the
    figures are those of a run that read them here."""
    from django.db import connections

    from patron.insights import extract
    from patron.insights.models import DashboardFigures, DashboardSlice

    def stored(run: ScoringRun) -> tuple:
        slices = DashboardSlice.objects.filter(run=run).values_list(
            "owner_id", "branch_id", "region_id", "figures"
        )
        return DashboardFigures.objects.get(run=run).figures, sorted(slices, key=repr)

    run = services.scoring_run_execute(as_of=AS_OF)
    here, nps_here = stored(run), _nps_rows()
    threads = []
    real = extract.in_thread
    monkeypatch.setattr(extract, "reads_elsewhere", lambda: True)
    monkeypatch.setattr(
        extract,
        "in_thread",
        lambda work: threads.append((work.__qualname__, connections["default"])) or real(work),
    )
    run = services.scoring_run_execute(as_of=AS_OF)
    figures_threads = [db for name, db in threads if name.startswith("_figures_meanwhile")]
    assert len(figures_threads) == 1 and figures_threads[0].connection is None  # closed
    assert stored(run) == here and _nps_rows() == nps_here
