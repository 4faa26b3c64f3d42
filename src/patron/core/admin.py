from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from patron.core.audit import audit_record, jsonable
from patron.core.models import Branch, Region, User


class AuditedAdmin(admin.ModelAdmin):
    """Changes and deletions made in the Django admin are audit-logged like the services' own."""

    audit_name = ""

    def _customer_id(self, obj: Any) -> int | None:
        return getattr(obj, "customer_id", None) or (obj.pk if obj._meta.model_name == "customer" else None)

    def save_related(self, request, form, formsets, change):  # type: ignore[no-untyped-def]
        super().save_related(request, form, formsets, change)
        changed = {
            name: [_audit_value(form.initial.get(name)) if change else None, _audit_value(form.cleaned_data.get(name))]
            for name in form.changed_data
            if name not in AUDIT_HIDDEN
        }
        if changed:
            name = self.audit_name or form.instance._meta.model_name
            action = f"{name}.update" if change else f"{name}.create"
            audit_record(action, obj=form.instance, customer_id=self._customer_id(form.instance), changes=changed)

    def delete_model(self, request, obj):  # type: ignore[no-untyped-def]
        customer_id, pk = self._customer_id(obj), obj.pk
        super().delete_model(request, obj)
        audit_record(f"{obj._meta.model_name}.delete", object_type=obj._meta.model_name, object_id=pk, customer_id=customer_id, changes={"name": [str(obj), None]})

    def delete_queryset(self, request, queryset):  # type: ignore[no-untyped-def]
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(User)
class PatronUserAdmin(UserAdmin):
    list_display = ("username", "first_name", "last_name", "role", "is_active")
    list_filter = ("role", "is_active", "is_staff")
    fieldsets = (
        *(UserAdmin.fieldsets or ()),
        (_("Patron"), {"fields": ("role", "branches", "regions", "reports_to")}),
    )
    filter_horizontal = ("branches", "regions", "groups", "user_permissions")

    def save_related(self, request, form, formsets, change):  # type: ignore[no-untyped-def]
        super().save_related(request, form, formsets, change)
        # Role, permission and scope changes made here are audit-logged (never the password).
        changed = {}
        for name in form.changed_data:
            if name in AUDIT_HIDDEN:
                continue
            changed[name] = [_audit_value(form.initial.get(name)) if change else None, _audit_value(form.cleaned_data.get(name))]
        if changed:
            audit_record("user.update" if change else "user.create", obj=form.instance, changes=changed)

    def user_change_password(self, request, id, form_url=""):  # type: ignore[no-untyped-def]
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:  # the form was valid: changed
            audit_record("user.password", object_type="user", object_id=int(id), changes={"password": ["***", "***"]})
        return response


AUDIT_HIDDEN = frozenset({"password", "password1", "password2", "usable_password"})


def _audit_value(value: Any) -> Any:
    if isinstance(value, QuerySet | list | tuple | set):
        return sorted(getattr(v, "pk", v) for v in value)
    return jsonable(value)


admin.site.unregister(Group)


@admin.register(Group)
class AuditedGroupAdmin(AuditedAdmin, GroupAdmin):
    """Groups carry permissions: who changed which is in the audit log."""

    audit_name = "group"


@admin.register(Region)
class RegionAdmin(AuditedAdmin):
    list_display = ("code", "name")
    search_fields = ("code", "name")


@admin.register(Branch)
class BranchAdmin(AuditedAdmin):
    list_display = ("code", "name", "region")
    list_filter = ("region",)
    search_fields = ("code", "name")
