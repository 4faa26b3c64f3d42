from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from patron.core.choices import ContactChannel
from patron.feedback.models import FollowUp, Purpose, SurveyKind, Touchpoint


class SurveyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=SurveyKind.choices)
    purpose = forms.ChoiceField(label=_("Purpose"), choices=Purpose.choices)
    touchpoint = forms.ChoiceField(label=_("Touchpoint"), choices=Touchpoint.choices)
    title_en = forms.CharField(label=_("Title (English)"), max_length=200, required=False)
    title_zh_hans = forms.CharField(label=_("Title (Simplified Chinese)"), max_length=200, required=False)
    title_zh_hant = forms.CharField(label=_("Title (Traditional Chinese)"), max_length=200, required=False)
    allow_comment = forms.BooleanField(label=_("Ask for a comment"), required=False, initial=True)


class ContactForm(forms.Form):
    channel = forms.ChoiceField(
        label=_("How"),
        choices=[(c, label) for c, label in ContactChannel.choices if c in {"call", "visit", "meeting", "email", "chat"}],
    )
    note = forms.CharField(label=_("What was said"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=10000)


class CloseForm(forms.Form):
    root_cause = forms.ChoiceField(label=_("Root cause"), choices=[("", "—"), *FollowUp.RootCause.choices])
    action_taken = forms.CharField(label=_("Action taken"), widget=forms.Textarea(attrs={"rows": 3}), max_length=10000)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=[("", "—"), *FollowUp.Outcome.choices])
    notify_customer = forms.BooleanField(label=_("Tell the customer what changed (email)"), required=False)
    customer_message = forms.CharField(
        label=_("Message to the customer"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=5000
    )


class ReviewForm(forms.Form):
    nps = forms.IntegerField(
        label=_("How likely are they to recommend us (0–10)?"), min_value=0, max_value=10, required=False
    )
    notes = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 6}), max_length=20000)
