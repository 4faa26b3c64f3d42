# Orders and cost events keep their original amounts and gain the same in the base currency
# with the rate used. Existing records in the base currency get rate 1 and equal amounts; those
# in another currency have no rate yet: they stay "not converted" (base amounts 0, counted in no
# total) until `patron rates convert` finds rates for their dates, and their customers' totals,
# which had added them as if they were base money, are recomputed without them.

from django.conf import settings
from django.db import migrations, models
from django.db.models import Count, F, Max, Min, Sum

import patron.core.models


def fill_base_amounts(apps, schema_editor):
    base = settings.PATRON_BASE_CURRENCY
    Order = apps.get_model("commerce", "Order")
    CostEvent = apps.get_model("commerce", "CostEvent")
    Customer = apps.get_model("customers", "Customer")
    Ledger = apps.get_model("commerce", "Ledger")
    Ledger.objects.update_or_create(pk=1, defaults={"base_currency": base})
    Order.objects.filter(currency=base).update(
        exchange_rate=1, base_revenue=F("revenue"), base_cost_of_goods=F("cost_of_goods")
    )
    CostEvent.objects.filter(currency=base).update(exchange_rate=1, base_amount=F("amount"))
    affected = set(Order.objects.exclude(currency=base).values_list("customer_id", flat=True).distinct())
    affected |= set(CostEvent.objects.exclude(currency=base).values_list("customer_id", flat=True).distinct())
    ids = sorted(affected)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        orders = {
            row["customer_id"]: row
            for row in Order.objects.filter(customer_id__in=chunk, exchange_rate__isnull=False)
            .values("customer_id")
            .annotate(
                revenue=Sum("base_revenue"),
                cogs=Sum("base_cost_of_goods"),
                n=Count("id"),
                first=Min("ordered_at"),
                last=Max("ordered_at"),
            )
        }
        serve = dict(
            CostEvent.objects.filter(customer_id__in=chunk, exchange_rate__isnull=False)
            .values("customer_id")
            .annotate(total=Sum("base_amount"))
            .values_list("customer_id", "total")
        )
        for customer_id in chunk:
            o = orders.get(customer_id, {})
            revenue, cogs = o.get("revenue") or 0, o.get("cogs") or 0
            cost = serve.get(customer_id) or 0
            Customer.objects.filter(pk=customer_id).update(
                revenue_total=revenue,
                cogs_total=cogs,
                cost_to_serve_total=cost,
                profit_total=revenue - cogs - cost,
                order_count=o.get("n") or 0,
                first_order_at=o.get("first"),
                last_order_at=o.get("last"),
            )


class Migration(migrations.Migration):

    dependencies = [
        ('commerce', '0004_exchange_rates'),
        ('customers', '0005_currency_defaults_to_base'),
    ]

    operations = [
        migrations.AddField(
            model_name='costevent',
            name='base_amount',
            field=patron.core.models.MoneyField(decimal_places=2, default=0, max_digits=16, verbose_name='amount in the base currency'),
        ),
        migrations.AddField(
            model_name='costevent',
            name='exchange_rate',
            field=patron.core.models.RateField(blank=True, decimal_places=10, max_digits=20, null=True, verbose_name='exchange rate'),
        ),
        migrations.AddField(
            model_name='order',
            name='base_cost_of_goods',
            field=patron.core.models.MoneyField(decimal_places=2, default=0, max_digits=16, verbose_name='cost of goods in the base currency'),
        ),
        migrations.AddField(
            model_name='order',
            name='base_revenue',
            field=patron.core.models.MoneyField(decimal_places=2, default=0, max_digits=16, verbose_name='revenue in the base currency'),
        ),
        migrations.AddField(
            model_name='order',
            name='exchange_rate',
            field=patron.core.models.RateField(blank=True, decimal_places=10, max_digits=20, null=True, verbose_name='exchange rate'),
        ),
        migrations.RunPython(fill_base_amounts, migrations.RunPython.noop, elidable=False),
        migrations.RemoveIndex(
            model_name='order',
            name='commerce_order_revenue_id',
        ),
        migrations.AddIndex(
            model_name='costevent',
            index=models.Index(condition=models.Q(('exchange_rate__isnull', True)), fields=['currency'], name='commerce_costevent_unconverted'),
        ),
        migrations.AddIndex(
            model_name='order',
            index=models.Index(fields=['base_revenue', 'id'], name='commerce_order_base_revenue_id'),
        ),
        migrations.AddIndex(
            model_name='order',
            index=models.Index(condition=models.Q(('exchange_rate__isnull', True)), fields=['currency'], name='commerce_order_unconverted'),
        ),
        migrations.AddConstraint(
            model_name='costevent',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('exchange_rate__gt', 0), ('exchange_rate__isnull', False)), models.Q(('base_amount', 0), ('exchange_rate__isnull', True)), _connector='OR'), name='costevent_base_amount_converted'),
        ),
        migrations.AddConstraint(
            model_name='order',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('exchange_rate__gt', 0), ('exchange_rate__isnull', False)), models.Q(('base_cost_of_goods', 0), ('base_revenue', 0), ('exchange_rate__isnull', True)), _connector='OR'), name='order_base_amounts_converted'),
        ),
    ]
