"""Confirmations in real Chromium: Close at market on a group's page asks once, in the page
(no script dialog: the CSP allows no inline script and none is needed), and keeping it open
sells nothing; confirming closes the group."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.accounts.factories import PASSWORD
from tests.browser.conftest import as_worker, log_in, wait_for_live_socket
from tests.browser.test_positions_page import entry, paper_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def group_state(group_id: int) -> tuple[str, int]:
    from apps.positions.models import Order, PositionGroup

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
    expect(ask).to_contain_text(f"Close BTC/USDT 15m position #{group_id} at market now?")
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


def bump_replacements_and_push(account, queued_id: int, replacements: int) -> None:
    """A change to the account's queue, pushed the way every queue move pushes it."""
    from apps.trade_queue.models import QueuedSignal
    from apps.trade_queue.services.live import push_queue

    QueuedSignal.objects.filter(pk=queued_id).update(replacements=replacements)
    push_queue(account.pk)


def queued_status(queued_id: int) -> str:
    from apps.trade_queue.models import QueuedSignal

    return QueuedSignal.objects.get(pk=queued_id).status


def test_an_open_queue_remove_confirmation_survives_a_live_update_of_its_pool(
    page, live_server_url
):
    from tests.browser.test_queue_page import full_pool_with_a_queue, queue_rows

    account, _ = as_worker(full_pool_with_a_queue)
    eth = as_worker(queue_rows, account)["ETH/USDT"]
    log_in(page, live_server_url, account.owner.username, PASSWORD)
    page.goto(f"{live_server_url}/queue/")
    wait_for_live_socket(page)
    page.locator(f"#queued-{eth} button.remove").click()
    ask = page.get_by_role("alertdialog")
    expect(ask).to_contain_text("Remove ETH/USDT 15m long")

    as_worker(bump_replacements_and_push, account, eth, 7)

    # The push arrived (the row shows the new count) and the open confirmation is still there.
    expect(page.locator(f"#queued-{eth} td").nth(8)).to_have_text("7")
    expect(page.get_by_role("alertdialog")).to_have_count(1)
    assert as_worker(queued_status, eth) == "queued"

    page.get_by_role("alertdialog").get_by_role("button", name="Remove").click()

    expect(page.locator(f"#queued-{eth}")).to_have_count(0)
    expect(page.get_by_role("alertdialog")).to_have_count(0)  # closed with its answer
    assert as_worker(queued_status, eth) == "removed"
    assert page.csp_violations == []
