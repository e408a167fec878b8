"""A position's stop rests on the (paper) exchange: placed when the entry fills, filled by the
exchange while no desk process runs, moved up by a trailing stop and never down, resized by a
pyramid, re-placed after a hand cancel, and never sold twice when the desk's rule races it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.core.models import Event
from apps.exchanges.models import PaperBalance, PaperOrder, PaperSettings
from apps.exchanges.paper.services import cancel_order as cancel_on_paper
from apps.exchanges.paper.services import set_price
from apps.positions.models import Order, PositionGroup
from apps.positions.services import close_group, send_order, sync_orders
from apps.positions.services.orders import RESTING_SYNC_EVERY
from apps.tickets.services import activate_ticket, evaluate_rules
from tests.client_ids import client_id
from tests.live import Listener
from tests.positions.grouping import Desk, signal
from tests.positions.resting import (
    GIVEN_UP,
    activate,
    cancelled_outside,
    paper_order,
    resting,
    sells_filled,
    sync_later,
    tick,
)
from tests.tickets.conftest import BTC, STOP_2_PCT, TAKE_3_PCT, TRAIL_1_5_PCT, ticket
from tests.tickets.factories import StrategyFactory, stored_rules

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def desk(django_capture_on_commit_callbacks) -> Desk:
    return Desk(django_capture_on_commit_callbacks)


@pytest.fixture
def moves_at_once(settings):
    settings.STOP_MOVE_SECONDS = 0


def late_stop(desk: Desk, account, capture) -> Order:
    """A ticket with a 2 % stop activated, its entry sent and filled, and its stop written,
    with every task enqueued on the way held back (as when the worker is slow): the stop is
    not sent yet."""
    activation = desk.run(
        activate_ticket,
        user=account.owner,
        ticket=ticket(account, initial_stop=STOP_2_PCT),
        trade=None,
        now=timezone.now(),
    )
    trade = activation.trade
    with capture(execute=False):
        evaluate_rules(now=timezone.now())  # the entry is written
    entry = Order.objects.get(group__trade=trade, side="buy")
    with capture(execute=False):
        send_order(order_id=entry.pk, now=timezone.now())  # it fills; the stop is written
    stop = Order.objects.get(group__trade=trade, protective=True)
    assert stop.status == Order.Status.PENDING
    return stop


def price(value: str) -> int:
    """Move the paper price: the paper exchange fills what it crosses, stops included, with no
    desk process involved."""
    return set_price(symbol=BTC, price=D(value))


def btc(account) -> PaperBalance:
    return PaperBalance.objects.get(account=account, asset="BTC")


def test_the_entry_fill_rests_the_stop_on_the_exchange_for_the_whole_quantity(paper, desk):
    trade = activate(desk, paper, initial_stop=STOP_2_PCT)
    position = trade.position

    [stop] = resting(position)
    assert (stop.purpose, stop.side, stop.type) == ("initial_stop", "sell", "market")
    assert stop.trigger_price == D("63700.00")  # 2 % below the 65 000 entry
    assert stop.amount == D("0.01536")  # the 0.0153646 held, down to the step
    assert stop.client_order_id == client_id(position, "s1")
    assert stop.status == Order.Status.OPEN
    on_paper = paper_order(stop)
    assert (on_paper.status, on_paper.trigger_price, on_paper.amount) == (
        "open",
        D("63700.00"),
        D("0.01536"),
    )
    assert btc(paper).used == D("0.01536")  # the exchange holds the coins for the stop
    placed = Event.objects.get(kind="protection.stop_placed")
    assert placed.message == (
        "Initial stop rests on the exchange: stop-market sell of 0.01536 BTC triggered at "
        f"63,700.00 (order {stop.client_order_id})."
    )


def test_a_stopped_worker_is_still_protected_and_the_desk_records_the_fill_at_restart(paper, desk):
    position = activate(desk, paper, initial_stop=STOP_2_PCT).position
    [stop] = resting(position)

    # The desk's processes are down: nobody runs a loop. The price falls through the stop.
    assert price("63500.00") == 1
    on_paper = paper_order(stop)
    assert (on_paper.status, on_paper.filled) == ("closed", D("0.01536"))
    position.refresh_from_db()
    assert position.status == PositionGroup.Status.OPEN  # the desk has not seen it yet

    sync_later(desk)  # the restart: the order-sync loop's first tick

    position.refresh_from_db()
    stop.refresh_from_db()
    assert stop.status == Order.Status.FILLED and stop.filled == D("0.01536")
    assert position.status == PositionGroup.Status.CLOSED
    assert position.exit_reason == "initial_stop"
    assert position.realised_pnl < 0
    # It sold once: the stop alone, at the price it triggered at (no slippage set).
    assert list(position.orders.filter(side="sell").values_list("pk", flat=True)) == [stop.pk]
    assert stop.average == D("63500.00")
    # Told as the desk's own rule is (the same event, so the same "Stop hit" notification),
    # before the sale's realised PnL.
    hit = Event.objects.get(kind="trade.stop_hit")
    assert hit.message == (
        "Initial stop hit on the exchange: its resting stop-market sell triggered at 63,700.00 "
        f"filled 0.01536 BTC at 63,500.00 (order {stop.client_order_id})."
    )
    assert hit.pk < Event.objects.get(kind="group.sold").pk


def test_a_trailing_stop_moves_the_resting_stop_up_and_never_down(paper, desk, moves_at_once):
    position = activate(desk, paper, trailing_stop=TRAIL_1_5_PCT).position
    [first] = resting(position)
    assert first.trigger_price == D("64025.00")  # 65 000 × 0.985

    price("66000.00")
    tick(desk)  # the highest is 66 000 now: the stop is cancelled, then placed at 65 010
    [second] = resting(position)
    first.refresh_from_db()
    assert first.status == Order.Status.CANCELLED
    assert paper_order(first).status == "canceled"
    assert second.trigger_price == D("65010.00")
    assert paper_order(second).trigger_price == D("65010.00")
    moved = Event.objects.get(kind="protection.stop_moved")
    assert moved.message == (
        f"Trailing stop moved up on the exchange from 64,025.00 (order {first.client_order_id} "
        "replaced): stop-market sell of 0.01536 BTC triggered at 65,010.00 (order "
        f"{second.client_order_id})."
    )

    price("65500.00")  # down, above the stop: the highest stays 66 000
    tick(desk)
    price("65800.00")
    tick(desk)
    assert resting(position) == [second]  # not moved, not loosened

    price("66500.00")
    tick(desk)
    [third] = resting(position)
    assert third.trigger_price == D("65502.50")
    assert [o.trigger_price for o in position.orders.filter(protective=True).order_by("pk")] == [
        D("64025.00"),
        D("65010.00"),
        D("65502.50"),
    ]


def test_the_trailing_stop_moves_at_most_every_stop_move_seconds(paper, desk, settings):
    settings.STOP_MOVE_SECONDS = 3600
    position = activate(desk, paper, trailing_stop=TRAIL_1_5_PCT).position
    [first] = resting(position)

    price("66000.00")
    tick(desk)

    assert resting(position) == [first]  # rested for less than an hour: not moved yet
    assert first.trigger_price == D("64025.00")


def test_a_pyramid_resizes_the_resting_stop_to_the_whole_position(paper, desk):
    strategy = StrategyFactory(
        owner=paper.owner,
        sizing_kind="quote",
        sizing_value=D("1000"),
        dca_legs=[],
        rules=stored_rules({"entry": {"primary": "immediately", "condition": "at_market"}})
        | stored_rules({"initial_stop": STOP_2_PCT}),
    )
    opened = desk.act(paper, strategy, signal())
    position = PositionGroup.objects.get(pk=opened.group_id)
    [first] = resting(position)
    assert first.amount == D("0.01536")

    desk.act(paper, strategy, signal())  # a second entry on the key: pyramid 2 at 65 000

    position.refresh_from_db()
    [second] = resting(position)
    first.refresh_from_db()
    assert first.status == Order.Status.CANCELLED
    assert position.quantity == D("0.03072924")  # two buys of 0.01538 less 0.1 % fees
    assert second.amount == D("0.03072")  # the whole position, down to the step
    resized = Event.objects.get(kind="protection.stop_resized")
    assert f"resized on the exchange from 0.01536 BTC (order {first.client_order_id}" in (
        resized.message
    )
    assert paper_order(second).amount == D("0.03072")
    assert btc(paper).used == D("0.03072")


def test_a_stop_cancelled_by_hand_is_placed_again_and_the_trader_told(paper, desk):
    position = activate(desk, paper, initial_stop=STOP_2_PCT).position
    [stop] = resting(position)

    cancel_on_paper(account=paper, client_order_id=stop.client_order_id, now=timezone.now())
    sync_later(desk)

    stop.refresh_from_db()
    assert stop.status == Order.Status.CANCELLED
    [again] = resting(position)
    assert again.trigger_price == stop.trigger_price and again.amount == stop.amount
    assert paper_order(again).status == "open"
    told = Event.objects.get(kind="protection.stop_cancelled")
    assert told.level == Event.Level.WARNING
    assert stop.client_order_id in told.message and "placing it again" in told.message


def test_a_stop_cancelled_outside_a_third_time_is_left_to_the_rules_loop(paper, desk, client):
    """Placed again after the first and the second cancel; after the third, not: an exchange
    that keeps cancelling it would get a new stop (and the trader a warning) every sync. The
    rules loop still sells at the stop."""
    position = activate(desk, paper, initial_stop=STOP_2_PCT).position
    cancelled = cancelled_outside(desk, paper, position, 3)

    assert resting(position) == []
    assert PaperOrder.objects.filter(status="open").count() == 0
    told = list(Event.objects.filter(kind="protection.stop_cancelled").order_by("pk"))
    assert [e.data["client_order_id"] for e in told] == [o.client_order_id for o in cancelled]
    assert all("placing it again" in e.message for e in told[:2])
    assert told[2].message.endswith(
        "not by the desk: that is 3 times for this position, so the desk places no more; its "
        "rules loop remains the stop."
    )
    client.force_login(paper.owner)
    page = client.get(reverse("positions:detail", args=[position.pk])).content.decode()
    assert GIVEN_UP in page

    sync_later(desk)  # nothing more is placed
    assert resting(position) == []
    price("63600.00")  # below the stop at 63 700
    tick(desk)
    position.refresh_from_db()
    assert (position.status, position.exit_reason) == (PositionGroup.Status.CLOSED, "initial_stop")
    assert sells_filled(position) == D("0.01536")


def test_the_desk_rule_first_then_the_stop_fills_before_the_cancel_lands_sells_once(
    paper, desk, django_capture_on_commit_callbacks
):
    """The race: the desk's rule fires and asks to cancel the resting stop; before the cancel
    reaches the exchange the price goes through the stop and it fills. The cancel finds it
    filled, the desk's market sell (waiting for the cancel) is dropped: sold once."""
    position = activate(desk, paper, initial_stop=STOP_2_PCT).position
    [stop] = resting(position)
    set_price(symbol=BTC, price=D("63800.00"))  # above the resting 63 700 trigger
    PaperOrder.objects.filter(pk=paper_order(stop).pk).update(trigger_price=D("63600.00"))
    price("63700.00")  # the desk's rule holds at 63 700; the exchange's stop (63 600) not yet

    with django_capture_on_commit_callbacks(execute=False) as held:
        report = evaluate_rules(now=timezone.now())  # fires: cancel requested, sell waits
    assert (position.pk, "initial_stop") in report.fired
    price("63500.00")  # the exchange's stop fills before the desk's cancel is sent
    for callback in held:
        callback()  # now the cancel (and anything else queued) runs
    sync_later(desk)

    position.refresh_from_db()
    assert position.status == PositionGroup.Status.CLOSED
    assert sells_filled(position) == D("0.01536")  # the stop's fill, nothing more
    market_sell = position.orders.get(protective=False, side="sell")
    assert (market_sell.status, market_sell.filled, market_sell.attempts) == (
        Order.Status.CANCELLED,
        D(0),
        0,
    )
    assert "the resting stop sold first" in market_sell.error
    # "Stop hit" is told once: when the desk's rule fired, not again at the stop's fill.
    [hit] = Event.objects.filter(kind="trade.stop_hit")
    assert hit.message.startswith("Initial stop: ")


def test_the_desk_rule_first_cancels_the_stop_then_sells_at_market_once(paper, desk):
    position = activate(desk, paper, initial_stop=STOP_2_PCT).position
    [stop] = resting(position)
    PaperOrder.objects.filter(pk=paper_order(stop).pk).update(trigger_price=D("63000.00"))
    price("63650.00")  # through the desk's 63 700, above the exchange's 63 000

    report = tick(desk)

    assert (position.pk, "initial_stop") in report.fired
    position.refresh_from_db()
    stop.refresh_from_db()
    assert stop.status == Order.Status.CANCELLED and paper_order(stop).status == "canceled"
    assert position.status == PositionGroup.Status.CLOSED
    sell = position.orders.get(protective=False, side="sell")
    assert (sell.status, sell.filled) == (Order.Status.FILLED, D("0.01536"))
    assert sells_filled(position) == D("0.01536")
    assert btc(paper).used == D(0)


def test_a_take_profit_cancels_the_stop_first_and_sells_the_coins_once(paper, desk):
    position = activate(desk, paper, initial_stop=STOP_2_PCT, take_profit=TAKE_3_PCT).position
    [stop] = resting(position)

    price("67000.00")
    tick(desk)

    position.refresh_from_db()
    stop.refresh_from_db()
    assert stop.status == Order.Status.CANCELLED
    assert position.status == PositionGroup.Status.CLOSED
    assert position.exit_reason == "take_profit"
    assert sells_filled(position) == D("0.01536")


def test_the_traders_close_cancels_the_resting_stop_and_sells_at_market(paper, desk):
    position = activate(desk, paper, initial_stop=STOP_2_PCT).position

    desk.run(close_group, group=position, now=timezone.now())

    position.refresh_from_db()
    assert position.status == PositionGroup.Status.CLOSED
    assert resting(position) == []
    assert sells_filled(position) == D("0.01536")
    closing = Event.objects.filter(kind="group.exit").latest("pk")
    assert "cancelling its resting stop" in closing.message


def test_a_stop_the_price_has_already_crossed_is_refused_and_the_desk_exits_at_market(
    paper, desk, django_capture_on_commit_callbacks
):
    """The entry fills at 65 000 and the stop is written; the price crashes before the stop's
    send reaches the exchange, which refuses it: the desk sells at market, saying why."""
    stop = late_stop(desk, paper, django_capture_on_commit_callbacks)
    price("63000.00")

    desk.run(send_order, order_id=stop.pk, now=timezone.now())

    position = PositionGroup.objects.get(pk=stop.group_id)
    stop.refresh_from_db()
    assert stop.status == Order.Status.REJECTED
    assert "would trigger immediately" in stop.error.lower()
    assert position.status == PositionGroup.Status.CLOSED
    assert position.exit_reason == "initial_stop"
    hit = Event.objects.filter(kind="trade.stop_hit").latest("pk")
    assert "the price has already crossed it" in hit.message
    assert sells_filled(position) == D("0.01536")


def test_a_stop_refused_for_another_reason_leaves_the_rules_loop_as_the_stop(
    paper, desk, django_capture_on_commit_callbacks
):
    """Refused for want of coins (someone sold them on the exchange): the trader is told, the
    position stays open under the desk's own rule, and the desk does not retry in a loop."""
    stop = late_stop(desk, paper, django_capture_on_commit_callbacks)
    position = stop.group
    PaperBalance.objects.filter(account=paper, asset="BTC").update(free=D(0))

    desk.run(send_order, order_id=stop.pk, now=timezone.now())

    stop.refresh_from_db()
    position.refresh_from_db()
    assert stop.status == Order.Status.REJECTED
    assert position.status == PositionGroup.Status.OPEN  # not in Error: the rule still guards
    assert position.orders.filter(protective=True).count() == 1  # no second attempt
    refused = Event.objects.get(kind="protection.stop_refused")
    assert "The desk's rules loop remains the stop." in refused.message
    assert refused.level == Event.Level.WARNING


def test_the_pages_say_which_stop_rests_on_the_exchange_and_which_stays_on_the_desk(
    paper, desk, client
):
    close_below = {
        "primary": "close",
        "primary_period": 21,
        "primary_timeframe": "15m",
        "condition": "below",
        "secondary": "fixed",
        "value": "60000",
    }
    trade = activate(desk, paper, initial_stop=close_below, trailing_stop=TRAIL_1_5_PCT)
    position = trade.position
    [stop] = resting(position)
    client.force_login(paper.owner)

    page = client.get(reverse("positions:detail", args=[position.pk])).content.decode()
    ticket_page = client.get(reverse("tickets:detail", args=[trade.pk])).content.decode()

    exchange = (
        "rests on the exchange: stop-market sell of 0.01536 BTC triggered at 64,025.00 "
        f"(order {stop.client_order_id}); the desk&#x27;s rules loop is the second line"
    )
    desk_side = (
        "on the desk&#x27;s rules loop: it reads Candle close(15m); an exchange stop triggers "
        "on the last price"
    )
    assert exchange in page and desk_side in page
    assert exchange[1:] in ticket_page and desk_side[1:] in ticket_page  # capitalised there
    # The orders tables name the stop and its trigger.
    assert 'stop-market <span class="muted">at 64,025.00 USDT</span>' in page
    assert 'stop-market <span class="muted">at 64,025.00' in ticket_page


def test_the_sync_loop_asks_about_a_resting_stop_every_15_seconds_not_every_tick(paper, desk):
    position = activate(desk, paper, initial_stop=STOP_2_PCT).position
    [stop] = resting(position)
    price("63500.00")  # the exchange fills it

    assert desk.run(sync_orders, now=timezone.now()) == 0  # asked about moments ago: not yet
    stop.refresh_from_db()
    assert stop.status == Order.Status.OPEN

    assert desk.run(sync_orders, now=timezone.now() + RESTING_SYNC_EVERY) == 1
    stop.refresh_from_db()
    assert stop.status == Order.Status.FILLED


def test_a_dca_fill_and_a_legs_own_take_profit_resize_the_resting_stop(paper, desk):
    """Per-leg take profit: leg 2 fills lower (the stop grows to both legs), then sells at
    its own target (the stop is cancelled first, then placed again for leg 1 alone)."""
    strategy = StrategyFactory(
        owner=paper.owner,
        sizing_kind="quote",
        sizing_value=D("1000"),
        dca_legs=[
            {"gap_pct": "0", "weight_pct": "50", "tp_pct": "2"},
            {"gap_pct": "1", "weight_pct": "50", "tp_pct": "2"},
        ],
        tp_mode="per_leg",
        rules=stored_rules({"entry": {"primary": "immediately", "condition": "at_market"}})
        | stored_rules({"initial_stop": {**STOP_2_PCT, "value": "-5"}}),
    )
    opened = desk.act(paper, strategy, signal())
    position = PositionGroup.objects.get(pk=opened.group_id)
    [first] = resting(position)
    leg_1 = position.legs.get(index=0)
    assert first.amount == D("0.00768")  # leg 1's 0.00768231 held, down to the step

    price("64350.00")  # leg 2's limit fills on the paper exchange
    sync_later(desk)
    position.refresh_from_db()
    [second] = resting(position)
    # Both legs: 0.00769 and 0.00777 bought, less 0.1 % fees, 0.01544454 held.
    assert position.quantity == D("0.01544454")
    assert second.amount == D("0.01544")
    assert btc(paper).used == D("0.01544")

    price("65700.00")  # leg 2's own target (64 350 + 2 % = 65 637), not leg 1's (66 300)
    desk.take_profit()
    position.refresh_from_db()
    leg_2_sell = position.orders.get(purpose="leg_tp")
    assert leg_2_sell.status == Order.Status.FILLED
    [third] = resting(position)
    leg_1.refresh_from_db()
    assert third.amount == D("0.00768") == leg_1.open_quantity.quantize(D("0.00001"), "ROUND_DOWN")
    assert position.status == PositionGroup.Status.OPEN
    assert sells_filled(position) == leg_2_sell.filled  # only leg 2 sold; the stops rested


def test_a_live_push_of_the_position_page_keeps_where_its_stop_acts(paper, desk, moves_at_once):
    position = activate(desk, paper, trailing_stop=TRAIL_1_5_PCT).position
    live = Listener(paper.owner_id)

    price("66000.00")
    tick(desk)  # the trailing stop moves up: the page's facts are pushed

    facts = live.pushed(f'id="group-facts-{position.pk}"')
    [moved] = resting(position)
    assert facts, "no push of the position's facts"
    assert (
        "rests on the exchange: stop-market sell of 0.01536 BTC triggered at 65,010.00 "
        f"(order {moved.client_order_id})"
    ) in facts[-1]


def test_after_a_slipped_fill_the_rules_loop_and_the_resting_stop_trail_from_the_same_high(
    paper, desk
):
    """The buy filled above the next tick (slippage): "highest since entry" counts the fill's
    own price on the desk too, so its threshold and the resting trigger are one level."""
    PaperSettings.objects.filter(account=paper).update(slippage_rate=D("0.001"))
    position = activate(desk, paper, trailing_stop=TRAIL_1_5_PCT).position
    position.refresh_from_db()
    assert position.average_entry == D("65065.00")  # 65 000 + 0.1 %
    [stop] = resting(position)

    tick(desk)  # the last price is still 65 000, below the fill

    position.refresh_from_db()
    assert position.highest == D("65065.00")
    assert stop.trigger_price == D("64089.03")  # 65 065 × 0.985 = 64 089.025, up to the tick
    evaluated = Event.objects.filter(kind="trade.rule_evaluated").latest("pk")
    assert D(evaluated.data["threshold"]) == D("65065.00") * D("0.985")
