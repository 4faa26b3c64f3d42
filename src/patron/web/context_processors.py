"""Template context every page needs: the navigation for the user's role, the languages and
the base currency every total is shown in."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from patron.core.models import base_currency
from patron.core.roles import can_view_models, is_read_only, sells
from patron.core.selectors import can_read_audit


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    items: list[tuple[str, Any]] = []
    if user is not None and user.is_authenticated:
        items = [
            (reverse("home"), _("Home")),
            (reverse("customer-list"), _("Customers")),
            (reverse("order-list"), _("Orders")),
            (reverse("task-list"), _("Tasks")),
            *([(reverse("sales-board"), _("Sales"))] if sells(user) else []),
            (reverse("response-list"), _("Responses")),
            (reverse("feedback:follow-ups"), _("Follow-ups")),
            (reverse("dashboards"), _("Dashboards")),
        ]
        if not is_read_only(user):
            items.append((reverse("import-index"), _("Import")))
        items.append((reverse("feedback:feed"), _("Feedback")))
        items.append((reverse("segment-list"), _("Segments")))
        items.append((reverse("campaign-list"), _("Campaigns")))
        if can_view_models(user):
            items.append((reverse("models"), _("Models")))
        if can_read_audit(user):
            items.append((reverse("audit-log"), _("Audit log")))
        if user.is_staff or user.is_superuser:
            items.append((reverse("admin:index"), _("Admin")))
    return {"nav_items": items, "patron_languages": settings.LANGUAGES, "base_currency": base_currency()}
