"""Database rules for what must never be (docs/security.md, "Integrity"); rows that already
break one stop the migration before it changes anything (patron.core.integrity)."""

from django.conf import settings
from django.db import migrations, models

from patron.core.integrity import refuse_rows_breaking

RULES = [
    ("followup", models.CheckConstraint(condition=models.Q(('due_at__gte', models.F('opened_at'))), name='followup_due_not_before_opened')),
    ("followuprule", models.CheckConstraint(condition=models.Q(('max_score__isnull', True), models.Q(('max_score__gte', 0), ('max_score__lte', 10)), _connector='OR'), name='followuprule_max_score_0_to_10', violation_error_message='A score is a whole number from 0 to 10.')),
    ("followuprule", models.CheckConstraint(condition=models.Q(('sentiment_below__isnull', True), models.Q(('sentiment_below__gte', -1), ('sentiment_below__lte', 1)), _connector='OR'), name='followuprule_sentiment_range', violation_error_message='Sentiment goes from -1 (negative) to 1 (positive).')),
    ("response", models.CheckConstraint(condition=models.Q(('score__gte', 0), ('score__lte', 10)), name='response_score_0_to_10', violation_error_message='A score is a whole number from 0 to 10.')),
    ("response", models.CheckConstraint(condition=models.Q(('sentiment__isnull', True), models.Q(('sentiment__gte', -1), ('sentiment__lte', 1)), _connector='OR'), name='response_sentiment_range')),
    ("review", models.CheckConstraint(condition=models.Q(('nps__isnull', True), models.Q(('nps__gte', 0), ('nps__lte', 10)), _connector='OR'), name='review_nps_0_to_10', violation_error_message='A score is a whole number from 0 to 10.')),
    ("trigger", models.CheckConstraint(condition=models.Q(('sampling_rate__gte', 0), ('sampling_rate__lte', 1)), name='trigger_sampling_rate_0_to_1', violation_error_message='The sampling rate is a share from 0 to 1.')),
]


class Migration(migrations.Migration):
    dependencies = [
        ('core', '0002_api_token'),
        ('customers', '0006_integrity_constraints'),
        ('feedback', '0005_invitation_handed_over_at'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(
            refuse_rows_breaking("feedback.0006_integrity_constraints", RULES), migrations.RunPython.noop, elidable=True
        ),
        *(migrations.AddConstraint(model_name=model, constraint=rule) for model, rule in RULES),
    ]
