"""Database rules for what must never be (docs/security.md, "Integrity"); rows that already
break one stop the migration before it changes anything (patron.core.integrity)."""

from django.db import migrations, models

from patron.core.integrity import refuse_rows_breaking

RULES = [
    ("currentscore", models.CheckConstraint(condition=models.Q(models.Q(('p_alive__isnull', True), models.Q(('p_alive__gte', 0), ('p_alive__lte', 1)), _connector='OR'), models.Q(('churn_risk__isnull', True), models.Q(('churn_risk__gte', 0), ('churn_risk__lte', 1)), _connector='OR'), models.Q(('move_down_prob__isnull', True), models.Q(('move_down_prob__gte', 0), ('move_down_prob__lte', 1)), _connector='OR')), name='currentscore_probabilities_0_to_1')),
    ("currentscore", models.CheckConstraint(condition=models.Q(models.Q(('r_score__isnull', True), models.Q(('r_score__gte', 1), ('r_score__lte', 5)), _connector='OR'), models.Q(('f_score__isnull', True), models.Q(('f_score__gte', 1), ('f_score__lte', 5)), _connector='OR'), models.Q(('m_score__isnull', True), models.Q(('m_score__gte', 1), ('m_score__lte', 5)), _connector='OR')), name='currentscore_rfm_1_to_5')),
    ("customerscore", models.CheckConstraint(condition=models.Q(models.Q(('p_alive__isnull', True), models.Q(('p_alive__gte', 0), ('p_alive__lte', 1)), _connector='OR'), models.Q(('churn_risk__isnull', True), models.Q(('churn_risk__gte', 0), ('churn_risk__lte', 1)), _connector='OR'), models.Q(('move_down_prob__isnull', True), models.Q(('move_down_prob__gte', 0), ('move_down_prob__lte', 1)), _connector='OR')), name='customerscore_probabilities_0_to_1')),
    ("customerscore", models.CheckConstraint(condition=models.Q(models.Q(('r_score__isnull', True), models.Q(('r_score__gte', 1), ('r_score__lte', 5)), _connector='OR'), models.Q(('f_score__isnull', True), models.Q(('f_score__gte', 1), ('f_score__lte', 5)), _connector='OR'), models.Q(('m_score__isnull', True), models.Q(('m_score__gte', 1), ('m_score__lte', 5)), _connector='OR')), name='customerscore_rfm_1_to_5')),
]


class Migration(migrations.Migration):
    dependencies = [
        ('customers', '0006_integrity_constraints'),
        ('insights', '0005_scoring_run_runner'),
    ]

    operations = [
        migrations.RunPython(
            refuse_rows_breaking("insights.0006_integrity_constraints", RULES), migrations.RunPython.noop, elidable=True
        ),
        *(migrations.AddConstraint(model_name=model, constraint=rule) for model, rule in RULES),
    ]
