"""Signals other apps listen to, so commerce needs to know nothing about them.

``customers_changed`` is sent inside the writing transaction after orders or cost events were
recorded for ``customer_ids`` (one call per batch for bulk paths); the insights app rescores
those customers so their figures are current at once.
"""

from django.dispatch import Signal

customers_changed = Signal()
