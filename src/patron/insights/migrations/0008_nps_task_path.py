"""Queued tasks follow their functions: the NPS figures' refresh moved from feedback/tasks.py to
insights/tasks.py with the rest of the NPS analytics."""

from django.db import migrations

OLD = "patron.feedback.tasks.nps_figures_refresh"
NEW = "patron.insights.tasks.nps_figures_refresh"


def forwards(apps, schema_editor):
    apps.get_model("django_tasks_database", "DBTaskResult").objects.filter(task_path=OLD).update(task_path=NEW)


def backwards(apps, schema_editor):
    apps.get_model("django_tasks_database", "DBTaskResult").objects.filter(task_path=NEW).update(task_path=OLD)


class Migration(migrations.Migration):
    dependencies = [
        ("insights", "0007_scoring_run_purchase_model"),
        ("django_tasks_database", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=True)]
