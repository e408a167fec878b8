"""Numbers like a trading tool on the pages that show money: a ticket's position on the
Desk, the trade's page, the position's page and the fragments pushed live, and the Portfolio,
each figure on its market's tick or step with its unit, PnL signed and coloured. The expected
strings are written out by hand (BTC/USDT: tick 0.01, step 0.00001)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.core.market_formats import attach_formats
from apps.positions.models import PositionGroup
from apps.positions.selectors import desk_positions, groups_for_page_push
from apps.tickets.models import Trade
from tests.tickets.factories import TradeFactory, ticket_position

pytestmark = pytest.mark.django_db

MINUS = "\u2212"


@pytest.fixture
def position(paper) -> PositionGroup:
    """A ticket's long: 0.01234 BTC bought at 65000.123456 (an average off the tick, as a
    fill's average can be), last seen at 64123.456."""
    trade = TradeFactory(owner=paper.owner, account=paper, status=Trade.Status.OPEN)
    group = ticket_position(trade, quantity="0.01234", price="65000.123456", last_price="64123.456")
    return group


@pytest.fixture
def trader(client, paper):
    client.force_login(paper.owner)
    return client


# 0.01234 × (64123.456 − 65000.123456) = −10.8180...; −1.3487 % of the entry.
ENTRY, LAST, PNL, PCT = "65,000.12 USDT", "64,123.46 USDT", f"{MINUS}10.82 USDT", f"{MINUS}1.35 %"


def test_the_desk_lists_the_position_on_its_tick_and_step_with_signed_coloured_pnl(
    trader, position
):
    html = trader.get(reverse("tickets:desk")).content.decode()
    row = html.split(f'id="desk-group-{position.pk}"')[1].split("</tr>")[0]
    for shown in ("0.01234 BTC", ENTRY, LAST, PNL, f'<span class="pct">{PCT}</span>'):
        assert shown in row, shown
    assert 'class="num pnl unrealised loss"' in row
    assert "65000.123456" not in html and "64123.456 " not in row
    assert "791.28 USDT" in row  # the value now: 0.01234 × 64123.456, to 2 places
    # The Tickets card keeps to one line a ticket: the last price and PnL (the average entry is
    # in the list of open positions above, and on the trade's page).
    tickets = html.split(f'id="trade-{position.trade_id}"')[1].split("</tr>")[0]
    assert LAST in tickets and PNL in tickets and "0.01234 BTC" in tickets


def test_the_desk_list_pushed_live_reads_the_same_and_looks_its_markets_up_once(position):
    other = ticket_position(
        TradeFactory(owner=position.owner, account=position.account, status=Trade.Status.OPEN),
        quantity="1",
        price="3200.5",
        last_price="3300",
    )
    PositionGroup.objects.filter(pk=other.pk).update(symbol="ETH/USDT")
    with CaptureQueriesContext(connection) as queries:
        desk = desk_positions(owner_id=position.owner_id)
    markets = [q for q in queries.captured_queries if "exchanges_market" in q["sql"]]
    assert len(markets) == 1  # one lookup for every row, not one per position
    html = render_to_string("positions/desk_positions.html", {"desk": desk, "oob": True})
    assert ENTRY in html and PNL in html
    assert "3,200.50 USDT" in html and "+99.50 USDT" in html  # ETH/USDT on its 0.01 tick


def test_the_positions_page_and_its_facts_pushed_live_are_formatted(trader, position):
    html = trader.get(reverse("positions:detail", args=[position.pk])).content.decode()
    facts = html.split(f'id="group-facts-{position.pk}"')[1].split("</dl>")[0]
    assert "<dt>Quantity held</dt><dd>0.01234 BTC</dd>" in facts
    assert f"<dt>Average entry</dt><dd>{ENTRY}</dd>" in facts
    assert f"<dt>Last price</dt><dd>{LAST}</dd>" in facts
    assert f'<dd class="pnl loss">{PNL} ({PCT})</dd>' in facts
    assert "802.10 USDT" in facts  # spent: 0.01234 × 65000.123456, to 2 places
    # The live push renders the same facts without a request.
    pages = [(group, "{}", {}) for group in attach_formats(groups_for_page_push(ids=[position.pk]))]
    pushed = render_to_string("positions/position_live.html", {"pages": pages})
    assert f"<dt>Average entry</dt><dd>{ENTRY}</dd>" in pushed
    assert f'<dd class="pnl loss">{PNL} ({PCT})</dd>' in pushed


def test_the_trade_page_shows_its_position_formatted(trader, position):
    html = trader.get(reverse("tickets:detail", args=[position.trade_id])).content.decode()
    facts = html.split('id="trade-facts"')[1].split("</dl>")[0]
    assert f"<dt>Average entry</dt><dd>{ENTRY}</dd>" in facts
    assert f"<dt>Last price</dt><dd>{LAST}</dd>" in facts
    assert f'<dd class="pnl loss">{PNL} ({PCT})</dd>' in facts
    assert '<dd class="pnl ">+0.00 USDT</dd>' not in facts
    assert '<dt>Realised PnL</dt><dd class="pnl ">0.00 USDT</dd>' in facts  # zero: unsigned


def test_the_portfolio_shows_buying_power_in_quote_and_balances_with_their_asset(trader, paper):
    html = trader.get(reverse("exchanges:portfolio")).content.decode()
    assert '<dd class="buying-power">10,000.00 USDT</dd>' in html
    # The quote currency's balance is money, to QUOTE_PLACES (another asset keeps its digits).
    assert "<td>10,000.00 USDT</td>" in html
    assert Decimal("10000") == paper.balances.get(asset="USDT").free


def test_a_positions_row_pushed_live_is_formatted(position):
    from apps.positions.selectors import groups_for_rows

    groups = attach_formats(groups_for_rows(ids=[position.pk]))  # as the push renders them
    html = render_to_string("positions/positions_live.html", {"groups": groups, "created": False})
    row = html.split(f'id="group-{position.pk}"')[1].split("</tr>")[0]
    assert ENTRY in row and LAST in row and "0.01234 BTC" in row
    assert f'<td class="num pnl loss">{PNL} <span class="pct">({PCT})</span></td>' in row


@pytest.mark.parametrize("count", [3, 30])
def test_a_page_of_positions_looks_its_markets_up_once_whatever_their_number(trader, paper, count):
    symbols = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    for n in range(count):
        trade = TradeFactory(
            owner=paper.owner, account=paper, status=Trade.Status.OPEN, symbol=symbols[n % 3]
        )
        ticket_position(trade, quantity="1", price="100.123", last_price="101")
    # One lookup of every row's tick and step per table: the Positions table; on the Desk its
    # open positions and its tickets. Never one per row.
    for url, tables in ((reverse("positions:list"), 1), (reverse("tickets:desk"), 2)):
        with CaptureQueriesContext(connection) as queries:
            html = trader.get(url).content.decode()
        markets = [q for q in queries.captured_queries if 'FROM "exchanges_market"' in q["sql"]]
        lookups = [q for q in markets if '"exchanges_market"."tick_size"' in q["sql"]]
        assert len(lookups) == tables, url
        assert html.count("100.12 USDT") >= count  # every row's entry on its 0.01 tick


@pytest.mark.parametrize(
    ("sizing", "shown"),
    [
        (("quote", "200.50"), "200.5 USDT"),
        (("base", "0.01"), "0.01 BTC"),
        (("buying_power_pct", "5"), "5 % of buying power"),
    ],
)
def test_a_waiting_tickets_size_reads_in_its_markets_units(trader, paper, sizing, shown):
    trade = TradeFactory(owner=paper.owner, account=paper, rules__sizing=sizing)
    html = trader.get(reverse("tickets:desk")).content.decode()
    row = html.split(f'id="trade-{trade.pk}"')[1].split("</tr>")[0]
    assert f'<span class="muted">{shown}</span>' in row
    assert " quote<" not in row and " base<" not in row
    detail = trader.get(reverse("tickets:detail", args=[trade.pk])).content.decode()
    assert f"<dt>Sizing</dt><dd>{shown}</dd>" in detail
