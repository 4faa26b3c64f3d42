"""Contacts get a pinyin search key like customers; on PostgreSQL, indexes for the search box.

The GIN indexes serve ``customers.search.WordPrefixes`` (word prefixes of the pinyin key); the
pattern indexes serve prefix matches on email (case-insensitive) and phone. SQLite has no
equivalent and does without.
"""

from django.db import migrations, models

BATCH = 2000

POSTGRES_INDEXES = [
    (
        "customers_customer",
        "customers_customer_name_words",
        "USING gin (to_tsvector('simple', name_search))",
    ),
    (
        "customers_contact",
        "customers_contact_name_words",
        "USING gin (to_tsvector('simple', name_search))",
    ),
    (
        "customers_customer",
        "customers_customer_email_prefix",
        "(UPPER(email::text) text_pattern_ops)",
    ),
    (
        "customers_contact",
        "customers_contact_email_prefix",
        "(UPPER(email::text) text_pattern_ops)",
    ),
    ("customers_customer", "customers_customer_phone_prefix", "((phone::text) text_pattern_ops)"),
    ("customers_contact", "customers_contact_phone_prefix", "((phone::text) text_pattern_ops)"),
]


def backfill_contact_keys(apps, schema_editor):
    from patron.customers.selectors import search_key

    # The database being migrated, which need not be the default one.
    contacts = apps.get_model("customers", "Contact").objects.using(schema_editor.connection.alias)
    last = 0
    while True:
        batch = list(contacts.filter(pk__gt=last).order_by("pk").only("pk", "name")[:BATCH])
        if not batch:
            return
        for contact in batch:
            contact.name_search = search_key(contact.name)
        contacts.bulk_update(batch, ["name_search"])
        last = batch[-1].pk


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, name, definition in POSTGRES_INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} {definition}")


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _table, name, _definition in POSTGRES_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="name_search",
            field=models.CharField(
                blank=True, db_default="", editable=False, max_length=400, verbose_name="search key"
            ),
        ),
        migrations.RunPython(backfill_contact_keys, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
