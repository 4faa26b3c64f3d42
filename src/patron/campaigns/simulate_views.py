"""The simulation page (``/campaigns/simulate/``): a segment, a channel and an offer in, the
expected result out (``campaigns.simulation``, the same as ``POST /api/v1/campaigns/simulate``).
A read: the form is sent with GET, so a simulation can be bookmarked and shared."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from patron.campaigns.filters import product_of
from patron.campaigns.models import CampaignChannel, Segment
from patron.campaigns.simulation import WINDOW_MAX, simulate_campaign
from patron.core.models import User
from patron.core.roles import can_edit_segments


class SimulateForm(forms.Form):
    segment = forms.ModelChoiceField(label=gettext_lazy("Segment"), queryset=Segment.objects.order_by("name", "pk"))
    channel = forms.ChoiceField(label=gettext_lazy("Channel"), choices=CampaignChannel.choices)
    offer = forms.CharField(label=gettext_lazy("Offer"), required=False, max_length=200)
    offer_product = forms.CharField(
        label=gettext_lazy("Product offered (SKU)"), required=False, max_length=60,
        help_text=gettext_lazy("For a cross-sell campaign."),
    )
    control_share = forms.FloatField(
        label=gettext_lazy("Control share"), initial=0.1, min_value=0.01, max_value=0.99,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )
    cost = forms.DecimalField(
        label=gettext_lazy("Cost"), required=False, min_value=0, max_digits=14, decimal_places=2,
        help_text=gettext_lazy("Empty: the earlier campaigns' cost per contacted customer."),
    )
    response_window_days = forms.IntegerField(
        label=gettext_lazy("Response window (days)"), initial=30, min_value=1, max_value=WINDOW_MAX
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        sku = (data.get("offer_product") or "").strip()
        data["product"] = product_of(sku) if sku else None
        if sku and data["product"] is None:
            self.add_error("offer_product", _("There is no product with this SKU."))
        if not (data.get("offer") or "").strip() and not sku:
            self.add_error("offer", _("Say what is offered (or give a product)."))
        return data


@login_required
def campaign_simulate(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    if not can_edit_segments(user):
        raise PermissionDenied(_("Your role uses segments but does not plan campaigns."))
    bound = "segment" in request.GET
    form = SimulateForm(request.GET if bound else None, initial={"segment": request.GET.get("for")})
    result = None
    if bound and form.is_valid():
        data = form.cleaned_data
        try:
            result = simulate_campaign(
                user=user, segment=data["segment"], channel=data["channel"], offer=data.get("offer") or "",
                offer_product=data["product"], control_share=data["control_share"],
                cost=float(data["cost"]) if data.get("cost") is not None else None,
                response_window_days=data["response_window_days"],
            )
        except ValidationError as exc:
            form.add_error(None, " ".join(exc.messages))
    return render(request, "campaigns/simulate.html", {"form": form, "result": result, "pct": _percent(result)})


def _percent(result: dict[str, Any] | None) -> dict[str, dict[str, float]]:
    """The rates and the ROI in percent, for display."""
    if result is None:
        return {}
    return {
        key: {part: value * 100 for part, value in result[key].items()}
        for key in ("response_rate", "control_rate", "roi")
        if result[key] is not None
    }
