"""web.server.warm: what `patron serve` does once before its workers fork."""

from __future__ import annotations

import gc
import sys

from patron.web.server import warm


def test_warm_loads_every_view_and_hides_the_loaded_objects_from_the_collector():
    gc.unfreeze()
    try:
        warm()
        # Every view module is imported before the first request resolves a URL...
        assert "patron.insights.nps_views" in sys.modules and "patron.web.urls" in sys.modules
        # ...and the objects loaded so far are frozen: full collections no longer walk them.
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
