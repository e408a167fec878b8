"""A position's take profit rests on the (paper) exchange as limit sells when the ticket or
the strategy asks for it: placed when the entry fills, filled by the exchange at its limit
with the maker fee, re-laid as a DCA leg moves the average, one per leg in per-leg mode; the
stop then stays on the desk's rules loop and, when it fires, the coins are sold once."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.core.models import Event
from apps.exchanges.models import PaperBalance, PaperOrder, PaperSettings
from apps.exchanges.paper.services import set_price
from apps.positions.models import Order, PositionGroup
from apps.tickets.models import Trade
from apps.tickets.services import activate_ticket
from tests.client_ids import client_id
from tests.positions.grouping import Desk, grid_strategy, signal
from tests.positions.resting import (
    GIVEN_UP,
    cancelled_outside,
    paper_order,
    resting,
    sells_filled,
    sync_later,
    tick,
)
from tests.positions.resting import activate as shared_activate
from tests.tickets.conftest import BTC, STOP_2_PCT, TAKE_3_PCT, ticket

pytestmark = pytest.mark.django_db

D = Decimal
MAKER = D("0.0004")  # below the 0.1 % taker fee: what resting the take profit saves


@pytest.fixture
def desk(django_capture_on_commit_callbacks) -> Desk:
    return Desk(django_capture_on_commit_callbacks)


@pytest.fixture
def maker_fee(paper):
    PaperSettings.objects.filter(account=paper).update(maker_fee_rate=MAKER)


def activate(desk: Desk, account, *, rest_take_profit: bool = True, **rules) -> Trade:
    return shared_activate(desk, account, rest_take_profit=rest_take_profit, **rules)


def market_sells(position: PositionGroup) -> list[Order]:
    return list(position.orders.filter(side="sell", protective=False))


# --- A ticket's take-profit rule ----------------------------------------------------------------


def test_the_entry_fill_rests_a_limit_sell_at_the_target_for_the_whole_quantity_and_no_stop(
    paper, desk
):
    trade = activate(desk, paper, initial_stop=STOP_2_PCT, take_profit=TAKE_3_PCT)
    position = trade.position

    assert position.rest_take_profit is True  # copied from the ticket
    [take_profit] = resting(position)
    assert (take_profit.purpose, take_profit.side, take_profit.type) == (
        "take_profit",
        "sell",
        "limit",
    )
    assert take_profit.price == D("66950.00")  # 65 000 × 1.03
    assert take_profit.trigger_price is None
    assert take_profit.amount == D("0.01536")  # the 0.0153646 held, down to the step
    assert take_profit.client_order_id == client_id(position, "e1")
    on_paper = paper_order(take_profit)
    assert (on_paper.status, on_paper.type, on_paper.price) == ("open", "limit", D("66950.00"))
    assert PaperBalance.objects.get(account=paper, asset="BTC").used == D("0.01536")
    assert not position.orders.filter(trigger_price__isnull=False).exists()  # no stop rests
    placed = Event.objects.get(kind="protection.take_profit_placed")
    assert placed.message == (
        "Take profit rests on the exchange: limit sell of 0.01536 BTC at 66,950.00 "
        f"(order {take_profit.client_order_id})."
    )


def test_the_exchange_fills_the_take_profit_at_its_limit_with_the_maker_fee_and_the_desk_closes(
    paper, desk, maker_fee
):
    position = activate(desk, paper, initial_stop=STOP_2_PCT, take_profit=TAKE_3_PCT).position
    [take_profit] = resting(position)
    # The exchange's copy waits a little higher, so the price can pass the desk's rule first.
    PaperOrder.objects.filter(pk=paper_order(take_profit).pk).update(price=D("67000.00"))

    set_price(symbol=BTC, price=D("66990.00"))  # the rule holds (≥ 66 950), the limit not yet
    report = tick(desk)

    assert (position.pk, "take_profit") not in report.fired
    assert market_sells(position) == []  # the rules loop left it to the exchange

    assert set_price(symbol=BTC, price=D("67010.00")) == 1  # through the limit: it fills
    on_paper = paper_order(take_profit)
    assert (on_paper.status, on_paper.cost) == ("closed", D("0.01536") * D("67000.00"))  # its limit
    assert on_paper.fee_cost == D("0.01536") * D("67000.00") * MAKER
    tick(desk)  # the desk has not seen the fill yet: still no market sell
    assert market_sells(position) == []

    sync_later(desk)

    position.refresh_from_db()
    take_profit.refresh_from_db()
    assert take_profit.status == Order.Status.FILLED
    assert take_profit.fee_cost == D("0.01536") * D("67000.00") * MAKER
    assert position.status == PositionGroup.Status.CLOSED
    assert position.exit_reason == "take_profit"
    assert position.realised_pnl > 0
    assert list(position.orders.filter(side="sell")) == [take_profit]  # sold once
    closed = Event.objects.filter(kind="position.closed").latest("pk")
    assert "(take profit)" in closed.message
    hit = Event.objects.get(kind="trade.take_profit_hit")
    assert hit.message == (
        "Take profit hit on the exchange: its resting limit sell at 66,950.00 filled 0.01536 BTC "
        f"at 67,000.00 (order {take_profit.client_order_id})."  # the exchange's copy, moved
    )


def test_with_the_option_the_stop_stays_on_the_desk_and_sells_once_after_cancelling_the_take_profit(
    paper, desk
):
    position = activate(desk, paper, initial_stop=STOP_2_PCT, take_profit=TAKE_3_PCT).position
    [take_profit] = resting(position)

    set_price(symbol=BTC, price=D("63700.00"))  # the desk's 2 % stop
    report = tick(desk)

    assert (position.pk, "initial_stop") in report.fired
    position.refresh_from_db()
    take_profit.refresh_from_db()
    assert take_profit.status == Order.Status.CANCELLED
    assert paper_order(take_profit).status == "canceled"
    assert position.status == PositionGroup.Status.CLOSED
    assert position.exit_reason == "initial_stop"
    [sell] = market_sells(position)
    assert (sell.type, sell.status, sell.filled) == ("market", Order.Status.FILLED, D("0.01536"))
    assert sells_filled(position) == D("0.01536")  # the coins sold once
    hit = Event.objects.filter(kind="trade.stop_hit").latest("pk")
    assert f"cancelling its resting take profit (order {take_profit.client_order_id}) first" in (
        hit.message
    )


def test_without_the_option_the_stop_rests_and_the_take_profit_stays_on_the_desk(paper, desk):
    position = activate(
        desk, paper, rest_take_profit=False, initial_stop=STOP_2_PCT, take_profit=TAKE_3_PCT
    ).position

    assert position.rest_take_profit is False
    [stop] = resting(position)
    assert (stop.purpose, stop.trigger_price) == ("initial_stop", D("63700.00"))
    assert not position.orders.filter(type="limit").exists()

    set_price(symbol=BTC, price=D("66950.00"))
    tick(desk)

    position.refresh_from_db()
    assert position.exit_reason == "take_profit"
    [sell] = market_sells(position)
    assert sell.type == "market"  # the desk's rule sold at market, as before


def test_a_take_profit_on_an_indicator_stays_on_the_desk_and_the_stop_rests(paper, desk):
    """One coin backs one resting sell: only when the take profit cannot rest does the stop."""
    rsi_above = {
        "primary": "rsi",
        "primary_period": "14",
        "primary_timeframe": "15m",
        "condition": "above",
        "secondary": "fixed",
        "value": "70",
    }
    position = activate(desk, paper, initial_stop=STOP_2_PCT, take_profit=rsi_above).position

    [stop] = resting(position)
    assert stop.purpose == "initial_stop" and stop.trigger_price == D("63700.00")


def test_the_pages_say_the_exchange_holds_the_take_profit_and_the_stop_is_on_the_desk(
    paper, desk, client
):
    trade = activate(desk, paper, initial_stop=STOP_2_PCT, take_profit=TAKE_3_PCT)
    [take_profit] = resting(trade.position)
    client.force_login(paper.owner)

    page = client.get(reverse("positions:detail", args=[trade.position.pk])).content.decode()
    ticket_page = client.get(reverse("tickets:detail", args=[trade.pk])).content.decode()

    holds = (
        "the exchange holds the take profit: limit sell of 0.01536 BTC at 66,950.00 "
        f"(order {take_profit.client_order_id})"
    )
    stop_on_desk = (
        "on the desk&#x27;s rules loop: the exchange holds the take profit, and one coin backs "
        "only one resting sell"
    )
    assert holds in page and stop_on_desk in page
    assert holds[1:] in ticket_page and stop_on_desk[1:] in ticket_page  # capitalised there
    assert 'id="trade-rest-take-profit">on the exchange' in ticket_page


def test_a_take_profit_cancelled_outside_a_third_time_is_left_to_the_desk_and_no_stop_rests(
    paper, desk, client
):
    trade = activate(desk, paper, initial_stop=STOP_2_PCT, take_profit=TAKE_3_PCT)
    position = trade.position
    cancelled_outside(desk, paper, position, 3)

    assert resting(position) == []  # neither the take profit nor, in its place, the stop
    last = Event.objects.filter(kind="protection.stop_cancelled").latest("pk")
    assert last.message.endswith(
        "that is 3 times for this position, so the desk places no more; its rules loop "
        "remains the take profit."
    )
    client.force_login(paper.owner)
    ticket_page = client.get(reverse("tickets:detail", args=[trade.pk])).content.decode()
    assert GIVEN_UP[1:] in ticket_page  # capitalised there

    set_price(symbol=BTC, price=D("66950.00"))
    tick(desk)
    position.refresh_from_db()
    assert position.exit_reason == "take_profit"
    [sell] = market_sells(position)
    assert (sell.type, sell.filled) == ("market", D("0.01536"))


# --- A strategy's grid --------------------------------------------------------------------------


def test_aggregate_a_dca_leg_filling_lower_re_lays_the_take_profit_at_the_new_average(paper, desk):
    strategy = grid_strategy(paper.owner, tp_mode="aggregate", rest_take_profit=True)
    group = PositionGroup.objects.get(pk=desk.act(paper, strategy, signal()).group_id)

    assert group.rest_take_profit is True  # copied from the strategy
    [first] = resting(group)
    assert (first.purpose, first.type, first.leg_id) == ("group_tp", "limit", None)
    assert (first.price, first.amount) == (D("66300.00"), D("0.00614"))  # 65 000 × 1.02

    desk.price("63700.00")  # leg 2 fills
    sync_later(desk)

    first.refresh_from_db()
    assert first.status == Order.Status.CANCELLED and paper_order(first).status == "canceled"
    [again] = resting(group)
    # (0.00614385 × 65 000 + 0.0046953 × 63 700) / 0.01083915 = 64 436.87 average; × 1.02 up
    assert (again.purpose, again.price, again.amount) == (
        "group_tp",
        D("65725.61"),
        D("0.01083"),
    )
    assert paper_order(again).status == "open"

    desk.price("65725.61")  # the exchange fills it; the take-profit loop sells nothing at market
    desk.take_profit()
    assert market_sells(group) == []
    sync_later(desk)

    group.refresh_from_db()
    assert group.status == PositionGroup.Status.CLOSED
    assert group.exit_reason == "group_tp"
    assert sells_filled(group) == D("0.01083")
    # The whole position took its profit: leg 3, still resting as a limit buy, is cancelled.
    assert group.orders.get(side="buy", leg__index=2).status == Order.Status.CANCELLED
    assert (
        "cancelling 1 resting leg" in Event.objects.filter(kind="group.exit").latest("pk").message
    )


def test_per_leg_one_resting_limit_sell_per_filled_leg_at_its_own_target(paper, desk):
    strategy = grid_strategy(paper.owner, tp_mode="per_leg", rest_take_profit=True)
    group = PositionGroup.objects.get(pk=desk.act(paper, strategy, signal()).group_id)
    [leg_1] = resting(group)
    assert (leg_1.purpose, leg_1.leg.index, leg_1.price, leg_1.amount) == (
        "leg_tp",
        0,
        D("65975.00"),  # 65 000 × 1.015
        D("0.00614"),
    )

    desk.price("63700.00")  # leg 2 fills
    sync_later(desk)

    assert [
        (o.pk if o.leg.index == 0 else None, o.leg.index, o.price, o.amount) for o in resting(group)
    ] == [
        (leg_1.pk, 0, D("65975.00"), D("0.00614")),  # leg 1's sell untouched
        (None, 1, D("64337.00"), D("0.00469")),  # 63 700 × 1.01
    ]
    leg_2 = resting(group)[1]

    desk.price("64337.00")  # the exchange fills leg 2's sell
    desk.take_profit()
    assert market_sells(group) == []
    sync_later(desk)

    leg_2.refresh_from_db()
    group.refresh_from_db()
    assert leg_2.status == Order.Status.FILLED and leg_2.average == D("64337.00")
    assert group.status == PositionGroup.Status.OPEN
    assert [o.pk for o in resting(group)] == [leg_1.pk]  # leg 1's still rests
    assert group.legs.get(index=1).status == "closed"

    desk.price("65975.00")
    sync_later(desk)

    leg_1.refresh_from_db()
    group.refresh_from_db()
    assert leg_1.status == Order.Status.FILLED
    # Each leg took its own profit; leg 3 still rests as a limit buy, as per leg does.
    assert group.status == PositionGroup.Status.OPEN
    assert resting(group) == []
    assert group.orders.filter(side="buy", status="open").count() == 1
    assert market_sells(group) == []
    hits = Event.objects.filter(kind="trade.take_profit_hit").order_by("pk")
    assert [e.message.split(" hit on the exchange")[0] for e in hits] == [
        "Per-leg take profit of pyramid 1 · leg 2",
        "Per-leg take profit of pyramid 1 · leg 1",
    ]


def test_a_new_revision_with_the_option_swaps_the_resting_stop_for_the_take_profit(paper, desk):
    trade = activate(desk, paper, rest_take_profit=False, initial_stop=STOP_2_PCT)
    position = trade.position
    [stop] = resting(position)

    activation = desk.run(
        activate_ticket,
        user=paper.owner,
        ticket=ticket(
            paper, rest_take_profit=True, initial_stop=STOP_2_PCT, take_profit=TAKE_3_PCT
        ),
        trade=trade,
        now=timezone.now(),
    )

    assert activation.ok, activation.plan.problems
    position.refresh_from_db()
    stop.refresh_from_db()
    assert position.rest_take_profit is True
    assert stop.status == Order.Status.CANCELLED
    [take_profit] = resting(position)
    assert (take_profit.purpose, take_profit.price) == ("take_profit", D("66950.00"))
