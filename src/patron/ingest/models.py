"""Outbound webhooks: subscriptions to Patron's events and the log of every delivery."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class WebhookEvent(models.TextChoices):
    ORDER_CREATED = "order.created", _("Order created")
    RESPONSE_RECEIVED = "response.received", _("Survey response received")
    FOLLOW_UP_OPENED = "follow_up.opened", _("Follow-up opened")
    FOLLOW_UP_OVERDUE = "follow_up.overdue", _("Follow-up overdue")


class Webhook(models.Model):
    """A subscriber: Patron POSTs the events it subscribed to to ``url``, signed with ``secret``."""

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("URL"), max_length=500, validators=[URLValidator(schemes=["http", "https"])])
    # The HMAC key; the subscriber keeps a copy to verify signatures.
    secret = models.CharField(_("signing secret"), max_length=100, default=new_webhook_secret)
    events = models.JSONField(_("events"), default=list, help_text=_("Event names, e.g. order.created."))
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        events = self.events if isinstance(self.events, list) else None
        known = set(WebhookEvent.values)
        if not events or any(not isinstance(e, str) or e not in known for e in events):
            raise ValidationError(
                {"events": _("Subscribe to one or more of: %(events)s.") % {"events": ", ".join(WebhookEvent.values)}},
                code="unknown_event",
            )


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        RETRYING = "retrying", _("Waiting to retry")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")

    webhook = models.ForeignKey(
        Webhook, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("webhook")
    )
    event = models.CharField(_("event"), max_length=40)
    # Sent as the X-Patron-Delivery header and in the body, so receivers can drop repeats.
    delivery_id = models.CharField(_("delivery id"), max_length=40, unique=True)
    payload = models.JSONField(_("payload"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    response_code = models.PositiveIntegerField(_("response code"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        indexes = [
            models.Index(fields=["webhook", "-created_at"]),
            models.Index(fields=["status", "next_attempt_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook_id} ({self.status})"
