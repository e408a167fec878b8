"""Orders of position groups, intent first: each order row (with its client order id) is
written in the transaction that decided it, and sent after commit by `send_order`.

Every function here runs inside its caller's transaction with the group row locked
(`select_for_update`), which is what serialises everything that writes a group's orders.
Locks are always taken group first, then its orders.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Exists, F, OuterRef
from django.utils import timezone
from django.utils.text import capfirst

from apps.core.background import enqueue_on_commit
from apps.core.installation import order_id_prefix
from apps.core.message_figures import figures_of
from apps.core.numbers import ZERO
from apps.exchanges.domain.precision import OrderRuleViolation, fmt, prepare_order
from apps.exchanges.domain.types import MarketRules, OrderSide, OrderType
from apps.exchanges.models import Market
from apps.exchanges.services.markets import rules_of
from apps.positions.models import (
    EXIT_REASON_WORDS,
    SELL_CODES,
    DcaLeg,
    Order,
    PositionGroup,
    Pyramid,
    leg_label,
)
from apps.positions.services import hooks
from apps.positions.services.events import group_event, times_told
from apps.strategies.domain import dca
from apps.strategies.domain.catalog import Side

# Why a position closes, in the words its events use (the one wording: the model's).
CLOSE_REASONS = EXIT_REASON_WORDS


_inline = threading.local()


@contextmanager
def sent_by_caller() -> Iterator[None]:
    """Orders written in this block are sent by the caller right after it (a signal's task
    sends its own orders): no task is enqueued for them. One the caller fails to send is sent
    by the order-sync loop once its grace period has passed."""
    _inline.active = True
    try:
        yield
    finally:
        _inline.active = False


@contextmanager
def sends_after() -> Iterator[None]:
    """Orders written in this block are enqueued at its end, after the event that explains
    them has been recorded: where the send runs at once on commit (the in-process runner, the
    tests), the timeline still reads why, then what was sold."""
    held: list[tuple[str, int]] = []
    outer = getattr(_inline, "deferred", None)
    _inline.deferred = held
    try:
        yield
    finally:
        _inline.deferred = outer
    for task, order_id in held:
        enqueue_on_commit(task, order_id)


def send_on_commit(order: Order) -> None:
    if getattr(_inline, "active", False):
        return
    _enqueue("trades.send_order", order)


def cancel_on_commit(order: Order) -> None:
    """The exchange cancel after commit; in a `sends_after` block, after its event too (a
    close cancels a resting stop first: the timeline reads why, then what was cancelled)."""
    _enqueue("trades.cancel_order", order)


def _enqueue(task: str, order: Order) -> None:
    deferred = getattr(_inline, "deferred", None)
    if deferred is not None:
        deferred.append((task, order.pk))
        return
    enqueue_on_commit(task, order.pk)


def market_rules(group: PositionGroup) -> MarketRules:
    return rules_of(Market.objects.get(account_id=group.account_id, symbol=group.symbol))


def base_of(symbol: str) -> str:
    return symbol.split("/")[0]


# --- Laying a pyramid's grid ------------------------------------------------------------------


def group_client_prefix(group: PositionGroup) -> str:
    """`td7kq2g42`: what the client order ids of position 42 start with on this installation
    (`order_id_prefix`, then `g` and the position)."""
    return f"{order_id_prefix()}g{group.pk}"


def leg_client_order_id(group: PositionGroup, pyramid: int, leg: int) -> str:
    """`td7kq2g42p2l3`: this installation's position 42, pyramid 2, leg 3, counted from 1 as
    every page counts them (`pyramid` and `leg` are the 0-based indexes). Deterministic,
    unique, alphanumeric. Orders written before the installation prefix keep their stored
    `tdg42…` ids, and those before 1-based counting their `p0l0`: none is ever reused."""
    return f"{group_client_prefix(group)}p{pyramid + 1}l{leg + 1}"


def is_market_leg(plan: dca.PlannedLeg) -> bool:
    """The first leg (index 0) at a gap of 0 buys at market; every other leg rests as a limit
    buy."""
    return plan.index == 0 and plan.spec.gap_pct == 0


def lay_pyramid(
    group: PositionGroup,
    *,
    index: int,
    entry_price: Decimal,
    capital: Decimal,
    planned: Sequence[dca.PlannedLeg],
    signal_id: int | None,
    now: datetime,
    first_purpose: str = Order.Purpose.DCA_LEG,
) -> tuple[Pyramid, list[Order]]:
    """Write pyramid `index`, its legs and the orders of the legs that pass the market rules.

    Leg 0 at a gap of 0 buys at market; every other leg rests as a limit buy at its price.
    A leg below the minimums is written as skipped, with the reason, and reported. A ticket's
    position writes its leg 0 as the ticket's entry (`first_purpose`).
    """
    pyramid = Pyramid.objects.create(
        group=group,
        index=index,
        entry_price=entry_price,
        capital=capital,
        signal_id=signal_id,
        created_at=now,
    )
    orders: list[Order] = []
    base = base_of(group.symbol)
    for plan in planned:
        leg = DcaLeg.objects.create(
            group=group,
            pyramid=pyramid,
            index=plan.index,
            gap_pct=plan.spec.gap_pct,
            weight_pct=plan.spec.weight_pct,
            tp_pct=plan.spec.tp_pct,
            price=plan.price,
            amount=plan.amount,
            status=DcaLeg.Status.WORKING if plan.ok else DcaLeg.Status.SKIPPED,
            problem=plan.problem,
        )
        if not plan.ok:
            group_event(
                group,
                "group.leg_below_minimum",
                f"{capfirst(leg_label(index + 1, plan.index + 1))} ({fmt(plan.spec.weight_pct)} % "
                f"at -{fmt(plan.spec.gap_pct)} %) is not placed: {plan.problem}",
                level="warning",
                data={
                    "pyramid": index + 1,
                    "leg": plan.index + 1,
                    "quantity": str(plan.amount),
                    "price": str(plan.price),
                    "reason": plan.problem,
                },
            )
            continue
        at_market = is_market_leg(plan)
        order = Order.objects.create(
            group=group,
            leg=leg,
            signal_id=signal_id,
            account_id=group.account_id,
            purpose=first_purpose if plan.index == 0 else Order.Purpose.DCA_LEG,
            symbol=group.symbol,
            side=OrderSide.BUY,
            type=OrderType.MARKET if at_market else OrderType.LIMIT,
            amount=plan.amount,
            price=None if at_market else plan.price,
            client_order_id=leg_client_order_id(group, index, plan.index),
        )
        send_on_commit(order)
        orders.append(order)
    laid = [plan for plan in planned if plan.ok]
    shown = figures_of(group, unit=group.account.quote_currency)
    group_event(
        group,
        "group.grid_laid",
        f"Pyramid {index + 1} grid laid from {shown.price(entry_price)} with "
        f"{shown.quote(capital)}: "
        + "; ".join(
            f"leg {plan.index + 1} {'market' if is_market_leg(plan) else 'limit'}"
            f" {shown.amount(plan.amount)} {base} at {shown.price(plan.price)}"
            for plan in laid
        )
        + ".",
        data={
            "pyramid": index + 1,
            "quantity": str(sum((plan.amount for plan in laid), ZERO)),
            "price": str(entry_price),
            "capital": str(capital),
            "legs": [
                {"leg": plan.index, "amount": str(plan.amount), "price": str(plan.price)}
                for plan in laid
            ],
        },
    )
    return pyramid, orders


# --- Selling ----------------------------------------------------------------------------------


def sell_client_order_id(group: PositionGroup, purpose: str) -> str:
    """`td7kq2g42x1`: position 42's first exit-signal sell; the codes (`SELL_CODES`) are never
    a leg id's `p` or `l`. The count is of every sell of the purpose, old ids included, so a
    new id never repeats a stored one."""
    sequence = group.orders.filter(purpose=purpose).count() + 1
    return f"{group_client_prefix(group)}{SELL_CODES[purpose][0]}{sequence}"


def prepare_sell(
    group: PositionGroup, amount: Decimal, price: Decimal | None
) -> tuple[Decimal | None, str]:
    """(the amount rounded to the step, "") when it can be sold, else (None, why not)."""
    if amount <= 0:
        return None, "nothing to sell"
    if price is None or price <= 0:
        return None, "no price to check the minimums against"
    try:
        return prepare_order(market_rules(group), amount=amount, price=price).amount, ""
    except OrderRuleViolation as violation:
        return None, str(violation)


def write_sell(
    group: PositionGroup,
    *,
    purpose: str,
    amount: Decimal,
    leg: DcaLeg | None = None,
    signal_id: int | None = None,
) -> Order:
    """A market sell of `amount` (already rounded), sent after commit. A resting stop of the
    group holds the coins: it is cancelled first, and the sell waits for that cancel
    (`protection.protect` sends it, cut to what is left if the stop filled first)."""
    order = Order.objects.create(
        group=group,
        leg=leg,
        signal_id=signal_id,
        account_id=group.account_id,
        purpose=purpose,
        symbol=group.symbol,
        side=OrderSide.SELL,
        type=OrderType.MARKET,
        amount=amount,
        client_order_id=sell_client_order_id(group, purpose),
    )
    now = timezone.now()
    stops = list(live_orders(group).filter(protective=True).select_for_update())
    for stop in stops:
        if stop.cancel_requested_at is None:
            request_cancel(group, stop, now=now)
    if not any(stop.status in Order.LIVE for stop in stops):
        send_on_commit(order)
    return order


def live_orders(group: PositionGroup):
    return group.orders.filter(status__in=Order.LIVE)


# A resting order (a stop, a take profit's limit sell) that the exchange reports cancelled,
# not by the desk, is placed again and the trader told; but not for ever. An exchange that
# keeps cancelling them (or a trader who keeps cancelling them by hand) would otherwise get a
# new order, and the trader a warning, every sync: after the third such cancel of a position's
# orders nothing more rests for it, and the desk's loops remain its protection.
PLACED_AGAIN_AT_MOST = 2
CANCELLED_OUTSIDE = "protection.stop_cancelled"


def resting_given_up(group: PositionGroup) -> str:
    """Why nothing rests for the group any more, or "" while it may."""
    times = times_told(group, CANCELLED_OUTSIDE)
    if times <= PLACED_AGAIN_AT_MOST:
        return ""
    return (
        f"its resting orders were cancelled on the exchange {times} times, not by the desk, "
        "so the desk places no more for this position"
    )


def sell_in_flight():
    """For a queryset of positions: one of its sells is live. The loops that sell (take
    profit, rules) leave such a position alone until the sell settles, so two ticks never
    sell the same coins. A resting stop is not one: the loops keep watching its position."""
    return Exists(
        Order.objects.filter(
            group=OuterRef("pk"), side=OrderSide.SELL, status__in=Order.LIVE, protective=False
        )
    )


def stop_holds_coins(order: Order) -> bool:
    """A sell waits while a resting stop of its group is live: the exchange holds the coins
    for the stop until its cancel lands (`send_order` asks before sending)."""
    if order.side != OrderSide.SELL or order.protective:
        return False
    return Order.objects.filter(
        group_id=order.group_id, protective=True, status__in=Order.LIVE
    ).exists()


# --- Closing the whole group ------------------------------------------------------------------


def begin_close(
    group: PositionGroup,
    *,
    purpose: str,
    price: Decimal | None,
    signal_id: int | None,
    now: datetime,
) -> tuple[Order | None, list[Order]]:
    """Close the whole group: cancel its resting legs and sell what it holds at market.

    1. The group becomes Closing (the take-profit loop leaves it alone; a new entry for its
       key opens a new group).
    2. Each live buy and the resting stop are cancelled: at once if never sent, else on the
       exchange after commit (`cancel_order`); a leg that fills meanwhile is sold when the
       group settles, and the sell waits for the stop's cancel (if the stop fills first, it
       sold those coins: the sell is cut or dropped, never sent twice).
    3. The held quantity, less what sells in flight will sell, is sold at market if it passes
       the minimums; what is left is settled when every live order is done.

    Returns (the sell order or None, the orders being cancelled).
    """
    freed = group.status in PositionGroup.POOL
    group.status = PositionGroup.Status.CLOSING
    group.exit_reason = purpose
    live = list(live_orders(group).select_for_update().order_by("pk"))
    cancelling = []
    for order in live:
        if order.side == OrderSide.BUY or order.protective:
            request_cancel(group, order, now=now)
            cancelling.append(order)
    reserved = sum(
        (o.amount - o.filled for o in live if o.side == OrderSide.SELL and not o.protective), ZERO
    )
    amount, _ = prepare_sell(group, group.quantity - reserved, price)
    sell = None
    if amount is not None:
        sell = write_sell(group, purpose=purpose, amount=amount, signal_id=signal_id)
    group.save()
    if freed:
        # A closing group leaves the pool: its slot goes to the queue's first entry.
        hooks.pool_changed(account_id=group.account_id, freed=True)
    return sell, cancelling


def request_cancel(group: PositionGroup, order: Order, *, now: datetime) -> None:
    """Intent to cancel one live order of the locked group.

    An order no sender has claimed yet (still Pending, never attempted) is cancelled here and
    never sent: `send_order` claims with a compare-and-swap on status and attempts, which this
    update wins or loses atomically. Any other is marked and cancelled on the exchange after
    commit; the order-sync loop retries until the exchange reports it done.
    """
    unsent = Order.objects.filter(pk=order.pk, status=Order.Status.PENDING, attempts=0).update(
        status=Order.Status.CANCELLED, cancel_requested_at=now, updated_at=now
    )
    if unsent:
        order.status = Order.Status.CANCELLED
        if order.leg_id is not None and order.side == OrderSide.BUY:
            # A leg's buy: the leg is cancelled with it (a leg's own sell leaves the leg held).
            DcaLeg.objects.filter(pk=order.leg_id, status=DcaLeg.Status.WORKING).update(
                status=DcaLeg.Status.CANCELLED
            )
        return
    Order.objects.filter(pk=order.pk, cancel_requested_at__isnull=True).update(
        cancel_requested_at=now, updated_at=now
    )
    cancel_on_commit(order)


def held_legs(group: PositionGroup) -> list[DcaLeg]:
    """Filled legs with quantity not yet sold on their own, oldest first."""
    return list(
        group.legs.filter(quantity__gt=F("closed_quantity"), fill_price__isnull=False)
        .exclude(status=DcaLeg.Status.CLOSED)
        .select_related("pyramid")
        .order_by("pyramid__index", "index")
    )


def as_held(legs: Sequence[DcaLeg]) -> list[dca.HeldLeg]:
    return [
        dca.HeldLeg(
            key=leg.pk, quantity=leg.open_quantity, fill_price=leg.fill_price, tp_pct=leg.tp_pct
        )
        for leg in legs
    ]


def refresh_average(group: PositionGroup) -> None:
    """The average entry of the legs still held (a leg sold on its own leaves the others)."""
    average = dca.average_entry([(leg.open_quantity, leg.fill_price) for leg in held_legs(group)])
    if average is not None:
        # At the field's 18 places, so the value in memory (events) is the one stored.
        group.average_entry = average.quantize(Decimal("1E-18"), rounding=ROUND_HALF_UP)


def side_of(group: PositionGroup) -> Side:
    return Side(group.side)
