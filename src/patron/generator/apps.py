from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GeneratorConfig(AppConfig):
    name = "patron.generator"
    label = "generator"
    verbose_name = _("Generator")
