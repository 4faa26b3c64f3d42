"""The child process of tests/core/test_upgrade.py: one step of an upgrade on the database that
``DATABASE_URL`` names (its default database, as for ``patron migrate``: some migrations, ours
and third parties', only ever touch the default one).

    python -m tests.core.upgrade_book prepare OUT.json latest|integrity [bad]
        migrate an empty database to the state before each app's latest migration ("latest")
        or before the integrity rules ("integrity"), fill it through that state's models,
        optionally add rows that break the rules; write the rows and ids to OUT.json.
    python -m tests.core.upgrade_book upgrade OUT.json
        migrate to the latest state; whenever a migration stops on rows that break its rules,
        delete those rows and go on; write what was reported, the rows and what breaks a rule.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

PATRON_APPS = {"core", "customers", "commerce", "engagement", "feedback", "generator", "imports", "ingest",
               "insights", "web"}  # fmt: skip


def state_before(graph: Any, first_left_out: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Each app's last migration once ``first_left_out`` and every migration depending on them
    are left out: the targets of an earlier state of the database."""
    left_out: set[tuple[str, str]] = set()
    for node in first_left_out:
        left_out |= set(graph.backwards_plan(node))  # the node and every one depending on it
    targets = []
    for app in sorted({app for app, _name in graph.nodes}):
        kept = [n for n in graph.nodes if n[0] == app and n not in left_out]
        if kept:
            # The app's migrations form a chain: the last has the most ancestors of its app.
            targets.append(max(kept, key=lambda n: sum(1 for a in graph.forwards_plan(n) if a[0] == app)))
    return targets


def _first_of_its_app(graph: Any, node: tuple[str, str]) -> bool:
    return not any(parent.key[0] == node[0] for parent in graph.node_map[node].parents)


def before_each_apps_latest(graph: Any) -> list[tuple[str, str]]:
    """Every app of Patron before its latest migration, except where leaving that migration out
    would leave out a whole app (another app's first migration depends on it): the populated
    database then has every table, and rows in each."""
    latest = [
        leaf for leaf in graph.leaf_nodes()
        if leaf[0] in PATRON_APPS
        and not any(_first_of_its_app(graph, n) for n in graph.backwards_plan(leaf))
    ]  # fmt: skip
    return state_before(graph, latest)


def before_the_integrity_rules(graph: Any) -> list[tuple[str, str]]:
    return state_before(graph, [n for n in graph.nodes if n[1].endswith("_integrity_constraints")])


class Book:
    """Creates rows with the models of a migration state, leaving out fields that state lacks."""

    def __init__(self, state_apps: Any) -> None:
        self.apps = state_apps

    def make(self, label: str, **values: Any) -> Any:
        app, name = label.split(".")
        try:
            model = self.apps.get_model(app, name)
        except LookupError:  # the model does not exist yet at this state
            return None
        names = {f.name for f in model._meta.get_fields()} | {f.attname for f in model._meta.concrete_fields}
        return model._base_manager.create(**{k: v for k, v in values.items() if k in names})


SHANGHAI_MIDNIGHT = datetime(2024, 12, 31, 16, 0, tzinfo=UTC)  # 2025-01-01 00:00 in Shanghai
LEAP = datetime(2024, 2, 29, 23, 59, 59, 999999, tzinfo=UTC)


def populate(book: Book) -> dict[str, Any]:
    """Real-looking data with the edges a migration could trip on: Chinese and emoji text,
    quotes and newlines, the longest values a column takes, zero and the largest amounts,
    leap-day and time-zone-boundary times, NULLs where allowed, JSON with nested Unicode."""
    m = book.make
    region = m("core.Region", code="E", name="华东")
    branch = m("core.Branch", code="SH-1", name="上海一店", region=region)
    rep = m("core.User", username="li.wei", first_name="伟", last_name="李", role="rep", password="!")
    people = [
        m("customers.Customer", name="张伟", kind="person", email="zhang.wei@example.cn", phone="+86 138 0000 0000",
          city="上海", owner=rep, branch=branch, region=region, acquisition_cost=Decimal("0"),
          revenue_total=Decimal("99999999999999.99"), cogs_total=Decimal("0"), cost_to_serve_total=Decimal("0"),
          profit_total=Decimal("99999999999999.99"), order_count=2, first_order_at=LEAP, last_order_at=LEAP,
          acquired_on=date(2024, 2, 29), name_search="zhang wei zw", currency="CNY"),
        m("customers.Customer", name="O'Brien & Sons \"Ltd\"\nLine two 🎉", kind="company",
          acquisition_cost=Decimal("12.34"), revenue_total=Decimal("0"), cogs_total=Decimal("0"),
          cost_to_serve_total=Decimal("5.00"), profit_total=Decimal("-5.00"), order_count=0, currency="USD"),
        m("customers.Customer", name="长" * 200, kind="person", order_count=1, first_order_at=SHANGHAI_MIDNIGHT,
          last_order_at=SHANGHAI_MIDNIGHT, revenue_total=Decimal("0.01"), cogs_total=Decimal("0.01"),
          profit_total=Decimal("0"), currency="CNY"),
    ]  # fmt: skip
    m("customers.Contact", customer=people[0], name="王芳", title='=HYPERLINK("x")', email="", is_primary=True)
    tea = m("commerce.Product", sku="TEA-龙井", name="西湖龙井 250g", list_price=Decimal("0"), unit_cost=Decimal("0"))
    gold = m("commerce.Product", sku="GOLD", name="Gold bar", list_price=Decimal("99999999999999.99"),
             unit_cost=Decimal("12345678901234.56"))  # fmt: skip
    order = m("commerce.Order", customer=people[0], channel="web", branch=branch, ordered_at=LEAP, currency="CNY",
              revenue=Decimal("0.01"), cost_of_goods=Decimal("0"), external_id="ORD-0001")  # fmt: skip
    m("commerce.OrderLine", order=order, line_no=1, product=tea, quantity=Decimal("0.001"), unit_price=Decimal("0"),
      unit_cost=Decimal("0"), amount=Decimal("0"))  # fmt: skip
    m("commerce.OrderLine", order=order, line_no=2, product=gold, quantity=Decimal("999999999.999"),
      unit_price=Decimal("0.01"), unit_cost=Decimal("0"), amount=Decimal("0.01"))  # fmt: skip
    m("commerce.Order", customer=people[2], channel="store", ordered_at=SHANGHAI_MIDNIGHT, currency="CNY",
      revenue=Decimal("0"), cost_of_goods=Decimal("0"))  # fmt: skip
    m("commerce.CostEvent", customer=people[1], kind="return", amount=Decimal("0"), currency="USD",
      occurred_at=datetime(1970, 1, 1, tzinfo=UTC), note='退货 "damaged"')  # fmt: skip
    m("commerce.CostEvent", customer=people[1], kind="claim", amount=Decimal("5.00"), currency="USD", occurred_at=LEAP)
    m("engagement.Interaction", customer=people[0], channel="phone", subject="投诉：送货慢", body="第一行\n第二行",
      occurred_at=LEAP)  # fmt: skip
    m("engagement.Task", customer=people[0], assignee=rep, title="回电话", due_at=None, status="open")
    survey = m("feedback.Survey", name="关系型 NPS", kind="nps", title_zh_hans="您会推荐我们吗？", public_key="k" * 24)
    invited = m("feedback.Invitation", survey=survey, customer=people[0], channel="email", touchpoint="relationship",
                expires_at=LEAP + timedelta(days=14), created_at=LEAP, nonce="n0nce", email="zhang.wei@example.cn")  # fmt: skip
    answer = m("feedback.Response", survey=survey, customer=people[0], invitation=invited, score=0,
               score_class="detractor", answers={"q2": {"文本": "太慢了 🐢", "n": [1, 2.5, None]}},
               comment='送货太慢\n"again"', touchpoint="relationship", channel="email", created_at=LEAP,
               sentiment=-1.0, themes=",delivery,")  # fmt: skip
    m("feedback.Response", survey=survey, score=10, score_class="promoter", touchpoint="web", channel="link",
      comment="", sentiment=1.0, created_at=SHANGHAI_MIDNIGHT)  # fmt: skip
    m("feedback.FollowUp", response=answer, customer=people[0], owner=rep, reason="Detractor", opened_at=LEAP,
      due_at=LEAP, root_cause="delivery", action_taken="打电话道歉")  # fmt: skip
    m("feedback.Review", customer=people[0], owner=rep, quarter="2024Q1", due_at=LEAP, nps=None)
    m("feedback.Review", customer=people[0], owner=rep, quarter="2024Q4", due_at=SHANGHAI_MIDNIGHT, nps=10)
    m("feedback.Trigger", survey=survey, event="order", touchpoint="purchase", sampling_rate=Decimal("1.000"))
    m("feedback.FollowUpRule", name="负面", max_score=0, sentiment_below=-1.0, keywords="慢，贵\nlate")
    run = m("insights.ScoringRun", as_of=date(2024, 12, 31), status="done", started_at=LEAP,
            finished_at=SHANGHAI_MIDNIGHT, params={"bgnbd": {"r": 0.24, "alpha": 4.41}},
            diagnostics={"note": "ünïcödé"})  # fmt: skip
    for customer, p_alive in ((people[0], 1.0), (people[1], None), (people[2], 0.0)):
        scores = {"p_alive": p_alive, "churn_risk": 0.0 if p_alive is None else 1.0, "move_down_prob": None,
                  "r_score": None if p_alive is None else 1, "f_score": 5, "m_score": 3, "clv": -0.0,
                  "value_class": "most_valuable", "churn_reasons": ["detractor", "低消费"],
                  "recommendations": [tea.pk, gold.pk], "rfm_segment": "champions"}  # fmt: skip
        m("insights.CustomerScore", run=run, customer=customer, **scores)
        m("insights.CurrentScore", run=run, customer=customer, updated_at=SHANGHAI_MIDNIGHT, **scores)
    low, high = sorted([people[0].pk, people[1].pk])
    m("imports.PossibleDuplicate", customer_id=low, other_id=high, reasons=["name", "电话"], status="dismissed")
    return {"people": [p.pk for p in people], "order": order, "survey": survey, "run": run, "tea": tea}


def break_rules(book: Book, data: dict[str, Any]) -> dict[str, Any]:
    """Rows an older Patron (or a hand edit) could have left, which the new rules refuse, and
    some the upgrade fixes: first and last order the wrong way round (recomputed from the
    orders), a pair of possible duplicates stored the other way round (turned), a pair stored
    both ways (merged, "not a duplicate" kept), a customer paired with itself (dropped)."""
    m = book.make
    people = data["people"]
    line = m("commerce.OrderLine", order=data["order"], line_no=3, product=data["tea"], quantity=Decimal("-1"),
             unit_price=Decimal("5"), unit_cost=Decimal("1"), amount=Decimal("-5"))  # fmt: skip
    answer = m("feedback.Response", survey=data["survey"], score=11, score_class="promoter", touchpoint="web",
               channel="link")  # fmt: skip
    scores = book.apps.get_model("insights", "CustomerScore")._base_manager
    score = scores.get(customer_id=people[1])
    scores.filter(pk=score.pk).update(churn_risk=1.5)
    customers = book.apps.get_model("customers", "Customer")._base_manager
    customers.filter(pk=people[0]).update(first_order_at=SHANGHAI_MIDNIGHT, last_order_at=LEAP - timedelta(days=400))
    third = m("customers.Customer", name="Third", currency="CNY")
    m("imports.PossibleDuplicate", customer_id=max(people[1], third.pk), other_id=min(people[1], third.pk),
      reasons=["email"], status="open")  # fmt: skip
    first, second = sorted([people[0], people[2]])
    m("imports.PossibleDuplicate", customer_id=first, other_id=second, reasons=["name"], status="open")
    m("imports.PossibleDuplicate", customer_id=second, other_id=first, reasons=["name"], status="dismissed")
    m("imports.PossibleDuplicate", customer_id=third.pk, other_id=third.pk, reasons=["phone"], status="open")
    return {"line": line.pk, "answer": answer.pk, "score": score.pk, "third": third.pk, "pair": [first, second]}


def _cell(value: Any) -> list[str]:
    """A value as the driver returned it, type and text, so 1 and 1.0 or '' and NULL differ."""
    if isinstance(value, memoryview):
        value = bytes(value)
    return [type(value).__name__, value.hex() if isinstance(value, bytes) else str(value)]


def snapshot() -> dict[str, dict[str, dict[str, list[str]]]]:
    """Every row of every table, by table and first column (the key)."""
    from django.db import connection

    out: dict[str, dict[str, dict[str, list[str]]]] = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - names from the database
            columns = [c[0] for c in cursor.description]
            out[table] = {str(row[0]): {c: _cell(v) for c, v in zip(columns, row, strict=True)} for row in cursor}
    return out


def _prepare(before: str, bad: bool) -> dict[str, Any]:
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    graph = executor.loader.graph
    targets = before_each_apps_latest(graph) if before == "latest" else before_the_integrity_rules(graph)
    executor.migrate(targets)
    book = Book(executor.loader.project_state(targets).apps)
    data = populate(book)
    ids = {"people": data["people"], "bad": break_rules(book, data) if bad else None}
    return {"targets": targets, "leaves": graph.leaf_nodes(), "ids": ids, "rows": snapshot()}


def _upgrade() -> dict[str, Any]:
    from django.apps import apps
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from patron.core.integrity import BadRowsError, breaches

    reported: list[str] = []
    for _attempt in range(10):
        executor = MigrationExecutor(connection)
        try:
            executor.migrate(executor.loader.graph.leaf_nodes())
            break
        except BadRowsError as exc:
            reported += [str(b) for b in exc.found]
            with connection.cursor() as cursor:
                for breach in exc.found:
                    model = apps.get_model(breach.model)
                    marks = ", ".join(["%s"] * len(breach.ids))
                    table, pk = connection.ops.quote_name(model._meta.db_table), model._meta.pk.column
                    cursor.execute(f"DELETE FROM {table} WHERE {pk} IN ({marks})", list(breach.ids))  # noqa: S608
    else:
        raise RuntimeError("the upgrade did not finish")
    models = [m for m in apps.get_models() if m._meta.app_label in PATRON_APPS]
    return {"reported": reported, "rows": snapshot(), "breaches": [str(b) for b in breaches(models, "default")]}


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")
    import django

    django.setup()
    step, out = argv[0], argv[1]
    result = _prepare(argv[2], "bad" in argv[3:]) if step == "prepare" else _upgrade()
    with open(out, "w", encoding="utf-8") as file:
        json.dump(result, file, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1:])
