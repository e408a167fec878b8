"""The Desk's header in real Chromium follows fills live: a signal's entry fills on the paper
exchange and the header counts the position and its exposure; a DCA leg then fills below and
the exposure grows to what is held at the new price. No reload, console error or CSP violation."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.accounts.factories import PASSWORD
from tests.browser.conftest import as_worker, log_in, wait_for_live_socket
from tests.browser.test_positions_page import entry, paper_account
from tests.browser.test_price_chart import dip_sync_and_tick

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(__file__).parent / "artifacts"


def _held(pk: int) -> tuple[Decimal, Decimal]:
    from apps.positions.models import PositionGroup

    group = PositionGroup.objects.get(pk=pk)
    # Held at the last price seen, or at the average entry before any price was seen.
    return group.quantity, group.last_price or group.average_entry


def _usdt(value: Decimal) -> str:
    """Written out here, not with the desk's own formatter: 12,345.68 USDT."""
    return f"{value.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,} USDT"


def test_the_desk_header_counts_a_fill_and_follows_the_next_one_live(page, live_server_url):
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.on("pageerror", lambda error: errors.append(str(error)))
    account = as_worker(paper_account)
    log_in(page, live_server_url, account.owner.username, PASSWORD)
    positions = page.locator("#figure-positions .figure-value")
    exposure = page.locator("#figure-exposure .figure-value")
    expect(positions).to_have_text("0")
    expect(exposure).to_have_text("–")
    wait_for_live_socket(page)
    page.evaluate("window.notReloaded = true")

    outcome = as_worker(entry, account)

    expect(positions).to_have_text("1")
    quantity, price = as_worker(_held, outcome.group_id)
    expect(exposure).to_have_text(_usdt(quantity * price))
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "desk-header-after-entry.png"), full_page=True)

    as_worker(dip_sync_and_tick)  # leg 1 fills at 63700, then a loop sees that price

    more, lower = as_worker(_held, outcome.group_id)
    assert more > quantity and lower == Decimal("63700.00")  # the DCA leg filled at the dip
    expect(exposure).to_have_text(_usdt(more * lower))
    expect(positions).to_have_text("1")
    assert page.evaluate("window.notReloaded") is True
    page.screenshot(path=str(ARTIFACTS / "desk-header-after-dca-fill.png"), full_page=True)
    assert errors == []
    assert page.csp_violations == []
