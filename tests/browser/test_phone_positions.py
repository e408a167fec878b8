"""The Desk's open positions on a 390 px phone: each position is a block of its own, its link,
PnL and Close… action on screen with nothing to scroll sideways; Close…'s question outlives the
list's live pushes."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.accounts.factories import PASSWORD
from tests.browser.conftest import as_worker, log_in, wait_for_live_socket
from tests.browser.test_positions_page import entry, paper_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _inside(box, width: int) -> bool:
    return box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width


def test_a_positions_link_pnl_and_close_are_on_a_phones_screen_without_scrolling(
    page, live_server_url
):
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    account = as_worker(paper_account)
    pk = as_worker(entry, account).group_id
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, live_server_url, account.owner.username, PASSWORD)
    row = page.locator(f"#desk-group-{pk}")
    close = row.locator("td.row-actions button")
    link = row.locator("td a").first
    pnl = row.locator("td.pnl").first  # the unrealised PnL
    expect(close).to_be_visible()
    for cell in (link, pnl, close):
        expect(cell).to_be_visible()
        assert _inside(cell.bounding_box(), 390), cell
    scroller = page.locator("#desk-positions .table-scroll")
    assert scroller.evaluate("el => el.scrollWidth <= el.clientWidth")  # nothing to drag
    close.click()  # the action still asks, from its block
    expect(page.locator(f"#desk-close-confirm-{pk}")).to_contain_text(f"position #{pk}")
    assert errors == []
    assert page.csp_violations == []


def test_the_desks_close_question_survives_the_lists_live_pushes(page, live_server_url):
    """The list of open positions is pushed whole on every price tick; Close…'s question sits
    above it, so a push arriving while the trader reads it leaves it there."""
    from apps.positions.services.live import push_desk

    account = as_worker(paper_account)
    pk = as_worker(entry, account).group_id
    log_in(page, live_server_url, account.owner.username, PASSWORD)
    wait_for_live_socket(page)
    page.locator(f"#desk-close-button-{pk}").click()
    question = page.locator(f"#desk-close-confirm-{pk}")
    expect(question).to_contain_text(f"position #{pk} at market now?")

    page.evaluate("window.notReloaded = true")
    as_worker(push_desk, account.owner_id)  # a tick's push of the whole list
    expect(page.locator(f"#desk-group-{pk}")).to_be_visible()
    page.wait_for_timeout(500)  # the push has landed (it would have wiped an inner question)
    expect(question).to_be_visible()

    question.locator("button.confirm-yes").click()
    expect(page.locator(f"#desk-close-outcome-{pk}")).to_contain_text("Closing")
    assert page.evaluate("window.notReloaded") is True
    assert page.csp_violations == []


def test_keeping_the_position_open_clears_the_desks_close_question(page, live_server_url):
    account = as_worker(paper_account)
    pk = as_worker(entry, account).group_id
    log_in(page, live_server_url, account.owner.username, PASSWORD)
    page.locator(f"#desk-close-button-{pk}").click()
    question = page.locator(f"#desk-close-confirm-{pk}")
    expect(question).to_be_visible()

    question.locator("a.confirm-keep").click()

    expect(question).to_have_count(0)
    expect(page.locator("#desk-close-panel")).to_be_empty()
    expect(page.locator(f"#desk-group-{pk}")).to_contain_text("Open")  # nothing was sold
