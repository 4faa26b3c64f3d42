"""Phones searched by their digits and customers compared by indexed keys.

``phone_digits`` (customers and contacts) holds the digits of the number in E.164 (the country
code first, customers/phones.py) and ``name_key`` the name as the duplicate check compares it;
both are filled for the rows already there, in chunks, before their indexes are built. The
phones themselves keep the form they were typed in until they are next changed (every write
stores E.164 from now on): an upgrade changes no value a person entered.
"""

from django.db import migrations, models
from django.db.models.functions import Lower

from patron.core import bulk
from patron.customers.duplicates import name_key
from patron.customers.phones import phone_digits

CHUNK = 5000


def _fill(model, with_name: bool) -> None:
    rows = model._base_manager.order_by("pk")
    last = 0
    while True:
        page = list(rows.filter(pk__gt=last).values_list("pk", "phone", "name")[:CHUNK])
        if not page:
            return
        last = page[-1][0]
        if with_name:
            changed = [(phone_digits(phone), name_key(name), pk) for pk, phone, name in page if phone or name]
            bulk.update(model, ["phone_digits", "name_key"], changed)
        else:
            changed = [(phone_digits(phone), pk) for pk, phone, _name in page if phone]
            bulk.update(model, ["phone_digits"], changed)


def fill_keys(apps, schema_editor):
    _fill(apps.get_model("customers", "Customer"), with_name=True)
    _fill(apps.get_model("customers", "Contact"), with_name=False)


def _key(**kwargs):
    return models.CharField(blank=True, default="", db_default="", editable=False, **kwargs)


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0007_customer_erased_at"),
    ]

    operations = [
        migrations.AddField("customer", "phone_digits", _key(max_length=40)),
        migrations.AddField("customer", "name_key", _key(max_length=200)),
        migrations.AddField("contact", "phone_digits", _key(max_length=40)),
        migrations.RunPython(fill_keys, migrations.RunPython.noop, elidable=True),
        migrations.AlterField("customer", "phone_digits", _key(max_length=40, db_index=True)),
        migrations.AlterField("customer", "name_key", _key(max_length=200, db_index=True)),
        migrations.AlterField("contact", "phone_digits", _key(max_length=40, db_index=True)),
        migrations.AddIndex("customer", models.Index(Lower("email"), name="customers_email_lower")),
    ]
