"""Browser tests: Playwright drives Debian's Chromium (no ``playwright install``) against
pytest-django's live server.

The Chromium binary is found in PATRON_CHROMIUM, then Debian's locations; ``make test`` installs
it (scripts/setup.sh --browser). A missing browser fails these tests with a message saying so,
so CI cannot pass without running them; PATRON_SKIP_BROWSER=1 skips them on purpose.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
PASSWORD = "correct-horse-battery"  # tests.factories.PASSWORD


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def chromium_path() -> str | None:
    candidates = [os.environ.get("PATRON_CHROMIUM", ""), "/usr/lib/chromium/chromium"]
    candidates += [shutil.which(name) or "" for name in ("chromium", "chromium-browser")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


@pytest.fixture(scope="package")
def browser(django_db_setup):
    # Package scope: Playwright's event loop stays registered on this thread while the browser
    # is open, which Django's ORM takes for an async context; other packages' tests run after.
    if os.environ.get("PATRON_SKIP_BROWSER") == "1":
        pytest.skip("browser tests skipped on purpose (PATRON_SKIP_BROWSER=1)")
    path = chromium_path()
    if path is None:
        pytest.fail(
            "Chromium not found for the browser tests: run `scripts/setup.sh --browser` as root "
            "(installs Debian's chromium), or set PATRON_CHROMIUM to a Chromium binary. "
            "PATRON_SKIP_BROWSER=1 skips these tests on purpose.",
            pytrace=False,
        )
    from django.urls import get_resolver
    from playwright.sync_api import sync_playwright

    # Import every view module now, so the first page does not spend the browser's timeout on it.
    _ = get_resolver().url_patterns

    # Playwright's sync API keeps an event loop on this thread; Django would then refuse the
    # tests' own ORM calls, though nothing runs concurrently with them.
    with pytest.MonkeyPatch.context() as patch, sync_playwright() as pw:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        chromium = pw.chromium.launch(executable_path=path, args=LAUNCH_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server) -> Iterator:
    # Reduced motion: charts are drawn at once, so a click lands where the element is, not
    # where it was in the middle of its animation on a slow machine.
    context = browser.new_context(
        base_url=live_server.url, viewport=DESKTOP, locale="en-US", reduced_motion="reduce"
    )
    # Generous: CI machines are shared and slow; a real hang still fails.
    context.set_default_timeout(30_000)
    tab = context.new_page()
    yield tab
    context.close()


@dataclass
class Office:
    """Users for every role and the customers they look at."""

    users: dict
    alpha: object  # a rep's customer in the managed region
    key_account: object  # the account manager's customer


@pytest.fixture
def office(transactional_db) -> Office:
    from tests.factories import make_branch, make_customer, make_user

    north = make_branch("N1", "North One", region_code="N", region_name="North")
    mia = make_user("mia", "manager", regions=[north.region])
    users = {
        "admin": make_user("ada", "admin"),
        "manager": mia,
        "rep": make_user("alice", "rep", reports_to=mia),
        "account_manager": make_user("kate", "account_manager", reports_to=mia),
        "cx": make_user("carl", "cx"),
        "marketer": make_user("maya", "marketer"),
        "analyst": make_user("nora", "analyst"),
    }
    # ASCII names, so any Chinese text on a page comes from the translations.
    alpha = make_customer(
        "Alpha Trading", owner=users["rep"], branch=north, email="buyer@alpha.example"
    )
    key = make_customer(
        "Keystone Holdings", owner=users["account_manager"], branch=north, is_key_account=True
    )
    return Office(users=users, alpha=alpha, key_account=key)


def log_in(page, username: str) -> None:
    page.goto("/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.locator("form:has(input[name=password]) [type=submit]").click()
