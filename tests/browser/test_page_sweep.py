"""Every main page in real Chromium, at a desk's 1440 px and a phone's 390 px, with a trader's
realistic data: nothing wider than the viewport (a table scrolls inside its card), no console
error, no CSP violation; a full-page screenshot of each in tests/browser/artifacts/.

The data is built once for the module and the pages only read it, so each page and width is its
own test (a failure names both) without building the desk 40 times.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Browser, expect

from tests.accounts.factories import PASSWORD
from tests.browser.conftest import as_worker, watch_csp
from tests.browser.layout import NARROW_SELECTS, OVERFLOWING, screenshot, watch_console

# The module's data is committed once (see `desk`); each test only reads it through the server,
# so a test's own database work is rolled back, not flushed (a flush would take the data away).
pytestmark = [pytest.mark.browser, pytest.mark.django_db]

WIDTHS = {"1440": (1440, 900), "390": (390, 844)}
PRICES = {"BTC/USDT": "65000.00", "ETH/USDT": "3200.00", "SOL/USDT": "150.00"}


@dataclass
class Desk:
    username: str
    urls: dict[str, str] = field(default_factory=dict)


def webhook(route, body: dict) -> int:
    """Receive a TradingView alert on the route; with the suite's eager Celery, its processing
    runs on commit, as a worker would run it."""
    from apps.webhooks.services.ingest import receive_signal

    raw = json.dumps(body).encode()
    answer = receive_signal(
        token=route.token,
        content_length=len(raw),
        read_body=lambda size: raw[:size],
        content_type="application/json",
        source_ip="52.89.214.238",
        now=timezone.now(),
    )
    assert answer.signal_id, answer
    return answer.signal_id


def build_desk() -> Desk:
    """A trader's desk in use: 1. a funded paper account with three markets; 2. a ticket whose
    position is open, and a saved ticket; 3. a webhook route with a DCA grid strategy whose entry
    signal opened a position with a second leg filled; 4. a position opened and closed by
    signals; 5. a signal queued behind the full pool; 6. an email notification destination;
    7. BTC 1 % up and a tick of the rules and take-profit loops, so the open positions and
    the tickets show a last price and a PnL, as a desk in use does (their widest rows)."""
    from apps.exchanges.models import PaperSettings
    from apps.exchanges.paper.services import open_paper_account, set_price
    from apps.exchanges.services import refresh_balances, refresh_markets
    from apps.notifications import catalog
    from apps.notifications.models import Destination
    from apps.positions.models import PositionGroup
    from apps.positions.services.orders import sync_orders
    from apps.positions.services.take_profit import take_profit
    from apps.tickets.services import activate_ticket, evaluate_rules
    from apps.tickets.services.tickets import save_ticket
    from apps.trade_queue.models import QueuedSignal
    from apps.webhooks.models import Signal
    from apps.webhooks.services import create_route
    from tests.accounts.factories import UserFactory
    from tests.exchanges.factories import ExchangeAccountFactory
    from tests.positions.grouping import grid_strategy
    from tests.tickets.conftest import STOP_2_PCT, TAKE_3_PCT, TRAIL_1_5_PCT, ticket

    trader = UserFactory(email="ada@example.com")
    account = ExchangeAccountFactory(owner=trader, label="Paper main", kind="paper")
    open_paper_account(account=account, initial_balance=Decimal("10000"))
    PaperSettings.objects.filter(account=account).update(slippage_rate=Decimal(0))
    for symbol, price in PRICES.items():
        set_price(symbol=symbol, price=Decimal(price))
    refresh_markets(account=account, now=timezone.now())
    refresh_balances(account=account, now=timezone.now())

    opened = activate_ticket(
        user=trader,
        ticket=ticket(
            account, initial_stop=STOP_2_PCT, trailing_stop=TRAIL_1_5_PCT, take_profit=TAKE_3_PCT
        ),
        trade=None,
        now=timezone.now(),
    ).trade
    evaluate_rules(now=timezone.now())
    saved = save_ticket(user=trader, ticket=ticket(account, symbol="ETH/USDT"))

    strategy = grid_strategy(trader, name="ETH grid 40/30/30", pyramid_limit=2)
    route = create_route(
        owner=trader, label="TradingView main", account=account, strategy=strategy, ip_allowlist=""
    )
    webhook(route, {"action": "entry", "symbol": "BINANCE:SOLUSDT", "timeframe": "60"})
    set_price(symbol="SOL/USDT", price=Decimal("153.00"))
    webhook(route, {"action": "exit", "symbol": "BINANCE:SOLUSDT", "timeframe": "60"})
    grid_signal = webhook(
        route, {"action": "entry", "symbol": "BINANCE:ETHUSDT", "timeframe": "15"}
    )
    set_price(symbol="ETH/USDT", price=Decimal("3136.00"))  # the second leg, 2 % lower, fills
    sync_orders(now=timezone.now())
    refresh_balances(account=account, now=timezone.now())

    open_now = PositionGroup.objects.filter(account=account, status="open").count()
    account.max_open_groups = open_now
    account.save(update_fields=["max_open_groups"])
    queued_signal = webhook(
        route, {"action": "entry", "symbol": "BINANCE:SOLUSDT", "timeframe": "60", "price": "155"}
    )
    Destination.objects.create(
        owner=trader,
        kind=Destination.Kind.EMAIL,
        label="My inbox",
        event_kinds=catalog.DEFAULT_KINDS,
    )
    set_price(symbol="BTC/USDT", price=Decimal("65650.00"))  # under the 3 % take profit
    evaluate_rules(now=timezone.now())  # the ticket and its position: last price and PnL
    take_profit(now=timezone.now())  # the grid's position: its last price

    grid_position = PositionGroup.objects.get(account=account, symbol="ETH/USDT")
    assert grid_position.status == "open" and grid_position.pyramids.count() == 1
    assert grid_position.pyramids.get().legs.filter(status="filled").count() == 2
    closed = PositionGroup.objects.get(account=account, status="closed")
    opened.refresh_from_db()
    assert QueuedSignal.objects.filter(account=account).count() == 1
    assert Signal.objects.get(pk=queued_signal).status == "queued"
    assert not PositionGroup.objects.filter(status="open", last_price=None).exists()
    event = trader.events.order_by("-pk").first()
    return Desk(
        username=trader.username,
        urls={
            "desk": "/",
            "desk-editing": f"/?trade={saved.pk}",
            "status": "/status/",
            "positions": "/positions/",
            "position": f"/positions/{grid_position.pk}/",
            "position-of-ticket": f"/positions/{opened.position.pk}/",
            "position-closed": f"/positions/{closed.pk}/",
            "trade": f"/trades/{opened.pk}/",
            "queue": "/queue/",
            "signals": "/signals/",
            "signal": f"/signals/{grid_signal}/",
            "signal-queued": f"/signals/{queued_signal}/",
            "routes": "/settings/webhooks/",
            "route": f"/settings/webhooks/{route.pk}/",
            "route-new": "/settings/webhooks/new/",
            "strategies": "/settings/strategies/",
            "strategy": f"/settings/strategies/{strategy.pk}/",
            "performance": "/performance/?range=all",
            "risk": "/risk/",
            "logs": "/logs/",
            "event": f"/logs/{event.pk}/",
            "accounts": "/settings/exchanges/",
            "account": f"/settings/exchanges/{account.pk}/",
            "account-new": "/settings/exchanges/new/",
            "settings": "/settings/",
            "notifications": "/settings/notifications/",
        },
    )


PAGES = [
    "desk",
    "desk-editing",
    "status",
    "positions",
    "position",
    "position-of-ticket",
    "position-closed",
    "trade",
    "queue",
    "signals",
    "signal",
    "signal-queued",
    "routes",
    "route",
    "route-new",
    "strategies",
    "strategy",
    "performance",
    "risk",
    "logs",
    "event",
    "accounts",
    "account",
    "account-new",
    "settings",
    "notifications",
]


@pytest.fixture(scope="module")
def desk(live_server_url, django_db_blocker) -> Desk:
    """Built once and committed (the server process reads it); flushed after the module, as a
    transactional test's database would be."""
    with django_db_blocker.unblock():
        built = as_worker(build_desk)
        yield built
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(scope="module")
def logged_in(browser: Browser, live_server_url, desk) -> dict:
    """The trader's session cookie, logged in once through the login form."""
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server_url}/accounts/login/")
    page.fill("#id_username", desk.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server_url}/")
    state = context.storage_state()
    context.close()
    return state


def open_page(browser: Browser, width: str, state: dict | None = None):
    w, h = WIDTHS[width]
    context = browser.new_context(viewport={"width": w, "height": h}, storage_state=state)
    return context, watch_csp(context.new_page())


def assert_fits(page, name: str) -> None:
    screenshot(page, f"sweep-{name}")
    problems = {
        "wider than the viewport": page.evaluate(OVERFLOWING),
        "dropdowns narrower than their longest option": page.evaluate(NARROW_SELECTS, "select")
        if page.viewport_size["width"] >= 1440
        else [],
        "CSP violations": page.csp_violations,
        "console errors": page.errors,
    }
    found = {what: items for what, items in problems.items() if items}
    assert not found, "\n".join(
        f"{what}:\n  " + "\n  ".join(items) for what, items in found.items()
    )


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", PAGES)
def test_the_page_fits_the_viewport_without_errors(
    browser, live_server_url, desk, logged_in, name, width
):
    context, page = open_page(browser, width, logged_in)
    page.errors = watch_console(page)
    page.goto(f"{live_server_url}{desk.urls[name]}")
    expect(page.locator("#live-indicator")).to_have_attribute("data-state", "open", timeout=10_000)
    page.wait_for_load_state("networkidle")
    assert_fits(page, f"{name}-{width}")
    context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_login_page_fits_the_viewport_without_errors(browser, live_server_url, width):
    context, page = open_page(browser, width)
    page.errors = watch_console(page)
    page.goto(f"{live_server_url}/accounts/login/")
    expect(page.locator("#id_username")).to_be_visible()
    assert_fits(page, f"login-{width}")
    context.close()


def test_the_phone_menu_opens_and_reaches_another_page(browser, live_server_url, desk, logged_in):
    context, page = open_page(browser, "390", logged_in)
    page.errors = watch_console(page)
    page.goto(f"{live_server_url}/")
    nav, toggle = page.locator("nav[aria-label=Main]"), page.locator("[data-nav-toggle]")
    expect(nav).to_be_hidden()
    expect(page.locator("#live-indicator")).to_be_visible()  # the bar still says whether it is live
    expect(toggle).to_have_attribute("aria-expanded", "false")

    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(nav.locator("a[aria-current=page]")).to_have_text("Desk")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert_fits(page, "menu-open-390")
    nav.get_by_role("link", name="Queue").click()

    page.wait_for_url(f"{live_server_url}/queue/")
    expect(page.locator("h1")).to_contain_text("Queue")
    expect(nav).to_be_hidden()  # folded again on the new page
    toggle.click()
    expect(nav.locator("a[aria-current=page]")).to_have_text("Queue")
    toggle.click()
    expect(nav).to_be_hidden()
    assert page.errors == [] and page.csp_violations == []
    context.close()


def test_the_menu_is_the_bar_at_desk_width_and_open_without_script(
    browser, live_server_url, desk, logged_in
):
    context, page = open_page(browser, "1440", logged_in)
    page.goto(f"{live_server_url}/")
    expect(page.locator("nav[aria-label=Main] a")).to_have_count(8)
    expect(page.locator("nav[aria-label=Main] a").last).to_be_visible()
    expect(page.locator("[data-nav-toggle]")).to_be_hidden()
    context.close()

    w, h = WIDTHS["390"]
    context = browser.new_context(
        viewport={"width": w, "height": h}, storage_state=logged_in, java_script_enabled=False
    )
    page = context.new_page()
    page.goto(f"{live_server_url}/")
    expect(page.locator("nav[aria-label=Main] a").last).to_be_visible()
    expect(page.locator("[data-nav-toggle]")).to_be_hidden()  # a button that could do nothing
    context.close()


# Each visible table matching the selector that is wider than a box holding it (itself, its
# .table-scroll, its card or the page's main): a table that needs a sideways scroll, which the
# viewport check lets pass (a table may scroll inside its card) and a trader still has to drag.
SCROLLS_SIDEWAYS = """(selector) => [...document.querySelectorAll(selector)]
  .filter((table) => table.getClientRects().length)
  .flatMap((table) => {
    const found = [];
    for (let box = table; box && box !== document.body; box = box.parentElement) {
      if (box.scrollWidth > box.clientWidth + 1) {
        found.push(`${table.id || table.className || 'table'}: ${box.scrollWidth} px of`
          + ` content in ${box.clientWidth} px (${box.tagName.toLowerCase()}`
          + `${box.className ? '.' + box.className.split(' ').join('.') : ''})`);
      }
      if (box.tagName === 'MAIN') break;
    }
    return found;
  })"""


def on_screen(locator, width: int) -> bool:
    """Visible, and wholly inside the viewport's width (not scrolled off to the side)."""
    box = locator.bounding_box()
    return (
        locator.is_visible()
        and box is not None
        and box["x"] >= 0
        and box["x"] + box["width"] <= width
    )


@pytest.mark.parametrize(
    "width, name, tables",
    [
        ("1440", "desk", "#trades-table table"),
        ("1440", "desk", "#desk-positions table"),
        ("1440", "trade", "main table"),  # the ticket's row (Now), the timeline and the orders
        ("390", "desk", "#desk-positions table, #trades-table table, .portfolio table"),
        ("390", "trade", ".tickets-table, #trade-orders"),
    ],
)
def test_the_desks_and_trades_tables_fit_their_cards(
    browser, live_server_url, desk, logged_in, width, name, tables
):
    context, page = open_page(browser, width, logged_in)
    page.goto(f"{live_server_url}{desk.urls[name]}")
    expect(page.locator(tables).first).to_be_visible()
    assert page.evaluate(SCROLLS_SIDEWAYS, tables) == []
    context.close()


def test_each_open_positions_pnl_link_and_close_are_on_a_phones_screen(
    browser, live_server_url, desk, logged_in
):
    context, page = open_page(browser, "390", logged_in)
    page.goto(f"{live_server_url}/")
    rows = page.locator("#desk-positions tbody tr.group")
    expect(rows).to_have_count(2)
    for row in rows.all():
        pnl = row.locator("td.pnl").first  # the unrealised PnL
        expect(pnl).to_contain_text("USDT")
        for cell in (pnl, row.locator("td a").first, row.get_by_role("button", name="Close…")):
            assert on_screen(cell, 390), f"{row.get_attribute('id')}: {cell} is off the screen"
    assert page.evaluate(SCROLLS_SIDEWAYS, "#desk-positions table") == []
    assert page.evaluate(OVERFLOWING) == []
    context.close()


def test_the_trades_orders_are_read_on_a_phone_without_scrolling_sideways(
    browser, live_server_url, desk, logged_in
):
    context, page = open_page(browser, "390", logged_in)
    page.goto(f"{live_server_url}{desk.urls['trade']}")
    orders = page.locator("#trade-orders tbody tr")
    expect(orders).to_have_count(2)  # the entry, and the resting trailing stop
    for order in orders.all():
        for cell in order.locator("td").all():
            assert on_screen(cell, 390), f"{order.get_attribute('id')}: {cell.inner_text()}"
    assert page.evaluate(SCROLLS_SIDEWAYS, "#trade-orders") == []
    context.close()
