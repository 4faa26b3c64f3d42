"""Benchmark: launching a campaign (``campaigns.campaign_services.campaign_launch``) on a book of
N customers with scores, on the database of DATABASE_URL.

    DATABASE_URL=sqlite:////tmp/patron-camp.sqlite3 .venv/bin/python bench/bench_campaign_launch.py \\
        --customers 1000000

Builds the book quickly unless it is there already: N synthetic customers (90 % consenting to
email, with an address) and their current scores (a value class, CLV, churn risk, P(alive), an
RFM segment), written straight through ``core.bulk``; ``patron generate`` would take far longer
at this size. Then it times, on the same rows:

- the launch: the segment (every customer) read with its scores, the stratified split, consent
  and the contact budget (one active rule, so the budget's queries run), the members and the
  contact log written, the audit entry, the email task queued;
- the floor: a plain ``INSERT ... SELECT`` of the same members in SQL (every customer as a
  treatment member with their scores), what a hand-written script would at least cost.

Writes a Markdown report (bench/results/campaign_launch.md, or --out). The database is migrated
first if it is empty.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path

BATCH = 100_000
CLASSES = ["most_valuable", "most_growable", "other", "below_zero"]
RFM = ["champions", "loyal", "at_risk", "hibernating", "new"]


def build(n: int) -> None:
    import numpy as np
    from django.db import transaction
    from django.utils import timezone

    from patron.core import bulk
    from patron.customers.models import Customer
    from patron.insights.models import CurrentScore

    have = Customer.objects.count()
    if have >= n:
        return
    rng = np.random.default_rng(1)
    now = timezone.now()
    start = time.perf_counter()
    customer_columns = ["id", "kind", "name", "name_search", "email", "city", "address", "consent_email",
                        "consent_survey", "created_at", "updated_at"]
    score_columns = ["customer", "updated_at", "value_class", "clv", "churn_risk", "p_alive", "rfm_segment",
                     "churn_reasons", "recommendations"]
    with bulk.fewer_gc_passes(), bulk.sqlite_bulk_write():
        for offset in range(have, n, BATCH):
            size = min(BATCH, n - offset)
            with transaction.atomic():
                ids = bulk.allocate_ids(Customer, size)
                consent = (rng.random(size) < 0.9).tolist()
                classes = rng.choice(len(CLASSES), size, p=[0.1, 0.2, 0.6, 0.1]).tolist()
                clv = rng.gamma(2.0, 500.0, size).round(2).tolist()
                churn = rng.random(size).round(4).tolist()
                alive = rng.random(size).round(4).tolist()
                rfm = rng.integers(0, len(RFM), size).tolist()
                bulk.insert(Customer, customer_columns, [
                    (pk, "person", f"Bench {pk}", f"bench {pk}", f"c{pk}@example.com", "Hong Kong", f"{pk} Bench Road",
                     consent[i], False, now, now)
                    for i, pk in enumerate(ids)
                ])
                bulk.insert(CurrentScore, score_columns, [
                    (pk, now, CLASSES[classes[i]], clv[i], churn[i], alive[i], RFM[rfm[i]], "[]", "[]")
                    for i, pk in enumerate(ids)
                ])
            print(f"built {offset + size:,} customers ({time.perf_counter() - start:.0f} s)", flush=True)


def floor_sql(campaign_id: int) -> float:
    """A plain INSERT ... SELECT of the same members, rolled back; its wall time."""
    from django.db import connection, transaction

    from patron.campaigns.models import CampaignMember
    from patron.customers.models import Customer
    from patron.insights.models import CurrentScore

    q = connection.ops.quote_name
    sql = (
        f"INSERT INTO {q(CampaignMember._meta.db_table)} (campaign_id, customer_id, {q('group')}, value_class, clv,"
        " churn_risk, p_alive, rfm_segment, channel, contacted, skipped_reason, response_source, revenue, margin,"
        " recorded_revenue)"
        f" SELECT %s, c.id, 'treatment', COALESCE(s.value_class, ''), s.clv, s.churn_risk, s.p_alive,"
        f" COALESCE(s.rfm_segment, ''), 'email', %s, '', '', 0, 0, 0 FROM {q(Customer._meta.db_table)} c"
        f" LEFT JOIN {q(CurrentScore._meta.db_table)} s ON s.customer_id = c.id"
    )
    with transaction.atomic():
        start = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(sql, [campaign_id, True])
        took = time.perf_counter() - start
        transaction.set_rollback(True)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--out", default="bench/results/campaign_launch.md")
    args = parser.parse_args()
    sys.path.insert(0, str(Path("src").resolve()))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    build(args.customers)

    from django.db import transaction

    from patron.campaigns.campaign_services import campaign_create, campaign_launch
    from patron.campaigns.models import Campaign, CampaignMember, Segment
    from patron.core.audit import acting
    from patron.core.models import AuditSource, User
    from patron.customers.models import Customer
    from patron.feedback.models import ContactLog, ContactRule

    admin = User.objects.filter(username="bench-admin").first() or User.objects.create_user(
        username="bench-admin", role="admin", password=None
    )
    segment = Segment.objects.get_or_create(name="Bench: everyone", defaults={"filter": {}})[0]
    ContactRule.objects.get_or_create(
        name="Bench: one campaign a week", defaults={"purpose": "campaign", "max_contacts": 1, "window_days": 7}
    )
    # Earlier runs' campaigns and their contacts go first, so the budget refuses nobody for them.
    old = Campaign.objects.filter(name__startswith="Bench")
    with transaction.atomic():
        CampaignMember.objects.filter(campaign__in=old)._raw_delete(CampaignMember.objects.db)
        ContactLog.objects.filter(ref__startswith="campaign:")._raw_delete(ContactLog.objects.db)
        old.delete()
    if connection.vendor == "postgresql":
        # The rows just deleted would otherwise bloat the tables and indexes the launch writes.
        with connection.cursor() as cursor:
            for model in (CampaignMember, ContactLog, Customer):
                cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    customers = Customer.objects.count()
    today = dt.date.today()
    with acting(admin, source=AuditSource.CLI):
        campaign = campaign_create(
            values={"name": f"Bench {time.strftime('%H:%M:%S')}", "segment_id": segment.pk, "channel": "email",
                    "offer": "10% off", "starts_on": today, "ends_on": today, "control_share": 0.1},
            created_by=admin,
        )
        start = time.perf_counter()
        cpu = time.process_time()
        result = campaign_launch(campaign=campaign, user=admin, seed=1)
        launch = time.perf_counter() - start
        launch_cpu = time.process_time() - cpu
        other = campaign_create(
            values={"name": "Bench floor", "segment_id": segment.pk, "channel": "email", "starts_on": today,
                    "ends_on": today},
            created_by=admin,
        )
    floor = floor_sql(other.pk)
    members = result.treatment + result.control
    lines = [
        "# Campaign launch",
        "",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average {os.getloadavg()[0]:.1f}",
        f"- command: DATABASE_URL=… .venv/bin/python bench/bench_campaign_launch.py --customers {args.customers}",
        f"- database: {connection.vendor}; customers in the book: {customers:,}; members: {members:,}",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        f"- launch: {launch:.1f} s wall ({launch_cpu:.1f} s CPU): treatment {result.treatment:,}, control "
        f"{result.control:,}, contacted {result.contacted:,}, skipped {result.skipped}",
        f"- floor (INSERT ... SELECT of the same members, no split, no budget, no contact log): {floor:.1f} s",
        f"- ratio launch / floor: {launch / floor:.1f}",
        "",
    ]
    report = "\n".join(lines)
    print(report)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
