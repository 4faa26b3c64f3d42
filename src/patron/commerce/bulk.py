"""Orders written in bulk: the columns every bulk path writes, in one place."""

from __future__ import annotations

ORDER_COLUMNS = (
    "id",
    "external_id",
    "customer_id",
    "channel",
    "branch_id",
    "ordered_at",
    "currency",
    "revenue",
    "cost_of_goods",
    "exchange_rate",
    "base_revenue",
    "base_cost_of_goods",
    "created_at",
    "updated_at",
)
LINE_COLUMNS = ("order_id", "line_no", "product_id", "quantity", "unit_price", "unit_cost", "amount")
