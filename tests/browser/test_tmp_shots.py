import pytest
from playwright.sync_api import expect

from tests.accounts.factories import PASSWORD
from tests.browser.conftest import as_worker, log_in
from tests.browser.test_positions_page import entry, paper_account

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1440, 390])
def test_shots(page, live_server_url, width):
    account = as_worker(paper_account)
    pk = as_worker(entry, account).group_id
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, live_server_url, account.owner.username, PASSWORD)
    page.locator(f"#desk-close-button-{pk}").click()
    expect(page.locator(f"#desk-close-confirm-{pk}")).to_be_visible()
    page.locator("#desk-close-panel").scroll_into_view_if_needed()
    page.screenshot(path=f"/tmp/desk-close-{width}.png")
    page.goto(f"{live_server_url}/positions/{pk}/")
    page.screenshot(path=f"/tmp/position-{width}.png", full_page=True)
