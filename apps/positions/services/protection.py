"""Protection that survives the desk: a position's stop resting on the exchange.

Once a position holds coins, its initial or trailing stop (where the rule is a price the
exchange can hold: `apps.positions.domain.protection`) rests as one stop order for its whole
quantity, so it acts while the worker, the database or the machine is down. The desk keeps
it in line with the position, always with the position locked:

* a fill of the entry, a DCA leg or a pyramid, or a partial sell, resizes it (cancel, then
  place anew: the exchange holds the coins until the cancel lands);
* a trailing stop's rising level moves it, never down, at most every STOP_MOVE_SECONDS;
* any other sell (a take profit, the risk engine, a close) first cancels it and waits for
  the cancel: the coins are then free, and if the stop filled first there is nothing left
  to sell; a quantity is never sold twice;
* a stop cancelled on the exchange by someone else is placed again and the trader told (twice
  a position at most, then the rules loop remains its stop: `intents.PLACED_AGAIN_AT_MOST`);
* the exchange refusing it because the price has already crossed it closes the position at
  market, for that reason.

The desk's rules loop stays the second line: it evaluates the same rules every tick and, if
one fires first, closes the position the usual way (cancel the stop, then sell what is left).

A position opened with `rest_take_profit` rests its take profit instead: limit sells at the
targets (`plan_take_profit`: the ticket's rule, the group's target, or one per held leg),
re-laid the same way as the position changes (a DCA fill moves the average, a pyramid adds
quantity, a leg's sale removes its sell). On spot one coin backs only one resting sell, so
its stop then stays on the desk's rules loop, which sells the usual way when it fires (the
resting take profit cancelled first); only a position whose take profit cannot rest (an
indicator's rule, below the minimums) rests its stop. The desk's own take-profit paths leave
a take profit that rests to the exchange (`take_profit_rests`). No OCO order: see
`apps.positions.domain.protection`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from apps.core.message_figures import figures_of
from apps.core.models import Event
from apps.exchanges.domain.types import OrderSide
from apps.exchanges.errors import WouldTriggerImmediately
from apps.positions.domain.protection import (
    Plan,
    WantedStop,
    WantedTakeProfit,
    plan_stop,
    resting_level,
)
from apps.positions.models import Order, PositionGroup
from apps.positions.services import intents, resting_take_profit
from apps.positions.services.events import group_event, times_told
from apps.positions.services.settle import settle
from apps.positions.services.signals import HIT_EVENT, close_group_locked
from apps.strategies.domain.catalog import InvalidRule, RuleKind, Side
from apps.strategies.domain.evaluation import Inputs


def plan_of(group: PositionGroup) -> Plan:
    """The stop that should rest for the group as it stands (its rules on its entry, its
    highest and lowest price so far, its quantity)."""
    try:
        rules = group.parsed_exit_rules()
    except InvalidRule:
        return Plan(None, {})
    plan = plan_stop(
        rules,
        resting_take_profit.inputs_of(group),
        Side(group.side),
        market=intents.market_rules(group),
        quantity=group.quantity,
        limit_offset_pct=settings.STOP_LIMIT_OFFSET_PCT,
    )
    if plan.stop is not None and (why := intents.resting_given_up(group)):
        return Plan(None, dict.fromkeys(plan.where, why))
    return plan


def wanted_of(group: PositionGroup) -> tuple[WantedStop | None, tuple[WantedTakeProfit, ...]]:
    """What should rest for the open group now: its take profit's limit sells (with the
    option, where they can), else its stop (where it can, RESTING_STOPS on). Never both: the
    exchange holds the coins of every resting sell, and they are the same coins."""
    if group.quantity <= 0:
        return None, ()
    take_profits = resting_take_profit.plan_of(group).sells
    if take_profits:
        return None, take_profits
    return (plan_of(group).stop if settings.RESTING_STOPS else None), ()


def live_protective(group: PositionGroup) -> list[Order]:
    return list(
        intents.live_orders(group).filter(protective=True).select_for_update().order_by("pk")
    )


def waiting_sells(group: PositionGroup) -> list[Order]:
    """The group's other live sells: while any is live, no stop rests (it would hold the
    coins they sell)."""
    return list(
        intents.live_orders(group)
        .filter(side=OrderSide.SELL, protective=False)
        .select_for_update()
        .order_by("pk")
    )


def protect(group: PositionGroup, *, now: datetime, place: bool = True) -> None:
    """Bring the locked group's resting orders (its stop, or its take profit's limit sells)
    in line with it. Called after every change of the group (a recorded fill or cancel) and
    by the rules loop when a trailing level rose.

    1. While another sell is live (a take profit at market, a close), or the group is not
       Open, every resting order is cancelled; once they are gone, the sells that waited for
       them are sent (`release_sells`).
    2. Nothing rests for a group that holds nothing sellable.
    3. A live resting order that no longer fits (another amount or price, a level that rose,
       or nothing of its kind wanted) is cancelled.
    4. While any cancel is on its way, nothing is placed: the exchange holds those coins
       until it lands, and its record calls this again. Then each wanted order with no live
       one is written and sent after commit (not with `place=False`: right after the exchange
       refused one, which must not loop).
    """
    resting = live_protective(group)
    sells = waiting_sells(group)
    if sells or group.status != PositionGroup.Status.OPEN:
        for order in resting:
            _cancel(group, order, now)
        if sells and not any(order.status in Order.LIVE for order in resting):
            release_sells(group, sells, now=now)
        return
    stop, take_profits = wanted_of(group)
    kept: list[Order] = []
    leaving = False
    for order in resting:
        if order.cancel_requested_at is not None:
            leaving = True  # already on its way out
        elif _fits(order, stop, take_profits, now):
            kept.append(order)
        else:
            leaving |= _cancel(group, order, now)
    if leaving or not place:
        return
    if stop is not None and not any(order.is_stop for order in kept):
        _place(group, stop)
    for wanted in take_profits:
        if not any(_is(order, wanted) for order in kept):
            resting_take_profit.place(group, wanted)


def _fits(
    order: Order,
    stop: WantedStop | None,
    take_profits: tuple[WantedTakeProfit, ...],
    now: datetime,
) -> bool:
    if order.is_stop:
        return stop is not None and not _must_replace(order, stop, now)
    return any(_is(order, wanted) for wanted in take_profits)


def _is(order: Order, wanted: WantedTakeProfit) -> bool:
    """The resting limit sell is the wanted one: same take profit (and leg), price and what
    is left of its amount. Anything else is cancelled and laid again."""
    return (
        not order.is_stop
        and order.purpose == wanted.purpose
        and order.leg_id == wanted.leg
        and order.price == wanted.price
        and order.amount - order.filled == wanted.amount
    )


def _must_replace(order: Order, wanted: WantedStop, now: datetime) -> bool:
    """A resting stop is replaced for another amount at once, and for a higher trigger (a
    trailing stop's level rose) once it has rested STOP_MOVE_SECONDS; never for a lower one
    alone: a stop is never loosened by a move."""
    if order.cancel_requested_at is not None:
        return False  # already on its way out
    if order.amount - order.filled != wanted.amount:
        return True
    if wanted.trigger > order.trigger_price:
        return now - order.created_at >= timedelta(seconds=settings.STOP_MOVE_SECONDS)
    return False


def _cancel(group: PositionGroup, order: Order, now: datetime) -> bool:
    """Ask to cancel a resting order; True while the exchange still holds it (a cancel on its
    way), False when it never left the desk and is cancelled already."""
    if order.status in Order.LIVE and order.cancel_requested_at is None:
        intents.request_cancel(group, order, now=now)
    return order.status in Order.LIVE


def _place(group: PositionGroup, wanted: WantedStop) -> Order:
    purpose = wanted.kind.value
    # The stop it replaces, if the desk cancelled one to move or resize it: the event says so.
    replaced = (
        group.orders.filter(
            protective=True,
            trigger_price__isnull=False,
            status=Order.Status.CANCELLED,
            cancel_requested_at__isnull=False,
        )
        .order_by("-pk")
        .first()
    )
    order = Order.objects.create(
        group=group,
        account_id=group.account_id,
        purpose=purpose,
        symbol=group.symbol,
        side=OrderSide.SELL,
        type=wanted.type,
        amount=wanted.amount,
        price=wanted.price,
        trigger_price=wanted.trigger,
        protective=True,
        client_order_id=intents.sell_client_order_id(group, purpose),
    )
    shown = figures_of(group)
    kind = "stop-market" if wanted.price is None else f"stop-limit at {shown.price(wanted.price)}"
    base = intents.base_of(group.symbol)
    event, what = "protection.stop_placed", f"{wanted.kind.label} rests on the exchange"
    if replaced is not None and replaced.amount != wanted.amount:
        event = "protection.stop_resized"
        what = (
            f"{wanted.kind.label} resized on the exchange from {shown.amount(replaced.amount)} "
            f"{base} (order {replaced.client_order_id} replaced)"
        )
    elif replaced is not None and replaced.trigger_price < wanted.trigger:
        event = "protection.stop_moved"
        what = (
            f"{wanted.kind.label} moved up on the exchange from "
            f"{shown.price(replaced.trigger_price)} (order {replaced.client_order_id} replaced)"
        )
    group_event(
        group,
        event,
        f"{what}: {kind} sell of {shown.amount(wanted.amount)} {base} triggered at "
        f"{shown.price(wanted.trigger)} (order {order.client_order_id}).",
        data={
            "rule": purpose,
            "quantity": str(wanted.amount),
            "trigger": str(wanted.trigger),
            "price": "" if wanted.price is None else str(wanted.price),
            "client_order_id": order.client_order_id,
        },
    )
    intents.send_on_commit(order)
    return order


def release_sells(group: PositionGroup, sells: list[Order], *, now: datetime) -> None:
    """Send the sells that waited for the resting stop's cancel. One never sent is cut to
    what the group still holds (the stop may have filled first) or, with nothing left,
    cancelled unsent; the coins are sold once."""
    sent = sum((o.amount - o.filled for o in sells if o.attempts > 0), Decimal(0))
    available = group.quantity - sent
    dropped = False
    for order in sells:
        if order.attempts > 0 or order.status != Order.Status.PENDING:
            continue
        amount, why = intents.prepare_sell(
            group, min(order.amount, available), group.last_price or group.average_entry
        )
        if amount is None:
            Order.objects.filter(pk=order.pk, attempts=0).update(
                status=Order.Status.CANCELLED,
                error=f"Not sent: the resting stop sold first ({why}).",
                updated_at=now,
            )
            order.status = Order.Status.CANCELLED
            dropped = True
            group_event(
                group,
                "protection.sell_dropped",
                f"Order {order.client_order_id} is not sent: the resting stop sold the coins "
                "first, nothing is left to sell.",
                data={"client_order_id": order.client_order_id, "reason": why},
            )
            continue
        if amount != order.amount:
            Order.objects.filter(pk=order.pk, attempts=0).update(amount=amount)
            order.amount = amount
        available -= amount
        intents.send_on_commit(order)
    if dropped:
        settle(group, price=None, now=now)  # nothing left to wait for: it may close now


def hit(group: PositionGroup, order: Order, filled: Decimal, price: Decimal) -> None:
    """A resting order's first fill on the exchange: its stop or take profit was hit, told as
    when the desk's own loop sees it (the same event, so the same notification). Not told
    twice: when the desk's rule for the same stop fired first (its close is under way), the
    trader was told then."""
    if group.status == PositionGroup.Status.CLOSING and group.exit_reason == order.purpose:
        return
    shown = figures_of(group)
    base = intents.base_of(group.symbol)
    if order.is_stop:
        kind = "stop-market" if order.price is None else f"stop-limit at {shown.price(order.price)}"
        resting = f"{kind} sell triggered at {shown.price(order.trigger_price)}"
    else:
        resting = f"limit sell at {shown.price(order.price)}"
    what = order.get_purpose_display()
    if order.leg_id is not None:
        what = f"Per-leg take profit of {order.leg.label}"  # as the take-profit loop says it
    group_event(
        group,
        HIT_EVENT.get(order.purpose, "group.exit"),
        f"{what} hit on the exchange: its resting {resting} filled {shown.amount(filled)} "
        f"{base} at {shown.price(price)} (order {order.client_order_id}).",
        data={
            "quantity": str(filled),
            "price": str(price),
            "reason": intents.CLOSE_REASONS.get(order.purpose, order.purpose_words),
            "client_order_id": order.client_order_id,
            "where": "exchange",
        },
    )


def filled(group: PositionGroup, order: Order, *, now: datetime) -> None:
    """A resting order for the whole position (a stop, the take-profit rule's or the group's
    limit sell) filled on the exchange: the position is done, as when the desk's own rule
    sells it. Its DCA legs still resting are cancelled, so none buys into a closed position
    (a leg's own take profit leaves the other legs working, as the take-profit loop does)."""
    if order.leg_id is not None or group.status != PositionGroup.Status.OPEN:
        return
    buys = intents.live_orders(group).filter(side=OrderSide.BUY)
    legs = buys.count()
    if not legs:
        return  # nothing else working: it settles closed at once (`settle._sold_by`)
    intents.begin_close(group, purpose=order.purpose, price=order.average, signal_id=None, now=now)
    group_event(
        group,
        "group.exit",
        f"The resting {order.purpose_words} {order.client_order_id} filled on the exchange: "
        f"closing the position, cancelling {legs} resting leg{'s' if legs > 1 else ''}.",
        data={"reason": order.purpose, "client_order_id": order.client_order_id},
    )


def cancelled_outside(group: PositionGroup, order: Order, *, now: datetime) -> None:
    """The exchange reports a resting order cancelled that the desk never asked to cancel:
    someone cancelled it by hand. The trader is told; `protect` places it again, unless the
    position's resting orders were cancelled so too often (`intents.PLACED_AGAIN_AT_MOST`)."""
    times = times_told(group, intents.CANCELLED_OUTSIDE) + 1
    if times <= intents.PLACED_AGAIN_AT_MOST:
        then = "placing it again"
    else:
        loop = "rules loop" if order.is_stop else resting_take_profit.loop_of(group)
        then = (
            f"that is {times} times for this position, so the desk places no more; its {loop} "
            f"remains the {'stop' if order.is_stop else 'take profit'}"
        )
    group_event(
        group,
        intents.CANCELLED_OUTSIDE,
        f"The resting {order.purpose_words} {order.client_order_id} was cancelled on the "
        f"exchange, not by the desk: {then}.",
        level=Event.Level.WARNING,
        data={"client_order_id": order.client_order_id, "rule": order.purpose, "times": times},
    )


def refused(group: PositionGroup, order: Order, error: Exception, *, now: datetime) -> None:
    """The exchange refused a resting stop. Refused because the price has already crossed
    it: the position is closed at market for that reason. Refused otherwise: the desk's rules
    loop remains its stop, and the trader is told why."""
    if isinstance(error, WouldTriggerImmediately) and group.status == PositionGroup.Status.OPEN:
        close_group_locked(
            group,
            purpose=order.purpose,
            price=group.last_price,
            signal_id=None,
            now=now,
            why=f"The exchange refused the resting {order.purpose_words} {order.client_order_id}: "
            "the price has already crossed it;",
        )
        return
    if order.is_stop:
        remains = "The desk's rules loop remains the stop."
    else:
        remains = f"The desk's {resting_take_profit.loop_of(group)} remains the take profit."
    group_event(
        group,
        "protection.stop_refused",
        f"The exchange refused the resting {order.purpose_words} {order.client_order_id}: "
        f"{error}. {remains}",
        level=Event.Level.WARNING,
        data={"client_order_id": order.client_order_id, "reason": str(error)},
    )


def stops_to_move(positions: Sequence[PositionGroup], *, now: datetime) -> list[int]:
    """The positions (of a rules-loop tick, their highest price just updated) whose trailing
    level has risen above their resting stop's trigger, and whose stop has rested long enough
    to move (STOP_MOVE_SECONDS). One query, whatever the number of positions; only the ones
    that move cost more (`protect_position`)."""
    by_pk = {p.pk: p for p in positions if RuleKind.TRAILING_STOP.value in p.exit_rules}
    if not settings.RESTING_STOPS or not by_pk:
        return []
    stops = Order.objects.filter(
        group_id__in=list(by_pk),
        protective=True,
        trigger_price__isnull=False,  # a resting take profit is no stop to move
        status__in=Order.LIVE,
        cancel_requested_at__isnull=True,
    ).values_list("group_id", "trigger_price", "created_at")
    rested = now - timedelta(seconds=settings.STOP_MOVE_SECONDS)
    due = []
    for group_id, trigger, created_at in stops:
        position = by_pk[group_id]
        if created_at > rested:
            continue
        try:
            rule = position.parsed_exit_rules().get(RuleKind.TRAILING_STOP)
        except InvalidRule:
            continue
        if rule is None:
            continue
        inputs = Inputs(
            last=position.last_price,
            entry_price=position.average_entry,
            highest=position.highest,
            lowest=position.lowest,
        )
        level, _ = resting_level(rule, inputs, Side(position.side))
        if level is not None and level > trigger:
            due.append(group_id)
    return due


def protect_position(*, position_id: int, now: datetime) -> None:
    """`protect` one open position, under its lock: the rules loop moving a trailing stop up,
    reconciliation checking that each open position's stop rests."""
    with transaction.atomic():
        group = (
            PositionGroup.objects.select_for_update(of=("self",))
            .select_related("owner", "account")
            .filter(pk=position_id, status=PositionGroup.Status.OPEN)
            .first()
        )
        if group is not None:
            protect(group, now=now)


def placements(group: PositionGroup, orders: Sequence[Order]) -> list[tuple[str, str, str]]:
    """For the position's page: (rule label, the rule in words, where it acts) of each stop
    rule. Where it acts: on the exchange (the resting order), or on the desk's rules loop and
    why there."""
    words = dict(group.stop_words)
    if not words:
        return []
    resting = [o for o in orders if o.protective and o.status in Order.LIVE]
    open_ = group.status == PositionGroup.Status.OPEN
    reasons = plan_of(group).where if open_ else {}
    take_profit_rests = any(not o.is_stop for o in resting) or (
        open_ and bool(resting_take_profit.plan_of(group).sells)
    )
    resting = [o for o in resting if o.is_stop]
    shown = figures_of(group)
    found = []
    for kind in (RuleKind.INITIAL_STOP, RuleKind.TRAILING_STOP):
        if kind.label not in words:
            continue
        stop = next((o for o in resting if o.purpose == kind.value), None)
        if group.status == PositionGroup.Status.CLOSED:
            where = "no longer acting: the position is closed"
        elif stop is not None:
            kind_words = "stop-market" if stop.price is None else "stop-limit"
            where = (
                f"rests on the exchange: {kind_words} sell of {shown.amount(stop.amount)} "
                f"{intents.base_of(group.symbol)} triggered at {shown.price(stop.trigger_price)} "
                f"(order {stop.client_order_id}); the desk's rules loop is the second line"
            )
        elif take_profit_rests:
            where = (
                "on the desk's rules loop: the exchange holds the take profit, and one coin "
                "backs only one resting sell"
            )
        elif reasons.get(kind):
            where = f"on the desk's rules loop: {reasons[kind]}"
        elif resting:
            where = "on the desk's rules loop; the exchange holds the other stop, the tighter one"
        elif not settings.RESTING_STOPS:
            where = "on the desk's rules loop (resting stops are off: RESTING_STOPS)"
        else:
            where = "on the desk's rules loop"
        found.append((kind.label, words[kind.label], where))
    return found


def where_it_acts(group: PositionGroup, orders: Sequence[Order]) -> dict[str, object]:
    """The page's words on where the position's protection acts, as template context: `stops`
    (`placements`) and `take_profit_where` (with `rest_take_profit`). One function for the
    position's page, the trade's page and the facts pushed live."""
    return {
        "stops": placements(group, orders),
        "take_profit_where": resting_take_profit.take_profit_placement(group, orders),
    }
