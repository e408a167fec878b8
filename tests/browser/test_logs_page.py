"""The Logs page in real Chromium: filtering swaps the table only, at desk and phone widths."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from apps.core.events import Facts, record_event
from apps.core.models import Event
from tests.accounts.factories import PASSWORD, UserFactory
from tests.browser.conftest import log_in
from tests.browser.layout import ARTIFACTS, OVERFLOWING, watch_console
from tests.exchanges.factories import ExchangeAccountFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width, height", [(1440, 900), (390, 844)])
def test_filtering_the_logs_swaps_the_table_and_nothing_overflows(
    page, live_server_url, width, height
):
    trader = UserFactory()
    account = ExchangeAccountFactory(owner=trader, label="Main")
    for n in range(8):
        record_event(
            kind="trade.activated" if n % 2 else "signal.rejected",
            message=f"Event number {n}: a long message about BTC/USDT that a phone must wrap.",
            user=trader,
            account=account,
            level=Event.Level.WARNING if n % 2 == 0 else Event.Level.INFO,
            facts=Facts(symbol="BTC/USDT"),
        )
    errors = watch_console(page)
    page.set_viewport_size({"width": width, "height": height})
    log_in(page, live_server_url, trader.username, PASSWORD)
    page.goto(f"{live_server_url}/logs/")
    expect(page.locator("#log-results tr.event")).to_have_count(8)
    expect(page.locator(".log-live")).to_contain_text("New events appear at the top")
    page.evaluate("window.notReloaded = true")

    page.select_option("#id_level", "warning")
    page.fill("#id_q", "number 4")
    page.click(".log-filters button[type=submit]")

    expect(page.locator("#log-results tr.event")).to_have_count(1)
    expect(page.locator("#log-results tr.event")).to_contain_text("Event number 4")
    expect(page.locator(".log-live")).to_contain_text("Live updates paused while filtering")
    assert "level=warning" in page.url and "q=number%204" in page.url  # the view is a link
    assert page.evaluate("window.notReloaded") is True  # only the table was swapped
    csv_link = page.locator("a.log-csv").get_attribute("href")
    assert "level=warning" in csv_link

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"logs-filtered-{width}.png"), full_page=True)
    assert page.evaluate(OVERFLOWING) == []
    page.goto(f"{live_server_url}/logs/{Event.objects.filter(user=trader).first().pk}/")
    # The event's page names its kind in words (the code is on hover), not `trade.activated`.
    expect(page.locator("h1")).to_have_text(
        re.compile(r"^\s*(Trade activated|Signal rejected)\s*$")
    )
    page.screenshot(path=str(ARTIFACTS / f"event-detail-{width}.png"), full_page=True)
    assert page.evaluate(OVERFLOWING) == []
    assert errors == []
    assert page.csp_violations == []


def test_on_a_phone_the_first_logs_rows_message_is_on_screen_without_scrolling(
    page, live_server_url
):
    trader = UserFactory()
    account = ExchangeAccountFactory(owner=trader, label="Main")
    record_event(
        kind="position.closed",
        message="Position closed (group take profit): realised +1.77 USDT (+1.77 %).",
        user=trader,
        account=account,
        level=Event.Level.SUCCESS,
        facts=Facts(symbol="SOL/USDT"),
    )
    errors = watch_console(page)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server_url, trader.username, PASSWORD)
    page.goto(f"{live_server_url}/logs/")
    row = page.locator("#log-results tr.event").first
    message = row.locator("td.log-message")
    message.scroll_into_view_if_needed()
    box = message.bounding_box()
    assert box is not None
    # The whole message cell lies inside the 390 px viewport: nothing to scroll sideways to.
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    expect(message).to_contain_text("realised +1.77 USDT")
    time = row.locator("td[data-label='Time (UTC)']").bounding_box()
    assert time is not None and time["y"] < box["y"]  # the time line above the message
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "logs-rows-390.png"), full_page=True)
    assert page.evaluate(OVERFLOWING) == []
    assert errors == []
    assert page.csp_violations == []
