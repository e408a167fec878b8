"""Confirmations in real Chromium: Close at market on a group's page asks once, in the page
(no script dialog: the CSP allows no inline script and none is needed), and keeping it open
sells nothing; confirming closes the group."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.accounts.factories import PASSWORD
from tests.browser.conftest import as_worker, log_in
from tests.browser.test_positions_page import entry, paper_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def group_state(group_id: int) -> tuple[str, int]:
    from apps.trades.models import Order, PositionGroup

    status = PositionGroup.objects.get(pk=group_id).status
    return status, Order.objects.filter(group_id=group_id, side="sell").count()


def test_the_position_pages_close_asks_first_and_keeping_it_open_sells_nothing(
    page, live_server_url
):
    account = as_worker(paper_account)
    group_id = as_worker(entry, account).group_id
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, live_server_url, account.owner.username, PASSWORD)
    page.goto(f"{live_server_url}/positions/{group_id}/")

    page.click("#position-close")

    ask = page.get_by_role("alertdialog")
    expect(ask).to_contain_text(f"Close BTC/USDT 15 group #{group_id} at market now?")
    expect(ask.locator(".confirm-label")).to_have_text("Confirm:")  # a question, not an error
    expect(ask.locator(".notice.error")).to_have_count(0)
    expect(ask).not_to_contain_text("Nothing was sold")
    assert as_worker(group_state, group_id) == ("open", 0)

    ask.get_by_role("link", name="Keep it open").click()  # dismiss

    expect(page.get_by_role("alertdialog")).to_have_count(0)
    expect(page.locator("#group-status")).to_contain_text("Open")
    assert as_worker(group_state, group_id) == ("open", 0)

    page.click("#position-close")
    page.get_by_role("alertdialog").get_by_role("button", name="Close at market").click()

    expect(page.locator("#group-status")).not_to_contain_text("Open")
    status, sells = as_worker(group_state, group_id)
    assert status in ("closing", "closed") and sells == 1
    assert dialogs == []  # asked once, in the page
    assert page.csp_violations == []
