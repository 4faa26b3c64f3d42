"""Saved views: a user keeps a list's filters and sort under a name and opens them as a link."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from patron.core.models import User
from patron.core.roles import user_of
from patron.web.lists import LISTS
from patron.web.models import SavedView
from patron.web.selectors import MAX_VIEWS_PER_LIST

# Parameters that are not part of a view (see lists.NOT_FILTERS).
DROPPED = ("page", "format", "csrfmiddlewaretoken")


class SavedViewForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("View name"), max_length=100)
    list_name = forms.CharField(max_length=30)
    query_string = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args: object, user: User, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.user = user

    def clean_list_name(self) -> str:
        list_name = self.cleaned_data["list_name"]
        if list_name not in LISTS:
            raise forms.ValidationError(_("There is no list “%(name)s”.") % {"name": list_name})
        return list_name

    def clean_query_string(self) -> str:
        query = QueryDict(self.cleaned_data.get("query_string") or "", mutable=True)
        for key in DROPPED:
            query.pop(key, None)
        return query.urlencode()

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        name, list_name = data.get("name"), data.get("list_name")
        if name and list_name:
            if SavedView.objects.filter(user=self.user, list_name=list_name, name=name).exists():
                self.add_error(
                    "name",
                    _("You already have a view named “%(name)s” on this list.") % {"name": name},
                )
            elif (
                SavedView.objects.filter(user=self.user, list_name=list_name).count()
                >= MAX_VIEWS_PER_LIST
            ):
                self.add_error(
                    "name", _("A list keeps at most %(n)s saved views.") % {"n": MAX_VIEWS_PER_LIST}
                )
        return data


def _list_url(list_name: str, query: str = "") -> str:
    spec = LISTS.get(list_name)
    url = reverse(spec.url_name) if spec else reverse("home")
    return f"{url}?{query}" if query else url


@login_required
@require_POST
def saved_view_create(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    form = SavedViewForm(request.POST, user=user)
    list_name = request.POST.get("list_name", "")
    if not form.is_valid():
        errors = "; ".join(" ".join(str(m) for m in e) for e in form.errors.values())
        messages.error(request, _("The view was not saved: %(errors)s") % {"errors": errors})
        return redirect(_list_url(list_name, form.cleaned_data.get("query_string", "")))
    view = SavedView.objects.create(
        user=user,
        list_name=form.cleaned_data["list_name"],
        name=form.cleaned_data["name"],
        query_string=form.cleaned_data["query_string"],
    )
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return redirect(_list_url(view.list_name, view.query_string))


@login_required
@require_POST
def saved_view_delete(request: HttpRequest, pk: int) -> HttpResponse:
    view = get_object_or_404(SavedView, pk=pk, user=user_of(request))
    view.delete()
    messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
    return redirect(_list_url(view.list_name))
