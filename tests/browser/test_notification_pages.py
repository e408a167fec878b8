"""A trader adds an email destination and sends a test, in real Chromium."""

import pytest
from playwright.sync_api import expect

from apps.notifications.models import Delivery, Destination
from tests.accounts.factories import PASSWORD, UserFactory
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_add_an_email_destination_pause_it_and_send_a_test(page, live_server_url):
    trader = UserFactory(email="ada@example.com")
    log_in(page, live_server_url, trader.username, PASSWORD)
    page.click("text=Settings")
    page.click("text=Manage notifications")
    page.select_option("#id_kind", "email")
    page.fill("#id_label", "My inbox")
    page.click("button:has-text('Add destination')")
    destination = Destination.objects.get(owner=trader)
    row = page.locator(f"#destination-{destination.pk}")
    expect(row).to_contain_text("ada@example.com")
    expect(row).to_contain_text("active")
    page.evaluate("window.notReloaded = true")

    row.locator("button:has-text('Pause')").click()
    expect(row).to_contain_text("paused")
    row.locator("button:has-text('Send test')").click()
    expect(row).to_contain_text("Test notification queued for My inbox.")
    assert page.evaluate("window.notReloaded") is True  # htmx swapped the row in place
    assert Delivery.objects.filter(destination=destination, kind="notification.test").exists()

    page.reload()
    expect(page.locator("table").nth(1)).to_contain_text("TradeDesk test notification")
    assert page.csp_violations == []
