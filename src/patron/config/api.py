"""The REST API under /api/v1/: one NinjaAPI; each app contributes a router from its api.py."""

from __future__ import annotations

from ninja import NinjaAPI

api = NinjaAPI(
    title="Patron API",
    version="1",
    description="Customers, orders, interactions, feedback and scores. Authenticate with "
    "`Authorization: Bearer <token>` (create one with `patron token create --user NAME`).",
    urls_namespace="api",
)
