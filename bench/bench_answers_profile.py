"""Where one answer request spends its time: queries and a cProfile of the view, in-process.

Run from the repository root against the benchmark's PostgreSQL database (or any DATABASE_URL):

    .venv/bin/python bench/bench_answers_profile.py \
        --database-url postgres://postgres@127.0.0.1:5432/patron_bench_answers --answers 2000

Creates a fresh survey, N customers owned by a rep and N invitations (as bench_answers.py does),
then answers them through the deployed WSGI application (``config.wsgi``: the answer links'
short middleware stack, no HTTP server):
prints the SQL of one detractor's and one promoter's answer, the wall and CPU time per answer
for half of them, and the top functions by CPU time (cProfile) over the other half.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))


class WsgiClient:
    """GETs through the deployed WSGI application (``config.wsgi``, as gunicorn calls it): the
    answer links' short middleware stack, no test-client machinery, no HTTP parsing."""

    def __init__(self) -> None:
        from patron.config.wsgi import application

        self.app = application

    def get(self, url: str) -> WsgiClient.Result:
        path, _, query = url.partition("?")
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SCRIPT_NAME": "",
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": "8000",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": "127.0.0.1:8000",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b""),
            "wsgi.errors": sys.stderr,
            "wsgi.version": (1, 0),
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            "HTTP_ACCEPT_LANGUAGE": "en",
        }
        status: list[str] = []
        body = self.app(environ, lambda s, headers, exc_info=None: status.append(s))
        try:
            b"".join(body)
        finally:
            getattr(body, "close", lambda: None)()
        return self.Result(int(status[0].split()[0]))

    class Result:
        def __init__(self, status_code: int) -> None:
            self.status_code = status_code


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/patron_bench_answers"
    )
    parser.add_argument("--answers", type=int, default=2000)
    parser.add_argument("--top", type=int, default=35)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sort", default="cumulative", choices=["cumulative", "tottime"])
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "patron.config.settings")
    os.environ["PATRON_ANSWER_RATE_LIMIT"] = "0"
    os.environ.setdefault("PATRON_SECRET_KEY", "bench-answers-profile")
    from bench_answers import ensure_database, prepare

    if args.database_url.startswith("postgres"):
        ensure_database(args.database_url)
    paths, _pg = prepare(args.answers, args.seed)

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = WsgiClient()
    detractor = next(p for p in paths if p.endswith(("=0", "=1", "=2", "=3")))
    promoter = next(p for p in paths if p.endswith(("=9", "=10")))
    for label, path in (("detractor", detractor), ("promoter", promoter)):
        with CaptureQueriesContext(connection) as queries:
            status = client.get(path).status_code
        print(f"-- one {label} answer: HTTP {status}, {len(queries.captured_queries)} queries")
        for q in queries.captured_queries:
            print(f"   {q['time']}s  {q['sql'][:160]}")
    rest = [p for p in paths if p not in (detractor, promoter)]
    random.Random(args.seed).shuffle(rest)
    timed, profiled = rest[: len(rest) // 2], rest[len(rest) // 2 :]
    wall, cpu = time.perf_counter(), time.process_time()
    for path in timed:
        client.get(path)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"-- {len(timed)} answers without the profiler: {1000 * wall / len(timed):.2f} ms wall, "
        f"{1000 * cpu / len(timed):.2f} ms CPU of this process each"
    )
    profiler = cProfile.Profile(time.process_time)  # CPU time: waits on the database do not count
    profiler.enable()
    for path in profiled:
        client.get(path)
    profiler.disable()
    stats = pstats.Stats(profiler)
    print(f"-- {len(profiled)} answers under cProfile (CPU time), by {args.sort}:")
    stats.sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
