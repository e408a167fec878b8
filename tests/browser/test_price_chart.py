"""A paper position's page in real Chromium: the price chart is drawn (candles, the position's
levels), and after a DCA leg fills on the paper exchange the chart's levels, fills and last
price and the page's facts update live, without a reload, a console error or a CSP violation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.accounts.factories import PASSWORD
from tests.browser.conftest import as_worker, log_in, wait_for_live_socket
from tests.browser.test_positions_page import dip_and_sync, entry, paper_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).parent / "artifacts"


def dip_sync_and_tick():
    """Leg 1 fills at 63700; the take-profit loop then sees that price (the last price)."""
    from apps.positions.services import take_profit

    dip_and_sync()
    take_profit(now=timezone.now())


def test_the_chart_is_drawn_and_follows_a_fill_live(page, live_server_url):
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    account = as_worker(paper_account)
    outcome = as_worker(entry, account)
    pk = outcome.group_id
    log_in(page, live_server_url, account.owner.username, PASSWORD)

    page.goto(f"{live_server_url}/positions/{pk}/")
    chart = page.locator("[data-price-chart]")
    expect(chart).to_have_attribute("data-chart", "drawn")
    assert int(chart.get_attribute("data-candles")) > 10
    assert page.locator("[data-chart-canvas] canvas").count() > 0
    box = page.locator("[data-chart-canvas]").bounding_box()
    assert box["width"] > 300 and box["height"] > 200
    leg_1 = as_worker(_leg_1_price, pk)
    expect(chart).to_have_attribute("data-levels", _contains(f"Leg 1.2 resting={leg_1}"))
    expect(chart).to_have_attribute("data-markers", "1")
    facts = page.locator(f"#group-facts-{pk}")
    expect(facts).to_contain_text("1 of at most")
    wait_for_live_socket(page)
    page.evaluate("window.notReloaded = true")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "price-chart-before-fill.png"), full_page=True)

    as_worker(dip_sync_and_tick)

    filled_at = as_worker(_leg_1_fill, pk)
    expect(chart).to_have_attribute("data-levels", _contains(f"Leg 1.2 filled={filled_at}"))
    expect(chart).not_to_have_attribute("data-levels", _contains("Leg 1.2 resting"))
    expect(chart).to_have_attribute("data-markers", "2")
    expect(chart).to_have_attribute("data-last", "63700")
    expect(facts).to_contain_text("0.01083915")  # both legs held, net of their fees in BTC
    expect(facts).to_contain_text("63,700.00 USDT")  # the last price, on the tick
    assert page.evaluate("window.notReloaded") is True
    page.screenshot(path=str(ARTIFACTS / "price-chart-after-fill.png"), full_page=True)
    assert errors == []
    assert page.csp_violations == []


def test_a_page_without_a_chart_has_no_chart_and_no_console_error(page, live_server_url):
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    account = as_worker(paper_account)
    log_in(page, live_server_url, account.owner.username, PASSWORD)
    page.goto(f"{live_server_url}/positions/")
    wait_for_live_socket(page)
    assert page.locator("[data-price-chart]").count() == 0
    assert errors == [] and page.csp_violations == []


def _leg_1_price(pk: int) -> str:
    from apps.core.numbers import plain
    from apps.positions.models import DcaLeg

    return plain(DcaLeg.objects.get(group_id=pk, pyramid__index=0, index=1).price)


def _leg_1_fill(pk: int) -> str:
    from apps.core.numbers import plain
    from apps.positions.models import DcaLeg

    return plain(DcaLeg.objects.get(group_id=pk, pyramid__index=0, index=1).fill_price)


def _contains(text: str) -> re.Pattern:
    return re.compile(re.escape(text))
