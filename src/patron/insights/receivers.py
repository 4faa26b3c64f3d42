"""Keep current scores fresh when customers buy or cost money between scoring runs."""

from __future__ import annotations

import logging
from typing import Any

from django.db import DatabaseError, transaction

logger = logging.getLogger(__name__)


def rescore_customers(sender: Any, customer_ids: list[int], **kwargs: Any) -> None:
    # Imported here: the analytics stack (pandas, scipy) loads only when someone buys, not at
    # every start of the web server or a command.
    from patron.analytics.clv import CLVError
    from patron.analytics.errors import AnalyticsInputError
    from patron.insights.services import scores_refresh

    try:
        # A savepoint: a failed rescore must not undo the order that triggered it.
        with transaction.atomic():
            scores_refresh(customer_ids=customer_ids)
    except (AnalyticsInputError, CLVError, DatabaseError, ValueError) as exc:
        logger.warning("Could not rescore customers %s: %s", customer_ids[:10], exc)
