"""Log in, see the desk, and receive fragments pushed by the server, in real Chromium."""

import pytest
from playwright.sync_api import expect

from apps.core.events import record_event
from apps.core.services import heartbeat
from tests.accounts.factories import PASSWORD, UserFactory
from tests.browser.conftest import as_worker, log_in, wait_for_live_socket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_trader_logs_in_and_sees_the_desk(page, live_server_url):
    trader = UserFactory()
    log_in(page, live_server_url, trader.username, PASSWORD)
    expect(page.locator("h1")).to_have_text("Desk")
    expect(page.locator("#figure-health")).to_contain_text("loops need attention")
    expect(page.locator("nav[aria-label=Main] a[aria-current=page]")).to_have_text("Desk")
    assert page.csp_violations == []


def test_a_wrong_password_keeps_the_trader_on_the_login_page(page, live_server_url):
    trader = UserFactory()
    page.goto(f"{live_server_url}/accounts/login/")
    page.fill("#id_username", trader.username)
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    expect(page.locator("[role=alert]")).to_contain_text("correct username and password")


def test_a_loop_tick_reaches_the_open_desk_without_a_reload(page, live_server_url):
    trader = UserFactory()
    log_in(page, live_server_url, trader.username, PASSWORD)
    page.goto(f"{live_server_url}/status/")
    wait_for_live_socket(page)
    expect(page.locator("#loop-core-heartbeat")).to_contain_text("never")
    page.evaluate("window.notReloaded = true")

    as_worker(heartbeat)  # what beat schedules; its fragment travels through Redis to daphne

    expect(page.locator("#loop-core-heartbeat")).to_contain_text("s ago")
    expect(page.locator("#loop-core-heartbeat")).to_contain_text("running")
    assert page.evaluate("window.notReloaded") is True
    assert page.csp_violations == []


def test_a_new_event_appears_live_on_the_logs_page_for_its_owner_only(
    browser, page, live_server_url
):
    owner, other = UserFactory(), UserFactory()
    log_in(page, live_server_url, owner.username, PASSWORD)
    page.goto(f"{live_server_url}/logs/")
    wait_for_live_socket(page)
    expect(page.locator("tr.empty")).to_be_visible()

    other_context = browser.new_context()
    other_page = other_context.new_page()
    log_in(other_page, live_server_url, other.username, PASSWORD)
    other_page.goto(f"{live_server_url}/logs/")
    wait_for_live_socket(other_page)

    event = as_worker(record_event, kind="signal.queued", message="Queued at rank 2.", user=owner)

    row = page.locator(f"#event-{event.pk}")
    expect(row).to_contain_text("Queued at rank 2.")
    expect(page.locator("tr.empty")).to_be_hidden()
    other_page.wait_for_timeout(500)
    assert other_page.locator(f"#event-{event.pk}").count() == 0
    other_context.close()


def test_the_theme_switch_persists_across_pages(page, live_server_url):
    trader = UserFactory()
    log_in(page, live_server_url, trader.username, PASSWORD)
    before = page.evaluate("matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light'")
    page.click("[data-theme-toggle]")
    after = "light" if before == "dark" else "dark"
    expect(page.locator("html")).to_have_attribute("data-theme", after)
    page.goto(f"{live_server_url}/logs/")
    expect(page.locator("html")).to_have_attribute("data-theme", after)


def test_the_admin_and_password_change_work_under_the_strict_csp(page, live_server_url):
    from tests.accounts.factories import OperatorFactory

    operator = OperatorFactory()
    log_in(page, live_server_url, operator.username, PASSWORD)
    for path, heading in [
        ("/admin/", "Operations"),
        ("/admin/core/event/", "Select event to view"),
        ("/admin/accounts/user/", "Select user to change"),
        ("/accounts/password_change/", "Password change"),
    ]:
        page.goto(f"{live_server_url}{path}")
        expect(page.locator("h1").first).to_contain_text(heading)
    assert page.csp_violations == []


def test_a_push_for_an_element_the_page_does_not_show_is_dropped_without_an_error(
    page, live_server_url
):
    # The Desk has no Logs table and no loop table: a new event's row and the heartbeat's
    # status have nowhere to land. htmx would log `htmx:oobErrorNoTarget` for each; the page
    # drops them instead and keeps what lands (the heartbeat's Desk header).
    trader = UserFactory()
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    log_in(page, live_server_url, trader.username, PASSWORD)
    wait_for_live_socket(page)
    page.evaluate("document.getElementById('desk-header').dataset.before = 'push'")

    as_worker(record_event, kind="signal.queued", message="Queued at rank 2.", user=trader)
    as_worker(heartbeat)  # sent after the event on the same socket: once it lands, all arrived

    expect(page.locator("#desk-header")).not_to_have_attribute("data-before", "push")
    assert page.locator("#event-rows").count() == 0
    assert page.locator("#desk-status").count() == 0
    assert errors == [], errors
    assert page.csp_violations == []
