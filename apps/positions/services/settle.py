"""What a group does once its live orders are done: send the rest of a close, or close."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from apps.core.message_figures import figures_of
from apps.core.models import Event
from apps.positions.models import DcaLeg, Order, PositionGroup
from apps.positions.services import hooks, intents
from apps.positions.services.events import group_event


def settle(group: PositionGroup, *, price: Decimal | None, now: datetime) -> None:
    """Called with the group locked, after any of its orders is recorded or cancelled.

    1. While any order of the group is live, nothing: it may still fill.
    2. A closing group sells what it still holds (a leg that filled before its cancel landed,
       or the rest of a partly filled sell); once nothing sellable is left, it is Closed.
    3. An open group that holds nothing sellable and has nothing live is done (every leg took
       its profit, or none could be placed): it is Closed.
    """
    if group.status not in (PositionGroup.Status.OPEN, PositionGroup.Status.CLOSING):
        return
    if intents.live_orders(group).exists():
        return
    price = price or group.last_price or group.average_entry
    amount, why_not = intents.prepare_sell(group, group.quantity, price)
    if group.status == PositionGroup.Status.CLOSING:
        if amount is not None:
            order = intents.write_sell(group, purpose=group.exit_reason, amount=amount)
            shown = figures_of(group)
            group_event(
                group,
                "group.closing",
                f"Still holding {shown.amount(group.quantity)} "
                f"{intents.base_of(group.symbol)}: selling {shown.amount(amount)} at market "
                f"(order {order.client_order_id}).",
                data={"quantity": str(amount), "client_order_id": order.client_order_id},
            )
            return
        close(group, now=now, left=why_not)
        return
    if amount is None:
        if not group.exit_reason:
            group.exit_reason = _sold_by(group)
        close(group, now=now, left=why_not)


def _sold_by(group: PositionGroup) -> str:
    """Why an open position that sold everything closed: the resting stop that filled on the
    exchange, else its legs' own take profits ("" if neither)."""
    stop = (
        group.orders.filter(protective=True, filled__gt=0)
        .order_by("-pk")
        .values_list("purpose", flat=True)
    ).first()
    if stop:
        return stop
    leg_tps = group.orders.filter(purpose=Order.Purpose.LEG_TAKE_PROFIT, filled__gt=0)
    return Order.Purpose.LEG_TAKE_PROFIT if leg_tps.exists() else ""


def close(group: PositionGroup, *, now: datetime, left: str = "") -> None:
    """The group is done: Closed, its legs closed, and `position.closed` with the PnL; its
    pool slot (if it still held one) goes to the queue's first entry."""
    group.status = PositionGroup.Status.CLOSED
    group.closed_at = now
    for leg in group.legs.exclude(status__in=[DcaLeg.Status.CLOSED, DcaLeg.Status.SKIPPED]):
        if leg.quantity > 0:
            leg.closed_quantity = leg.quantity
            leg.status = DcaLeg.Status.CLOSED
            leg.save(update_fields=["closed_quantity", "status"])
    group.save()
    hooks.pool_changed(account_id=group.account_id, freed=True)
    hooks.position_settled(position=group)
    if group.entry_cost:
        reason = intents.CLOSE_REASONS.get(group.exit_reason, "closed")
    else:
        reason = "no leg was filled"
    pct = group.realised_pnl_pct
    shown = figures_of(group, unit=group.account.quote_currency)
    note = ""
    if group.quantity > 0:
        note = f" {shown.amount(group.quantity)} {intents.base_of(group.symbol)} left"
        note += f" cannot be sold ({left.rstrip('.')})." if left else " cannot be sold."
    group_event(
        group,
        "position.closed",
        f"Position closed ({reason}): realised {shown.pnl(group.realised_pnl)}"
        + (f" ({shown.pct(pct, signed=True)})" if pct is not None else "")
        + f".{note}",
        level=Event.Level.SUCCESS if group.realised_pnl >= 0 else Event.Level.WARNING,
        data={
            "pnl": str(group.realised_pnl),
            "pnl_pct": "" if pct is None else str(pct),
            "quantity": str(group.exit_quantity),
            "reason": reason,
            "left": str(group.quantity),
        },
    )
