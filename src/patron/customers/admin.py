from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from patron.core.admin import AuditedAdmin
from patron.customers.duplicates import name_key, open_duplicates_of, possible_duplicates_flag
from patron.customers.models import Contact, Customer, Tag
from patron.customers.phones import digits, phone_normalise
from patron.customers.selectors import visible_customers


class PhoneForm(forms.ModelForm):
    """The phone stored in E.164 as the services store it; a text that is no number is the field's error."""

    def clean_phone(self) -> str:
        try:
            return phone_normalise(self.cleaned_data.get("phone") or "")
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages[0], code="invalid_phone") from None

    def save(self, commit: bool = True) -> Any:
        instance = super().save(commit=False)
        instance.phone_digits = digits(instance.phone)
        if isinstance(instance, Customer):
            instance.name_key = name_key(instance.name)
        if commit:
            instance.save()
            self.save_m2m()
        return instance


class ContactInline(admin.TabularInline):
    model = Contact
    form = PhoneForm
    extra = 0


@admin.register(Customer)
class CustomerAdmin(AuditedAdmin):
    form = PhoneForm
    list_display = ("name", "kind", "owner", "branch", "stage", "is_key_account", "profit_total", "order_count")
    list_filter = ("kind", "stage", "is_key_account", "region", "branch")
    search_fields = ("name", "name_search", "email", "phone", "external_id")
    raw_id_fields = ("owner",)
    readonly_fields = (
        "revenue_total", "cogs_total", "cost_to_serve_total", "profit_total",
        "order_count", "first_order_at", "last_order_at",
    )
    filter_horizontal = ("tags",)
    inlines = [ContactInline]
    show_full_result_count = False

    def save_related(self, request, form, formsets, change):  # type: ignore[no-untyped-def]
        super().save_related(request, form, formsets, change)
        customer = form.instance
        if change and not {"name", "email", "phone"} & set(form.changed_data):
            return
        possible_duplicates_flag(customer_ids=[customer.pk])
        twins = open_duplicates_of([customer.pk], visible_customers(request.user))[customer.pk]
        if twins:
            messages.warning(
                request,
                format_html(
                    '{} <a href="{}">{}</a>',
                    ngettext(
                        "%(name)s may be the same customer as %(n)s other: they share an email, a phone number or "
                        "a name.",
                        "%(name)s may be the same customer as %(n)s others: they share an email, a phone number or "
                        "a name.",
                        len(twins),
                    ) % {"name": customer.name, "n": len(twins)},
                    reverse("duplicates"),
                    _("Review possible duplicates"),
                ),
            )


@admin.register(Contact)
class ContactAdmin(AuditedAdmin):
    form = PhoneForm
    list_display = ("name", "customer", "email", "phone", "is_primary")
    search_fields = ("name", "email", "phone", "external_id")
    raw_id_fields = ("customer",)
    show_full_result_count = False


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ("name",)
