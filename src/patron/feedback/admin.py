"""Administration of surveys (questions, triggers), follow-up rules and the contact budget."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from patron.feedback.models import (
    ContactLog,
    ContactRule,
    FollowUp,
    FollowUpRule,
    Invitation,
    Question,
    Response,
    Review,
    Survey,
    Trigger,
)
from patron.feedback.tasks import invitations_send


class QuestionFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        limit = settings.PATRON_SURVEY_MAX_QUESTIONS
        if len(kept) > limit and not self.instance.allow_more_questions:
            raise ValidationError(
                _("A survey has at most %(limit)d questions; tick “allow more than four questions” to override.")
                % {"limit": limit}
            )


class QuestionInline(admin.TabularInline):
    model = Question
    formset = QuestionFormSet
    extra = 0


class TriggerInline(admin.TabularInline):
    model = Trigger
    extra = 0


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "purpose", "touchpoint", "is_active", "created_at")
    list_filter = ("kind", "purpose", "is_active")
    search_fields = ("name",)
    inlines = [QuestionInline, TriggerInline]
    raw_id_fields = ("created_by",)

    def get_readonly_fields(self, request, obj=None):
        # Only administrators may lift the four-question limit.
        user = request.user
        if user.is_superuser or getattr(user, "role", "") == "admin":
            return ()
        return ("allow_more_questions",)


@admin.register(FollowUpRule)
class FollowUpRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "survey", "max_score", "keywords", "sentiment_below", "sla_hours", "is_active")
    list_filter = ("is_active",)


@admin.register(ContactRule)
class ContactRuleAdmin(admin.ModelAdmin):
    list_display = ("name", "purpose", "channel", "max_contacts", "window_days", "is_active")


@admin.action(description=_("Send the selected email invitations again"))
def resend(modeladmin, request, queryset):
    ids = list(queryset.filter(channel="email", answered_at__isnull=True).values_list("pk", flat=True))
    Invitation.objects.filter(pk__in=ids).update(sent_at=None, send_error="")
    for start in range(0, len(ids), 100):
        invitations_send.enqueue(ids[start : start + 100])
    messages.success(
        request, ngettext("%(n)d invitation queued.", "%(n)d invitations queued.", len(ids)) % {"n": len(ids)}
    )


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("survey", "customer", "channel", "created_at", "sent_at", "answered_at", "send_error")
    list_filter = ("channel", "survey")
    raw_id_fields = ("customer", "contact", "trigger", "created_by", "branch")
    actions = [resend]
    show_full_result_count = False


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    list_display = ("survey", "customer", "score", "score_class", "channel", "touchpoint", "branch", "created_at")
    list_filter = ("survey", "score_class", "channel", "touchpoint")
    raw_id_fields = ("customer", "invitation", "branch")
    show_full_result_count = False


@admin.register(FollowUp)
class FollowUpAdmin(admin.ModelAdmin):
    list_display = ("customer", "owner", "reason", "opened_at", "due_at", "first_contact_at", "escalated_at", "closed_at")
    list_filter = ("outcome", "root_cause")
    raw_id_fields = ("response", "customer", "owner", "escalated_to", "closed_by", "rule")
    show_full_result_count = False


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ("customer", "quarter", "owner", "done_at", "nps")
    list_filter = ("quarter",)
    raw_id_fields = ("customer", "owner")


@admin.register(ContactLog)
class ContactLogAdmin(admin.ModelAdmin):
    list_display = ("customer", "purpose", "channel", "ref", "contacted_at")
    list_filter = ("purpose", "channel")
    raw_id_fields = ("customer", "contact")
    show_full_result_count = False
