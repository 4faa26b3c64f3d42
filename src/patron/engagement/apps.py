from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementConfig(AppConfig):
    name = "patron.engagement"
    label = "engagement"
    verbose_name = _("Engagement")

    def ready(self) -> None:
        from patron.engagement.timeline_sources import register_core_sources

        register_core_sources()
