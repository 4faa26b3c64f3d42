"""Keyboard and screen-reader basics on the main pages: labelled fields, alt texts, named links
and buttons, a page language, and a visible focus when moving with Tab."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in

AUDIT_JS = """() => {
  const problems = [];
  const text = el => (el.textContent || '').trim();
  const named = el => el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || el.getAttribute('title');
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (['hidden', 'submit', 'button', 'reset', 'image'].includes(el.type)) continue;
    const labelled = el.labels && [...el.labels].some(l => text(l));
    if (!labelled && !named(el)) problems.push(`field without a label: ${el.tagName.toLowerCase()}[name=${el.name}]`);
  }
  for (const img of document.querySelectorAll('img')) {
    if (!img.hasAttribute('alt')) problems.push(`image without alt: ${img.getAttribute('src')}`);
  }
  for (const el of document.querySelectorAll('button, a[href]')) {
    const hasName = text(el) || named(el) || el.querySelector('img[alt]:not([alt=""]), svg[aria-label]');
    if (!hasName) problems.push(`${el.tagName.toLowerCase()} without a name: ${el.outerHTML.slice(0, 80)}`);
  }
  if (!document.documentElement.lang) problems.push('no lang on <html>');
  if (!document.querySelector('h1')) problems.push('no <h1>');
  return problems;
}"""

# What the focused element shows: an outline or a shadow that is not nothing.
FOCUS_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  const shadow = s.boxShadow && s.boxShadow !== 'none';
  return {element: el.outerHTML.slice(0, 80), visible: outline || !!shadow};
}"""


def audit(page, where: str, tabs: int = 6) -> None:
    problems = page.evaluate(AUDIT_JS)
    assert problems == [], f"{where}: {problems}"
    page.locator("body").click(position={"x": 1, "y": 1})
    for _ in range(tabs):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS_JS)
        assert focus is not None, f"{where}: Tab leaves nothing focused"
        assert focus["visible"], f"{where}: focus not visible on {focus['element']}"


def test_login_page_is_accessible(page, live_server):
    page.goto("/login/")
    audit(page, "login page", tabs=3)


@pytest.mark.parametrize("username", ["alice", "ada"])
def test_main_pages_are_accessible(page, office, username):
    customer = office.alpha
    log_in(page, username)
    pages = ["/", "/customers/", f"/customers/{customer.pk}/", "/search/?q=Alpha"]
    if username == "ada":
        pages.append("/dashboards/")
    for url in pages:
        response = page.goto(url)
        assert response is not None and response.ok, (
            f"{url} answered {response and response.status}"
        )
        audit(page, url)


def test_audit_catches_what_it_looks_for(browser):
    # The checks above pass only if the audit can fail: a page with each fault.
    context = browser.new_context()
    tab = context.new_page()
    tab.set_content(
        "<html><body><input name=q><img src=x.png><a href='/x'></a>"
        "<button style='outline:none'>Go</button></body></html>"
    )
    problems = tab.evaluate(AUDIT_JS)
    assert any("field without a label" in p for p in problems)
    assert any("image without alt" in p for p in problems)
    assert any("a without a name" in p for p in problems)
    assert "no lang on <html>" in problems and "no <h1>" in problems
    tab.focus("button")
    assert tab.evaluate(FOCUS_JS)["visible"] is False
    context.close()
