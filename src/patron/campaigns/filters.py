"""A segment's filter: its keys, their types and ranges, checked in this one place.

``SegmentFilter`` is the schema (the API's body uses it, so a bad key is a 422 naming it);
``clean_filter`` is what the services and the builder page call: it returns the filter as stored
(only the keys set, lists without repeats, one value as a list of one) or raises
``InvalidFilterError`` whose messages are keyed by the filter's key. The keys are documented in
docs/campaigns.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic import ValidationError as PydanticValidationError

from patron.commerce.models import Product
from patron.core.apikit import Day, InputSchema
from patron.customers.models import Customer
from patron.feedback.models import ScoreClass
from patron.insights.labels import RFM_SEGMENTS
from patron.insights.models import ValueClass

# The enumerated keys and the values each accepts.
CHOICES: dict[str, tuple[str, ...]] = {
    "value_class": tuple(ValueClass.values),
    "rfm_segment": tuple(RFM_SEGMENTS),
    "nps_class": tuple(ScoreClass.values),
    "stage": tuple(Customer.Stage.values),
}
# (min, max) pairs: the max may not be below the min.
RANGES = {
    "churn_risk": ("churn_risk_min", "churn_risk_max"),
    "clv": ("clv_min", "clv_max"),
    "p_alive": ("p_alive_min", "p_alive_max"),
    "orders": ("orders_min", "orders_max"),
    "profit": ("profit_min", "profit_max"),
}
MAX_VALUES = 200  # values in one list key


def _one_of(key: str) -> Callable[[list[str]], list[str]]:
    allowed = CHOICES[key]

    def check(values: list[str]) -> list[str]:
        unknown = [v for v in values if v not in allowed]
        if unknown:
            raise ValueError(
                _("unknown value %(values)s; use one of: %(allowed)s")
                % {"values": ", ".join(repr(v) for v in unknown), "allowed": ", ".join(allowed)}
            )
        return list(dict.fromkeys(values))

    return check


def _listed(value: Any) -> Any:
    """One code or username stands for a list of one."""
    return [value] if isinstance(value, str) else value


def _distinct(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


Text50 = Annotated[str, StringConstraints(min_length=1, max_length=50, strip_whitespace=True)]
Text150 = Annotated[str, StringConstraints(min_length=1, max_length=150, strip_whitespace=True)]
Names = Annotated[list[Text50], Field(max_length=MAX_VALUES), AfterValidator(_distinct)]
Codes = Annotated[list[Text150], BeforeValidator(_listed), Field(max_length=MAX_VALUES), AfterValidator(_distinct)]
Fraction = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
Amount = Annotated[float, Field(ge=-1e12, le=1e12, allow_inf_nan=False)]
Count = Annotated[int, Field(ge=0, le=10**9)]
# A product: its id (a number) or its SKU (text; a SKU of digits is still a SKU).
ProductRef = Annotated[StrictInt, Field(ge=1, le=2**53)] | Annotated[
    str, StringConstraints(min_length=1, max_length=60, strip_whitespace=True)
]


ValueClasses = Annotated[list[str], Field(max_length=MAX_VALUES), AfterValidator(_one_of("value_class"))]
RfmSegments = Annotated[list[str], Field(max_length=MAX_VALUES), AfterValidator(_one_of("rfm_segment"))]
NpsClasses = Annotated[list[str], Field(max_length=MAX_VALUES), AfterValidator(_one_of("nps_class"))]
Stages = Annotated[list[str], Field(max_length=MAX_VALUES), AfterValidator(_one_of("stage"))]


class SegmentFilter(InputSchema):
    """Every key is optional; the customers kept are those matching all the keys set."""

    tags: Names | None = Field(None, description="Tag names: customers with any of them.")
    value_class: ValueClasses | None = Field(None, description="Value classes (any of).")
    churn_risk_min: Fraction | None = Field(None, description="Churn risk at least this (0–1).")
    churn_risk_max: Fraction | None = Field(None, description="Churn risk at most this (0–1).")
    clv_min: Amount | None = Field(None, description="Predicted lifetime value at least this.")
    clv_max: Amount | None = Field(None, description="Predicted lifetime value at most this.")
    p_alive_min: Fraction | None = Field(None, description="P(alive) at least this (0–1).")
    p_alive_max: Fraction | None = Field(None, description="P(alive) at most this (0–1).")
    rfm_segment: RfmSegments | None = Field(None, description="RFM segments (any of).")
    nps_class: NpsClasses | None = Field(
        None, description="Class of the customer's latest NPS answer: promoter, passive, detractor (any of)."
    )
    region: Codes | None = Field(None, description="Region codes (one or a list).")
    branch: Codes | None = Field(None, description="Branch codes (one or a list).")
    owner: Codes | None = Field(None, description="Owners' usernames (one or a list).")
    stage: Stages | None = Field(None, description="Lifecycle stages (any of).")
    key_account: StrictBool | None = Field(None, description="Key accounts (true) or the others (false).")
    consent_email: StrictBool | None = Field(None, description="Consents to email (true) or not (false).")
    consent_survey: StrictBool | None = Field(None, description="Consents to surveys (true) or not (false).")
    # After first: the check of last_order_before reads it.
    last_order_after: Day | None = Field(None, description="Last order on or after this date.")
    last_order_before: Day | None = Field(None, description="Last order before this date.")
    orders_min: Count | None = Field(None, description="At least this many orders.")
    orders_max: Count | None = Field(None, description="At most this many orders.")
    profit_min: Amount | None = Field(None, description="Profit to date at least this (base currency).")
    profit_max: Amount | None = Field(None, description="Profit to date at most this (base currency).")
    likely_to_buy: ProductRef | None = Field(
        None,
        description="A product (id or SKU): customers whose current recommendations include it "
        "and who have not bought it (cross-sell).",
    )

    @field_validator("likely_to_buy")
    @classmethod
    def _known_product(cls, value: Any) -> Any:
        if value is not None and product_of(value) is None:
            raise ValueError(_("there is no product %(product)s") % {"product": repr(value)})
        return value

    @field_validator(*(high for _low, high in RANGES.values()), "last_order_before")
    @classmethod
    def _not_below_min(cls, value: Any, info: ValidationInfo) -> Any:
        name = info.field_name or ""
        low_key = "last_order_after" if name == "last_order_before" else f"{name[:-4]}_min"
        low = info.data.get(low_key)
        if value is not None and low is not None:
            if isinstance(value, date) and value <= low:
                raise ValueError(_("must be after last_order_after"))
            if not isinstance(value, date) and value < low:
                raise ValueError(_("must not be below %(key)s") % {"key": low_key})
        return value


KEYS = tuple(SegmentFilter.model_fields)


def product_of(ref: int | str) -> Product | None:
    """The product ``likely_to_buy`` names: a number is an id, text a SKU."""
    if isinstance(ref, bool):
        return None
    if isinstance(ref, int):
        return Product.objects.filter(pk=ref).first()
    return Product.objects.filter(sku=ref).first()


class InvalidFilterError(ValidationError):
    """A filter that does not validate; ``message_dict`` is keyed by the filter's keys."""


def _key_of(loc: Iterable[Any]) -> str:
    parts = [str(p) for p in loc]
    return parts[0] if parts else "filter"


def clean_filter(raw: Any) -> dict[str, Any]:
    """The filter as stored, or ``InvalidFilterError`` naming each bad key (unknown key, wrong
    type, out of range, unknown value in a list). An empty list sets no condition."""
    if isinstance(raw, SegmentFilter):
        raw = raw.model_dump(exclude_unset=True)
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise InvalidFilterError({"filter": [_("A filter is an object of keys and values.")]}, code="invalid_filter")
    try:
        parsed = SegmentFilter.model_validate(dict(raw))
    except PydanticValidationError as exc:
        errors: dict[str, list[str]] = {}
        for err in exc.errors():
            key = _key_of(err.get("loc", ()))
            message = _("unknown key") if err.get("type") == "extra_forbidden" else str(err.get("msg", ""))
            errors.setdefault(key, []).append(message)
        raise InvalidFilterError(errors, code="invalid_filter") from None
    return {k: v for k, v in parsed.model_dump(mode="json", exclude_none=True).items() if v != []}


def parsed_filter(stored: Mapping[str, Any]) -> SegmentFilter:
    """A stored filter (already clean) as the schema, for evaluation."""
    return SegmentFilter.model_validate(clean_filter(stored))
