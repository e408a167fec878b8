"""The Desk: rows that narrow as the trader picks, the ticket's actions, strategies, isolation
and a trade's page with its timeline."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from apps.core.events import record_event
from apps.core.models import Event
from apps.positions.models import Order, PositionGroup
from apps.strategies.domain.catalog import SOURCES, RuleKind
from apps.strategies.models import Strategy
from apps.tickets.forms import TicketForm
from apps.tickets.models import Trade
from tests.tickets.factories import StrategyFactory, TradeFactory, ticket_position
from tests.tickets.html import disabled_fields, form_values, select_options
from tests.tickets.posts import (
    EMA_CROSS_ENTRY,
    STOP_BELOW_ENTRY,
    TAKE_PNL,
    TRAIL_FROM_HIGH,
    ticket_post,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "ticket"}


@pytest.fixture
def trader_client(client, paper):
    client.force_login(paper.owner)
    return client


def row(client, kind: str, **picked: str) -> str:
    query = {"side": "long", **{f"{kind}-{field}": value for field, value in picked.items()}}
    response = client.get(reverse("tickets:rule-row", args=[kind]), query, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    return response.content.decode()


def post(client, data: dict, *, htmx: bool = True):
    return client.post(reverse("tickets:ticket"), data, **(HTMX if htmx else {}))


def only_trade() -> Trade:
    return Trade.objects.select_related("revision", "next_revision").get()


# --- The rows narrow as the trader picks ---------------------------------------------------


def test_an_untouched_row_offers_its_primaries_and_nothing_else_yet(trader_client):
    html = row(trader_client, "take_profit")
    assert select_options(html, "take_profit-primary") == [
        "",
        "last",
        "bid",
        "close",
        "pnl_pct",
        "rsi",
    ]
    assert select_options(html, "take_profit-condition") == [""]
    assert {"take_profit-condition", "take_profit-secondary"} <= disabled_fields(html)
    assert 'name="take_profit-value"' not in html


def test_picking_rsi_as_take_profit_offers_only_a_fixed_value_to_compare_with(trader_client):
    html = row(trader_client, "take_profit", primary="rsi", condition="at_or_above")
    assert select_options(html, "take_profit-secondary") == ["", "fixed"]
    values = form_values(html)
    assert values["take_profit-secondary"] == "fixed"  # the only choice is made for the trader
    assert select_options(html, "take_profit-unit") == ["number"]
    # RSI takes a length and a timeframe; a fixed value takes none.
    assert 'name="take_profit-primary_period"' in html
    assert 'name="take_profit-primary_timeframe"' in html
    assert 'name="take_profit-secondary_period"' not in html


def test_a_pick_the_new_primary_does_not_allow_is_dropped(trader_client):
    html = row(trader_client, "entry", primary="immediately", condition="crosses_above")
    assert select_options(html, "entry-condition") == ["", "at_market"]
    assert form_values(html)["entry-condition"] == "at_market"
    assert select_options(html, "entry-secondary") == [""]
    assert 'name="entry-value"' not in html

    html = row(
        trader_client,
        "take_profit",
        primary="rsi",
        condition="at_or_above",
        secondary="entry_price",
        value="3",
        unit="percent",
    )
    values = form_values(html)
    assert (values["take_profit-secondary"], values["take_profit-unit"]) == ("fixed", "number")
    assert values["take_profit-value"] == "3"


def test_a_source_without_parameters_drops_the_ones_left_over(trader_client):
    html = row(
        trader_client,
        "entry",
        primary="last",
        primary_period="21",
        primary_timeframe="15m",
        condition="crosses_above",
        secondary="sma",
        secondary_period="50",
        secondary_timeframe="1h",
    )
    values = form_values(html)
    assert "entry-primary_period" not in values
    assert (values["entry-secondary_period"], values["entry-secondary_timeframe"]) == ("50", "1h")
    assert select_options(html, "entry-unit") == ["percent", "price"]


def test_a_trailing_stop_fills_in_its_only_condition_and_source(trader_client):
    values = form_values(row(trader_client, "trailing_stop", primary="last"))
    assert values["trailing_stop-condition"] == "retraces_from"
    assert values["trailing_stop-secondary"] == "highest"
    assert values["trailing_stop-unit"] == "percent"


def test_every_row_select_asks_the_row_endpoint_again(trader_client):
    html = row(trader_client, "entry", primary="last", condition="crosses_above")
    url = reverse("tickets:rule-row", args=["entry"])
    for name in ("entry-primary", "entry-condition", "entry-secondary"):
        start = html.index(f'name="{name}"')
        assert f'hx-get="{url}"' in html[start : html.index(">", start)]
    row_tag = html[html.index("<fieldset") : html.index(">", html.index("<fieldset"))]
    assert 'id="rule-entry"' in row_tag
    assert 'hx-target="this"' in row_tag and 'hx-swap="outerHTML' in row_tag
    # The request carries the whole row (the picks so far) and the side.
    assert 'hx-include="closest .rule-row, #id_side"' in row_tag


def test_an_unknown_rule_kind_is_404_and_the_rows_need_a_login(client, trader_client):
    assert trader_client.get(reverse("tickets:rule-row", args=["exit"])).status_code == 404
    trader_client.logout()
    response = trader_client.get(reverse("tickets:rule-row", args=["entry"]))
    assert response.status_code == 302


# --- The Desk ------------------------------------------------------------------------------


def test_the_desk_shows_its_header_ticket_controls_tickets_portfolio_and_positions(
    trader_client, paper
):
    trade = TradeFactory(owner=paper.owner, account=paper)
    html = trader_client.get(reverse("tickets:desk")).content.decode()
    for dom_id in (
        "desk-portfolio",
        f"portfolio-{paper.pk}",
        "portfolio-filters",
        "ticket",
        "ticket-fields",
        "ticket-controls",
        "rule-entry",
        "rule-initial_stop",
        "rule-trailing_stop",
        "rule-take_profit",
        "trades-table",
        f"trade-{trade.pk}",
        "desk-header",
        "figure-equity",
        "figure-today-pnl",
        "figure-positions",
        "figure-queued",
        "figure-guards",
        "figure-health",
        "desk-positions",
        "symbol-options",
    ):
        assert f'id="{dom_id}"' in html, dom_id
    assert 'id="desk-status"' not in html  # the loops' telemetry is the Status page's
    values = form_values(html)
    # A new ticket buys at once, at market.
    assert (values["entry-primary"], values["entry-condition"]) == ("immediately", "at_market")
    assert values["account"] == str(paper.pk)
    assert '<option value="BTC/USDT">' in html
    for action in ("save", "activate", "modify", "cancel"):
        assert f'name="action" value="{action}"' in html
    assert "taker fee (0.1 %)" in html


def test_changing_account_reloads_the_symbols_and_the_portfolio(trader_client, paper):
    response = trader_client.get(reverse("tickets:symbols"), {"account": paper.pk})
    html = response.content.decode()
    assert html.startswith('<datalist id="symbol-options">')
    assert '<option value="ETH/USDT">' in html
    assert 'hx-swap-oob="innerHTML:#desk-portfolio"' in html
    assert f'id="portfolio-{paper.pk}"' in html


# --- Save, Activate, Modify, Cancel ---------------------------------------------------------


def test_save_creates_a_saved_trade_and_shows_it_in_the_ticket(trader_client, paper):
    response = post(trader_client, ticket_post(paper, initial_stop=STOP_BELOW_ENTRY), htmx=False)
    trade = only_trade()
    assert response.status_code == 302
    assert response["Location"] == f"/?trade={trade.pk}"
    assert trade.status == Trade.Status.SAVED
    assert set(trade.revision.rules) == {"entry", "initial_stop"}
    assert Event.objects.filter(subject_id=str(trade.pk), kind="trade.saved").exists()

    html = trader_client.get(response["Location"]).content.decode()
    assert f"Ticket #{trade.pk} saved." in html
    values = form_values(html)
    assert values["trade"] == str(trade.pk)
    assert values["initial_stop-secondary"] == "entry_price"
    assert values["initial_stop-value"] == "-2"


def test_an_htmx_save_answers_with_the_ticket_and_the_table(trader_client, paper):
    response = post(trader_client, ticket_post(paper))
    trade = only_trade()
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<form id="ticket"')
    assert '<section id="trades-table" class="card trades" hx-swap-oob="true"' in html
    assert f'<tr id="trade-{trade.pk}"' in html
    assert response["HX-Push-Url"] == f"/?trade={trade.pk}"


def test_activate_with_an_immediate_entry_makes_the_trade_pending(trader_client, paper):
    response = post(trader_client, ticket_post(paper, action="activate"))
    trade = only_trade()
    assert trade.status == Trade.Status.PENDING
    assert trade.errors == {}
    html = response.content.decode()
    assert f"Ticket #{trade.pk} activated" in html
    assert "Active / Pending" in html
    assert Event.objects.filter(subject_id=str(trade.pk), kind="trade.activated").exists()


def test_a_size_beyond_buying_power_is_refused_next_to_the_portfolio_box(trader_client, paper):
    data = ticket_post(paper, action="activate", sizing=("quote", "20000"), portfolio=True)
    html = post(trader_client, data).content.decode()
    trade = only_trade()
    assert trade.status == Trade.Status.REJECTED
    assert "portfolio" in trade.errors
    assert not Order.objects.exists()
    portfolio_field = html.split('id="field-portfolio"')[1].split("</div>")[0]
    assert 'id="error-portfolio"' in portfolio_field
    assert "USDT is free" in portfolio_field
    assert "Activation refused" in html


def test_a_size_below_the_market_minimum_is_refused_next_to_the_size(trader_client, paper):
    html = post(trader_client, ticket_post(paper, action="activate", sizing=("quote", "1")))
    html = html.content.decode()
    assert only_trade().status == Trade.Status.REJECTED
    size_field = html.split('id="field-sizing_value"')[1].split("</div>")[0]
    assert 'id="error-sizing_value"' in size_field
    assert "minimum" in size_field


def test_a_stop_above_the_entry_is_refused_on_the_stop_row(trader_client, paper):
    stop_above = {**STOP_BELOW_ENTRY, "condition": "at_or_below", "value": "2"}
    html = post(trader_client, ticket_post(paper, action="activate", initial_stop=stop_above))
    html = html.content.decode()
    trade = only_trade()
    assert trade.status == Trade.Status.REJECTED
    assert not Order.objects.exists()
    stop_row = html.split('id="rule-initial_stop"')[1].split("</fieldset>")[0]
    assert 'id="problem-initial_stop"' in stop_row
    assert "must be below the entry" in stop_row

    # The refusal stays with the ticket: loading the trade again shows it where it was.
    html = trader_client.get(f"/?trade={trade.pk}").content.decode()
    stop_row = html.split('id="rule-initial_stop"')[1].split("</fieldset>")[0]
    assert "must be below the entry" in stop_row
    assert "Activation was refused" in html


def test_modify_edits_a_new_revision_while_the_running_one_keeps_working(trader_client, paper):
    post(trader_client, ticket_post(paper, action="activate", take_profit=TAKE_PNL))
    trade = only_trade()
    assert trade.status == Trade.Status.PENDING

    running = trader_client.get(f"/?trade={trade.pk}").content.decode()
    assert '<fieldset class="ticket-rules" disabled>' in running
    assert 'value="modify" class="ghost">' in running  # enabled

    html = post(trader_client, {"action": "modify", "trade": trade.pk}).content.decode()
    assert "Editing revision 2; revision 1 keeps running until you Activate." in html
    trade = only_trade()
    assert (trade.revision.number, trade.next_revision.number) == (1, 2)

    wider = {**TAKE_PNL, "value": "5"}
    post(trader_client, ticket_post(paper, trade=trade, take_profit=wider))
    trade = only_trade()
    assert trade.status == Trade.Status.PENDING
    assert trade.revision.rules["take_profit"]["value"] == "3"
    assert trade.next_revision.rules["take_profit"]["value"] == "5"

    data = ticket_post(paper, action="activate", trade=trade, take_profit=wider)
    html = post(trader_client, data)
    trade = only_trade()
    assert (trade.revision.number, trade.next_revision) == (2, None)
    assert trade.revision.rules["take_profit"]["value"] == "5"
    assert "Revision 2 is now running." in html.content.decode()


def test_discard_drops_the_new_revision_and_keeps_the_running_one(trader_client, paper):
    post(trader_client, ticket_post(paper, action="activate"))
    trade = only_trade()
    post(trader_client, {"action": "modify", "trade": trade.pk})
    html = post(trader_client, {"action": "discard", "trade": trade.pk}).content.decode()
    trade = only_trade()
    assert (trade.status, trade.revision.number, trade.next_revision) == (
        Trade.Status.PENDING,
        1,
        None,
    )
    assert "Changes discarded" in html
    assert "Revision 1 is running" in html


def test_without_javascript_a_round_trip_narrows_the_rows_and_saves_nothing(trader_client, paper):
    data = ticket_post(paper, action="refresh", entry={"primary": "immediately"})
    data["trailing_stop-primary"] = "last"
    response = post(trader_client, data, htmx=False)
    assert response.status_code == 200
    values = form_values(response.content.decode())
    assert values["entry-condition"] == "at_market"
    assert values["trailing_stop-condition"] == "retraces_from"
    assert not Trade.objects.exists()


def test_without_javascript_an_invalid_ticket_shows_the_whole_desk_with_errors(
    trader_client, paper
):
    response = post(trader_client, ticket_post(paper, symbol="NOPE/USDT"), htmx=False)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Desk</h1>" in html and 'id="trades-table"' in html
    assert f"{paper.label} has no market NOPE/USDT." in html
    assert not Trade.objects.exists()


def test_the_trade_page_belongs_to_the_desk_in_the_navigation(trader_client, paper):
    trade = TradeFactory(owner=paper.owner, account=paper)
    html = trader_client.get(reverse("tickets:detail", args=[trade.pk])).content.decode()
    assert '<a href="/" aria-current="page">Desk</a>' in html


def test_cancel_ends_a_pending_trade(trader_client, paper):
    post(trader_client, ticket_post(paper, action="activate"))
    trade = only_trade()
    html = post(trader_client, {"action": "cancel", "trade": trade.pk}).content.decode()
    assert only_trade().status == Trade.Status.CANCELLED
    assert f"Trade #{trade.pk} cancelled." in html
    # A finished trade's values seed a new ticket; its own actions are gone.
    assert 'name="trade"' not in html
    assert "makes a new ticket from these values" in html


def test_cancel_on_an_open_trade_asks_to_close_at_market_instead(trader_client, paper):
    trade = TradeFactory(owner=paper.owner, account=paper, status=Trade.Status.OPEN)
    ticket_position(trade, quantity="0.015", price="65000", last_price="65100")
    html = post(trader_client, {"action": "cancel", "trade": trade.pk}).content.decode()
    assert only_trade().status == Trade.Status.OPEN
    assert PositionGroup.objects.get(trade=trade).status == PositionGroup.Status.OPEN
    assert not Order.objects.exists()
    confirm = html.split('id="close-confirm"')[1].split("</div>")[0]
    assert "holds 0.015 BTC:" in confirm and "BTC/USDT:" not in confirm
    assert 'name="action" value="close"' in confirm and 'name="confirm" value="yes"' in confirm


def test_a_trade_in_error_holding_a_position_offers_to_close_it(trader_client, paper):
    trade = TradeFactory(owner=paper.owner, account=paper, status=Trade.Status.ERROR)
    ticket_position(trade, quantity="0.02", price="65000", status=PositionGroup.Status.ERROR)
    html = trader_client.get("/", {"trade": trade.pk}).content.decode()
    assert "needs attention" in html and "still holds 0.02 BTC/USDT" in html
    assert '<fieldset class="ticket-rules" disabled>' in html
    html = post(trader_client, {"action": "cancel", "trade": trade.pk}).content.decode()
    assert 'id="close-confirm"' in html
    assert only_trade().status == Trade.Status.ERROR


def test_a_refused_action_is_a_message_not_an_error_page(trader_client, paper):
    trade = TradeFactory(owner=paper.owner, account=paper, status=Trade.Status.SAVED)
    response = post(trader_client, {"action": "close", "trade": trade.pk})
    assert response.status_code == 200
    assert '<p id="ticket-notice" class="notice error" role="status">' in response.content.decode()
    assert only_trade().status == Trade.Status.SAVED
    assert not Order.objects.exists()


# --- Strategies ----------------------------------------------------------------------------


def test_a_strategy_saved_from_the_ticket_loads_back_into_a_fresh_ticket(trader_client, paper):
    rules = {
        "entry": EMA_CROSS_ENTRY,
        "initial_stop": STOP_BELOW_ENTRY,
        "trailing_stop": TRAIL_FROM_HIGH,
        "take_profit": TAKE_PNL,
    }
    data = ticket_post(paper, action="save_strategy", sizing=("buying_power_pct", "25"), **rules)
    data["strategy_name"] = "Breakout"
    html = post(trader_client, data).content.decode()
    strategy = Strategy.objects.get(owner=paper.owner)
    assert strategy.name == "Breakout"
    assert "Strategy Breakout saved." in html
    assert not Trade.objects.exists()  # a strategy is not a trade
    assert Event.objects.filter(kind="strategy.saved", subject_id=str(strategy.pk)).exists()

    response = trader_client.get("/", {"strategy": strategy.pk})
    loaded = form_values(response.content.decode())
    assert (loaded["sizing_kind"], loaded["sizing_value"]) == ("buying_power_pct", "25")
    assert loaded["strategy"] == str(strategy.pk)
    form = TicketForm(loaded | {"symbol": "BTC/USDT"}, user=paper.owner)
    assert form.is_valid(), form.errors
    original = TicketForm(ticket_post(paper, **rules), user=paper.owner)
    assert original.is_valid()
    assert form.ticket().rules == original.ticket().rules
    assert form.ticket().strategy == strategy


def test_saving_a_strategy_under_its_name_again_overwrites_it(trader_client, paper):
    for size in ("100", "250"):
        data = ticket_post(paper, action="save_strategy", sizing=("quote", size))
        data["strategy_name"] = "Scalp"
        post(trader_client, data)
    strategy = Strategy.objects.get(owner=paper.owner)
    assert strategy.sizing_value == Decimal("250")
    assert Event.objects.filter(kind="strategy.saved").count() == 2


def test_loading_a_strategy_keeps_the_tickets_account_and_symbol(trader_client, paper):
    strategy = StrategyFactory(owner=paper.owner, sizing_value=Decimal("750"))
    query = {"strategy": strategy.pk, "account": paper.pk, "symbol": "ETH/USDT"}
    response = trader_client.get("/", query, **HTMX)
    html = response.content.decode()
    assert html.lstrip().startswith('<form id="ticket"')
    values = form_values(html)
    assert (values["symbol"], values["sizing_value"]) == ("ETH/USDT", "750")
    assert f"Strategy {strategy.name} loaded" in html


# --- Isolation -----------------------------------------------------------------------------


def test_another_users_trade_and_strategy_are_404(trader_client, paper):
    theirs = TradeFactory(status=Trade.Status.PENDING)
    their_strategy = StrategyFactory()
    assert trader_client.get(reverse("tickets:detail", args=[theirs.pk])).status_code == 404
    assert trader_client.get("/", {"trade": theirs.pk}).status_code == 404
    assert trader_client.get("/", {"strategy": their_strategy.pk}).status_code == 404
    response = post(trader_client, {"action": "cancel", "trade": theirs.pk})
    assert response.status_code == 404
    assert Trade.objects.get(pk=theirs.pk).status == Trade.Status.PENDING
    other_account = theirs.account.pk
    response = trader_client.get(reverse("tickets:symbols"), {"account": other_account})
    assert response.status_code == 404
    html = trader_client.get("/").content.decode()
    assert f'id="trade-{theirs.pk}"' not in html
    assert their_strategy.name not in html


# --- A trade's page ------------------------------------------------------------------------


def test_the_trade_page_shows_the_facts_and_the_timeline_oldest_first(trader_client, paper):
    post(trader_client, ticket_post(paper, action="activate", trailing_stop=TRAIL_FROM_HIGH))
    trade = only_trade()
    html = trader_client.get(reverse("tickets:detail", args=[trade.pk])).content.decode()
    assert "Active / Pending" in html
    assert "Last price | retraces from | Highest since entry | 1.5 %" in html
    assert f'data-timeline="trades.trade:{trade.pk}"' in html
    saved, activated = (
        Event.objects.get(subject_id=str(trade.pk), kind=kind)
        for kind in ("trade.saved", "trade.activated")
    )
    assert html.index(f'id="event-{saved.pk}"') < html.index(f'id="event-{activated.pk}"')
    assert activated.message in html
    assert f'<tr id="trade-{trade.pk}"' in html
    assert 'id="trade-orders"' in html


def test_a_new_event_of_a_trade_is_pushed_to_the_end_of_its_timeline(trader_client, paper):
    trade = TradeFactory(owner=paper.owner, account=paper, status=Trade.Status.OPEN)
    position = ticket_position(trade, quantity="0.01", price="65000")
    event = record_event(kind="trade.note", message="Checked.", user=paper.owner, subject=trade)
    html = render_to_string("core/logs.html#event-row-live", {"event": event})
    assert f"hx-swap-oob='beforeend:[data-timeline~=\"trades.trade:{trade.pk}\"]'" in html
    assert 'hx-swap-oob="afterbegin:#event-rows"' in html
    # The trade's page shows its position's story too: the position's events land there.
    noted = record_event(kind="group.note", message="Held.", user=paper.owner, subject=position)
    html = render_to_string("core/logs.html#event-row-live", {"event": noted})
    target = f"positions.positiongroup:{position.pk}"
    assert f"hx-swap-oob='beforeend:[data-timeline~=\"{target}\"]'" in html
    page = trader_client.get(reverse("tickets:detail", args=[trade.pk])).content.decode()
    assert f'data-timeline="trades.trade:{trade.pk} {target}"' in page


# --- Live fragments ------------------------------------------------------------------------


def test_the_live_table_and_rows_swap_in_by_their_ids(paper, django_assert_num_queries):
    trade = TradeFactory(
        owner=paper.owner,
        account=paper,
        status=Trade.Status.OPEN,
        rules={"entry": EMA_CROSS_ENTRY, "take_profit": TAKE_PNL},
    )
    ticket_position(trade, quantity="0.01", price="65000", last_price="66300")
    from apps.core.market_formats import attach_formats
    from apps.tickets.selectors import trades_for_table
    from apps.tickets.services.engine import POSITION_FIELDS, TICKET_FIELDS

    table = render_to_string(
        "tickets/trades_table.html",
        {"trades": trades_for_table(owner_id=paper.owner_id), "live": True},
    )
    assert table.strip().startswith('<section id="trades-table" class="card trades" hx-swap-oob')
    waiting = TradeFactory(
        owner=paper.owner,
        account=paper,
        status=Trade.Status.PENDING,
        rules={"entry": EMA_CROSS_ENTRY},
    )
    Trade.objects.filter(pk=waiting.pk).update(last_price=Decimal("66299"))
    # The rules loop pushes the cells of tickets waiting for their entry (loaded with their
    # revisions) and of the positions tickets opened, loaded as the loop loads them:
    # rendering costs nothing.
    pending = list(
        Trade.objects.filter(status=Trade.Status.PENDING)
        .select_related("revision")
        .only(*TICKET_FIELDS)
    )
    positions = list(PositionGroup.objects.only(*POSITION_FIELDS))
    # Their markets' ticks in one lookup for every row (the push does it when it renders).
    with django_assert_num_queries(1):
        attach_formats([*pending, *positions])
    with django_assert_num_queries(0):
        html = render_to_string(
            "tickets/trade_rows_live.html", {"trades": pending, "positions": positions}
        )
    assert html.strip().startswith(f'<td id="trade-{waiting.pk}-last" class="num" hx-swap-oob')
    last = '<td id="trade-{}-last" class="num" hx-swap-oob="true" data-label="Last">{} USDT</td>'
    assert last.format(waiting.pk, "66,299.00") in html  # on BTC/USDT's 0.01 tick
    assert last.format(trade.pk, "66,300.00") in html
    assert f'<td id="trade-{trade.pk}-pnl" hx-swap-oob="true"' in html
    assert "+13.00 USDT" in html and "(+2.00 %)" in html  # 0.01 × 1300 and +2 %
    assert "<tr" not in html  # the row's links and rules are not re-rendered every tick
    # The rules on the details link's hover, so a row stays short in the side card.
    assert "Take profit: Unrealised PnL % | is at or above | Fixed value | 3" in table
    assert SOURCES["ema"].label in table and RuleKind.ENTRY.label in table


def test_operators_read_a_trade_with_its_revisions_and_orders_in_the_admin(client, paper):
    from tests.accounts.factories import OperatorFactory

    trade = TradeFactory(owner=paper.owner, account=paper, rules={"take_profit": TAKE_PNL})
    client.force_login(OperatorFactory())
    response = client.get(reverse("admin:trades_trade_change", args=[trade.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Trade revisions" in html and "Orders" in html
    assert 'name="_save"' not in html  # read-only: money moves only through the services
    assert client.get(reverse("admin:trades_trade_add")).status_code == 403
    strategy = StrategyFactory(owner=paper.owner)
    response = client.get(reverse("admin:strategies_strategy_change", args=[strategy.pk]))
    assert response.status_code == 200
    assert "immediately" in response.content.decode()  # the rules, shown read-only


def test_the_rest_take_profit_option_is_saved_from_the_ticket_and_shown_ticked(
    trader_client, paper
):
    html = trader_client.get(reverse("tickets:desk")).content.decode()
    assert "Rest the take profit on the exchange (a limit sell; the stop then stays on the" in html

    post(trader_client, ticket_post(paper, take_profit=TAKE_PNL, rest_take_profit=True))

    trade = only_trade()
    assert trade.rest_take_profit is True
    html = trader_client.get(f"{reverse('tickets:desk')}?trade={trade.pk}").content.decode()
    assert form_values(html)["rest_take_profit"] == "on"

    post(trader_client, ticket_post(paper, take_profit=TAKE_PNL, trade=trade))  # unticked
    trade.refresh_from_db()
    assert trade.rest_take_profit is False
