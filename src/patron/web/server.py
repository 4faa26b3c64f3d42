"""Run the WSGI application under gunicorn from inside the ``patron`` process."""

from __future__ import annotations

from typing import Any

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
        # Pages compute NPS and rescore customers with the analytics stack (pandas, scipy);
        # importing it here, before the workers fork, spares the first request that cost.
        import patron.analytics.nps
        import patron.insights.services  # noqa: F401
        from patron.config.wsgi import application

        return application


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
