from typing import Any

from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class CommerceConfig(AppConfig):
    name = "patron.commerce"
    label = "commerce"
    verbose_name = _("Commerce")

    def ready(self) -> None:
        # Models are importable only once the app registry is ready.
        from patron.commerce.timeline import register_commerce_sources

        register_commerce_sources()
        checks.register(base_currency_check, checks.Tags.database)


def base_currency_check(app_configs: Any, databases: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``patron check --database default``: PATRON_BASE_CURRENCY is the currency of the stored totals."""
    from django.db import DatabaseError

    # Imports models: checks are registered before the app registry is ready.
    from patron.commerce.currency import base_currency_problem

    if not databases:
        return []
    try:
        problem = base_currency_problem()
    except DatabaseError:
        return []  # not migrated yet
    return [checks.Error(problem, id="patron.E010")] if problem else []
