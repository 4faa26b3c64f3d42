"""The default pipeline and its six stages. Their names stay empty: the app shows each default
stage's translated name (sales.models.DEFAULT_STAGE_NAMES)."""

from decimal import Decimal

from django.db import migrations

STAGES = [
    ("qualify", "open", "0.10"),
    ("meet", "open", "0.25"),
    ("propose", "open", "0.50"),
    ("negotiate", "open", "0.75"),
    ("won", "won", "1.00"),
    ("lost", "lost", "0.00"),
]


def create(apps, schema_editor):
    Pipeline = apps.get_model("sales", "Pipeline")
    Stage = apps.get_model("sales", "Stage")
    if Pipeline.objects.filter(is_default=True).exists():
        return
    pipeline = Pipeline.objects.create(name="Sales", is_default=True)
    Stage.objects.bulk_create(
        Stage(pipeline=pipeline, key=key, name="", position=i, outcome=outcome, probability=Decimal(p))
        for i, (key, outcome, p) in enumerate(STAGES, start=1)
    )


def remove(apps, schema_editor):
    apps.get_model("sales", "Pipeline").objects.filter(is_default=True, opportunities__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial")]

    operations = [migrations.RunPython(create, remove)]
