from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from patron.core.choices import ContactChannel
from patron.core.dates import MomentField
from patron.core.models import User
from patron.engagement.models import Task


class InteractionForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=ContactChannel.choices)
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=10000)


class TaskForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    due_at = MomentField(
        label=_("Due"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    priority = forms.ChoiceField(label=_("Priority"), choices=Task.Priority.choices, initial=Task.Priority.NORMAL)
    assignee = forms.ModelChoiceField(
        label=_("Assignee"), required=False, queryset=User.objects.filter(is_active=True).order_by("username"),
        empty_label=_("Me"),
    )
    notes = forms.CharField(label=_("Notes"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=10000)
