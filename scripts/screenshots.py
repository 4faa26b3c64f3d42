"""Screenshots of the main pages for docs/screenshots/, taken from the demo in Debian's Chromium.

    .venv/bin/python scripts/screenshots.py [--data-dir DIR] [--out docs/screenshots]

Sets up the demo (`patron demo --no-serve`: demo users, generated customers, a scoring run) in
--data-dir (a fresh temporary folder by default), serves it with `patron serve` on a free local
port, logs in as the role each page is for and saves full-page PNGs at desktop width, a few in
Chinese and one at phone size. Needs Chromium (scripts/setup.sh --browser installs it).
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import LAUNCH_ARGS, chromium_path  # noqa: E402

from patron.config.secret_key import local_key  # noqa: E402

PASSWORD = "patron-demo"  # noqa: S105 — the demo users' password (patron.web.demo)
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}

# (file name, user, path, language, viewport); "{customer}" is a customer the user owns or sees.
SHOTS = [
    ("home-rep.png", "alice", "/", "en", DESKTOP),
    ("home-manager.png", "mia", "/", "en", DESKTOP),
    ("home-account-manager.png", "kate", "/", "en", DESKTOP),
    ("home-cx.png", "carl", "/", "en", DESKTOP),
    ("home-marketer.png", "maya", "/", "en", DESKTOP),
    ("home-analyst.png", "nora", "/", "en", DESKTOP),
    ("customer-360.png", "alice", "/customers/{customer}/", "en", DESKTOP),
    ("customer-360-zh-hans.png", "alice", "/customers/{customer}/", "zh-hans", DESKTOP),
    ("customers.png", "admin", "/customers/?sort=-profit", "en", DESKTOP),
    ("dashboards.png", "admin", "/dashboards/", "en", DESKTOP),
    ("dashboards-zh-hant.png", "mia", "/dashboards/", "zh-hant", DESKTOP),
    ("nps.png", "carl", "/feedback/nps/", "en", DESKTOP),
    ("feedback-feed.png", "carl", "/feedback/", "en", DESKTOP),
    ("models.png", "nora", "/models/", "en", DESKTOP),
    ("search-zh-hans.png", "admin", "/search/?q=zw", "zh-hans", DESKTOP),
    ("customer-360-phone.png", "alice", "/customers/{customer}/", "en", PHONE),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def patron(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / ".venv/bin/patron"), *args], env=env, check=True, cwd=ROOT)


def wait_for(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=5)  # noqa: S310 (local URL)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def best_customer(env: dict) -> int:
    """The rep alice's most valuable customer: a 360° page with plenty on it."""
    code = (
        "from patron.customers.models import Customer;"
        "print(Customer.objects.filter(owner__username='alice').order_by('-profit_total').values_list('pk', flat=True)[0])"
    )
    out = subprocess.run(
        [str(ROOT / ".venv/bin/patron"), "shell", "-c", code],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return int(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data-dir", type=Path, help="demo data folder (default: a new temporary one)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--customers", type=int, default=3000)
    args = parser.parse_args()

    chromium = chromium_path()
    if chromium is None:
        sys.exit(
            "Chromium not found: run scripts/setup.sh --browser as root, or set PATRON_CHROMIUM."
        )
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="patron-shots-"))
    env = {**os.environ, "PATRON_DATA_DIR": str(data_dir)}
    env.pop("DATABASE_URL", None)  # the demo's own SQLite file in data_dir
    env.pop("PATRON_TESTING", None)
    env.setdefault("SECRET_KEY", local_key(data_dir))  # patron serve needs a configured key
    patron("demo", "--no-serve", "--customers", str(args.customers), env=env)
    customer = best_customer(env)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/patron"),
            "serve",
            "--port",
            str(port),
            "--no-migrate",
            "--workers",
            "1",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"{base}/login/")
        from playwright.sync_api import sync_playwright

        args.out.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
            for name, username, path, language, viewport in SHOTS:
                context = browser.new_context(
                    base_url=base, viewport=viewport, device_scale_factor=1
                )
                context.add_cookies([{"name": "django_language", "value": language, "url": base}])
                page = context.new_page()
                page.goto("/login/")
                page.fill("input[name=username]", username)
                page.fill("input[name=password]", PASSWORD)
                with page.expect_navigation():
                    page.locator("form:has(input[name=password]) [type=submit]").click()
                response = page.goto(path.format(customer=customer))
                if response is None or not response.ok:
                    print(
                        f"{name}: {path} answered {response and response.status}", file=sys.stderr
                    )
                page.wait_for_load_state("networkidle")
                page.wait_for_timeout(800)  # charts animate in
                page.screenshot(path=str(args.out / name), full_page=True)
                print(f"{name}: {username} {path} ({language})")
                context.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
