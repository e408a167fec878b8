"""The take-profit loop on the paper exchange: each mode closes the right quantities at the
right prices (per-leg, aggregate, hybrid), and nothing is sold twice."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from apps.core.models import Event
from apps.exchanges.models import PaperOrder
from apps.positions.models import DcaLeg, Order, PositionGroup
from tests.positions.grouping import Desk, grid_strategy, signal

pytestmark = pytest.mark.django_db

D = Decimal
FEE = D("0.001")
LEG_0 = D("0.00615") * (1 - FEE)  # held after the buy's fee, paid in BTC
LEG_1 = D("0.0047") * (1 - FEE)
COST_0 = D("0.00615") * 65000
COST_1 = D("0.0047") * 63700


def stored(value: Decimal) -> Decimal:
    return value.quantize(D("1E-18"), rounding=ROUND_HALF_UP)


@pytest.fixture
def desk(django_capture_on_commit_callbacks) -> Desk:
    return Desk(django_capture_on_commit_callbacks)


def open_group(desk, paper, strategy, *, fill_leg_1: bool = True) -> PositionGroup:
    """Leg 0 bought at 65000; with `fill_leg_1`, the price dips to 63700 and leg 1 fills."""
    group_id = desk.act(paper, strategy, signal()).group_id
    if fill_leg_1:
        desk.price("63700.00")
        desk.sync()
    return PositionGroup.objects.get(pk=group_id)


def sells(group: PositionGroup) -> list[Order]:
    return list(group.orders.filter(side="sell").order_by("pk"))


def test_per_leg_each_filled_leg_sells_its_own_quantity_at_its_own_target(paper, desk):
    strategy = grid_strategy(paper.owner, tp_mode="per_leg")
    group = open_group(desk, paper, strategy)

    desk.price("64336.99")  # leg 1's target is 63700 × 1.01 = 64337
    desk.take_profit()
    assert sells(group) == []

    desk.price("64337.00")
    report = desk.take_profit()
    assert report.acted == [(group.pk, "leg")]
    (leg_1_tp,) = sells(group)
    assert (leg_1_tp.purpose, leg_1_tp.type, leg_1_tp.amount, leg_1_tp.status) == (
        "leg_tp",
        "market",
        D("0.00469"),  # leg 1's 0.0046953 held, down to the step
        "filled",
    )
    assert leg_1_tp.average == D("64337")
    assert leg_1_tp.leg.index == 1
    group.refresh_from_db()
    assert group.status == "open"  # leg 0 still held, leg 2 still resting
    assert group.average_entry == D("65000")  # what is left: leg 0
    proceeds = D("0.00469") * 64337 * (1 - FEE)
    assert group.realised_pnl == stored(proceeds - COST_1 * D("0.00469") / LEG_1)
    assert group.legs.get(index=1).status == DcaLeg.Status.CLOSED

    desk.price("65974.99")  # leg 0's target is 65000 × 1.015 = 65975
    desk.take_profit()
    assert len(sells(group)) == 1
    desk.price("65975.00")
    desk.take_profit()
    leg_0_tp = sells(group)[1]
    assert (leg_0_tp.amount, leg_0_tp.average, leg_0_tp.leg.index) == (
        D("0.00614"),
        D("65975"),
        0,
    )
    group.refresh_from_db()
    assert group.status == "open"  # leg 2 still rests at 62400
    assert PaperOrder.objects.filter(account=paper, status="open").count() == 1
    hits = Event.objects.filter(kind="trade.take_profit_hit", subject_id=str(group.pk))
    assert [D(hit.data["target"]) for hit in hits.order_by("pk")] == [D("64337"), D("65975")]
    assert [hit.data["quantity"] for hit in hits.order_by("pk")] == ["0.00469", "0.00614"]

    desk.take_profit()  # nothing left to take profit on: nothing more is sold
    assert len(sells(group)) == 2


def test_aggregate_sells_the_whole_position_at_average_entry_plus_the_group_tp(paper, desk):
    strategy = grid_strategy(paper.owner, tp_mode="aggregate", group_tp_pct="2")
    group = open_group(desk, paper, strategy)
    average = stored((LEG_0 * 65000 + LEG_1 * 63700) / (LEG_0 + LEG_1))
    assert group.average_entry == average
    target = average * D("1.02")  # 65725.6...

    desk.price("65725.00")  # leg 1's own target (64337) is long passed: aggregate ignores legs
    desk.take_profit()
    assert sells(group) == []

    desk.price("65726.00")
    report = desk.take_profit()
    assert report.acted == [(group.pk, "group")]
    (sell,) = sells(group)
    assert (sell.purpose, sell.amount, sell.average, sell.leg) == (
        "group_tp",
        D("0.01083"),  # the whole 0.01083915 held, down to the step
        D("65726"),
        None,
    )
    group.refresh_from_db()
    assert group.status == PositionGroup.Status.CLOSED
    assert group.exit_reason == "group_tp"
    # The group's take profit closes the group: its resting leg is cancelled.
    assert group.legs.get(index=2).status == "cancelled"
    assert not PaperOrder.objects.filter(account=paper, status="open").exists()
    proceeds = D("0.01083") * 65726 * (1 - FEE)
    basis = (COST_0 + COST_1) * D("0.01083") / (LEG_0 + LEG_1)
    assert group.realised_pnl == stored(proceeds - basis)
    hit = Event.objects.get(kind="trade.take_profit_hit", subject_id=str(group.pk))
    # The message quotes its prices on the market's 0.01 tick; the event's data stays exact.
    assert target.quantize(D("0.01")) == D("65725.60")
    assert (
        "last 65,726.00 reached the group's target 65,725.60 (average entry 64,436.87 + 2 %)"
        in (hit.message)
    )
    assert D(hit.data["price"]) == D("65726")
    # The entry and DCA fills, the sell and the close read on the 0.01 tick and the 0.00001
    # step (an amount off the step keeps its digits), quote values to 2 places with the unit.
    events = Event.objects.filter(subject_id=str(group.pk), subject_type="positions.positiongroup")
    fills = [e.message for e in events.filter(kind="trade.entry_filled").order_by("pk")]
    assert fills == [
        "DCA pyramid 1 · leg 1 filled: 0.00615 BTC at 65,000.00. The position holds "
        "0.00614385 BTC, average entry 65,000.00.",
        "DCA pyramid 1 · leg 2 filled: 0.00470 BTC at 63,700.00. The position holds "
        "0.01083915 BTC, average entry 64,436.87.",
    ]
    assert average.quantize(D("0.01")) == D("64436.87")
    assert group.realised_pnl.quantize(D("0.01")) == D("12.55")
    sold = events.get(kind="group.sold")
    assert sold.message == (
        "Group take profit order filled 0.01083 BTC at 65,726.00 for the position: realised "
        "+12.55 USDT."
    )
    assert D(sold.data["pnl"]) == group.realised_pnl
    assert events.get(kind="position.closed").message.startswith(
        "Position closed (group take profit): realised +12.55 USDT (+1.80 %)."
    )
    closed = Event.objects.get(kind="position.closed", subject_id=str(group.pk))
    assert closed.data["pnl"] == str(group.realised_pnl)
    assert closed.data["reason"] == "group take profit"


def test_hybrid_a_leg_takes_its_profit_first_then_the_group_target_adjusts_to_what_is_left(
    paper, desk
):
    strategy = grid_strategy(
        paper.owner,
        tp_mode="hybrid",
        group_tp_pct="2",
        legs=[
            {"gap_pct": "0", "weight_pct": "40", "tp_pct": "3"},
            {"gap_pct": "2", "weight_pct": "30", "tp_pct": "1"},
            {"gap_pct": "4", "weight_pct": "30", "tp_pct": "5"},
        ],
    )
    group = open_group(desk, paper, strategy)

    # Leg 1's own target (64337) comes before the group's (65725.6): it sells alone.
    desk.price("64337.00")
    desk.take_profit()
    (leg_tp,) = sells(group)
    assert (leg_tp.purpose, leg_tp.amount, leg_tp.leg.index) == ("leg_tp", D("0.00469"), 1)
    group.refresh_from_db()
    assert group.status == "open"
    assert group.average_entry == D("65000")  # the group's target is now 65000 × 1.02 = 66300

    desk.price("65800.00")  # past the first group target, short of the adjusted one
    desk.take_profit()
    assert len(sells(group)) == 1

    desk.price("66300.00")  # the adjusted group target, before leg 0's own 66950
    desk.take_profit()
    group_tp = sells(group)[1]
    held = LEG_0 + LEG_1 - D("0.00469")  # leg 0 and leg 1's fee dust
    assert (group_tp.purpose, group_tp.amount, group_tp.average) == (
        "group_tp",
        D("0.00614"),
        D("66300"),
    )
    assert held - D("0.00614") < D("0.00001")
    group.refresh_from_db()
    assert group.status == PositionGroup.Status.CLOSED
    assert [leg.status for leg in group.legs.order_by("index")] == [
        "closed",
        "closed",
        "cancelled",
    ]


def test_a_sell_in_flight_is_never_sold_again_by_the_next_tick(
    paper, desk, django_capture_on_commit_callbacks
):
    from django.utils import timezone

    from apps.positions.services import take_profit

    strategy = grid_strategy(paper.owner, tp_mode="per_leg")
    group = open_group(desk, paper, strategy, fill_leg_1=False)
    desk.price("66000.00")
    with django_capture_on_commit_callbacks(execute=False):
        take_profit(now=timezone.now())  # the sell is written; its send has not run yet
    with django_capture_on_commit_callbacks(execute=False):
        report = take_profit(now=timezone.now())
    assert report.acted == []
    assert len(sells(group)) == 1


def test_the_loop_records_the_last_price_for_unrealised_pnl(paper, desk):
    strategy = grid_strategy(paper.owner)
    group = open_group(desk, paper, strategy, fill_leg_1=False)
    desk.price("65650.00")  # +1 %, short of the 2 % group target
    desk.take_profit()
    group.refresh_from_db()
    assert group.last_price == D("65650")
    assert group.unrealised_pnl == LEG_0 * 650
    assert group.unrealised_pnl_pct == D(1)
