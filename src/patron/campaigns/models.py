"""Segments (saved, dynamic filters over customers) and campaigns (a segment's customers split
into a contacted treatment group and a random control group, frozen at launch).

A segment stores its filter, not its members: whoever uses it gets the customers matching the
filter now, within their own visibility (``selectors.segment_customers``). A campaign stores its
members, so its result is measured on the customers it was sent to.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

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
    # The segment over the whole book, counted by the worker (``segment_figures_refresh``) so the
    # segment list reads figures instead of counting every segment on every view.
    book_count = models.PositiveIntegerField(_("customers in the whole book"), null=True, blank=True)
    book_value = models.FloatField(_("predicted value in the whole book"), null=True, blank=True)
    counted_at = models.DateTimeField(_("counted"), null=True, blank=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")

    def __str__(self) -> str:
        return self.name


class CampaignChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone call")
    MAIL = "mail", _("Mail")


class Campaign(TimeStampedModel):
    """A promotion sent to a segment's treatment group and measured against a random control group.

    A draft can be edited; ``launch`` freezes its members (``CampaignMember``), after which only
    the name may change. Money (``cost``, revenue and margin in the report) is in the base currency.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        LAUNCHED = "launched", _("Launched")

    name = models.CharField(_("name"), max_length=100)
    segment = models.ForeignKey(
        Segment, null=True, blank=True, on_delete=models.SET_NULL, related_name="campaigns", verbose_name=_("segment")
    )
    channel = models.CharField(_("channel"), max_length=10, choices=CampaignChannel.choices)
    # Each member is reached on the channel their responses prefer (falling back to ``channel``).
    use_preferred_channel = models.BooleanField(_("use each customer's preferred channel"), default=False)
    offer = models.CharField(_("offer"), max_length=200, blank=True)
    # A cross-sell campaign offers one product (its segment: likely to buy it next).
    offer_product = models.ForeignKey(
        "commerce.Product", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("product offered"),
    )
    subject = models.CharField(_("email subject"), max_length=200, blank=True)
    message = models.TextField(_("message"), blank=True)
    starts_on = models.DateField(_("starts on"))
    ends_on = models.DateField(_("ends on"))
    response_window_days = models.PositiveIntegerField(_("response window (days)"), default=30)
    control_share = models.FloatField(_("control share"), default=0.1)
    cost = models.DecimalField(_("cost"), max_digits=14, decimal_places=2, default=0)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    # The seed of the treatment/control split, kept so the split can be reproduced and audited.
    seed = models.BigIntegerField(_("random seed"), null=True, blank=True)
    launched_at = models.DateTimeField(_("launched"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("created by"),
    )
    launched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        verbose_name=_("launched by"),
    )
    # The report's figures as of ``report_at`` (``campaigns.results``): pages read these.
    # The members' counts, fixed at the launch (members, treatment, control, contacted, skipped per
    # reason, contacted per channel), so the campaign's pages do not count a million members.
    launch_counts = models.JSONField(_("counts at launch"), default=dict, blank=True)
    report = models.JSONField(_("report"), default=dict, blank=True)
    report_at = models.DateTimeField(_("report computed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(control_share__gt=0, control_share__lt=1), name="campaign_control_share_open"
            ),
            models.CheckConstraint(condition=models.Q(ends_on__gte=models.F("starts_on")), name="campaign_dates"),
            models.CheckConstraint(condition=models.Q(cost__gte=0), name="campaign_cost_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name


class CampaignGroup(models.TextChoices):
    TREATMENT = "treatment", _("Treatment")
    CONTROL = "control", _("Control")


class CampaignMember(models.Model):
    """A customer frozen into a campaign at launch, in the treatment or the control group.

    Control members are never contacted. A treatment member the contact budget (or consent)
    stops is kept with ``skipped_reason`` and counted apart in the report. ``responded_at`` is
    set when the member orders within the response window or a response is recorded through
    the API; ``revenue`` and ``margin`` are what their orders in the window brought (base
    currency).
    """

    # No single-column indexes: (campaign, customer) and (customer, campaign) below serve both
    # keys, and each index less is a few seconds less on a launch of a million members.
    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="members", verbose_name=_("campaign"), db_index=False
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="campaign_memberships", verbose_name=_("customer"),
        db_index=False,
    )
    group = models.CharField(_("group"), max_length=10, choices=CampaignGroup.choices)
    # The customer's value class at launch: the split's stratum and the report's breakdown.
    value_class = models.CharField(_("value class at launch"), max_length=20, blank=True)
    # The scores at launch: what an uplift model learns from (today's scores would leak the result).
    clv = models.FloatField(_("CLV at launch"), null=True, blank=True)
    churn_risk = models.FloatField(_("churn risk at launch"), null=True, blank=True)
    p_alive = models.FloatField(_("P(alive) at launch"), null=True, blank=True)
    rfm_segment = models.CharField(_("RFM segment at launch"), max_length=30, blank=True)
    channel = models.CharField(_("channel"), max_length=10, choices=CampaignChannel.choices)
    contacted = models.BooleanField(pgettext_lazy("a campaign member was", "contacted"), default=False)
    contacted_at = models.DateTimeField(_("contacted at"), null=True, blank=True)
    skipped_reason = models.CharField(_("skipped because"), max_length=20, blank=True)
    responded_at = models.DateTimeField(_("responded"), null=True, blank=True)
    response_source = models.CharField(_("response from"), max_length=10, blank=True)
    revenue = models.DecimalField(_("revenue in the window"), max_digits=14, decimal_places=2, default=0)
    margin = models.DecimalField(_("margin in the window"), max_digits=14, decimal_places=2, default=0)
    # Revenue a response recorded through the API brought outside Patron's orders (a redemption in
    # a partner's shop): kept apart so that recounting the orders in the window never loses it.
    recorded_revenue = models.DecimalField(
        _("revenue recorded with the response"), max_digits=14, decimal_places=2, default=0
    )

    class Meta:
        ordering = ["campaign", "id"]
        verbose_name = _("campaign member")
        verbose_name_plural = _("campaign members")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "customer"], name="campaign_member_once"),
            models.CheckConstraint(
                condition=~models.Q(group="control") | models.Q(contacted=False), name="campaign_control_not_contacted"
            ),
        ]
        indexes = [models.Index(fields=["campaign", "group"]), models.Index(fields=["customer", "campaign"])]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.customer_id} {self.group}"
