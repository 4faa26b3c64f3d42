"""The record of each synthetic data set: its seed, size and true parameters."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class GeneratedDataset(models.Model):
    seed = models.BigIntegerField(_("seed"))
    customers = models.PositiveIntegerField(_("customers"))
    # The latent process the data was drawn from, so analytics can be checked against it.
    truth = models.JSONField(_("true parameters"))
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("generated data set")
        verbose_name_plural = _("generated data sets")

    def __str__(self) -> str:
        return f"seed {self.seed}, {self.customers} customers"
