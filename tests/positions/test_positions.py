"""The Positions page: rows with pyramids, legs filled, average entry and unrealised PnL; the
htmx expansion to pyramids and legs; a group's page; Close at market; the live row pushed
after a change; the CSV exports (the filtered view, values unrounded); isolation."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import escape

from apps.positions.models import SELL_CODES, Order, PositionGroup
from apps.positions.selectors import groups_for_rows
from apps.positions.services.intents import sell_client_order_id
from tests.client_ids import client_id
from tests.exchanges.factories import ExchangeAccountFactory
from tests.figures import figure
from tests.live import Listener
from tests.positions.grouping import Desk, grid_strategy, signal
from tests.tickets.conftest import IMMEDIATELY, STOP_2_PCT, TAKE_3_PCT
from tests.tickets.factories import TradeFactory, ticket_position

pytestmark = pytest.mark.django_db

D = Decimal
HTMX = {"HTTP_HX_REQUEST": "true"}
CONFIRMED = {"confirm": "yes"}  # the answer of the confirmation Close at market asks


@pytest.fixture
def desk(django_capture_on_commit_callbacks) -> Desk:
    return Desk(django_capture_on_commit_callbacks)


@pytest.fixture
def group(paper, desk) -> PositionGroup:
    """Leg 0 bought at 65000, leg 1 at 63700, leg 2 resting; the loop saw 64000."""
    strategy = grid_strategy(paper.owner, tp_mode="hybrid")
    group_id = desk.act(paper, strategy, signal()).group_id
    desk.price("63700.00")
    desk.sync()
    desk.price("64000.00")
    desk.take_profit()
    return PositionGroup.objects.get(pk=group_id)


@pytest.fixture
def trader(client, paper):
    client.force_login(paper.owner)
    return client


def rows(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_the_positions_page_lists_groups_with_their_numbers(trader, group):
    response = trader.get(reverse("positions:list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="group-{group.pk}"' in html
    row = html.split(f'id="group-{group.pk}"')[1].split("</tr>")[0]
    assert "BTC/USDT" in row and ">15m<" in row
    assert "1 / 5" in row  # pyramids of the limit
    assert "2 / 3" in row  # legs filled of those placed
    # On BTC/USDT's tick (0.01) and step (0.00001), with units; never the raw Decimal.
    assert figure(group.average_entry, 2, "USDT") in row
    assert str(group.average_entry) not in row
    assert "0.01083915 BTC" in row  # held net of fees paid in BTC: off the step, kept
    assert "64,000.00 USDT" in row  # the last price
    unrealised = group.quantity * (D("64000") - group.average_entry)
    assert f'class="num pnl {"gain" if unrealised > 0 else "loss"}"' in row
    assert figure(unrealised, 2, "USDT", plus=True) in row
    assert "Hybrid" in row
    assert f'hx-get="/positions/{group.pk}/"' in row  # expandable, with an href too
    assert f'href="/positions/{group.pk}/"' in row
    assert 'href="/positions/export.csv"' in html
    assert 'href="/positions/orders.csv"' in html
    assert 'id="position-rows"' in html  # the unfiltered table takes new groups live


def test_positions_is_in_the_navigation_after_the_desk(trader, group):
    html = trader.get(reverse("positions:list")).content.decode()
    nav = html.split('aria-label="Main"')[1].split("</nav>")[0]
    assert nav.index(">Desk</a>") < nav.index(">Positions</a>") < nav.index(">Signals</a>")
    assert 'href="/positions/" aria-current="page"' in nav


def test_a_row_expands_over_htmx_to_its_pyramids_and_legs_and_collapses(trader, group):
    url = reverse("positions:detail", args=[group.pk])
    html = trader.get(url, **HTMX).content.decode()
    assert html.lstrip().startswith(f'<tr id="group-{group.pk}-detail"')
    assert "Pyramid 1" in html
    assert html.count('class="leg status-') == 3
    assert "63,700.00 USDT" in html and "62,400.00 USDT" in html  # leg prices on the tick
    assert "Working" in html and "Filled" in html
    collapsed = trader.get(url, {"collapse": "1"}, **HTMX).content.decode()
    assert (
        collapsed.strip() == f'<tr id="group-{group.pk}-detail" class="group-detail" hidden></tr>'
    )


def test_a_groups_page_shows_its_orders_and_timeline(trader, group):
    html = trader.get(reverse("positions:detail", args=[group.pk])).content.decode()
    assert client_id(group.pk, "p1l1") in html and client_id(group.pk, "p1l3") in html
    assert f'data-timeline="positions.positiongroup:{group.pk}"' in html
    assert "group.opened" in html and "trade.entry_filled" in html
    assert "Close at market" in html


def test_close_at_market_closes_the_group(trader, group, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = trader.post(reverse("positions:close", args=[group.pk]), CONFIRMED)
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.status == PositionGroup.Status.CLOSED
    assert group.exit_reason == "close"
    again = trader.post(reverse("positions:close", args=[group.pk]), CONFIRMED, follow=True)
    assert "A closed group cannot be closed." in again.content.decode()


def test_another_users_group_is_404_everywhere(client, group):
    other = ExchangeAccountFactory().owner
    client.force_login(other)
    assert client.get(reverse("positions:detail", args=[group.pk])).status_code == 404
    assert client.get(reverse("positions:detail", args=[group.pk]), **HTMX).status_code == 404
    assert client.post(reverse("positions:close", args=[group.pk])).status_code == 404
    assert f"group-{group.pk}" not in client.get(reverse("positions:list")).content.decode()
    assert rows(client.get(reverse("positions:csv"), {"status": "all"})) == []
    assert rows(client.get(reverse("positions:orders-csv"), {"status": "all"})) == []
    group.refresh_from_db()
    assert group.status == "open"


def test_the_positions_csv_has_every_value_unrounded(trader, group):
    response = trader.get(reverse("positions:csv"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="positions.csv"' in response["Content-Disposition"]
    (row,) = rows(response)
    first, second = D("0.00615") * D("0.999"), D("0.0047") * D("0.999")
    assert row["group"] == str(group.pk)
    assert row["quantity"] == "0.01083915"  # as held: not rounded to 2 or 8 places
    assert D(row["average_entry"]) == group.average_entry
    assert row["average_entry"] == "64436.866359447004608295"
    assert D(row["average_entry"]) != D(row["average_entry"]).quantize(D("0.00000001"))
    assert row["unrealised_pnl"] == str((first + second) * (64000 - group.average_entry))
    assert row["pyramids"] == "1" and row["legs_filled"] == "2" and row["legs_placed"] == "3"
    assert (row["status"], row["tp_mode"], row["timeframe"]) == ("open", "hybrid", "15")


def test_the_orders_csv_lists_the_filtered_groups_orders(trader, group):
    orders = rows(trader.get(reverse("positions:orders-csv")))
    assert [o["client_order_id"] for o in orders] == [
        client_id(group.pk, "p1l1"),
        client_id(group.pk, "p1l2"),
        client_id(group.pk, "p1l3"),
    ]
    leg_1 = orders[1]  # the second leg: pyramid 1 · leg 2, counted from 1 as on the pages
    assert (leg_1["pyramid"], leg_1["leg"], leg_1["type"], leg_1["status"]) == (
        "1",
        "2",
        "limit",
        "filled",
    )
    assert (leg_1["amount"], leg_1["price"], leg_1["fee_cost"]) == ("0.0047", "63700", "0.0000047")
    # The filter applies: no closed group, so no orders.
    assert rows(trader.get(reverse("positions:orders-csv"), {"status": "closed"})) == []


def test_the_filter_narrows_the_table_and_its_exports(trader, paper, desk, group):
    strategy = grid_strategy(paper.owner)
    eth = desk.act(paper, strategy, signal(symbol="ETH/USDT")).group_id
    html = trader.get(reverse("positions:list"), {"symbol": "eth/usdt"}).content.decode()
    assert f'id="group-{eth}"' in html and f'id="group-{group.pk}"' not in html
    assert 'id="position-rows"' not in html  # a filtered view takes no live inserts
    assert 'href="/positions/export.csv?symbol=eth%2Fusdt"' in html
    exported = rows(trader.get(reverse("positions:csv"), {"symbol": "ETH/USDT"}))
    assert [r["group"] for r in exported] == [str(eth)]
    table = trader.get(
        reverse("positions:list"), {"status": "closed"}, HTTP_HX_TARGET="positions-table", **HTMX
    ).content.decode()
    assert table.lstrip().startswith('<section id="positions-table"')
    assert "No positions match this filter" in table


def test_a_change_pushes_the_row_live_and_a_new_group_goes_to_the_top(group):
    html = render_to_string(
        "positions/positions_live.html",
        {"groups": groups_for_rows(ids=[group.pk]), "created": False},
    )
    assert f'<tr id="group-{group.pk}" class="group status-open" hx-swap-oob="true">' in html
    created = render_to_string(
        "positions/positions_live.html",
        {"groups": groups_for_rows(ids=[group.pk]), "created": True},
    )
    assert created.startswith('<tbody hx-swap-oob="afterbegin:#position-rows">')
    assert f'id="group-{group.pk}-detail"' in created


def test_services_push_the_row_to_the_owners_pages_after_commit(paper, desk):
    live = Listener(paper.owner_id)
    strategy = grid_strategy(paper.owner)

    group_id = desk.act(paper, strategy, signal()).group_id

    pushed = live.pushed(f'id="group-{group_id}"')
    assert pushed[0].startswith('<tbody hx-swap-oob="afterbegin:#position-rows">')
    assert all("hx-swap-oob" in html for html in pushed)
    assert "1 / 3" in pushed[-1]  # the last push shows leg 0 filled: the committed state


def test_the_positions_csv_neutralises_an_account_label_a_spreadsheet_would_run(trader, group):
    type(group.account).objects.filter(pk=group.account_id).update(label="=HYPERLINK(1)")

    (row,) = rows(trader.get(reverse("positions:csv")))

    assert row["account"] == "'=HYPERLINK(1)"
    assert row["unrealised_pnl"].lstrip("-")[0].isdigit()  # numbers are left as numbers


@pytest.mark.parametrize(
    ("reason", "shown"),
    [
        ("exit_signal", "Closed · exit signal"),
        ("leg_tp", "Closed · per-leg take profit"),
        ("close", "Closed · closed by the trader"),
        ("", "Closed"),
    ],
)
def test_a_closed_position_says_why_in_plain_words_on_its_page(trader, group, reason, shown):
    PositionGroup.objects.filter(pk=group.pk).update(status="closed", exit_reason=reason)
    html = trader.get(reverse("positions:detail", args=[group.pk])).content.decode()
    assert f'<dd id="group-status">{shown}</dd>' in html
    assert "(exit_signal)" not in html and "(leg_tp)" not in html


def test_a_sells_client_id_never_reads_as_a_pyramid_or_leg_and_the_legend_explains_it(
    trader, group
):
    """`…g1p1` once named a take-profit sell while the legend says p is a pyramid: a sell's
    code is a letter other than p and l, one per purpose, and the legend lists each."""
    codes = {}
    for purpose in SELL_CODES:
        sell_id = sell_client_order_id(group, purpose)
        code, count = re.fullmatch(rf"{client_id(group, '')}([a-z])(\d+)", sell_id).groups()
        assert code not in "pl" and count == "1"
        codes[purpose] = code
    assert len(set(codes.values())) == len(SELL_CODES)  # one code, one purpose
    legend = trader.get(reverse("positions:detail", args=[group.pk])).content.decode()
    legend = legend.split('id="client-id-legend"')[1].split("</p>")[0]
    for purpose, code in codes.items():
        assert f"<code>{code}</code> {escape(SELL_CODES[purpose][1])}" in legend


def test_a_take_profit_sell_after_an_old_p_id_gets_a_new_unique_id(group):
    """Ids already stored stay: a position whose take-profit sell was `tdg…p1` gets `…e2`
    next, which no stored order holds (client order ids are unique)."""
    old = Order.objects.create(
        group=group,
        account_id=group.account_id,
        purpose=Order.Purpose.TAKE_PROFIT,
        symbol=group.symbol,
        side="sell",
        type="market",
        amount=D("0.001"),
        client_order_id=f"tdg{group.pk}p1",  # before the installation prefix
        status=Order.Status.CANCELLED,
    )
    new = sell_client_order_id(group, Order.Purpose.TAKE_PROFIT)
    assert new == client_id(group.pk, "e2")
    assert not Order.objects.filter(client_order_id=new).exists()
    assert old.client_id_meaning == f"Position #{group.pk}: sell 1 by the take-profit rule"


def test_pyramids_and_legs_count_from_1_on_the_page_its_orders_and_their_client_ids(trader, group):
    html = trader.get(reverse("positions:detail", args=[group.pk])).content.decode()
    legs = group.legs.order_by("index")
    assert [leg.label for leg in legs] == [
        "pyramid 1 · leg 1",
        "pyramid 1 · leg 2",
        "pyramid 1 · leg 3",
    ]
    orders = html.split('id="group-orders"')[1]
    # The orders table names each leg as the legs table numbers it, and each client order id
    # says what it means on its row (the same numbers: p1l3 is pyramid 1, leg 3).
    assert "<td>pyramid 1 · leg 3</td>" in orders
    third = group.orders.get(leg=legs[2])
    assert third.client_order_id == client_id(group.pk, "p1l3")
    third_id = client_id(group, "p1l3")
    assert f'title="Position #{group.pk}, pyramid 1 · leg 3">{third_id}</code>' in orders
    assert (
        f"{client_id(group, 'p2l3')}</code> is position #{group.pk}, pyramid 2 (p), leg 3 (l)"
        in html
    )
    rows = html.split('class="compact legs"')[1].split("</table>")[0]
    numbers = [row.split("<td>")[1].split("</td>")[0] for row in rows.split("<tr id=")[1:]]
    assert numbers == ["1", "2", "3"]
    laid = group_events(group).get(kind="group.grid_laid").message
    assert "leg 1 market" in laid and "leg 3 limit" in laid and "leg 0" not in laid
    filled = group_events(group).filter(kind="trade.entry_filled").values_list("message", flat=True)
    assert any("DCA pyramid 1 · leg 2" in message for message in filled)


def group_events(group):
    from apps.core.models import Event

    return Event.objects.filter(subject_type="positions.positiongroup", subject_id=str(group.pk))


def test_a_signal_positions_timeframe_reads_as_traders_write_it_not_a_bare_number(trader, group):
    """The signal wrote "15" (TradingView's minutes): pages and names say 15m."""
    assert group.timeframe == "15"
    assert str(group) == f"BTC/USDT 15m long position #{group.pk}"
    page = trader.get(reverse("positions:detail", args=[group.pk])).content.decode()
    assert "<h1>BTC/USDT 15m long " in page
    assert "(timeframe 15m)" in page
    row = trader.get(reverse("positions:list")).content.decode()
    row = row.split(f'id="group-{group.pk}"')[1].split("</tr>")[0]
    assert 'signal <span class="muted">15m</span>' in row


@pytest.fixture
def ticket_group(paper) -> PositionGroup:
    """A ticket's position (no strategy grid: its rules take profit) holding 0.00310689 BTC."""
    trade = TradeFactory(
        owner=paper.owner,
        account=paper,
        rules={"entry": IMMEDIATELY, "initial_stop": STOP_2_PCT, "take_profit": TAKE_3_PCT},
    )
    return ticket_position(trade, quantity="0.00310689", price="64210.55", last_price="64872.21")


def _facts(html: str) -> str:
    return html.split('class="facts group-facts')[1].split("</dl>")[0]


def test_a_tickets_position_says_its_take_profit_rule_once_in_words(trader, ticket_group):
    """Not `Unrealised PnL % | is at or above | Fixed value | 3` beside `By the ticket's
    rules, group 0.00 %`: one Take profit, in words; the stop in words too."""
    html = trader.get(reverse("positions:detail", args=[ticket_group.pk])).content.decode()
    facts = _facts(html)
    assert facts.count("<dt>Take profit</dt>") == 1
    take_profit = facts.split('id="group-take-profit">')[1].split("</dd>")[0]
    assert take_profit.startswith("Unrealised PnL is at or above 3 %")
    assert "group 0.00 %" not in facts and "|" not in facts and "Fixed value" not in facts
    assert (
        '<dt>Initial stop</dt><dd class="exit-rule">Last price is at or below Entry price -2 %'
        in facts
    )
    assert "<dt>Strategy</dt>" not in facts  # no strategy: no empty row


def test_a_leg_without_a_take_profit_of_its_own_does_not_read_like_break_even(trader, ticket_group):
    """The ticket's leg has TP 0 % stored: its target would be the entry price. It shows –
    and who takes its profit instead."""
    html = trader.get(reverse("positions:detail", args=[ticket_group.pk])).content.decode()
    legs = html.split('class="compact legs"')[1].split("</table>")[0]
    row = legs.split("<tbody>")[1]
    cells = [cell.split("</td>")[0] for cell in row.split("<td")[1:]]
    assert cells[3].endswith(">–")  # TP %
    assert "by the rule" in cells[-1] and "64,210.55" not in cells[-1]


def test_an_aggregate_groups_legs_take_profit_with_the_group(trader, paper, desk):
    strategy = grid_strategy(paper.owner, tp_mode="aggregate")
    group_id = desk.act(paper, strategy, signal()).group_id
    html = trader.get(reverse("positions:detail", args=[group_id])).content.decode()
    legs = html.split('class="compact legs"')[1].split("</table>")[0]
    assert legs.count("with the group") == 3 and "by the rule" not in legs
    take_profit = _facts(html).split('id="group-take-profit">')[1].split("</dd>")[0]
    assert take_profit.startswith("Aggregate: the whole position at 2.00 % above its average")


def test_a_closed_position_says_the_dust_it_leaves_is_below_the_markets_step(trader, ticket_group):
    """It sold 0.0031 BTC (the step is 0.00001); 0.00000689 BTC stays in the account."""
    PositionGroup.objects.filter(pk=ticket_group.pk).update(
        status="closed", exit_reason="take_profit", quantity=D("0.00000689")
    )
    html = trader.get(reverse("positions:detail", args=[ticket_group.pk])).content.decode()
    facts = _facts(html)
    assert "<dt>Quantity held</dt>" not in facts
    left = facts.split('id="group-leftover">')[1].split("</dd>")[0]
    assert left.startswith("0.00000689 BTC")
    assert "dust left below the market&#x27;s step of 0.00001 BTC" in left
    assert "<dt>Unrealised PnL</dt>" not in facts  # closed: nothing unrealised


def test_the_pyramids_and_legs_take_the_pages_full_width(trader, group):
    """At 1440 the legs table sat in a half-width card beside the facts, columns hidden."""
    html = trader.get(reverse("positions:detail", args=[group.pk])).content.decode()
    content = html.split("<h1>")[1]
    assert 'class="columns"' not in content.split('aria-labelledby="grid-title"')[0]
