"""Queued tasks follow their functions: the scheduled and triggered jobs left feedback/tasks.py for
feedback/jobs.py. A trigger's invitation waits in the queue for hours; without this it would fail
to run after the upgrade, and the scheduler (which knows a period is done by the task's path)
would run this quarter's reviews job again."""

from django.db import migrations

MOVED = {
    f"patron.feedback.tasks.{name}": f"patron.feedback.jobs.{name}"
    for name in ("follow_ups_alert", "follow_ups_escalate", "reviews_create_quarterly", "trigger_invite")
}


def forwards(apps, schema_editor):
    results = apps.get_model("django_tasks_database", "DBTaskResult")
    for old, new in MOVED.items():
        results.objects.filter(task_path=old).update(task_path=new)


def backwards(apps, schema_editor):
    results = apps.get_model("django_tasks_database", "DBTaskResult")
    for old, new in MOVED.items():
        results.objects.filter(task_path=new).update(task_path=old)


class Migration(migrations.Migration):
    dependencies = [
        ("feedback", "0006_integrity_constraints"),
        ("django_tasks_database", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards, elidable=True)]
