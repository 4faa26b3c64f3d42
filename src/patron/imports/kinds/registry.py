"""The importers by kind name, as ``patron import KIND`` and the import page offer them."""

from __future__ import annotations

from patron.imports.kinds.base import Importer
from patron.imports.kinds.contacts import ContactImporter
from patron.imports.kinds.cost_events import CostEventImporter
from patron.imports.kinds.customers import CustomerImporter
from patron.imports.kinds.interactions import InteractionImporter
from patron.imports.kinds.orders import OrderImporter
from patron.imports.kinds.products import ProductImporter
from patron.imports.kinds.rates import RateImporter

IMPORTERS: dict[str, type[Importer]] = {
    cls.kind: cls
    for cls in (
        CustomerImporter,
        ContactImporter,
        ProductImporter,
        OrderImporter,
        InteractionImporter,
        CostEventImporter,
        RateImporter,
    )
}
