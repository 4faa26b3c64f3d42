"""Forms of the sales pages: a new lead, a new opportunity, a move and the reasons."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from patron.core.choices import SalesChannel
from patron.core.dates import DayField
from patron.core.models import Branch, User, currency_validator
from patron.customers.models import Customer
from patron.customers.selectors import editable_customers
from patron.sales.models import Lead, Stage
from patron.sales.selectors import visible_leads


class LeadForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    company = forms.CharField(label=_("Company"), max_length=200, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)
    source = forms.ChoiceField(label=_("Source"), choices=Lead.Source.choices, initial=Lead.Source.OTHER)
    channel = forms.ChoiceField(label=_("Channel"), choices=[("", "—"), *SalesChannel.choices], required=False)
    branch = forms.ModelChoiceField(label=_("Branch"), queryset=Branch.objects.order_by("name"), required=False)


class OpportunityForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    customer = forms.CharField(
        label=_("Customer"), max_length=200, required=False,
        help_text=_("The customer's name or external id. Leave empty for a lead's opportunity."),
    )
    lead = forms.ModelChoiceField(label=_("Lead"), queryset=Lead.objects.none(), required=False)
    amount = forms.DecimalField(label=_("Amount"), min_value=0, max_digits=14, decimal_places=2, initial=0)
    currency = forms.CharField(label=_("Currency"), max_length=3, validators=[currency_validator])
    expected_close = DayField(label=_("Expected close"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    stage = forms.ModelChoiceField(label=_("Stage"), queryset=Stage.objects.none(), empty_label=None)
    next_step = forms.CharField(label=_("Next step"), max_length=300, required=False)

    def __init__(self, *args: Any, user: User, stages: list[Stage], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        lead_field: Any = self.fields["lead"]
        lead_field.queryset = visible_leads(user).filter(status=Lead.Status.OPEN).order_by("name")
        stage_field: Any = self.fields["stage"]
        stage_field.queryset = Stage.objects.filter(pk__in=[s.pk for s in stages if not s.is_closed]).order_by("position")
        stage_field.label_from_instance = lambda s: s.label

    def clean_customer(self) -> Customer | None:
        text = (self.cleaned_data.get("customer") or "").strip()
        if not text:
            return None
        mine = editable_customers(self.user)
        by_id = mine.filter(external_id=text)[:2]
        if len(by_id) == 1:
            return by_id[0]
        exact = list(mine.filter(name__iexact=text)[:2])
        matches = exact or list(mine.filter(Q(name__icontains=text))[:2])
        if not matches:
            raise ValidationError(_("No customer you may change is called “%(text)s”.") % {"text": text[:60]})
        if len(matches) > 1:
            raise ValidationError(_("Several customers match “%(text)s”: type more of the name.") % {"text": text[:60]})
        return matches[0]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors and (cleaned.get("customer") is None) == (cleaned.get("lead") is None):
            raise ValidationError(_("Give the opportunity a customer or a lead, not both."))
        return cleaned


class OpportunityEditForm(forms.Form):
    """What the page changes of an opportunity; the stage moves on the board or its own form."""

    name = forms.CharField(label=_("Name"), max_length=200)
    amount = forms.DecimalField(label=_("Amount"), min_value=0, max_digits=14, decimal_places=2)
    currency = forms.CharField(label=_("Currency"), max_length=3, validators=[currency_validator])
    expected_close = DayField(label=_("Expected close"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    next_step = forms.CharField(label=_("Next step"), max_length=300, required=False)


class MoveForm(forms.Form):
    stage = forms.CharField(max_length=40)
    reason = forms.CharField(label=_("Reason"), max_length=300, required=False)


class DisqualifyForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)
