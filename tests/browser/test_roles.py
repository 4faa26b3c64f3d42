"""Each role's day in a real browser: log in, home, open a customer, act on it, switch language,
and the same pages on a phone."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import PHONE, log_in

# Roles that may change a customer's record; analysts and marketers only read.
EDITORS = {"admin", "manager", "rep", "account_manager", "cx"}
ROLES = ["admin", "manager", "rep", "account_manager", "cx", "marketer", "analyst"]
CJK = re.compile(r"[\u4e00-\u9fff]")

# Finds elements sticking out past the right edge of the viewport (what makes a phone scroll sideways).
OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > width + 1 && getComputedStyle(el).position !== 'fixed') {
      let inScroller = false;
      for (let p = el.parentElement; p; p = p.parentElement) {
        const o = getComputedStyle(p).overflowX;
        if (o === 'auto' || o === 'scroll' || o === 'hidden') { inScroller = true; break; }
      }
      if (!inScroller) wide.push(el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' ' + Math.round(r.right) + 'px');
    }
  }
  return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5)};
}"""


def customer_for(role: str, office):
    return office.key_account if role == "account_manager" else office.alpha


def hidden_customer_for(role: str, office):
    """A customer the role must not see, or None for roles that see everyone."""
    return {"rep": office.key_account, "account_manager": office.alpha}.get(role)


def open_quick_action(page, form) -> None:
    if not form.is_visible():
        page.locator("details", has=form).locator("summary").click()


def assert_fits_phone(page, where: str) -> None:
    report = page.evaluate(OVERFLOW_JS)
    assert report["scroll"] <= report["width"], f"{where} scrolls sideways on a phone: {report}"


@pytest.mark.parametrize("role", ROLES)
def test_role_day(page, office, role):
    from patron.engagement.models import Interaction, Task

    user = office.users[role]
    customer = customer_for(role, office)

    # Log in through the form; the home page greets the user and offers a way out.
    log_in(page, user.username)
    assert page.url.rstrip("/") == page.context.pages[0].url.rstrip("/")
    assert re.fullmatch(r"https?://[^/]+/", page.url), f"login should land on home, got {page.url}"
    assert page.locator("main h1").first.is_visible()
    assert page.locator("body > header").get_by_role("button", name="Log out").is_visible()

    # Find the customer through the list's search and open the 360° page.
    page.goto(f"/customers/?q={customer.name.split()[0]}")
    with page.expect_navigation():
        page.locator(f'main a[href="/customers/{customer.pk}/"]').first.click()
    assert page.locator("main h1").first.inner_text().startswith(customer.name)
    assert page.get_by_test_id("profit").is_visible()

    hidden = hidden_customer_for(role, office)
    if hidden is not None:
        response = page.request.get(f"/customers/{hidden.pk}/")
        assert response.status == 404, f"{role} must not see {hidden.name}"

    interactions = page.locator(f'form[action="/customers/{customer.pk}/interactions/"]')
    tasks = page.locator(f'form[action="/customers/{customer.pk}/tasks/"]')
    if role in EDITORS:
        page.goto(f"/customers/{customer.pk}/")
        open_quick_action(page, interactions)
        interactions.locator("[name=channel]").select_option(index=0)
        interactions.locator("[name=subject]").fill(f"Call by {role}")
        with page.expect_navigation():
            interactions.locator("[type=submit]").click()
        assert page.get_by_role("status").filter(has_text="Interaction logged.").is_visible()
        assert page.get_by_test_id("timeline").get_by_text(f"Call by {role}").is_visible()
        assert Interaction.objects.filter(
            customer=customer, handled_by=user, subject=f"Call by {role}"
        ).exists()

        open_quick_action(page, tasks)
        tasks.locator("[name=title]").fill(f"Send offer ({role})")
        with page.expect_navigation():
            tasks.locator("[type=submit]").click()
        assert page.get_by_role("status").filter(has_text="Task added.").is_visible()
        assert page.locator("main").get_by_text(f"Send offer ({role})").first.is_visible()
        assert Task.objects.filter(
            customer=customer, assignee=user, title=f"Send offer ({role})"
        ).exists()
    else:
        assert interactions.count() == 0 and tasks.count() == 0, (
            f"{role} is offered edits it may not make"
        )
        token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
        refused = page.request.post(
            f"/customers/{customer.pk}/interactions/",
            form={"channel": "phone", "subject": "Should not be saved"},
            headers={"X-CSRFToken": token, "Referer": page.url},
        )
        assert refused.status == 403
        assert not Interaction.objects.filter(customer=customer).exists()

    # Switch to Simplified Chinese with the header's switcher; the page stays put and is in Chinese.
    with page.expect_navigation():
        page.locator("body > header select[name=language]").select_option("zh-hans")
    assert page.url.endswith(f"/customers/{customer.pk}/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert CJK.search(page.locator("body > header").inner_text()), "header not translated"
    assert CJK.search(page.locator("main").inner_text()), "page body not translated"
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert cookies.get("django_language") == "zh-hans"

    # On a phone: nothing makes the 360° page or the home page scroll sideways.
    page.set_viewport_size(PHONE)
    page.reload()
    assert_fits_phone(page, f"the 360° page ({role})")
    page.goto("/")
    assert CJK.search(page.locator("main").inner_text()), "home not in Chinese after the switch"
    assert_fits_phone(page, f"the home page ({role})")
