"""Possible duplicates move from the imports app to customers, where every write of a customer
flags them: the model only (its table keeps its name, imports_possibleduplicate, and its rows);
imports.0004 takes it out of the imports app's state."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0008_phone_digits_name_key"),
        ("imports", "0003_integrity_constraints"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="PossibleDuplicate",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("reasons", models.JSONField(default=list, verbose_name="shared")),
                        ("status", models.CharField(choices=[("open", "Open"), ("dismissed", "Not a duplicate")], default="open", max_length=10, verbose_name="status")),
                        ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="flagged")),
                        ("customer", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="customers.customer", verbose_name="customer")),
                        ("other", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="customers.customer", verbose_name="other customer")),
                    ],
                    options={
                        "verbose_name": "possible duplicate",
                        "verbose_name_plural": "possible duplicates",
                        "db_table": "imports_possibleduplicate",
                        "ordering": ["-created_at", "-id"],
                        "indexes": [models.Index(fields=["status", "-created_at"], name="imports_pos_status_ea0750_idx")],
                        "constraints": [
                            models.UniqueConstraint(fields=("customer", "other"), name="possibleduplicate_unique_pair"),
                            models.CheckConstraint(condition=models.Q(("customer__lt", models.F("other"))), name="possibleduplicate_ordered_pair"),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
