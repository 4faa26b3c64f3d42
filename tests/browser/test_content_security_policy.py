"""Every main page, for every role, under the Content-Security-Policy in a real Chromium: the
header is there, the browser reports no violation (console or securitypolicyviolation events),
and the charts still draw."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from tests.browser.conftest import log_in

# Collected in every document before its own scripts run.
LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.effectiveDirective + " blocked " + (e.blockedURI || "inline") + " at " +
                    (e.sourceFile || "") + ":" + e.lineNumber + " " + (e.sample || ""));
});
"""
ROLES = {
    "admin": "ada",
    "manager": "mia",
    "rep": "alice",
    "account_manager": "kate",
    "cx": "carl",
    "marketer": "maya",
    "analyst": "nora",
}
# Pages with charts, and the charts each must draw (for the roles allowed to see the page).
CHARTS = {
    "/dashboards/": ["chart-pyramid", "chart-profit", "chart-clv"],
    "/feedback/nps/": ["chart-nps-trend"],
    "/feedback/themes/": ["chart-themes"],
    "/models/": ["chart-holdout", "chart-calibration"],
}


@dataclass
class Book:
    customer: object  # scored twice, owned by the rep: the 360° page draws its trend
    key_account: object
    answer_path: str
    kiosk_path: str
    public_path: str
    unsubscribe_path: str


@pytest.fixture
def book(transactional_db) -> Book:
    from patron.core.models import Branch
    from patron.customers.models import Customer
    from patron.feedback import links
    from patron.feedback.models import Survey
    from patron.feedback.services.invitations import invitations_create
    from patron.generator.writer import generate_dataset
    from patron.insights.services import scoring_run_execute
    from tests.factories import make_customer, make_user

    generate_dataset(200, seed=11)
    scoring_run_execute(as_of=date(2025, 9, 30))
    scoring_run_execute(as_of=date(2025, 12, 31))  # two runs: the 360° page's trend chart
    branch = Branch.objects.filter(customers__isnull=False).order_by("pk").first()
    mia = make_user("mia", "manager", regions=[branch.region])
    rep = make_user("alice", "rep", reports_to=mia)
    kate = make_user("kate", "account_manager", reports_to=mia)
    make_user("ada", "admin")
    make_user("carl", "cx")
    make_user("maya", "marketer")
    make_user("nora", "analyst")
    customer = Customer.objects.filter(branch=branch, score__isnull=False).order_by("pk").first()
    Customer.objects.filter(pk=customer.pk).update(owner=rep)
    key_account = Customer.objects.filter(branch=branch).exclude(pk=customer.pk).order_by("pk").first()
    Customer.objects.filter(pk=key_account.pk).update(owner=kate, is_key_account=True)

    survey = Survey.objects.filter(kind="nps", is_active=True).order_by("pk").first()
    invited = make_customer("Invited Ltd", owner=rep, branch=branch, email="i@example.com", consent_survey=True)
    invitation = invitations_create(survey=survey, customers=[invited], channel="link").queued[0]
    return Book(
        customer=customer,
        key_account=key_account,
        answer_path="/s/i/" + links.answer_token(invitation) + "/",
        kiosk_path=f"/s/{survey.public_key}/kiosk/?b={branch.code}",
        public_path=f"/s/{survey.public_key}/",
        unsubscribe_path="/s/u/" + links.unsubscribe_token(invited.pk) + "/",
    )


class Watch:
    """Opens pages in one browser context and keeps every CSP violation it sees."""

    def __init__(self, page) -> None:
        self.page = page
        self.violations: list[str] = []
        page.context.add_init_script(LISTEN)
        page.on(
            "console",
            lambda m: self.violations.append(f"console: {m.text}")
            if "Content Security Policy" in m.text
            else None,
        )

    def open(self, path: str, *, charts: list[str] | None = None) -> int:
        response = self.page.goto(path)
        assert response is not None
        policy = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy and "style-src 'self'" in policy, f"{path}: no CSP: {policy!r}"
        for chart in charts or []:
            self.chart_draws(path, chart)
        self.collect(path)
        return response.status

    def chart_draws(self, path: str, chart: str) -> None:
        box = self.page.locator(f'[data-echarts="{chart}"]')
        box.locator("svg").wait_for()
        assert box.locator("svg path").count() >= 2, f"{path}: {chart} drew nothing"
        box.scroll_into_view_if_needed()
        box.hover()  # the tooltip too must draw under the policy
        self.page.wait_for_timeout(150)

    def collect(self, path: str) -> None:
        found = self.page.evaluate("window.__csp || []")
        self.violations += [f"{path}: {v}" for v in found]


def _pages(role: str, book: Book) -> list[str]:
    customer = book.key_account if role == "account_manager" else book.customer
    pages = [
        "/",
        "/customers/",
        f"/customers/{customer.pk}/",
        "/dashboards/",
        "/orders/",
        "/tasks/",
        "/responses/",
        "/search/?q=a",
        "/feedback/",
        "/feedback/follow-ups/",
        "/feedback/surveys/",
        "/feedback/nps/",
        "/feedback/themes/",
    ]
    if role not in {"analyst", "marketer"}:
        pages += ["/imports/", "/imports/duplicates/"]
    if role in {"admin", "analyst"}:
        pages.append("/models/")
    return pages


def test_every_page_of_every_role_runs_under_the_policy(browser, live_server, book):
    violations: list[str] = []
    for role, username in ROLES.items():
        context = browser.new_context(base_url=live_server.url, locale="en-US")
        context.set_default_timeout(30_000)
        watch = Watch(context.new_page())
        log_in(watch.page, username)
        for path in _pages(role, book):
            status = watch.open(path, charts=CHARTS.get(path) if role in {"admin", "analyst"} else None)
            assert status == 200, f"{role}: {path} answered {status}"
        if role in {"admin", "rep"}:  # the 360° page's trend chart of the rep's customer
            watch.open(f"/customers/{book.customer.pk}/", charts=["chart-trend"])
        if role == "manager":  # the language switcher, an on…= handler before
            with watch.page.expect_navigation():
                watch.page.locator("body > header select[name=language]").select_option("zh-hans")
            assert watch.page.locator("html").get_attribute("lang") == "zh-hans"
            watch.collect("language switch")
        if role == "admin":
            from patron.core.models import User

            for path in (
                "/admin/",
                "/admin/customers/customer/",
                f"/admin/customers/customer/{book.customer.pk}/change/",
                "/admin/feedback/survey/add/",
                f"/admin/core/user/{User.objects.get(username='alice').pk}/change/",
                "/admin/feedback/response/",
            ):
                assert watch.open(path) == 200, path
        violations += [f"{role}: {v}" for v in watch.violations]
        context.close()
    assert violations == []


def test_public_survey_pages_run_under_the_policy(browser, live_server, book):
    from patron.feedback.models import Response

    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(30_000)
    watch = Watch(context.new_page())
    assert watch.open(book.answer_path) == 200
    # One click on a score: the thank-you page, then its comment form.
    with watch.page.expect_navigation():
        watch.page.locator(".scores a").nth(9).click()
    assert watch.page.get_by_test_id("your-score").inner_text().endswith("9")
    watch.collect("thank-you page")
    watch.page.fill("#comment", "Quick and friendly")
    with watch.page.expect_navigation():
        watch.page.locator("form button[type=submit]").click()
    assert Response.objects.get(comment="Quick and friendly").score == 9
    watch.collect("comment saved")
    # The kiosk: answer, then the thank-you page's script takes the next visitor back.
    assert watch.open(book.kiosk_path) == 200
    with watch.page.expect_navigation():
        watch.page.locator(".scores button").nth(8).click()
    assert watch.page.locator("script[data-kiosk-url]").count() == 1
    watch.collect("kiosk thank-you page")
    assert watch.open(book.public_path) == 200
    assert watch.open(book.unsubscribe_path) == 200
    context.close()
    assert watch.violations == []


def test_the_policy_is_enforced_and_a_violation_would_be_seen(browser, live_server, book):
    # The check above can fail: inline code is refused here, and the listener reports it.
    context = browser.new_context(base_url=live_server.url)
    watch = Watch(context.new_page())
    watch.open("/login/")
    ran = watch.page.evaluate(
        """() => {
          const s = document.createElement("script");
          s.textContent = "window.inlineRan = true";
          document.head.append(s);
          document.body.insertAdjacentHTML("beforeend", '<p style="color: red">x</p>');
          return window.inlineRan === true;
        }"""
    )
    watch.page.wait_for_timeout(200)
    watch.collect("/login/")
    context.close()
    assert ran is False
    assert any("script-src" in v for v in watch.violations), watch.violations
    assert any("style-src" in v for v in watch.violations), watch.violations


def test_what_inline_handlers_did_still_works_from_static_scripts(browser, live_server, book):
    """The confirmation before a delete and the kiosk's return to its first screen."""
    from patron.imports.models import ImportMapping

    mapping = ImportMapping.objects.create(kind="customers", name="Shop export", columns={"Name": "name"})
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(30_000)
    watch = Watch(context.new_page())
    page = watch.page
    log_in(page, "ada")
    watch.open("/imports/")
    delete = page.locator(f'form[action="/imports/mappings/{mapping.pk}/delete/"] button')
    questions: list[str] = []

    def answer(dialog, accept: bool) -> None:
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda d: answer(d, accept=False))
    delete.click()
    page.wait_for_timeout(300)
    assert ImportMapping.objects.filter(pk=mapping.pk).exists(), "deleted though the user said no"
    page.once("dialog", lambda d: answer(d, accept=True))
    with page.expect_navigation():
        delete.click()
    assert not ImportMapping.objects.filter(pk=mapping.pk).exists()
    assert questions == ["Delete this mapping?"] * 2
    watch.collect("/imports/ after the delete")

    # The kiosk: after its thank-you page has sat 45 s untouched, back to the first screen.
    page.clock.install()
    assert watch.open(book.kiosk_path) == 200
    with page.expect_navigation():
        page.locator(".scores button").nth(10).click()
    assert page.get_by_test_id("your-score").is_visible() and page.locator(".scores button").count() == 0
    watch.collect("kiosk thank-you page")
    with page.expect_navigation():
        page.clock.fast_forward("00:46")
    assert page.url.endswith(book.kiosk_path) and page.locator(".scores button").count() == 11
    watch.collect("kiosk first screen")
    context.close()
    assert watch.violations == []
