"""Recording what the exchange reports about a group's orders: leg fills grow the position and
move its average entry; sells shrink it and realise PnL; a group with nothing left closes.

`apps.positions.services.orders.record_order` (the send path and the order-sync loop) hands every
order here, whoever opened its position: one cost basis and one PnL formula. Locks: the
group row first, then the order, as everywhere for groups.
"""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction

from apps.core.message_figures import figures_of
from apps.core.models import Event
from apps.core.numbers import ZERO
from apps.exchanges.domain.types import ExchangeOrder, OrderSide, OrderStatus
from apps.positions.models import DcaLeg, Order, PositionGroup
from apps.positions.services import hooks, intents, live, protection
from apps.positions.services.events import group_event
from apps.positions.services.settle import settle

STORED = Decimal("1E-18")  # a MoneyField's places: what is kept is what the events say
_STATUS = {
    OrderStatus.OPEN: Order.Status.OPEN,
    OrderStatus.CLOSED: Order.Status.FILLED,
    OrderStatus.CANCELED: Order.Status.CANCELLED,
    OrderStatus.EXPIRED: Order.Status.CANCELLED,
    OrderStatus.REJECTED: Order.Status.REJECTED,
}


def group_id_of(order_id: int) -> int | None:
    """The position an order belongs to. It never changes, so it is read without a lock,
    before the position is locked."""
    return Order.objects.filter(pk=order_id).values_list("group_id", flat=True).first()


def _lock(group_id: int, order_id: int) -> tuple[PositionGroup, Order]:
    group = (
        PositionGroup.objects.select_for_update(of=("self",))
        .select_related("owner", "account")
        .get(pk=group_id)
    )
    return group, Order.objects.select_for_update().get(pk=order_id)


def record_group_order(
    *, order_id: int, reported: ExchangeOrder, now: datetime, group_id: int | None = None
) -> None:
    """Apply the exchange's view of a group's order.

    1. Lock the group and the order; the new fill is what the exchange reports beyond what we
       recorded, so the send path and the sync loop never count a fill twice.
    2. A leg's buy grows the leg and the group and moves the average entry; a sell shrinks the
       group and realises PnL against the cost of what it sold. A resting stop's or take
       profit's first fill is told as the stop or take profit hit (`protection.hit`).
    3. When the order is done, its leg's status follows; then the group settles (sends the
       rest of a close, or closes).
    4. Its resting stop follows the group (placed, resized, or cancelled for another sell:
       `protection.protect`); a stop cancelled by someone else is placed again; one for the
       whole position that filled closes it (its resting legs cancelled).
    """
    group_id = group_id or group_id_of(order_id)
    with transaction.atomic():
        group, order = _lock(group_id, order_id)
        if order.status not in Order.LIVE:
            return
        new_filled = reported.filled - order.filled
        new_cost = (reported.average or ZERO) * reported.filled - (
            order.average or ZERO
        ) * order.filled
        new_fee = reported.fee_cost - order.fee_cost
        was, first_fill = order.status, order.filled == 0
        order.filled = reported.filled
        order.average = reported.average
        order.fee_cost = reported.fee_cost
        order.fee_currency = reported.fee_currency
        order.exchange_order_id = reported.exchange_order_id or order.exchange_order_id
        order.status = _STATUS[reported.status]
        order.error = ""
        order.save()  # even unchanged: its updated_at moves it to the back of the sync queue
        if new_filled <= 0 and order.status == was:
            return  # a resting leg still resting: nothing for the group
        if new_filled > 0:
            if order.side == OrderSide.BUY:
                _leg_bought(group, order, new_filled, new_cost, new_fee)
            else:
                if order.protective and first_fill:
                    protection.hit(group, order, new_filled, new_cost / new_filled)
                _sold(group, order, new_filled, new_cost, new_fee)
        if order.status not in Order.LIVE:
            _order_done(group, order)
        if order.side == OrderSide.SELL:
            # A leg sold on its own leaves the others: the average entry is theirs now.
            intents.refresh_average(group)
        cancelled = order.status == Order.Status.CANCELLED
        if order.protective and cancelled and order.cancel_requested_at is None:
            protection.cancelled_outside(group, order, now=now)
        if order.protective and order.status == Order.Status.FILLED:
            protection.filled(group, order, now=now)
        settle(group, price=order.average, now=now)
        protection.protect(group, now=now)
        group.save()
        live.push_group(group)


def _fees(group: PositionGroup, order: Order, fee: Decimal) -> tuple[Decimal, Decimal]:
    """(fee paid in base, fee paid in quote)."""
    if not order.fee_currency:
        return ZERO, ZERO
    if order.fee_currency == intents.base_of(group.symbol):
        return fee, ZERO
    return ZERO, fee


def _leg_bought(group: PositionGroup, order: Order, filled, cost, fee) -> None:
    fee_in_base, fee_in_quote = _fees(group, order, fee)
    held = filled - fee_in_base
    spent = cost + fee_in_quote
    leg = DcaLeg.objects.select_related("pyramid").get(pk=order.leg_id)
    leg.filled += filled
    leg.quantity += held
    leg.cost = stored(leg.cost + spent)
    leg.fill_price = order.average
    leg.save(update_fields=["filled", "quantity", "cost", "fill_price"])
    group.quantity += held
    group.entry_cost = stored(group.entry_cost + spent)
    group.open_cost = stored(group.open_cost + spent)
    intents.refresh_average(group)
    base = intents.base_of(group.symbol)
    price = cost / filled
    # A ticket's entry is its position's first buy; a signal's legs are named by their place.
    what = "Entry" if order.purpose == Order.Purpose.ENTRY else f"DCA {leg.label}"
    armed = " Its exit rules are armed." if group.exit_rules and leg.index == 0 else ""
    shown = figures_of(group, unit=group.account.quote_currency)
    group_event(
        group,
        "trade.entry_filled",
        f"{what} filled: {shown.amount(filled)} {base} at "
        f"{shown.price(price)}{' (partial)' if order.status == Order.Status.OPEN else ''}. "
        f"The position holds {shown.amount(group.quantity)} {base}, "
        f"average entry {shown.price(group.average_entry)}.{armed}",
        level=Event.Level.SUCCESS,
        data={
            "pyramid": leg.pyramid.number,
            "leg": leg.number,
            "quantity": str(filled),
            "price": str(price),
            "fee": str(fee),
            "average_entry": str(group.average_entry),
            "client_order_id": order.client_order_id,
        },
    )


def _sold(group: PositionGroup, order: Order, filled, cost, fee) -> None:
    """Realised PnL is the proceeds (net of a quote fee) less the cost basis of what was sold:
    the leg's own cost per unit for a per-leg take profit, the group's average cost per unit
    held for a sell of the whole position."""
    _, fee_in_quote = _fees(group, order, fee)
    proceeds = cost - fee_in_quote
    leg = None
    if order.leg_id is not None:
        leg = DcaLeg.objects.select_related("pyramid").get(pk=order.leg_id)
        sold = min(filled, leg.open_quantity)
        basis = leg.cost * sold / leg.quantity if leg.quantity else ZERO
        leg.closed_quantity += sold
        leg.save(update_fields=["closed_quantity"])
    else:
        basis = group.open_cost * filled / group.quantity if group.quantity else ZERO
    basis = min(basis, group.open_cost)
    group.quantity = max(group.quantity - filled, ZERO)
    group.open_cost = stored(group.open_cost - basis)
    group.exit_quantity += filled
    group.exit_proceeds = stored(group.exit_proceeds + proceeds)
    group.realised_pnl = stored(group.realised_pnl + proceeds - basis)
    base = intents.base_of(group.symbol)
    price = cost / filled
    whose = leg.label if leg else "the position"
    shown = figures_of(group, unit=group.account.quote_currency)
    group_event(
        group,
        "group.sold",
        f"{order.get_purpose_display()} order filled {shown.amount(filled)} {base} at "
        f"{shown.price(price)} for {whose}: realised {shown.pnl(proceeds - basis)}.",
        data={
            "quantity": str(filled),
            "price": str(price),
            "fee": str(fee),
            "pnl": str(stored(proceeds - basis)),
            "reason": order.get_purpose_display(),
            "client_order_id": order.client_order_id,
        },
    )


def stored(value: Decimal) -> Decimal:
    return value.quantize(STORED, rounding=ROUND_HALF_UP)


def _order_done(group: PositionGroup, order: Order) -> None:
    """A leg's status follows its order once the order is done."""
    if order.leg_id is None:
        return
    leg = DcaLeg.objects.select_related("pyramid").get(pk=order.leg_id)
    if order.side == OrderSide.BUY:
        leg.status = {
            Order.Status.FILLED: DcaLeg.Status.FILLED,
            Order.Status.CANCELLED: DcaLeg.Status.CANCELLED,
            Order.Status.REJECTED: DcaLeg.Status.REJECTED,
        }[order.status]
        leg.save(update_fields=["status"])
        if order.status == Order.Status.CANCELLED:
            shown = figures_of(group)
            kept = f" after filling {shown.amount(order.filled)}" if order.filled else ""
            group_event(
                group,
                "group.leg_cancelled",
                f"DCA {leg.label} cancelled{kept} (order {order.client_order_id}).",
                data={"leg": leg.number, "pyramid": leg.pyramid.number, "reason": "cancelled"},
            )
    elif order.status == Order.Status.FILLED:
        # Sold on its own: what is left of it is fee dust the group's close takes along.
        leg.status = DcaLeg.Status.CLOSED
        leg.save(update_fields=["status"])


def refused_group_order(*, order_id: int, error: Exception, now: datetime) -> None:
    """The exchange refused a group's order. A refused leg is reported and the rest of the
    grid goes on; a refused sell leaves the group in Error: it still holds its position and
    needs the trader (Close at market on the Positions page, or an exit signal)."""
    group_id = group_id_of(order_id)
    with transaction.atomic():
        group, order = _lock(group_id, order_id)
        if order.status not in Order.LIVE:
            return
        order.status = Order.Status.REJECTED
        order.error = f"{type(error).__name__}: {error}"
        order.save(update_fields=["status", "error", "updated_at"])
        if order.protective:
            # A refused stop leaves the position to the desk's rules (or closes it at market
            # when the price has already crossed it); it is no error of the position.
            protection.refused(group, order, error, now=now)
            settle(group, price=None, now=now)
            protection.protect(group, now=now, place=False)  # no retry loop on a refusal
            group.save()
            live.push_group(group)
            return
        if order.side == OrderSide.BUY:
            DcaLeg.objects.filter(pk=order.leg_id).update(
                status=DcaLeg.Status.REJECTED, problem=str(error)
            )
        elif group.status in (PositionGroup.Status.OPEN, PositionGroup.Status.CLOSING):
            if group.status == PositionGroup.Status.CLOSING:
                # Back in the pool (it holds a position again): the page's slots change.
                hooks.pool_changed(account_id=group.account_id, freed=False)
            group.status = PositionGroup.Status.ERROR
            hooks.position_settled(position=group)
        group_event(
            group,
            "exchange.error",
            f"The exchange refused {order.get_purpose_display().lower()} order "
            f"{order.client_order_id}: {error}",
            level=Event.Level.ERROR,
            data={"reason": str(error), "client_order_id": order.client_order_id},
        )
        settle(group, price=None, now=now)
        group.save()
        live.push_group(group)


def cancelled_unsent(*, order_id: int, now: datetime, why: str) -> None:
    """A cancel found no trace of the order on the exchange, and its sender is done with it:
    it never got there. Record it as cancelled so the group can settle."""
    group_id = group_id_of(order_id)
    with transaction.atomic():
        group, order = _lock(group_id, order_id)
        if order.status not in Order.LIVE:
            return
        order.status = Order.Status.CANCELLED
        order.error = why
        order.save(update_fields=["status", "error", "updated_at"])
        _order_done(group, order)
        settle(group, price=None, now=now)
        protection.protect(group, now=now)
        group.save()
        live.push_group(group)
