"""The campaign form: a draft's fields; the service checks them again (its errors land on the
fields they name)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from patron.campaigns.models import CampaignChannel, Segment
from patron.core.dates import DayField


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    segment = forms.ModelChoiceField(label=_("Segment"), queryset=Segment.objects.order_by("name", "pk"))
    channel = forms.ChoiceField(label=_("Channel"), choices=CampaignChannel.choices)
    use_preferred_channel = forms.BooleanField(
        label=_("Reach each customer on their preferred channel"), required=False,
        help_text=_("Learned from their responses to past contacts; the channel above for those with no history."),
    )
    offer = forms.CharField(label=_("Offer"), max_length=200, required=False)
    subject = forms.CharField(
        label=_("Email subject"), max_length=200, required=False, help_text=_("Email only; empty: the name.")
    )
    message = forms.CharField(label=_("Message"), required=False, max_length=10_000, widget=forms.Textarea(attrs={"rows": 5}))
    starts_on = DayField(label=_("Starts on"), widget=forms.DateInput(attrs={"type": "date"}))
    ends_on = DayField(label=_("Ends on"), widget=forms.DateInput(attrs={"type": "date"}))
    response_window_days = forms.IntegerField(label=_("Response window (days)"), min_value=1, max_value=365, initial=30)
    control_share = forms.FloatField(
        label=_("Control share"), initial=0.1, widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
        help_text=_("The share of each value class held out as control, strictly between 0 and 1."),
    )
    cost = forms.DecimalField(label=_("Cost"), min_value=0, max_digits=14, decimal_places=2, initial=0)

    def values(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        segment = data.pop("segment")
        return {**data, "segment_id": segment.pk}


def initial_of(campaign: Any) -> dict[str, Any]:
    names = [f for f in CampaignForm.base_fields if f != "segment"]
    return {**{f: getattr(campaign, f) for f in names}, "segment": campaign.segment_id}
