"""Run the WSGI application under gunicorn from inside the ``patron`` process."""

from __future__ import annotations

from typing import Any

from django.core.servers.basehttp import get_internal_wsgi_application
from gunicorn.app.base import BaseApplication


class PatronServer(BaseApplication):
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        assert self.cfg is not None
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        # settings.WSGI_APPLICATION, as runserver finds it: the project's wiring is not imported by apps.
        application = get_internal_wsgi_application()
        warm()
        return application


def warm() -> None:
    """What a server process does once before it answers (``patron serve`` before its workers fork).

    Pages compute NPS and rescore customers with the analytics stack (pandas, scipy) and every
    view module is imported by the first request that resolves a URL: both are imported here
    instead. Then ``gc.freeze()`` moves everything loaded so far out of the garbage collector's
    sight: these objects live as long as the process, and without it each full collection walks
    all of them (a few hundred thousand; 150-250 ms, one page request in ten at 1M customers).
    """
    import gc

    from django.urls import get_resolver

    # Imported for their side effect of loading the analytics stack, after django.setup().
    import patron.analytics.nps
    import patron.insights.services  # noqa: F401

    get_resolver().url_patterns  # noqa: B018 - imports the URL configuration and every view
    gc.collect()
    gc.freeze()


def serve(host: str, port: int, workers: int, threads: int) -> None:
    PatronServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "threads": threads,
            "worker_class": "gthread",
            "accesslog": "-",
            "timeout": 60,
            "preload_app": True,
        }
    ).run()
