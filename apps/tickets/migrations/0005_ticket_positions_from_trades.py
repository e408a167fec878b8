"""Every trade that sent an order becomes a ticket with a position: its quantity, costs, fills,
PnL and orders move to a position (one pyramid, one leg) that the trade opened.

Nothing is lost: each order is re-pointed to the new position (the entry orders to its leg),
the exit rules and their memory go with it, and the trade keeps its revisions and events. A
trade that never sent an order (Draft, Saved, waiting for its entry, Cancelled, Rejected)
keeps no position. The next migration drops the trade's own position columns; going back
past it loses them.
"""

from decimal import Decimal

from django.db import migrations

ZERO = Decimal(0)
EXITS = ("initial_stop", "trailing_stop", "take_profit")
ONE_LEG = [{"gap_pct": "0", "weight_pct": "100", "tp_pct": "0"}]
LIVE = ("pending", "unknown", "open")


def _status(trade, held, working_sell) -> tuple[str, str]:
    """(the position's status, the trade's)."""
    if trade.status == "closed":
        return "closed", "closed"
    if trade.status == "error":
        return ("error", "error") if held > 0 else ("closed", "error")
    if working_sell:
        return "closing", "open"
    return "open", "open"  # open, or pending with its entry order in flight


def _leg_status(position_status: str, entry_orders) -> str:
    if any(order.status in LIVE for order in entry_orders):
        return "working"
    if position_status == "closed" and any(o.filled for o in entry_orders):
        return "closed"  # as the engine closes a position: its legs with it, dust included
    if any(order.filled for order in entry_orders):
        return "filled"
    statuses = {order.status for order in entry_orders}
    return "rejected" if statuses == {"rejected"} else "cancelled"


def forwards(apps, schema_editor):
    Trade = apps.get_model("trades", "Trade")
    Order = apps.get_model("trades", "Order")
    PositionGroup = apps.get_model("trades", "PositionGroup")
    Pyramid = apps.get_model("trades", "Pyramid")
    DcaLeg = apps.get_model("trades", "DcaLeg")
    with_orders = Order.objects.filter(trade__isnull=False).values("trade_id").distinct()
    for trade in Trade.objects.filter(pk__in=with_orders).select_related("revision"):
        orders = list(Order.objects.filter(trade=trade).order_by("created_at", "pk"))
        entries = [order for order in orders if order.purpose == "entry"]
        held = trade.quantity - trade.exit_quantity
        working = next((o for o in orders if o.pk == trade.working_order_id), None)
        working_sell = working is not None and working.side == "sell" and working.status in LIVE
        position_status, trade_status = _status(trade, held, working_sell)
        rules = trade.revision.rules if trade.revision else {}
        open_cost = trade.entry_cost * held / trade.quantity if trade.quantity > 0 else ZERO
        # A market entry still in flight has no fill price yet: the last price it was sent at.
        entry_price = (
            trade.entry_price
            or next((o.price for o in entries if o.price), None)
            or trade.last_price
        )
        opened_at = trade.opened_at or trade.activated_at or trade.created_at
        position = PositionGroup.objects.create(
            owner_id=trade.owner_id,
            account_id=trade.account_id,
            symbol=trade.symbol,
            timeframe="",
            side=trade.side,
            status=position_status,
            strategy_id=trade.strategy_id,
            tp_mode="rules",
            group_tp_pct=ZERO,
            pyramid_limit=1,
            grid=ONE_LEG,
            trade=trade,
            exit_rules={kind: rules[kind] for kind in EXITS if kind in rules},
            rule_state={k: v for k, v in trade.rule_state.items() if k in EXITS},
            highest=trade.highest,
            lowest=trade.lowest,
            quantity=max(held, ZERO),
            average_entry=trade.entry_price,
            entry_cost=trade.entry_cost,
            open_cost=open_cost.quantize(Decimal("1E-18")),
            exit_quantity=trade.exit_quantity,
            exit_proceeds=trade.exit_proceeds,
            realised_pnl=trade.realised_pnl,
            last_price=trade.last_price,
            exit_reason=trade.exit_reason,
            opened_at=opened_at,
            closed_at=(trade.closed_at or trade.updated_at)
            if position_status == "closed"
            else None,
        )
        pyramid = Pyramid.objects.create(
            group=position,
            index=0,
            entry_price=entry_price or ZERO,
            capital=trade.entry_cost,
            created_at=position.opened_at,
        )
        leg = DcaLeg.objects.create(
            group=position,
            pyramid=pyramid,
            index=0,
            gap_pct=ZERO,
            weight_pct=Decimal(100),
            tp_pct=ZERO,
            price=entry_price or ZERO,
            amount=sum((o.amount for o in entries), ZERO),
            status=_leg_status(position_status, entries),
            filled=sum((o.filled for o in entries), ZERO),
            quantity=trade.quantity,
            closed_quantity=trade.quantity
            if position_status == "closed"
            else min(trade.exit_quantity, trade.quantity),
            fill_price=trade.entry_price,
            cost=trade.entry_cost,
        )
        # The order leaves the trade as it joins the position: until the next migration drops
        # Order.trade, the check "order_of_trade_or_group" wants exactly one of the two.
        Order.objects.filter(trade=trade).update(group=position, trade=None)
        Order.objects.filter(pk__in=[o.pk for o in entries]).update(leg=leg)
        Trade.objects.filter(pk=trade.pk).update(
            status=trade_status, opened_at=trade.opened_at or opened_at
        )


class Migration(migrations.Migration):
    dependencies = [("trades", "0004_position_of_ticket_and_exit_rules")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
