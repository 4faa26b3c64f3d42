from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "patron.core"
    label = "core"
    verbose_name = _("Core")

    def ready(self) -> None:
        # Task modules import models: only once the app registry is ready.
        from patron.core import scheduler, tasks

        scheduler.register(scheduler.PeriodicJob("task_results_prune", tasks.task_results_prune, scheduler.daily))
