from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from patron.core.choices import ContactChannel
from patron.core.dates import MomentField
from patron.engagement.models import Task
from patron.feedback.models import FollowUp
from patron.web.lists import people


class InteractionForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=ContactChannel.choices)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=10000)

    def __init__(self, *args: Any, follow_ups: Sequence[FollowUp] = (), **kwargs: Any) -> None:
        """With the customer's open detractor follow-ups, the form offers to count this contact as
        one's first contact (the most urgent preselected) and to close it in the same step."""
        super().__init__(*args, **kwargs)
        if not follow_ups:
            return
        choices = [("", _("No, not about a follow-up"))] + [
            (str(f.pk), _("%(reason)s, first contact due %(due)s") % {"reason": f.reason_label, "due": date_format(
                timezone.localtime(f.due_at), "SHORT_DATETIME_FORMAT")})
            for f in follow_ups
        ]
        self.follow_ups = {str(f.pk): f for f in follow_ups}
        self.fields["follow_up"] = forms.ChoiceField(
            label=_("This is the contact for the open follow-up"), choices=choices, required=False,
            initial=str(follow_ups[0].pk),
        )
        self.fields["close"] = forms.BooleanField(label=_("Close the follow-up too"), required=False)
        self.fields["root_cause"] = forms.ChoiceField(
            label=_("Root cause"), required=False, choices=[("", "—"), *FollowUp.RootCause.choices]
        )
        self.fields["outcome"] = forms.ChoiceField(
            label=_("Outcome"), required=False, choices=[("", "—"), *FollowUp.Outcome.choices]
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        chosen = cleaned.get("follow_up") or ""
        cleaned["follow_up"] = getattr(self, "follow_ups", {}).get(chosen)
        if cleaned.get("close"):
            if cleaned["follow_up"] is None:
                self.add_error("follow_up", _("Choose the follow-up to close."))
            if not cleaned.get("root_cause"):
                self.add_error("root_cause", _("Choose a root cause."))
            if not cleaned.get("outcome"):
                self.add_error("outcome", _("Choose an outcome."))
        return cleaned


class TaskForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    due_at = MomentField(
        label=_("Due"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    priority = forms.ChoiceField(label=_("Priority"), choices=Task.Priority.choices, initial=Task.Priority.NORMAL)
    assignee = forms.ModelChoiceField(label=_("Assignee"), required=False, queryset=people(), empty_label=_("Me"))
    notes = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=10000)
