"""``kill -9`` a scoring run: the pages keep serving the previous run's scores, the run shows as
abandoned, no reader process is left behind, and the next ``patron score`` completes."""

from __future__ import annotations

import pytest

from tests.faults.conftest import alive, children_of, kill, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CUSTOMERS = 1000
BEFORE, KILLED = "2025-06-30", "2025-07-31"
KILLED_RUN = f"SELECT {{}} FROM insights_scoringrun WHERE as_of = '{KILLED}'"  # noqa: S608 - constants

CHECK = """
from datetime import date
from django.test import Client
from patron.core.services import user_create
from patron.customers.models import Customer
from patron.insights.models import CurrentScore, ScoringRun
from patron.insights.selectors import dashboard_for
admin = user_create(username="faults-admin", role="admin", password="faults-Pass-2025")[0]
client = Client()
client.force_login(admin)
before = ScoringRun.objects.get(as_of=date.fromisoformat("{before}"))
print("current", sorted(set(CurrentScore.objects.values_list("run_id", flat=True))) == [before.pk])
print("dashboards", dashboard_for(admin).run.as_of.isoformat())
customer = Customer.objects.order_by("pk").first()
for url in ("/customers/?sort=-clv", f"/customers/{{customer.pk}}/", "/dashboards/", "/models/"):
    print("page", url, client.get(url).status_code)
print("abandoned", ScoringRun.objects.get(as_of=date.fromisoformat("{killed}")).abandoned)
"""


def test_a_killed_scoring_run_leaves_the_previous_scores_and_the_next_run_completes(faultdb):
    generated = faultdb.run("generate", "--customers", str(CUSTOMERS), "--seed", "4", "--no-progress")
    assert generated.returncode == 0, generated.stderr
    first = faultdb.run("score", "--as-of", BEFORE, "--verbosity", "0")
    assert first.returncode == 0, first.stderr

    score = faultdb.start("score", "--as-of", KILLED, "--verbosity", "0", name="score")
    wait_for(
        lambda: faultdb.sql(KILLED_RUN.format("status")) == [("started",)],
        "the run to start", every=0.02,
    )
    readers: list[int] = []
    if faultdb.vendor == "sqlite":  # its whole-book reads run in child processes
        readers = wait_for(lambda: children_of(score.pid), "the reader processes", every=0.02)
    kill(score)
    # The readers notice their parent is gone (their input closes) and end.
    wait_for(lambda: not any(alive(pid) for pid in readers), "the reader processes to end", timeout=60)

    shown = faultdb.shell(CHECK.format(before=BEFORE, killed=KILLED)).splitlines()
    assert "current True" in shown, shown
    assert f"dashboards {BEFORE}" in shown, shown
    assert [line.split()[-1] for line in shown if line.startswith("page ")] == ["200"] * 4, shown
    assert "abandoned True" in shown, shown

    again = faultdb.run("score", "--as-of", KILLED, "--verbosity", "0")
    assert again.returncode == 0, again.stderr
    assert faultdb.sql(KILLED_RUN.format("status, attempts, n_customers")) == [
        ("done", 2, CUSTOMERS)
    ]
    killed_id = faultdb.value(KILLED_RUN.format("id"))
    rows = faultdb.sql("SELECT run_id, count(*) FROM insights_customerscore GROUP BY run_id ORDER BY run_id")
    assert rows[-1] == (killed_id, CUSTOMERS)
    assert faultdb.sql("SELECT DISTINCT run_id FROM insights_currentscore") == [(killed_id,)]
