"""Forms of the import pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from patron.imports.models import DateOrder


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label=_("What the file holds"))
    file = forms.FileField(label=_("CSV or XLSX file"))

    def __init__(self, *args: Any, kinds: list[tuple[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = kinds  # type: ignore[attr-defined]


class MappingForm(forms.Form):
    """One choice per column of the file: the field it fills, or nothing."""

    date_order = forms.ChoiceField(
        label=_("Dates like 05/03/2024 are"),
        choices=[("", _("Not in this file (or unambiguous)")), *DateOrder.choices],
        required=False,
    )
    dry_run = forms.BooleanField(label=_("Check only: report what would happen, write nothing"), required=False)
    save_as = forms.CharField(label=_("Save this mapping as"), max_length=100, required=False)

    def __init__(self, *args: Any, header: list[str], fields: list[tuple[str, Any]], initial_map: dict[str, str],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header = header
        choices = [("", _("— not imported —")), *fields]
        self.column_fields: list[tuple[str, str]] = []
        for index, column in enumerate(header):
            if not column:
                continue
            name = f"col_{index}"
            self.fields[name] = forms.ChoiceField(
                label=column, choices=choices, required=False, initial=initial_map.get(column, "")
            )
            self.column_fields.append((column, name))

    def columns(self) -> dict[str, str]:
        return {column: self.cleaned_data.get(name) or "" for column, name in self.column_fields}

    def column_bound_fields(self) -> list[Any]:
        return [self[name] for _column, name in self.column_fields]
