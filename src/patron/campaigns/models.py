"""Segments: saved, dynamic filters over customers.

A segment stores its filter, not its members: whoever uses it gets the customers matching the
filter now, within their own visibility (``selectors.segment_customers``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from patron.core.models import TimeStampedModel


class Segment(TimeStampedModel):
    name = models.CharField(_("name"), max_length=100)
    # Validated by ``filters.clean_filter``; only the keys set are stored (docs/campaigns.md).
    filter = models.JSONField(_("filter"), default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")

    def __str__(self) -> str:
        return self.name
