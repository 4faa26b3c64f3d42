from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "patron.feedback"
    label = "feedback"
    verbose_name = _("Feedback")

    def ready(self) -> None:
        # Here, not at the top: these import models, which exist only once the apps are loaded.
        from patron.core import scheduler
        from patron.customers.privacy import register_eraser
        from patron.feedback import jobs, signals
        from patron.feedback.privacy import erase_answers
        from patron.feedback.timeline import register_feedback_sources

        register_eraser(erase_answers)
        register_feedback_sources()
        signals.connect()
        scheduler.register(
            scheduler.PeriodicJob("follow_ups_alert", jobs.follow_ups_alert, scheduler.every(minutes=1))
        )
        scheduler.register(
            scheduler.PeriodicJob("follow_ups_escalate", jobs.follow_ups_escalate, scheduler.every(minutes=10))
        )
        scheduler.register(
            scheduler.PeriodicJob("reviews_create_quarterly", jobs.reviews_create_quarterly, scheduler.quarterly)
        )
