from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from patron.ingest.models import Webhook, WebhookDelivery
from patron.ingest.webhooks import delivery_retry, webhook_ping


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "events", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "url")
    readonly_fields = ("created_by", "created_at", "updated_at")
    actions = ["send_ping"]

    @admin.action(description=_("Send a test ping"))
    def send_ping(self, request: HttpRequest, queryset: QuerySet[Webhook]) -> None:
        for webhook in queryset:
            webhook_ping(webhook=webhook)
        self.message_user(request, _("Ping queued; see the delivery log."), messages.SUCCESS)

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("event", "webhook", "status", "attempts", "response_code", "created_at", "last_attempt_at")
    list_filter = ("status", "event", "webhook")
    search_fields = ("delivery_id",)
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["retry"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description=_("Send again"))
    def retry(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        n = 0
        for delivery in queryset:
            delivery_retry(delivery=delivery)
            n += 1
        self.message_user(request, ngettext("%(n)d delivery queued.", "%(n)d deliveries queued.", n) % {"n": n})
