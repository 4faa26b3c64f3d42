"""Database rules for what must never be (docs/security.md, "Integrity"); rows that already
break one stop the migration before it changes anything (patron.core.integrity). Possible
duplicates are stored once per pair, lower id first: a pair stored the other way round is turned
(merged with its twin if both exist, "not a duplicate" winning), a customer paired with itself
is dropped."""

from django.db import migrations, models

from patron.core.integrity import refuse_rows_breaking

RULES = [
    ("possibleduplicate", models.CheckConstraint(condition=models.Q(('customer__lt', models.F('other'))), name='possibleduplicate_ordered_pair')),
]


def one_row_per_pair_lower_id_first(apps, schema_editor):
    flags = apps.get_model("imports", "PossibleDuplicate")._base_manager.using(schema_editor.connection.alias)
    flags.filter(customer_id=models.F("other_id")).delete()
    for flag in flags.filter(customer_id__gt=models.F("other_id")).order_by("pk"):
        twin = flags.filter(customer_id=flag.other_id, other_id=flag.customer_id).first()
        if twin is None:
            flags.filter(pk=flag.pk).update(customer_id=flag.other_id, other_id=flag.customer_id)
            continue
        if flag.status == "dismissed" and twin.status != "dismissed":
            flags.filter(pk=twin.pk).update(status="dismissed")
        flags.filter(pk=flag.pk).delete()
    if schema_editor.connection.vendor == "postgresql":
        # Check the deferred foreign keys of the rows changed now: PostgreSQL refuses to alter
        # a table with checks still pending in the transaction.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):
    dependencies = [
        ('customers', '0006_integrity_constraints'),
        ('imports', '0002_rates_kind'),
    ]

    operations = [
        migrations.RunPython(one_row_per_pair_lower_id_first, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(
            refuse_rows_breaking("imports.0003_integrity_constraints", RULES), migrations.RunPython.noop, elidable=True
        ),
        *(migrations.AddConstraint(model_name=model, constraint=rule) for model, rule in RULES),
    ]
