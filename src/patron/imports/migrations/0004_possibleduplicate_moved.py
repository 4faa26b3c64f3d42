"""Possible duplicates now belong to the customers app (customers.0009): out of this app's state,
the table and its rows untouched."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0003_integrity_constraints"),
        ("customers", "0009_possibleduplicate"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="PossibleDuplicate")],
            database_operations=[],
        ),
    ]
