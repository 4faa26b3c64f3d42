"""The NPS trend (with its confidence band) and the theme chart draw in a real browser, and a
click on a chart element opens the answers behind it."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in


@pytest.fixture
def nps_office(transactional_db):
    from tests.factories import make_branch, make_user
    from tests.feedback.nps_data import build

    north = make_branch("N1", "North One", region_code="N", region_name="North")
    south = make_branch("S1", "South One", region_code="S", region_name="South")
    mia = make_user("mia", "manager", regions=[north.region])
    alice = make_user("alice", "rep", reports_to=mia)
    bob = make_user("bob", "rep")
    make_user("ada", "admin")
    return build(alice=alice, bob=bob, north=north, south=south)


def test_nps_and_theme_charts_draw_and_link(page, nps_office):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    log_in(page, "ada")
    page.goto("/feedback/nps/")
    trend = page.locator('[data-echarts="chart-nps-trend"] svg')
    trend.wait_for()
    # two months: the NPS line's points and the band's area are drawn as SVG paths
    assert page.locator('[data-echarts="chart-nps-trend"] svg path').count() >= 3
    # the browser asks for reduced motion (tests/browser/conftest.py): drawn without animation
    assert page.evaluate(
        """() => echarts.getInstanceByDom(
              document.querySelector('[data-echarts="chart-nps-trend"]')).getOption().animation"""
    ) is False
    # click February's NPS point: the answers of that month open
    x, y = page.evaluate(
        """() => {
          const el = document.querySelector('[data-echarts="chart-nps-trend"]');
          el.scrollIntoView({block: "center"});
          const chart = echarts.getInstanceByDom(el);
          const [px, py] = chart.convertToPixel({seriesIndex: 2}, [1, -60]);
          const box = el.getBoundingClientRect();
          return [box.left + px, box.top + py];
        }"""
    )
    page.mouse.move(x, y)  # ECharts finds the element under the pointer on mouse move
    page.wait_for_timeout(300)
    with page.expect_navigation():
        page.mouse.click(x, y)
    assert "/feedback/nps/responses/" in page.url and "start=2026-02-01" in page.url
    assert "(n = 5)" in page.locator('[data-testid="drill-summary"]').inner_text()
    page.goto("/feedback/themes/")
    bars = page.locator('[data-echarts="chart-themes"] svg path')
    page.locator('[data-echarts="chart-themes"] svg').wait_for()
    assert bars.count() >= 4
    assert errors == []
