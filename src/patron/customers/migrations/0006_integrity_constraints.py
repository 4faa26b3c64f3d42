"""Database rules for what must never be (docs/security.md, "Integrity"); rows that already
break one stop the migration before it changes anything (patron.core.integrity). First and last
order times the wrong way round are running totals of the orders: recomputed from them."""

from django.conf import settings
from django.db import migrations, models
from django.db.models import F, Max, Min, OuterRef, Subquery

from patron.core.integrity import refuse_rows_breaking

RULES = [
    ("customer", models.CheckConstraint(condition=models.Q(('acquisition_cost__gte', 0)), name='customer_acquisition_cost_not_negative', violation_error_message='The acquisition cost cannot be negative.')),
    ("customer", models.CheckConstraint(condition=models.Q(('cogs_total__gte', 0), ('cost_to_serve_total__gte', 0), ('revenue_total__gte', 0)), name='customer_totals_not_negative')),
    ("customer", models.CheckConstraint(condition=models.Q(('first_order_at__isnull', True), ('last_order_at__isnull', True), ('first_order_at__lte', models.F('last_order_at')), _connector='OR'), name='customer_first_order_not_after_last')),
]


def first_and_last_order_from_orders(apps, schema_editor):
    using = schema_editor.connection.alias
    customers = apps.get_model("customers", "Customer")._base_manager.using(using)
    orders = apps.get_model("commerce", "Order")._base_manager.using(using)

    def span(aggregate):
        per = orders.filter(customer_id=OuterRef("pk")).order_by().values("customer_id")
        return Subquery(per.annotate(at=aggregate("ordered_at")).values("at")[:1])

    customers.filter(first_order_at__gt=F("last_order_at")).update(
        first_order_at=span(Min), last_order_at=span(Max)
    )
    if schema_editor.connection.vendor == "postgresql":
        # No deferred check may be pending when the table is altered next (PostgreSQL).
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ('core', '0002_api_token'),
        ('customers', '0005_currency_defaults_to_base'),
        ('commerce', '0003_list_sort_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(first_and_last_order_from_orders, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(
            refuse_rows_breaking("customers.0006_integrity_constraints", RULES), migrations.RunPython.noop, elidable=True
        ),
        *(migrations.AddConstraint(model_name=model, constraint=rule) for model, rule in RULES),
    ]
