"""Choice lists shared by several apps."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SalesChannel(models.TextChoices):
    """Where an order was placed or a customer was acquired."""

    STORE = "store", _("Store / branch")
    WEB = "web", _("Web")
    PHONE = "phone", _("Phone / call centre")
    AGENT = "agent", _("Agent")
    APP = "app", _("App")
    PARTNER = "partner", _("Partner")


class ContactChannel(models.TextChoices):
    """How an interaction took place."""

    CALL = "call", _("Call")
    EMAIL = "email", _("Email")
    MEETING = "meeting", _("Meeting")
    VISIT = "visit", _("Visit")
    CHAT = "chat", _("Chat")
    CLAIM = "claim", _("Claim")
    COMPLAINT = "complaint", _("Complaint")
