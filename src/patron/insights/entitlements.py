"""Which value-added services each value class gets (PRODUCT.md §2, tier-based service rules).

The defaults below can be replaced with the setting ``PATRON_SERVICE_RULES``: a mapping of value
class code to a list of service codes; labels of unknown codes are shown as written.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext_lazy as _

SERVICES = {
    "dedicated_manager": _("Dedicated account manager"),
    "priority_handling": _("Priority handling (4-hour response)"),
    "free_express": _("Free express delivery"),
    "quarterly_review": _("Quarterly business review"),
    "growth_offers": _("Tailored growth offers"),
    "manager_check_in": _("Account manager check-in each quarter"),
    "standard_service": _("Standard service"),
    "self_service_first": _("Self-service channels first"),
    "cost_review": _("Review of cost to serve"),
}

DEFAULT_RULES = {
    "most_valuable": ["dedicated_manager", "priority_handling", "free_express", "quarterly_review"],
    "most_growable": ["growth_offers", "manager_check_in", "priority_handling"],
    "other": ["standard_service"],
    "below_zero": ["self_service_first", "cost_review"],
}


def entitlements(value_class: str | None) -> list[str]:
    """Display labels of the services the class is entitled to."""
    rules = settings.PATRON_SERVICE_RULES or DEFAULT_RULES
    return [str(SERVICES.get(code, code)) for code in rules.get(value_class or "", [])]
