"""The Performance page in real Chromium: the known ledger's figures, the equity chart drawn,
no console error, no CSP violation, nothing wider than the viewport at 1440 and 390 px."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from tests.accounts.factories import PASSWORD
from tests.browser.conftest import log_in
from tests.browser.layout import ARTIFACTS, OVERFLOWING, watch_console
from tests.performance.ledger import RANGE, build_ledger

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Whether any canvas of the chart holds a painted pixel (the line, the axes' labels).
PAINTED = """(selector) => [...document.querySelectorAll(selector + ' canvas')].some((canvas) => {
  if (!canvas.width || !canvas.height) return false;
  const pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i]) return true;
  return false;
})"""


@pytest.mark.parametrize("width, height", [(1440, 900), (390, 844)])
def test_the_known_ledger_and_its_charts_on_the_page(page, live_server_url, width, height):
    ledger = build_ledger()
    errors = watch_console(page)
    page.set_viewport_size({"width": width, "height": height})
    log_in(page, live_server_url, ledger.user.username, PASSWORD)
    page.goto(f"{live_server_url}/performance/?{urlencode(RANGE)}")

    expect(page.locator("#figure-closed-pnl .figure-value")).to_have_text("+6.85 USDT")
    expect(page.locator("#figure-count .figure-value")).to_have_text("4")
    expect(page.locator("#figure-win-rate .figure-value")).to_have_text("50.00 %")
    expect(page.locator("#figure-profit-factor .figure-value")).to_have_text("1.53")
    expect(page.locator("#figure-drawdown .figure-value")).to_have_text("51.00 USDT · 5.00 %")
    expect(page.locator("#figure-drawdown .figure-detail")).to_have_text(
        "from 2026-03-02 to 2026-03-04"
    )
    expect(page.locator("#breakdown-symbol tbody tr")).to_have_count(3)
    page.wait_for_function(PAINTED, arg="#equity-chart", timeout=10_000)
    assert page.evaluate(PAINTED, "#drawdown-chart")
    assert page.evaluate(PAINTED, "#daily-chart")

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"performance-{width}.png"), full_page=True)
    assert page.evaluate(OVERFLOWING) == []
    assert errors == []
    assert page.csp_violations == []


def test_the_empty_state_at_phone_width(page, live_server_url):
    ledger = build_ledger()
    errors = watch_console(page)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server_url, ledger.user.username, PASSWORD)
    page.goto(f"{live_server_url}/performance/?range=7d")
    expect(page.locator("#perf-empty")).to_contain_text("No closed positions in this range yet")
    assert page.evaluate(OVERFLOWING) == []
    assert errors == [] and page.csp_violations == []
