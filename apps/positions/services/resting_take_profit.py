"""A position's take profit resting on the exchange: the limit sells `protection.protect`
keeps in line for a position opened with `rest_take_profit`, what the desk's own take-profit
paths ask before selling at market, and where the pages say the take profit acts.

Why rest it: a limit sell pays the maker fee, and fills on a wick between two ticks of the
desk's loops, or while the desk is down. Its cost: the exchange holds the coins, so the
position's stop stays on the desk's rules loop (one coin backs one resting sell on spot).
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db.models import Exists, OuterRef

from apps.core.message_figures import figures_of
from apps.exchanges.domain.types import OrderSide, OrderType
from apps.positions.domain.protection import (
    GROUP_TP,
    RULE_TP,
    TAKE_PROFIT_PURPOSES,
    TakeProfitPlan,
    WantedTakeProfit,
    plan_take_profit,
)
from apps.positions.models import DcaLeg, Order, PositionGroup
from apps.positions.services import intents
from apps.positions.services.events import group_event
from apps.strategies.domain import dca
from apps.strategies.domain.catalog import InvalidRule, RuleKind, Side
from apps.strategies.domain.evaluation import Inputs


def inputs_of(group: PositionGroup) -> Inputs:
    """What the resting orders' levels read: the entry, the highest and lowest price so far."""
    entry = group.average_entry
    return Inputs(
        last=group.last_price,
        entry_price=entry,
        highest=max(filter(None, (group.highest, entry)), default=None),
        lowest=min(filter(None, (group.lowest, entry)), default=None),
    )


def plan_of(group: PositionGroup) -> TakeProfitPlan:
    """The limit sells that should rest the group's take profit as it stands (none unless it
    opened with `rest_take_profit`): its rule on its entry, its group target on its average
    entry, or each held leg's own target."""
    if not group.rest_take_profit:
        return TakeProfitPlan()
    try:
        rule = group.parsed_exit_rules().get(RuleKind.TAKE_PROFIT)
    except InvalidRule:
        return TakeProfitPlan()
    mode = dca.TpMode(group.tp_mode)
    legs = intents.held_legs(group) if mode in (dca.TpMode.PER_LEG, dca.TpMode.HYBRID) else []
    plan = plan_take_profit(
        rule,
        inputs_of(group),
        Side(group.side),
        mode=mode,
        market=intents.market_rules(group),
        quantity=group.quantity,
        group_tp_pct=group.group_tp_pct,
        legs=intents.as_held(legs),
    )
    if plan.sells and (why := intents.resting_given_up(group)):
        return TakeProfitPlan((), dict.fromkeys(plan.where, why), dict.fromkeys(plan.legs, why))
    return plan


def place(group: PositionGroup, wanted: WantedTakeProfit) -> Order:
    leg = (
        DcaLeg.objects.select_related("pyramid").get(pk=wanted.leg)
        if wanted.leg is not None
        else None
    )
    order = Order.objects.create(
        group=group,
        leg=leg,
        account_id=group.account_id,
        purpose=wanted.purpose,
        symbol=group.symbol,
        side=OrderSide.SELL,
        type=OrderType.LIMIT,
        amount=wanted.amount,
        price=wanted.price,
        trigger_price=None,
        protective=True,
        client_order_id=intents.sell_client_order_id(group, wanted.purpose),
    )
    shown = figures_of(group)
    what = f"The take profit of {leg.label}" if leg else order.get_purpose_display()
    group_event(
        group,
        "protection.take_profit_placed",
        f"{what} rests on the exchange: limit sell of {shown.amount(wanted.amount)} "
        f"{intents.base_of(group.symbol)} at {shown.price(wanted.price)} "
        f"(order {order.client_order_id}).",
        data={
            "rule": wanted.purpose,
            "quantity": str(wanted.amount),
            "price": str(wanted.price),
            "leg": leg.number if leg else "",
            "pyramid": leg.pyramid.number if leg else "",
            "client_order_id": order.client_order_id,
        },
    )
    intents.send_on_commit(order)
    return order


def take_profit_rests():
    """For a queryset of positions: the take-profit rule's limit sell rests on the exchange.
    The rules loop leaves that rule to the exchange (a market sell would pay the taker fee
    the resting order avoids); the stops it still evaluates."""
    return Exists(
        Order.objects.filter(
            group=OuterRef("pk"), protective=True, purpose=RULE_TP, status__in=Order.LIVE
        )
    )


def rule_rests(group: PositionGroup) -> bool:
    """The locked group's take-profit rule rests as a limit sell (`take_profit_rests`)."""
    return intents.live_orders(group).filter(protective=True, purpose=RULE_TP).exists()


def resting_take_profits(group_ids: Sequence[int]) -> dict[int, set[tuple[str, int | None]]]:
    """(purpose, leg id) of each take profit resting on the exchange, by position, in one
    query: the take-profit loop leaves those to the exchange."""
    found: dict[int, set[tuple[str, int | None]]] = {}
    rows = Order.objects.filter(
        group_id__in=list(group_ids),
        protective=True,
        purpose__in=TAKE_PROFIT_PURPOSES,
        status__in=Order.LIVE,
    ).values_list("group_id", "purpose", "leg_id")
    for group_id, purpose, leg_id in rows:
        found.setdefault(group_id, set()).add((purpose, leg_id))
    return found


def loop_of(group: PositionGroup) -> str:
    return "rules loop" if group.tp_mode == dca.TpMode.RULES else "take-profit loop"


def take_profit_placement(group: PositionGroup, orders: Sequence[Order]) -> str:
    """For the position's and the ticket's page: where the take profit of a position opened
    with `rest_take_profit` acts ("" without the option: the desk's loops, as the page says).
    The resting limit sells (each leg's, for per-leg), and what stays on the desk and why."""
    if not group.rest_take_profit:
        return ""
    resting = [o for o in orders if o.protective and not o.is_stop and o.status in Order.LIVE]
    plan = plan_of(group) if group.status == PositionGroup.Status.OPEN else None
    shown = figures_of(group)
    base = intents.base_of(group.symbol)
    loop = f"on the desk's {loop_of(group)}"

    def sell_words(order: Order) -> str:
        return (
            f"limit sell of {shown.amount(order.amount - order.filled)} {base} at "
            f"{shown.price(order.price)} (order {order.client_order_id})"
        )

    parts = []
    if resting:
        by_leg = [o for o in resting if o.leg_id is not None]
        if by_leg:
            parts.append(
                "the exchange holds the take profit: "
                + "; ".join(f"{o.leg.label}: {sell_words(o)}" for o in by_leg)
            )
        for order in (o for o in resting if o.leg_id is None):
            parts.append(f"the exchange holds the take profit: {sell_words(order)}")
    if plan is not None:
        purpose = RULE_TP if group.tp_mode == dca.TpMode.RULES else GROUP_TP
        why = plan.where.get(purpose)
        if why and (not resting or group.tp_mode == dca.TpMode.HYBRID):
            parts.append(f"{'the whole position ' if resting else ''}{loop}: {why}")
        legs = {leg.pk: leg for leg in group.legs.select_related("pyramid")}
        for key, why in plan.legs.items():
            if why and key in legs:
                parts.append(f"{legs[key].label} {loop}: {why}")
    return "; ".join(parts) or loop
