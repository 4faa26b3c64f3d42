"""Benchmark: the campaign reads at a million members — channel preferences (the book's prior,
one customer for the 360° page, a million ids in chunks for a launch) and a simulation's history
and segment queries.

Fills a fresh, migrated database (use an empty one: it writes customers, campaigns, members and
survey invitations; a database that already holds customers is read as it is), on PostgreSQL
runs ``VACUUM ANALYZE`` on the tables read, and times each read once after a warm-up:

    DATABASE_URL=sqlite:////tmp/campbench/bench.sqlite3 .venv/bin/patron migrate
    DATABASE_URL=sqlite:////tmp/campbench/bench.sqlite3 .venv/bin/python bench/bench_campaign_reads.py \\
        --customers 1000000 --campaigns 10
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import timedelta


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--campaigns", type=int, default=10, help="each with every tenth customer... see below")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")
    import django

    django.setup()
    import numpy as np
    from django.db import connection, transaction
    from django.utils import timezone

    # Imported after django.setup(): the app registry must be ready.
    from patron.campaigns.channels import channel_preferences, channel_priors
    from patron.campaigns.models import Campaign, CampaignMember, Segment
    from patron.campaigns.simulation import simulate_campaign
    from patron.core.models import User
    from patron.customers.models import Customer
    from patron.feedback.models import Invitation, Survey

    rng = np.random.default_rng(1)
    n = args.customers
    if not Customer.objects.exists():
        t = time.perf_counter()
        now = timezone.now()
        with transaction.atomic():
            for start in range(0, n, 20000):
                Customer.objects.bulk_create(
                    [Customer(name=f"C{i}") for i in range(start, min(start + 20000, n))], batch_size=5000
                )
            ids = np.array(Customer.objects.order_by("pk").values_list("pk", flat=True))
            survey = Survey.objects.create(name="NPS", kind="nps")
            for c in range(args.campaigns):
                at = now - timedelta(days=int(10 + 40 * c))
                camp = Campaign.objects.create(
                    name=f"K{c}", channel=["email", "phone", "mail"][c % 3], offer="10% off", status="launched",
                    launched_at=at, starts_on=at.date(), ends_on=at.date(), seed=1, cost=1000,
                )
                chosen = rng.choice(ids, size=n // args.campaigns, replace=False)
                groups = rng.random(len(chosen)) < 0.1
                responded = rng.random(len(chosen)) < 0.08
                rows = [
                    CampaignMember(
                        campaign=camp, customer_id=int(cid), group="control" if g else "treatment",
                        value_class=["most_valuable", "most_growable", "other"][int(cid) % 3],
                        channel=camp.channel, contacted=not g, responded_at=at if r else None,
                        margin=25 if r else 0,
                    )
                    for cid, g, r in zip(chosen, groups, responded, strict=True)
                ]
                CampaignMember.objects.bulk_create(rows, batch_size=5000)
            invited = rng.choice(ids, size=n // 2, replace=False)
            answered = rng.random(len(invited)) < 0.2
            Invitation.objects.bulk_create(
                [
                    Invitation(survey=survey, customer_id=int(cid), channel="email", touchpoint="relationship",
                               expires_at=now, sent_at=now, answered_at=now if a else None)
                    for cid, a in zip(invited, answered, strict=True)
                ],
                batch_size=5000,
            )
            Segment.objects.create(name="All", filter={})
        print(f"filled in {time.perf_counter() - t:.0f} s")
    if connection.vendor == "postgresql":
        # Statistics for the planner, as autovacuum would gather them (it may be off, or not yet
        # have run after the fill): without them the chunks' IN lists are planned as full scans.
        t = time.perf_counter()
        with connection.cursor() as cursor:
            for model in (Customer, CampaignMember, Invitation):
                cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
        print(f"VACUUM ANALYZE of customers, members, invitations: {time.perf_counter() - t:.1f} s")
    print(
        f"database: {connection.vendor}; customers {Customer.objects.count():,}, "
        f"members {CampaignMember.objects.count():,}, invitations {Invitation.objects.count():,}"
    )
    admin = User.objects.filter(is_superuser=True).first() or User.objects.create_superuser("bench", password="x")
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))

    def timed(label: str, fn) -> object:
        fn()  # warm-up
        t = time.perf_counter()
        out = fn()
        print(f"{label}: {time.perf_counter() - t:.2f} s")
        return out

    priors = timed("channel_priors() (the book's prior, one query)", channel_priors)
    print("  priors:", {k: (round(v.rate, 4), round(v.strength, 1)) for k, v in priors.items()})
    timed("channel_preferences(one id) (the 360° page: prior + 2 queries)", lambda: channel_preferences([ids[5]]))
    prefs = timed(
        f"channel_preferences({len(ids):,} ids, prior given; the whole book grouped once above 50,000 ids)",
        lambda: channel_preferences(ids, priors=priors),
    )
    print(f"  customers with a preference: {len(prefs):,}")  # type: ignore[arg-type]
    segment = Segment.objects.get(name="All")
    result = timed(
        "simulate_campaign(all customers, email, '10% off')",
        lambda: simulate_campaign(user=admin, segment=segment, channel="email", offer="10% off", cost=5000),
    )
    print("  ", {k: result[k] for k in ("basis", "match", "campaigns_used", "history_members", "response_rate")})  # type: ignore[index]
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
