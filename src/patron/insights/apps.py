from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InsightsConfig(AppConfig):
    name = "patron.insights"
    label = "insights"
    verbose_name = _("Insights")

    def ready(self) -> None:
        from patron.commerce.signals import customers_changed
        from patron.insights.receivers import rescore_customers

        customers_changed.connect(rescore_customers, dispatch_uid="insights-rescore")

        from patron.core import scheduler
        from patron.insights.tasks import nightly_scoring, nps_figures_refresh

        scheduler.register(scheduler.PeriodicJob("nightly_scoring", nightly_scoring, scheduler.daily))
        scheduler.register(
            scheduler.PeriodicJob("nps_figures_refresh", nps_figures_refresh, scheduler.every(minutes=10))
        )
