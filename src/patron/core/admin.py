from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from patron.core.audit import audit_record, jsonable
from patron.core.models import Branch, Region, User
from patron.core.services import role_flags


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


class UserAddForm(AdminUserCreationForm):
    """Adding a user is one screen: the role first (it decides what the user may see and do), the
    login, the person, and for managers the branches and regions they cover."""

    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("role", "username", "first_name", "last_name", "email", "branches", "regions", "reports_to")


@admin.register(User)
class PatronUserAdmin(UserAdmin):
    list_display = ("username", "first_name", "last_name", "role", "is_active")
    list_filter = ("role", "is_active")
    add_form = UserAddForm
    add_form_template = None  # the plain change form: Django's says "more options after saving"
    add_fieldsets = (
        (_("Role"), {"fields": ("role",), "description": _(
            "The role decides what the user sees and may do; no permissions to pick one by one."
        )}),
        (_("Login"), {"fields": ("username", "usable_password", "password1", "password2")}),
        (_("Person"), {"fields": ("first_name", "last_name", "email")}),
        (_("Scope"), {"fields": ("branches", "regions", "reports_to"), "description": _(
            "Managers see the customers of these branches and of every branch in these regions; "
            "overdue follow-ups escalate to the person the user reports to."
        )}),
    )
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Role and scope"), {"fields": ("role", "branches", "regions", "reports_to")}),
        (_("Person"), {"fields": ("first_name", "last_name", "email")}),
        (_("Status"), {"fields": ("is_active", "last_login", "date_joined")}),
        (_("Admin site permissions (advanced)"), {
            "classes": ("collapse",),
            "fields": ("is_staff", "is_superuser", "groups", "user_permissions"),
            "description": _("Roles decide what a user may do in Patron; these only open parts of this admin site."),
        }),
    )
    filter_horizontal = ("branches", "regions", "groups", "user_permissions")

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        # The administrator role is the admin site's superuser (core.services.role_flags); set
        # when a user is added and when the role changes, left alone otherwise.
        if not change or "role" in form.changed_data:
            for name, value in role_flags(obj.role).items():
                setattr(obj, name, value)
        super().save_model(request, obj, form, change)

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
