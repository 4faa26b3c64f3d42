"""Every main page in a real Chromium: in Simplified and Traditional Chinese no English word is left
in a heading, label, button, menu or table header; at 1366 px (a laptop) and 390 px (a phone)
nothing sticks out sideways.

The pages and the book are the Content-Security-Policy test's: every role's home, and every page
for the roles whose pages differ (the administrator sees every page; a rep sees the narrowest).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import groupby
from typing import Any

import pytest

from tests.browser.conftest import PHONE, log_in
from tests.browser.test_content_security_policy import ROLES, _pages, book  # noqa: F401 (fixture)
from tests.browser.test_roles import OVERFLOW_JS

LAPTOP = {"width": 1366, "height": 768}
# What a Chinese page may still write in Latin letters: abbreviations everyone uses, model and
# format names, units and codes. The language switcher names each language in its own.
AGREED = {
    "NPS", "RFM", "CLV", "CSV", "XLSX", "API", "ID", "SLA", "AUC", "BG", "NBD", "Pareto", "P", "alive",
    "QR", "URL", "CNY", "USD", "EUR", "HKD", "Patron", "KPI", "ROI", "Brier", "E", "R", "F", "M", "h",
    "Excel", "JSON", "Parquet", "SVG", "PNG", "pinyin", "vs", "n", "Gamma-Gamma", "CSAT", "CES", "App",
    "alpha", "beta", "gamma",  # the models' parameters, named as in their papers
    "SKU",
}
# Phrases the Chinese catalogues keep in Latin letters on purpose ("QR Code" is Taiwan's usual word).
AGREED_PHRASES = ("QR Code",)
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]+")
# Labels of the page's own making: headings, form labels, buttons, the menu, table headers, the
# summaries of folded sections. Names, comments and other data are left out: links to a record,
# the user's own name, and elements marked as data.
LABELS_JS = """() => {
  const picked = document.querySelectorAll(
    'main h1, main h2, main h3, label, button, summary, legend, th, body > header nav a, select:not([name=language]) option');
  const out = [];
  for (const el of picked) {
    const copy = el.cloneNode(true);
    copy.querySelectorAll('a[href*="/customers/"], a[href*="/follow-ups/"], a[href*="/surveys/"], [data-data], .num, code, kbd, input, select, textarea').forEach(n => n.remove());
    const text = copy.textContent.replace(/\\s+/g, ' ').trim();
    if (text) out.push(el.tagName.toLowerCase() + ': ' + text);
  }
  return out;
}"""


CLIPPED_JS = """() => [...document.querySelectorAll('.table-wrap')]
  .filter(w => w.scrollWidth > w.clientWidth + 1)
  .map(w => (w.querySelector('table') || w).getAttribute('data-testid') || w.closest('section')?.getAttribute('aria-labelledby') || 'table')"""


def _english(texts: list[str], names: set[str]) -> list[str]:
    found = []
    for text in texts:
        _tag, _sep, label = text.partition(": ")
        for phrase in AGREED_PHRASES:
            label = label.replace(phrase, "")
        words = [w for w in WORD.findall(label) if w not in AGREED and w not in names]
        if words:
            found.append(f"{text!r} ({', '.join(words)})")
    return found


def _data_words(data) -> set[str]:
    """Words of the book's own data (customers, branches, surveys, deals, users) a label may quote."""
    from patron.core.models import Branch, Region, User
    from patron.customers.models import Customer
    from patron.feedback.models import Survey
    from patron.sales.models import Lead, Opportunity

    words: set[str] = set()
    sources = [
        Customer.objects.values_list("name", flat=True),
        Branch.objects.values_list("name", flat=True),
        Region.objects.values_list("name", flat=True),
        Survey.objects.values_list("name", flat=True),
        Opportunity.objects.values_list("name", flat=True),
        Lead.objects.values_list("name", flat=True),
        Lead.objects.values_list("company", flat=True),
        User.objects.values_list("username", flat=True),
        User.objects.values_list("first_name", flat=True),
        User.objects.values_list("last_name", flat=True),
    ]
    for source in sources:
        for value in source:
            words.update(WORD.findall(value or ""))
    return words


def _visits(data) -> list[tuple[str, str]]:
    """(username, path): each role's home; every page for the administrator and the rep, and the
    pages of one record (a survey, a follow-up) and of campaigns and the audit log."""
    from patron.feedback.models import FollowUp, Survey

    visits = [(username, "/") for username in ROLES.values()]
    for role in ("admin", "rep"):
        visits += [(ROLES[role], path) for path in _pages(role, data) if path != "/"]
        visits += [(ROLES[role], path) for path in ("/sales/", "/sales/opportunities/", "/sales/leads/", "/sales/leads/new/", "/sales/opportunities/new/")]
    survey = Survey.objects.order_by("pk").first()
    follow_up = FollowUp.objects.order_by("pk").first()
    visits += [
        (ROLES["admin"], path)
        for path in (
            f"/feedback/surveys/{survey.pk}/", f"/feedback/follow-ups/{follow_up.pk}/", "/campaigns/",
            "/campaigns/segments/", "/campaigns/segments/new/", "/campaigns/simulate/", "/audit/",
        )
    ]
    return visits


def _open_each(browser, live_server, data, **options) -> Iterator[tuple[str, str, Any]]:
    """Every visit, each user signed in once in a context of their own: (username, path, page)
    after the page has loaded with 200."""
    for username, visits in groupby(_visits(data), key=lambda visit: visit[0]):
        context = browser.new_context(base_url=live_server.url, reduced_motion="reduce", **options)
        context.set_default_timeout(30_000)
        page = context.new_page()
        log_in(page, username)
        for _user, path in visits:
            response = page.goto(path)
            assert response is not None and response.status == 200, f"{username} {path}: {response and response.status}"
            yield username, path, page
        context.close()


@pytest.mark.parametrize("locale,lang", [("zh-CN", "zh-hans"), ("zh-TW", "zh-hant")])
def test_no_english_label_left_on_any_chinese_page(browser, live_server, book, locale, lang):  # noqa: F811
    names = _data_words(book)
    problems: list[str] = []
    for username, path, page in _open_each(browser, live_server, book, locale=locale):
        assert page.locator("html").get_attribute("lang") == lang, path
        problems += [f"{username} {path}: {p}" for p in _english(page.evaluate(LABELS_JS), names)]
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["1366px", "390px"])
def test_no_page_scrolls_sideways(browser, live_server, book, viewport):  # noqa: F811
    wide: list[str] = []
    for username, path, page in _open_each(browser, live_server, book, locale="en-US", viewport=viewport):
        report = page.evaluate(OVERFLOW_JS)
        if report["scroll"] > report["width"]:
            wide.append(f"{username} {path}: {report}")
        if viewport is LAPTOP:  # on a laptop no table hides a column behind its own scroll bar
            clipped = page.evaluate(CLIPPED_JS)
            if clipped:
                wide.append(f"{username} {path}: tables scroll inside their card: {clipped}")
    assert wide == [], "\n".join(wide)
