from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementConfig(AppConfig):
    name = "patron.engagement"
    label = "engagement"
    verbose_name = _("Engagement")

    def ready(self) -> None:
        # Models are importable only once the app registry is ready.
        from patron.engagement.timeline_sources import register_engagement_sources

        register_engagement_sources()
