"""Database rules for what must never be (docs/security.md, "Integrity"); rows that already
break one stop the migration before it changes anything (patron.core.integrity)."""

from django.db import migrations, models

from patron.core.integrity import refuse_rows_breaking

RULES = [
    ("costevent", models.CheckConstraint(condition=models.Q(('amount__gte', 0)), name='costevent_amount_not_negative', violation_error_message='A cost-to-serve amount cannot be negative.')),
    ("order", models.CheckConstraint(condition=models.Q(('cost_of_goods__gte', 0), ('revenue__gte', 0)), name='order_money_not_negative', violation_error_message="An order's revenue and cost of goods cannot be negative.")),
    ("orderline", models.CheckConstraint(condition=models.Q(('quantity__gt', 0)), name='orderline_quantity_positive', violation_error_message='The quantity must be positive.')),
    ("orderline", models.CheckConstraint(condition=models.Q(('amount__gte', 0), ('unit_cost__gte', 0), ('unit_price__gte', 0)), name='orderline_money_not_negative', violation_error_message='Prices and costs cannot be negative.')),
    ("product", models.CheckConstraint(condition=models.Q(('list_price__gte', 0), ('unit_cost__gte', 0)), name='product_prices_not_negative', violation_error_message='Prices and costs cannot be negative.')),
]


class Migration(migrations.Migration):
    dependencies = [
        ('commerce', '0005_base_currency_amounts'),
        ('core', '0002_api_token'),
        ('customers', '0004_home_and_cohort_indexes'),
    ]

    operations = [
        migrations.RunPython(
            refuse_rows_breaking("commerce.0006_integrity_constraints", RULES), migrations.RunPython.noop, elidable=True
        ),
        *(migrations.AddConstraint(model_name=model, constraint=rule) for model, rule in RULES),
    ]
