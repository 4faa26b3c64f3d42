from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "patron.campaigns"
    label = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        # Here, not at the top: the task's module imports models, which exist once the apps are loaded.
        from patron.campaigns.result_tasks import campaign_results_refresh
        from patron.campaigns.segment_tasks import segment_figures_refresh
        from patron.core import scheduler

        scheduler.register(
            scheduler.PeriodicJob("campaign_results_refresh", campaign_results_refresh, scheduler.every(minutes=10))
        )
        scheduler.register(
            scheduler.PeriodicJob("segment_figures_refresh", segment_figures_refresh, scheduler.every(minutes=5))
        )
