"""What the web pages keep per user: saved views of the lists."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SavedView(models.Model):
    """A named filter and sort of one list, kept as the list's query string."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="saved_views",
        verbose_name=_("user"),
    )
    list_name = models.CharField(_("list"), max_length=30)
    name = models.CharField(_("name"), max_length=100)
    query_string = models.CharField(_("filters and sort"), max_length=2000, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "list_name", "name"], name="web_savedview_unique_name"
            ),
        ]

    def __str__(self) -> str:
        return self.name
