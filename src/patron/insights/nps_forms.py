"""Query-string forms of the NPS and themes pages: every bad value gets a message, none is dropped."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from patron.core.dates import DayField
from patron.feedback.models import ScoreClass
from patron.insights.nps_selectors import DIMENSIONS, PERIODS, WEIGHTS, NPSFilters

COMPARE_DAYS = 90  # the default comparison: the last 90 days against the 90 days before


class FilterForm(forms.Form):
    """Survey, date range and branch: the filters every figure on the NPS and themes pages obeys."""

    survey = forms.TypedChoiceField(label=_("Survey"), coerce=int, required=False, empty_value=None)
    start = DayField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = DayField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    branch = forms.TypedChoiceField(label=_("Branch"), coerce=int, required=False, empty_value=None)

    def __init__(
        self, data: Any, *, surveys: list[tuple[int, str]], branches: list[tuple[int, str]]
    ) -> None:
        super().__init__(data)
        self.fields["survey"].choices = [("", _("All NPS surveys")), *surveys]  # type: ignore[attr-defined]
        self.fields["branch"].choices = [("", _("All")), *branches]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise forms.ValidationError(
                _("The start date must not be after the end date."), code="date_order"
            )
        return data

    def filters(self) -> NPSFilters:
        d = self.cleaned_data
        return NPSFilters(
            survey=d.get("survey"), start=d.get("start"), end=d.get("end"), branch=d.get("branch")
        )


class NPSFilterForm(FilterForm):
    period = forms.ChoiceField(label=_("Trend by"), choices=list(PERIODS.items()), required=False)
    weight = forms.ChoiceField(
        label=_("Weight by"), choices=[(k, v[1]) for k, v in WEIGHTS.items()], required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["period"] = data.get("period") or "month"
        data["weight"] = data.get("weight") or "clv"
        return data


def parse_group(value: str) -> tuple[str, str | int | None]:
    """ "branch:3" -> ("branch", 3); "segment:" -> ("segment", None) (the row of unset values)."""
    dimension, sep, key = value.partition(":")
    if not sep or dimension not in DIMENSIONS:
        raise forms.ValidationError(
            _("Unknown group %(value)s.") % {"value": value[:60]}, code="group"
        )
    if key == "":
        return dimension, None
    if DIMENSIONS[dimension].numeric:
        try:
            return dimension, int(key)
        except ValueError:
            raise forms.ValidationError(
                _("Unknown group %(value)s.") % {"value": value[:60]}, code="group"
            ) from None
    return dimension, key[:40]


class CompareForm(forms.Form):
    MODES = [("periods", _("Two periods")), ("groups", _("Two groups"))]

    cmp = forms.ChoiceField(label=_("Compare"), choices=MODES, required=False)
    a_start = DayField(
        label=_("Period A from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    a_end = DayField(
        label=_("to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    b_start = DayField(
        label=_("Period B from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    b_end = DayField(
        label=_("to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    group_a = forms.CharField(label=_("Group A"), required=False, max_length=80)
    group_b = forms.CharField(label=_("Group B"), required=False, max_length=80)

    def __init__(self, data: Any, *, today: date) -> None:
        super().__init__(data)
        self.today = today

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        mode = data.get("cmp") or "periods"
        data["cmp"] = mode
        if mode == "periods":
            dates = [data.get(k) for k in ("a_start", "a_end", "b_start", "b_end")]
            if not any(dates):
                # Default: the last 90 days against the 90 days before them.
                a_end = self.today
                a_start = a_end - timedelta(days=COMPARE_DAYS - 1)
                b_end = a_start - timedelta(days=1)
                data.update(
                    a_start=a_start,
                    a_end=a_end,
                    b_start=b_end - timedelta(days=COMPARE_DAYS - 1),
                    b_end=b_end,
                )
            elif not all(dates):
                raise forms.ValidationError(
                    _("Give both dates of both periods to compare them."), code="periods"
                )
            elif data["a_start"] > data["a_end"] or data["b_start"] > data["b_end"]:
                raise forms.ValidationError(
                    _("A period's start must not be after its end."), code="periods"
                )
        else:
            if not data.get("group_a") or not data.get("group_b"):
                raise forms.ValidationError(_("Choose two groups to compare."), code="groups")
            dim_a, key_a = parse_group(data["group_a"])
            dim_b, key_b = parse_group(data["group_b"])
            if dim_a != dim_b:
                raise forms.ValidationError(
                    _("Compare two groups of the same kind (two branches, two segments …)."),
                    code="groups",
                )
            data.update(dimension=dim_a, key_a=key_a, key_b=key_b)
        return data

    def period_label(self, which: str) -> str:
        d = self.cleaned_data
        return gettext("%(start)s to %(end)s") % {
            "start": d[f"{which}_start"],
            "end": d[f"{which}_end"],
        }


class DrillForm(forms.Form):
    """Which answers behind a figure: a breakdown row, a theme, a score class."""

    dim = forms.ChoiceField(choices=[(k, d.label) for k, d in DIMENSIONS.items()], required=False)
    key = forms.CharField(required=False, max_length=80)
    theme = forms.CharField(required=False, max_length=40)
    score_class = forms.ChoiceField(choices=ScoreClass.choices, required=False)
    page = forms.IntegerField(min_value=1, max_value=100_000, required=False)

    def __init__(self, data: Any, *, themes: list[str]) -> None:
        super().__init__(data)
        self.themes = themes

    def clean_theme(self) -> str:
        theme = self.cleaned_data.get("theme") or ""
        if theme and theme not in self.themes:
            raise forms.ValidationError(
                _("Unknown theme %(value)s.") % {"value": theme}, code="theme"
            )
        return theme

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("dim"):
            _dim, data["key"] = parse_group(f"{data['dim']}:{data.get('key') or ''}")
        return data
