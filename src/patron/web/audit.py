"""The audit log page (``/audit/``): administrators read who changed what and when."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from patron.core.audit import audit_record
from patron.core.dates import check_day
from patron.core.models import AuditEntry
from patron.core.selectors import audit_entries, can_read_audit
from patron.web.lists import filter_query, stream_csv

CSV_HEADER = ["id", "at", "actor", "actor_id", "source", "action", "object_type", "object_id", "customer_id", "changes"]


class AuditFilterForm(forms.Form):
    actor = forms.CharField(label=_("Who"), required=False, max_length=150)
    action = forms.CharField(label=_("Action"), required=False, max_length=50, help_text=_('e.g. customer.update, or customer. for every customer action'))
    customer = forms.IntegerField(label=_("Customer id"), required=False, min_value=1, max_value=2**63 - 1)
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


    def _day(self, name: str) -> Any:
        day = self.cleaned_data.get(name)
        if day is not None:
            try:
                check_day(day)
            except ValueError as exc:
                raise forms.ValidationError(str(exc)) from exc
        return day

    def clean_since(self) -> Any:
        return self._day("since")

    def clean_until(self) -> Any:
        return self._day("until")


def _page(request: HttpRequest) -> int:
    try:
        return max(1, min(int(request.GET.get("page", "1")), 10**6))
    except ValueError:
        return 1


@login_required
def audit_log(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    if not can_read_audit(request.user):  # type: ignore[arg-type]
        raise PermissionDenied
    form = AuditFilterForm(request.GET or None)
    cleaned: dict[str, Any] = {}
    if form.is_bound and form.is_valid():
        cleaned = form.cleaned_data
    entries = audit_entries(
        actor=cleaned.get("actor") or "",
        action=cleaned.get("action") or "",
        customer_id=cleaned.get("customer"),
        since=cleaned.get("since"),
        until=cleaned.get("until"),
    )
    if request.GET.get("format") == "csv":
        audit_record("export.audit", object_type="audit", changes={"format": "csv", "query": filter_query(request.GET)})
        lines = (
            [e.pk, e.at, e.actor_label, e.actor_id, e.source, e.action, e.object_type, e.object_id, e.customer_id,
             json.dumps(e.changes, ensure_ascii=False, sort_keys=True)]
            for e in entries.iterator(chunk_size=2000)
        )
        return stream_csv(CSV_HEADER, lines, "audit.csv")
    size = settings.PATRON_PAGE_SIZE
    page = _page(request)
    rows: list[AuditEntry] = list(entries[(page - 1) * size : page * size + 1])
    for e in rows[:size]:
        e.changes_text = json.dumps(e.changes, ensure_ascii=False, sort_keys=True)  # type: ignore[attr-defined]
    return render(
        request,
        "web/audit.html",
        {
            "form": form,
            "entries": rows[:size],
            "page": page,
            "has_next": len(rows) > size,
            "querystring": filter_query(request.GET),
        },
    )
