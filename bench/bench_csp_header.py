"""Benchmark: what the Content-Security-Policy header costs per response.

Run from the repository root:

    PATRON_TESTING=1 .venv/bin/python bench/bench_csp_header.py

Times django-csp's own middleware and Patron's (the same header, built once per process) on one
request and response, the best of five rounds of 20,000. Every click on a survey link goes through it (config/wsgi.py's short stack).
"""

from __future__ import annotations

import os
import platform
import timeit

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")
django.setup()

from csp.middleware import CSPMiddleware  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import RequestFactory  # noqa: E402

from patron.config.csp import ContentSecurityPolicyMiddleware  # noqa: E402

N = 20_000


def main() -> None:
    factory = RequestFactory()
    request = factory.get("/s/i/x/")
    response = HttpResponse("x")

    def view(request):
        return response

    def per_response(step) -> float:
        return min(timeit.repeat(step, number=N, repeat=5)) / N

    def bare() -> None:
        response.headers.pop("Content-Security-Policy", None)

    base = per_response(bare)
    print(f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; best of 5 rounds of {N}")
    for cls in (CSPMiddleware, ContentSecurityPolicyMiddleware):
        middleware = cls(view)

        def step(middleware=middleware) -> None:
            middleware.process_request(request)
            middleware.process_response(request, response)
            response.headers.pop("Content-Security-Policy", None)

        print(f"{cls.__module__}.{cls.__name__}: {(per_response(step) - base) * 1e6:.1f} µs per response")
    print(f"header: {middleware(request)['Content-Security-Policy']}")


if __name__ == "__main__":
    main()
