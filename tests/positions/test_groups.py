"""Position groups on the paper exchange: entries open groups and lay DCA grids, the price
falls through the legs, pyramids up to the limit, exits, the per-account cap, refusals and
lost answers. Take profit has its own module (test_groups_take_profit.py)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.models import Event
from apps.exchanges.models import PaperBalance, PaperOrder, PaperSettings
from apps.positions.models import DcaLeg, Order, PositionGroup
from apps.positions.services import act_on_signal
from tests.client_ids import client_id
from tests.positions.grouping import Desk, grid_strategy, signal
from tests.tickets.conftest import BTC

pytestmark = pytest.mark.django_db

D = Decimal
FEE = D("0.001")


def stored(value: Decimal) -> Decimal:
    """A computed value as a MoneyField keeps it: 18 places (PostgreSQL rounds half up)."""
    return value.quantize(D("1E-18"), rounding=ROUND_HALF_UP)


@pytest.fixture
def desk(django_capture_on_commit_callbacks) -> Desk:
    return Desk(django_capture_on_commit_callbacks)


@pytest.fixture
def strategy(paper):
    return grid_strategy(paper.owner)


def kinds(group: PositionGroup) -> list[str]:
    return list(
        Event.objects.filter(subject_type="positions.positiongroup", subject_id=str(group.pk))
        .order_by("pk")
        .values_list("kind", flat=True)
    )


def leg_orders(group: PositionGroup) -> list[Order]:
    return list(group.orders.filter(purpose=Order.Purpose.DCA_LEG).order_by("pk"))


# --- Entry: a group and its grid ------------------------------------------------------------


def test_an_entry_opens_a_group_and_lays_the_grid_leg_0_at_market_the_rest_resting(
    paper, desk, strategy
):
    outcome = desk.act(paper, strategy, signal(), signal_id=None)

    assert outcome.decision == "executed", outcome.reason
    group = PositionGroup.objects.get(pk=outcome.group_id)
    assert (group.symbol, group.timeframe, group.side, group.status) == (BTC, "15", "long", "open")
    assert (group.tp_mode, group.group_tp_pct, group.pyramid_limit) == ("aggregate", 2, 5)
    pyramid = group.pyramids.get()
    assert (pyramid.index, pyramid.entry_price, pyramid.capital) == (0, D("65000"), D("1000"))

    first, second, third = leg_orders(group)
    assert (first.type, first.amount, first.price, first.status) == (
        "market",
        D("0.00615"),  # 400 USDT / 65000, down to the step
        None,
        Order.Status.FILLED,
    )
    assert first.client_order_id == client_id(group.pk, "p1l1")
    assert (second.type, second.price, second.amount, second.status) == (
        "limit",
        D("63700"),  # 2 % below
        D("0.0047"),  # 300 / 63700
        Order.Status.OPEN,
    )
    assert (third.type, third.price, third.amount, third.status) == (
        "limit",
        D("62400"),
        D("0.0048"),
        Order.Status.OPEN,
    )
    resting = PaperOrder.objects.filter(account=paper, status="open").order_by("price")
    assert [(o.client_order_id, o.price) for o in resting] == [
        (third.client_order_id, D("62400")),
        (second.client_order_id, D("63700")),
    ]
    assert outcome.order_ids == (first.pk, second.pk, third.pk)

    group.refresh_from_db()
    held = D("0.00615") * (1 - FEE)  # the buy's fee is paid in BTC
    assert group.quantity == held
    assert group.average_entry == D("65000")
    assert group.entry_cost == group.open_cost == D("0.00615") * 65000
    leg = group.legs.get(index=0)
    assert (leg.status, leg.filled, leg.quantity, leg.fill_price) == (
        "filled",
        D("0.00615"),
        held,
        65000,
    )
    assert [leg.status for leg in group.legs.order_by("index")] == ["filled", "working", "working"]
    assert kinds(group) == ["group.opened", "group.grid_laid", "trade.entry_filled"]


def test_the_price_falling_through_the_legs_fills_them_and_moves_the_average_entry(
    paper, desk, strategy
):
    group_id = desk.act(paper, strategy, signal()).group_id
    desk.price("63700.00")
    desk.sync()
    group = PositionGroup.objects.get(pk=group_id)
    first = D("0.00615") * (1 - FEE)
    second = D("0.0047") * (1 - FEE)  # a resting buy pays the maker fee, in BTC too
    assert group.quantity == first + second
    assert group.average_entry == stored((first * 65000 + second * 63700) / (first + second))
    assert group.legs.get(index=1).status == "filled"

    desk.price("62000.00")  # through the last leg at once
    desk.sync()
    group.refresh_from_db()
    third = D("0.0048") * (1 - FEE)
    assert group.quantity == first + second + third
    expected = (first * 65000 + second * 63700 + third * 62400) / (first + second + third)
    assert group.average_entry == stored(expected)
    assert group.legs.filter(status="filled").count() == 3
    # Resting legs fill at their own limit price, not the lower price that crossed them.
    assert group.legs.get(index=2).fill_price == D("62400")
    assert group.entry_cost == D("0.00615") * 65000 + D("0.0047") * 63700 + D("0.0048") * 62400
    assert kinds(group).count("trade.entry_filled") == 3


def test_the_signals_price_is_the_grids_reference_and_its_quantity_sets_the_capital(
    paper, desk, strategy
):
    outcome = desk.act(paper, strategy, signal(price="64000.00", quantity="0.02"))
    group = PositionGroup.objects.get(pk=outcome.group_id)
    pyramid = group.pyramids.get()
    assert (pyramid.entry_price, pyramid.capital) == (D("64000"), D("1280"))
    assert [(o.type, o.price, o.amount) for o in leg_orders(group)] == [
        ("market", None, D("0.00787")),  # 512 / 65000: a market buy is sized at the ask
        ("limit", D("62720"), D("0.00612")),  # 384 / 62720 = 0.0061224...
        ("limit", D("61440"), D("0.00625")),
    ]


def test_a_strategy_without_a_grid_buys_everything_at_market(paper, desk):
    strategy = grid_strategy(paper.owner, legs=[], sizing_value="650")
    outcome = desk.act(paper, strategy, signal())
    (order,) = leg_orders(PositionGroup.objects.get(pk=outcome.group_id))
    assert (order.type, order.amount, order.status) == ("market", D("0.01"), "filled")


def test_a_leg_below_the_minimum_is_reported_and_the_others_are_placed(paper, desk):
    strategy = grid_strategy(
        paper.owner,
        legs=[
            {"gap_pct": "0", "weight_pct": "75", "tp_pct": "1"},
            {"gap_pct": "2", "weight_pct": "25", "tp_pct": "1"},
        ],
        sizing_value="20",
    )
    outcome = desk.act(paper, strategy, signal())
    assert outcome.decision == "executed"
    assert "1 leg below the market minimum skipped" in outcome.reason
    group = PositionGroup.objects.get(pk=outcome.group_id)
    skipped = group.legs.get(index=1)
    assert skipped.status == DcaLeg.Status.SKIPPED
    assert "below the 5 USDT minimum" in skipped.problem
    assert len(leg_orders(group)) == 1
    event = Event.objects.get(kind="group.leg_below_minimum")
    assert event.level == "warning"
    assert event.data["reason"] == skipped.problem


def test_an_entry_no_leg_of_which_can_be_placed_is_rejected_and_writes_nothing(paper, desk):
    strategy = grid_strategy(paper.owner, sizing_value="4")
    outcome = desk.act(paper, strategy, signal())
    assert outcome.decision == "rejected"
    assert outcome.reason.startswith("No leg of the grid can be placed (leg 1: ")
    assert "below the 5 USDT minimum" in outcome.reason
    assert not PositionGroup.objects.exists()
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"order": signal(symbol="NOPE/USDT")}, "has no market NOPE/USDT"),
        ({"order": signal("buy")}, "Unknown action"),
        ({"sizing_kind": "risk_pct", "sizing_value": "1"}, "cannot be sized: Risk-based"),
        ({"order": signal(quantity="-1")}, "is not positive"),
    ],
)
def test_entries_that_cannot_execute_are_rejected_with_a_reason(paper, desk, change, fragment):
    order = change.pop("order", signal())
    strategy = grid_strategy(paper.owner, **change)
    outcome = desk.act(paper, strategy, order)
    assert outcome.decision == "rejected"
    assert fragment in outcome.reason
    assert outcome.order_ids == ()
    assert not PositionGroup.objects.exists()


def test_stale_market_rules_refuse_an_entry(paper, desk, strategy):
    paper.markets_refreshed_at = timezone.now() - timezone.timedelta(days=1)
    outcome = desk.act(paper, strategy, signal())
    assert outcome.decision == "rejected"
    assert "last refreshed" in outcome.reason


# --- Pyramids ---------------------------------------------------------------------------------


def test_later_entries_add_pyramids_up_to_the_limit_then_are_rejected(paper, desk):
    strategy = grid_strategy(paper.owner, legs=[], sizing_value="650", pyramid_limit=3)
    first = desk.act(paper, strategy, signal())
    desk.price("64000.00")
    second = desk.act(paper, strategy, signal(price="64000.00"))
    third = desk.act(paper, strategy, signal())
    fourth = desk.act(paper, strategy, signal())

    assert [o.decision for o in (first, second, third)] == ["executed"] * 3
    assert first.group_id == second.group_id == third.group_id
    assert "Pyramid 2 of 3 added" in second.reason
    assert fourth.decision == "rejected"
    assert (
        fourth.reason == f"BTC/USDT 15m long: pyramid limit 3 reached (position #{first.group_id})."
    )
    assert fourth.group_id == first.group_id
    group = PositionGroup.objects.get()
    assert list(group.pyramids.values_list("index", "entry_price")) == [
        (0, D("65000")),
        (1, D("64000")),
        (2, D("64000")),
    ]
    assert group.orders.count() == 3
    assert group.quantity == (D("0.01") + D("0.01015") + D("0.01015")) * (1 - FEE)
    assert kinds(group).count("group.pyramid_added") == 2


def test_a_pyramid_keeps_the_grid_the_group_opened_with(paper, desk, strategy):
    desk.act(paper, strategy, signal())
    strategy.dca_legs = []
    strategy.save()
    outcome = desk.act(paper, strategy, signal())
    group = PositionGroup.objects.get()
    assert group.legs.filter(pyramid__index=1).count() == 3
    assert len(outcome.order_ids) == 3


def test_another_timeframe_is_another_group(paper, desk, strategy):
    first = desk.act(paper, strategy, signal(timeframe="15"))
    second = desk.act(paper, strategy, signal(timeframe="60"))
    assert first.group_id != second.group_id
    assert PositionGroup.objects.filter(status="open").count() == 2


# --- Exit -------------------------------------------------------------------------------------


def test_an_exit_cancels_the_resting_legs_and_closes_the_position_at_market(paper, desk, strategy):
    group_id = desk.act(paper, strategy, signal(), signal_id=None).group_id
    desk.price("64000.00")
    outcome = desk.act(paper, strategy, signal("exit"))

    assert outcome.decision == "executed"
    assert "cancelling 2 resting legs" in outcome.reason
    group = PositionGroup.objects.get(pk=group_id)
    assert group.status == PositionGroup.Status.CLOSED
    assert group.exit_reason == Order.Purpose.EXIT_SIGNAL
    (sell,) = group.orders.filter(side="sell")
    assert outcome.order_ids == (sell.pk,)
    held = D("0.00615") * (1 - FEE)
    assert (sell.purpose, sell.type, sell.amount, sell.status) == (
        "exit_signal",
        "market",
        D("0.00614"),  # the 0.00614385 held, down to the step
        "filled",
    )
    assert sell.average == D("64000")
    assert not PaperOrder.objects.filter(account=paper, status="open").exists()
    assert [leg.status for leg in group.legs.order_by("index")] == [
        "closed",
        "cancelled",
        "cancelled",
    ]
    proceeds = D("0.00614") * 64000 * (1 - FEE)
    basis = D("0.00615") * 65000 * D("0.00614") / held
    assert group.realised_pnl == stored(proceeds - basis)
    assert group.quantity == held - D("0.00614")  # fee dust, too small to sell
    closed = Event.objects.get(kind="position.closed")
    assert closed.data["pnl"] == str(group.realised_pnl)
    assert closed.data["reason"] == "exit signal"
    assert "cannot be sold" in closed.message
    # The cash set aside for the cancelled legs is free again.
    usdt = PaperBalance.objects.get(account=paper, asset="USDT")
    assert usdt.used == 0


def test_an_exit_without_an_open_group_is_rejected(paper, desk, strategy):
    outcome = desk.act(paper, strategy, signal("exit"))
    assert outcome.decision == "rejected"
    assert outcome.reason == f"No open BTC/USDT 15m long position to exit on {paper.label}."


def test_exit_then_entry_closes_the_group_then_opens_a_new_one(paper, desk, strategy):
    first = desk.act(paper, strategy, signal())
    desk.act(paper, strategy, signal("exit"))
    second = desk.act(paper, strategy, signal())
    assert second.decision == "executed"
    assert second.group_id != first.group_id
    statuses = dict(PositionGroup.objects.values_list("pk", "status"))
    assert statuses == {first.group_id: "closed", second.group_id: "open"}


def test_an_entry_while_the_previous_group_is_still_closing_opens_a_new_group(
    paper, django_capture_on_commit_callbacks, strategy
):
    """The exit's orders have not been sent yet (a worker is behind): the closing group does
    not hold its key, so the entry 300 ms later executes after it, on a group of its own."""
    desk = Desk(django_capture_on_commit_callbacks)
    first = desk.act(paper, strategy, signal())
    with django_capture_on_commit_callbacks(execute=False) as pending:
        exit_outcome = act_on_signal(
            account=paper,
            strategy=strategy,
            order=signal("exit"),
            signal_id=None,
            now=timezone.now(),
        )
    assert PositionGroup.objects.get(pk=first.group_id).status == "closing"
    second = desk.act(paper, strategy, signal())
    assert second.decision == "executed" and second.group_id != first.group_id
    for callback in pending:
        callback()
    assert exit_outcome.decision == "executed"
    assert PositionGroup.objects.get(pk=first.group_id).status == "closed"
    assert PositionGroup.objects.get(pk=second.group_id).status == "open"


# --- The per-account cap ----------------------------------------------------------------------


def test_a_third_group_beyond_max_open_groups_2_is_queued_and_opens_when_a_slot_frees(
    paper, desk, strategy
):
    from apps.trade_queue.models import QueuedSignal

    paper.max_open_groups = 2
    paper.save(update_fields=["max_open_groups"])
    assert desk.act(paper, strategy, signal(symbol="BTC/USDT")).decision == "executed"
    assert desk.act(paper, strategy, signal(symbol="ETH/USDT")).decision == "executed"

    third = desk.act(paper, strategy, signal(symbol="SOL/USDT"))
    assert third.decision == "queued"
    assert third.reason == (
        f"Queued at rank 1 of 1: {paper.label}'s pool is full (2 of 2 slots used, max open "
        "groups 2); SOL/USDT 15m long waits for a free slot."
    )
    assert not PositionGroup.objects.filter(symbol="SOL/USDT").exists()
    # A pyramid add to an open group is exempt from the cap.
    assert desk.act(paper, strategy, signal(symbol="BTC/USDT")).decision == "executed"
    # A closing group frees its slot, and the queued entry takes it at once.
    desk.act(paper, strategy, signal("exit", symbol="ETH/USDT"))
    assert PositionGroup.objects.get(symbol="SOL/USDT").status == "open"
    assert QueuedSignal.objects.get().status == "promoted"
    assert PositionGroup.objects.filter(status="open").count() == 2


def test_one_open_group_per_key_is_enforced_by_the_database(paper, desk, strategy):
    group = PositionGroup.objects.get(pk=desk.act(paper, strategy, signal()).group_id)
    with pytest.raises(IntegrityError), transaction.atomic():
        PositionGroup.objects.create(
            owner=paper.owner,
            account=paper,
            symbol=group.symbol,
            timeframe=group.timeframe,
            side="long",
            opened_at=timezone.now(),
        )


def test_an_order_belongs_to_exactly_one_trade_or_group(paper):
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.create(
            account=paper,
            purpose="close",
            symbol=BTC,
            side="sell",
            type="market",
            amount=D(1),
            client_order_id="orphan",
        )


# --- Refusals and lost answers ----------------------------------------------------------------


def test_a_leg_the_exchange_refuses_is_reported_and_the_rest_of_the_grid_goes_on(
    paper, desk, strategy
):
    PaperBalance.objects.filter(account=paper, asset="USDT").update(free=D("750"))
    group_id = desk.act(paper, strategy, signal()).group_id
    group = PositionGroup.objects.get(pk=group_id)
    assert [leg.status for leg in group.legs.order_by("index")] == [
        "filled",
        "working",
        "rejected",  # 100 USDT left after leg 1's 299.39 is set aside
    ]
    refused = group.legs.get(index=2)
    assert "insufficient balance" in refused.problem
    assert group.status == "open"
    assert Event.objects.filter(kind="exchange.error", subject_id=str(group_id)).count() == 1


def test_a_refused_exit_leaves_the_group_in_error_until_the_trader_closes_it(paper, desk, strategy):
    from apps.positions.services import close_group

    group_id = desk.act(paper, strategy, signal()).group_id
    held = PaperBalance.objects.get(account=paper, asset="BTC")
    PaperBalance.objects.filter(pk=held.pk).update(free=0)  # sold elsewhere, behind our back
    desk.act(paper, strategy, signal("exit"))
    group = PositionGroup.objects.get(pk=group_id)
    assert group.status == PositionGroup.Status.ERROR
    assert group.orders.get(side="sell").status == "rejected"

    PaperBalance.objects.filter(pk=held.pk).update(free=held.free)
    desk.run(close_group, group=group, now=timezone.now())
    group.refresh_from_db()
    assert group.status == PositionGroup.Status.CLOSED
    assert group.exit_reason == "close"


def test_a_leg_lost_in_transit_is_cancelled_without_reaching_the_exchange(
    paper, django_capture_on_commit_callbacks, strategy
):
    """The sends fail before reaching the exchange (outcome unknown); an exit then finds no
    trace of the legs on the exchange and records them cancelled; the group closes."""
    desk = Desk(django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False) as sends:
        outcome = act_on_signal(
            account=paper, strategy=strategy, order=signal(), signal_id=None, now=timezone.now()
        )
    PaperSettings.objects.filter(account=paper).update(error_rates={"NetworkFailure": "1"})
    for send in sends:
        send()
    group = PositionGroup.objects.get(pk=outcome.group_id)
    assert set(group.orders.values_list("status", flat=True)) == {"unknown"}
    PaperSettings.objects.filter(account=paper).update(error_rates={})

    desk.act(paper, strategy, signal("exit"))
    group.refresh_from_db()
    assert set(group.orders.values_list("status", flat=True)) == {"cancelled"}
    assert group.status == PositionGroup.Status.CLOSED
    assert not PaperOrder.objects.filter(account=paper).exists()
    assert "no leg was filled" in Event.objects.get(kind="position.closed").message


def test_the_order_sync_loop_retries_a_cancel_the_exchange_did_not_answer(
    paper, django_capture_on_commit_callbacks, strategy
):
    desk = Desk(django_capture_on_commit_callbacks)
    group_id = desk.act(paper, strategy, signal()).group_id
    with django_capture_on_commit_callbacks(execute=False) as work:
        act_on_signal(
            account=paper,
            strategy=strategy,
            order=signal("exit"),
            signal_id=None,
            now=timezone.now(),
        )
    PaperSettings.objects.filter(account=paper).update(error_rates={"ExchangeUnavailable": "1"})
    for callback in work:  # the cancels and the sell all fail: nothing known to have happened
        callback()
    group = PositionGroup.objects.get(pk=group_id)
    assert group.status == PositionGroup.Status.CLOSING
    assert group.orders.filter(cancel_requested_at__isnull=False).count() == 2
    assert PaperOrder.objects.filter(account=paper, status="open").count() == 2

    PaperSettings.objects.filter(account=paper).update(error_rates={})
    desk.sync()
    group.refresh_from_db()
    assert group.status == PositionGroup.Status.CLOSED
    assert not PaperOrder.objects.filter(account=paper, status="open").exists()
    assert group.orders.get(side="sell").status == "filled"


def test_a_leg_that_fills_before_its_cancel_lands_is_sold_with_the_rest(
    paper, django_capture_on_commit_callbacks, strategy
):
    desk = Desk(django_capture_on_commit_callbacks)
    group_id = desk.act(paper, strategy, signal()).group_id
    with django_capture_on_commit_callbacks(execute=False) as work:
        act_on_signal(
            account=paper,
            strategy=strategy,
            order=signal("exit"),
            signal_id=None,
            now=timezone.now(),
        )
    desk.price("63700.00")  # leg 1 fills on the exchange before the cancel arrives
    with django_capture_on_commit_callbacks(execute=True):
        for callback in work:
            callback()
    group = PositionGroup.objects.get(pk=group_id)
    assert group.status == PositionGroup.Status.CLOSED
    sells = list(group.orders.filter(side="sell").order_by("pk"))
    assert [s.client_order_id for s in sells] == [
        client_id(group_id, "x1"),
        client_id(group_id, "x2"),
    ]
    assert sells[1].amount == D("0.00469")  # leg 1's 0.0046953, with the first sell's dust
    assert group.legs.get(index=1).status == "closed"
    assert group.legs.get(index=2).status == "cancelled"
