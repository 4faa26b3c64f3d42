"""The segment builder's form: the filter's keys as fields, turned into a filter that
``filters.clean_filter`` checks (its errors land on the fields they name)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from patron.campaigns.filters import InvalidFilterError, clean_filter, product_of
from patron.core.models import Branch, Region, User
from patron.core.roles import OWNER_ROLES
from patron.customers.models import Customer
from patron.feedback.models import ScoreClass
from patron.insights.labels import RFM_SEGMENTS
from patron.insights.models import ValueClass

YES_NO = [("", _("Any")), ("yes", _("Yes")), ("no", _("No"))]
FLAGS = ("key_account", "consent_email", "consent_survey")
LISTS = ("value_class", "rfm_segment", "nps_class", "region", "branch", "owner", "stage")
NUMBERS = (
    "churn_risk_min", "churn_risk_max", "clv_min", "clv_max", "p_alive_min", "p_alive_max",
    "orders_min", "orders_max", "profit_min", "profit_max",
)
DATES = ("last_order_after", "last_order_before")


def _fraction(label: Any) -> forms.FloatField:
    return forms.FloatField(
        label=label, required=False, min_value=0, max_value=1,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}),
    )


def _amount(label: Any) -> forms.FloatField:
    return forms.FloatField(label=label, required=False, widget=forms.NumberInput(attrs={"inputmode": "decimal"}))


def _many(label: Any, choices: Any = ()) -> forms.MultipleChoiceField:
    return forms.MultipleChoiceField(label=label, required=False, choices=choices, widget=forms.CheckboxSelectMultiple)


def _date(label: Any) -> forms.DateField:
    return forms.DateField(label=label, required=False, widget=forms.DateInput(attrs={"type": "date"}))


class SegmentFilterForm(forms.Form):
    tags = forms.CharField(
        label=_("Tags (any of)"), required=False, max_length=2000, help_text=_("Tag names, separated by commas.")
    )
    value_class = _many(_("Value class"), ValueClass.choices)
    rfm_segment = _many(_("RFM segment"), list(RFM_SEGMENTS.items()))
    nps_class = _many(_("Latest NPS answer"), ScoreClass.choices)
    stage = _many(_("Lifecycle stage"), Customer.Stage.choices)
    churn_risk_min = _fraction(_("Churn risk from (0–1)"))
    churn_risk_max = _fraction(_("Churn risk to (0–1)"))
    p_alive_min = _fraction(_("P(alive) from (0–1)"))
    p_alive_max = _fraction(_("P(alive) to (0–1)"))
    clv_min = _amount(_("Predicted value from"))
    clv_max = _amount(_("Predicted value to"))
    profit_min = _amount(_("Profit to date from"))
    profit_max = _amount(_("Profit to date to"))
    orders_min = forms.IntegerField(label=_("Orders from"), required=False, min_value=0)
    orders_max = forms.IntegerField(label=_("Orders to"), required=False, min_value=0)
    last_order_after = _date(_("Last order on or after"))
    last_order_before = _date(_("Last order before"))
    region = _many(_("Region"))
    branch = _many(_("Branch"))
    owner = _many(_("Owner"))
    key_account = forms.ChoiceField(label=_("Key account"), required=False, choices=YES_NO)
    consent_email = forms.ChoiceField(label=_("Consents to email"), required=False, choices=YES_NO)
    consent_survey = forms.ChoiceField(label=_("Consents to surveys"), required=False, choices=YES_NO)
    likely_to_buy = forms.CharField(
        label=_("Likely to buy next (product SKU)"), required=False, max_length=60,
        help_text=_("Customers the recommendations propose this product to and who have not bought it."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = [(r.code, r.name) for r in Region.objects.order_by("name")]  # type: ignore[attr-defined]
        self.fields["branch"].choices = [(b.code, b.name) for b in Branch.objects.order_by("name")]  # type: ignore[attr-defined]
        owners = User.objects.filter(is_active=True, role__in=OWNER_ROLES).order_by("username")
        self.fields["owner"].choices = [(u.username, u.username) for u in owners]  # type: ignore[attr-defined]
        self.segment_filter: dict[str, Any] = {}

    def _as_filter(self) -> dict[str, Any]:
        data = self.cleaned_data
        out: dict[str, Any] = {}
        tags = [t.strip() for t in (data.get("tags") or "").split(",") if t.strip()]
        if tags:
            out["tags"] = tags
        for key in LISTS:
            if data.get(key):
                out[key] = list(data[key])
        for key in NUMBERS:
            if data.get(key) is not None:
                out[key] = data[key]
        for key in DATES:
            if data.get(key) is not None:
                out[key] = data[key].isoformat()
        for key in FLAGS:
            if data.get(key):
                out[key] = data[key] == "yes"
        product = (data.get("likely_to_buy") or "").strip()
        if product:
            # A SKU; digits that are no SKU are taken as the product's id.
            out["likely_to_buy"] = (
                int(product) if product.isascii() and product.isdigit() and len(product) < 16 and product_of(product) is None
                else product
            )
        return out

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors:
            return cleaned
        try:
            self.segment_filter = clean_filter(self._as_filter())
        except InvalidFilterError as exc:
            for key, messages in exc.message_dict.items():
                for message in messages:
                    self.add_error(key if key in self.fields else None, message)
        return cleaned


class SegmentForm(SegmentFilterForm):
    name = forms.CharField(label=_("Name"), max_length=100)

    field_order = ["name"]


def initial_from(segment_filter: dict[str, Any]) -> dict[str, Any]:
    """A stored filter as the form's initial values."""
    initial: dict[str, Any] = {}
    for key, value in segment_filter.items():
        if key == "tags":
            initial[key] = ", ".join(value)
        elif key in FLAGS:
            initial[key] = "yes" if value else "no"
        elif key == "likely_to_buy":
            initial[key] = str(value)
        else:
            initial[key] = value
    return initial
