# Exchange rates to the base currency, the ledger row naming the base currency, and currency
# fields that default to the base currency (PATRON_BASE_CURRENCY) instead of CNY.

import django.core.validators
from django.db import migrations, models

import patron.core.models


class Migration(migrations.Migration):

    dependencies = [
        ('commerce', '0003_list_sort_indexes'),
        ('core', '0002_api_token'),
        ('customers', '0005_currency_defaults_to_base'),
    ]

    operations = [
        migrations.CreateModel(
            name='ExchangeRate',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated')),
                ('currency', models.CharField(max_length=3, validators=[django.core.validators.RegexValidator('^[A-Z]{3}$', 'Use a three-letter ISO 4217 code, e.g. CNY.')], verbose_name='currency')),
                ('date', models.DateField(verbose_name='date')),
                ('rate', patron.core.models.RateField(decimal_places=10, max_digits=20, verbose_name='rate')),
                ('source', models.CharField(blank=True, max_length=100, verbose_name='source')),
            ],
            options={
                'verbose_name': 'exchange rate',
                'verbose_name_plural': 'exchange rates',
                'ordering': ['currency', '-date'],
            },
        ),
        migrations.CreateModel(
            name='Ledger',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('base_currency', models.CharField(max_length=3, validators=[django.core.validators.RegexValidator('^[A-Z]{3}$', 'Use a three-letter ISO 4217 code, e.g. CNY.')], verbose_name='base currency')),
            ],
            options={
                'verbose_name': 'ledger',
                'verbose_name_plural': 'ledger',
            },
        ),
        migrations.AlterField(
            model_name='costevent',
            name='currency',
            field=patron.core.models.CurrencyField(default=patron.core.models.base_currency, max_length=3, validators=[django.core.validators.RegexValidator('^[A-Z]{3}$', 'Use a three-letter ISO 4217 code, e.g. CNY.')], verbose_name='currency'),
        ),
        migrations.AlterField(
            model_name='order',
            name='currency',
            field=patron.core.models.CurrencyField(default=patron.core.models.base_currency, max_length=3, validators=[django.core.validators.RegexValidator('^[A-Z]{3}$', 'Use a three-letter ISO 4217 code, e.g. CNY.')], verbose_name='currency'),
        ),
        migrations.AlterField(
            model_name='product',
            name='currency',
            field=patron.core.models.CurrencyField(default=patron.core.models.base_currency, max_length=3, validators=[django.core.validators.RegexValidator('^[A-Z]{3}$', 'Use a three-letter ISO 4217 code, e.g. CNY.')], verbose_name='currency'),
        ),
        migrations.AddConstraint(
            model_name='exchangerate',
            constraint=models.UniqueConstraint(fields=('currency', 'date'), name='exchangerate_one_per_day'),
        ),
        migrations.AddConstraint(
            model_name='exchangerate',
            constraint=models.CheckConstraint(condition=models.Q(('rate__gt', 0)), name='exchangerate_positive'),
        ),
    ]
