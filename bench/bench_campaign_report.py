"""Benchmark: a campaign report at 1,000,000 members (read and refresh), on SQLite or PostgreSQL.

    .venv/bin/python bench/bench_campaign_report.py --members 1000000 --repeat 20
    .venv/bin/python bench/bench_campaign_report.py --members 1000000 --repeat 20 \\
        --database-url postgres://postgres@127.0.0.1:5432/patron_campbench

Builds a fresh SQLite database (``--db``, default /tmp/patron-bench-campaign.sqlite3; deleted
first), or, with ``--database-url``, uses that database instead, which must hold no customers
(create it empty; drop and create it again for a re-run); either is migrated. On PostgreSQL the
written tables are analysed (``VACUUM ANALYZE``) after the build, before anything is timed. It
writes through ``core.bulk``: minimal customers, one launched campaign
with every customer as a member (10% control, 3% of the treatment skipped by the budget, four
value classes), and orders for about 8% of the treatment and 6% of the control inside the response
window plus as many outside it. Then it times:

- the refresh (``campaign_responses_refresh``: the aggregation over the orders in the window,
  the members' update, the sums), twice: the first writes every responder, the second finds
  nothing changed;
- ``GET /api/v1/campaigns/{id}/report`` and the report page through Django's test client
  (the whole request: authentication, middleware, the stored sums, the intervals, JSON or the
  template), ``--repeat`` times after a warm-up, reporting the median and 95th percentile.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


def _build(members: int, seed: int) -> int:
    from django.db import transaction
    from django.utils import timezone

    from patron.campaigns.models import Campaign, CampaignMember
    from patron.commerce.models import Order
    from patron.core import bulk
    from patron.customers.models import Customer

    rng = random.Random(seed)
    now = timezone.now()
    launched = now - timedelta(days=10)
    classes = ["most_valuable", "most_growable", "other", "below_zero"]
    with bulk.fewer_gc_passes(), bulk.sqlite_bulk_write(cache_kib=256_000), transaction.atomic():
        campaign = Campaign.objects.create(
            name="Bench campaign", channel="email", starts_on=launched.date(), ends_on=launched.date() + timedelta(days=30),
            status=Campaign.Status.LAUNCHED, launched_at=launched, cost=Decimal("50000"), seed=seed,
        )
        step = 100_000
        for first in range(0, members, step):
            n = min(step, members - first)
            ids = bulk.allocate_ids(Customer, n)
            bulk.insert(Customer, ["id", "name", "created_at", "updated_at"],
                        [[pk, f"Bench {pk}", now, now] for pk in ids])
            member_rows, order_rows = [], []
            for pk in ids:
                control = rng.random() < 0.1
                skipped = "" if control or rng.random() >= 0.03 else "budget"
                contacted = not control and not skipped
                member_rows.append([campaign.pk, pk, "control" if control else "treatment", rng.choice(classes),
                                    "email", contacted, launched if contacted else None, skipped])
                if rng.random() < (0.06 if control else 0.08):
                    revenue = Decimal(rng.randint(1000, 90000)) / 100
                    cost = (revenue * Decimal("0.6")).quantize(Decimal("0.01"))
                    inside = launched + timedelta(minutes=rng.randint(1, 20 * 24 * 60))
                    outside = launched - timedelta(days=rng.randint(1, 300))
                    for at in (inside, outside):
                        order_rows.append([pk, "web", at, "CNY", revenue, cost, Decimal(1), revenue, cost, now, now])
            bulk.insert(CampaignMember, ["campaign_id", "customer_id", "group", "value_class", "channel", "contacted",
                                         "contacted_at", "skipped_reason"], member_rows)
            order_ids = bulk.allocate_ids(Order, len(order_rows))
            bulk.insert(Order, ["id", "customer_id", "channel", "ordered_at", "currency", "revenue", "cost_of_goods",
                                "exchange_rate", "base_revenue", "base_cost_of_goods", "created_at", "updated_at"],
                        [[oid, *row] for oid, row in zip(order_ids, order_rows, strict=True)])
    return campaign.pk


def _timed(client, url: str, repeat: int) -> tuple[float, float, int]:
    client.get(url)  # warm-up
    times = []
    status = 0
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        status = response.status_code
    return statistics.median(times), percentile(times, 95), status


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db", type=Path, default=Path("/tmp/patron-bench-campaign.sqlite3"))
    parser.add_argument("--database-url", help="use this (empty) database instead of the SQLite file --db")
    args = parser.parse_args()
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.db}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{args.db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from patron.campaigns.models import Campaign, CampaignMember
    from patron.campaigns.results import campaign_responses_refresh
    from patron.core.services import user_create
    from patron.core.tokens import token_create
    from patron.customers.models import Customer

    call_command("migrate", verbosity=0)
    if Customer.objects.exists():
        print("the database already holds customers: give an empty one (drop and create it again)", file=sys.stderr)
        return 2
    where = f"{connection.vendor}, {connection.settings_dict['NAME']}"
    start = time.perf_counter()
    campaign_id = _build(args.members, args.seed)
    print(f"built {args.members:,} members in {time.perf_counter() - start:.1f} s ({where})")
    if connection.vendor == "postgresql":
        from patron.commerce.models import Order

        start = time.perf_counter()
        with connection.cursor() as cursor:
            for model in (Customer, Campaign, CampaignMember, Order):
                cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        print(f"VACUUM ANALYZE of the written tables: {time.perf_counter() - start:.1f} s")

    for label in ("refresh, first", "refresh, nothing changed"):
        campaign = Campaign.objects.get(pk=campaign_id)
        start = time.perf_counter()
        campaign_responses_refresh(campaign=campaign)
        print(f"{label}: {time.perf_counter() - start:.2f} s, {campaign.report['members_changed']:,} members written")

    user, _ = user_create(username="bench", role="marketer", password="bench-password-1")
    _token, raw = token_create(user=user)
    api = Client(headers={"Authorization": f"Bearer {raw}"})
    page = Client()
    page.force_login(user)
    print("\n| request | median ms | p95 ms | status |\n|---|---:|---:|---|")
    for label, client, url in [
        ("GET /api/v1/campaigns/{id}/report", api, f"/api/v1/campaigns/{campaign_id}/report"),
        ("GET /campaigns/{id}/report/ (page)", page, f"/campaigns/{campaign_id}/report/"),
    ]:
        median, p95, status = _timed(client, url, args.repeat)
        print(f"| {label} | {median:.1f} | {p95:.1f} | {status} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
