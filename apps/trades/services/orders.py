"""Orders of trades: intent first, then the exchange, then the outcome.

1. `start_entry` / `start_exit` write the order row (with its client order id) and mark it as
   the trade's working order, in one transaction with the event that explains why.
2. After commit, `send_order` calls the exchange outside any transaction.
3. `record_order` applies what the exchange reports (fills, partial fills, fees) to the order
   and the trade under row locks, so the send path and the order-sync loop can both report the
   same fill without counting it twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.core.background import enqueue_on_commit
from apps.core.loops import each_isolated
from apps.core.models import Event
from apps.core.numbers import ZERO
from apps.exchanges.adapters import get_adapter
from apps.exchanges.domain.precision import OrderRuleViolation, fmt, prepare_order
from apps.exchanges.domain.types import ExchangeOrder, OrderSide, OrderStatus, OrderType
from apps.exchanges.errors import ExchangeError, OrderNotFound, PermanentExchangeError
from apps.exchanges.models import Market
from apps.exchanges.services.markets import rules_of
from apps.trades.domain.catalog import RuleKind
from apps.trades.domain.evaluation import Evaluation
from apps.trades.models import Order, Trade
from apps.trades.services import live
from apps.trades.services.events import trade_event

logger = logging.getLogger(__name__)

# An order not sent this long after its intent was written (a lost task) is sent by the sync loop.
SEND_GRACE = timedelta(seconds=10)
MAX_SEND_ATTEMPTS = 5
# How long the sync loop looks an unknown order up before a failed lookup counts against the
# circuit breaker: about twenty ticks, which transient faults do not outlast.
RECOVERY_GRACE = timedelta(seconds=60)
_PURPOSE_CODE = {
    Order.Purpose.ENTRY: "e",
    Order.Purpose.INITIAL_STOP: "s",
    Order.Purpose.TRAILING_STOP: "t",
    Order.Purpose.TAKE_PROFIT: "p",
    Order.Purpose.CLOSE: "c",
}
_STATUS = {
    OrderStatus.OPEN: Order.Status.OPEN,
    OrderStatus.CLOSED: Order.Status.FILLED,
    OrderStatus.CANCELED: Order.Status.CANCELLED,
    OrderStatus.EXPIRED: Order.Status.CANCELLED,
    OrderStatus.REJECTED: Order.Status.REJECTED,
}
_EXIT_EVENT = {
    Order.Purpose.INITIAL_STOP: "trade.stop_hit",
    Order.Purpose.TRAILING_STOP: "trade.stop_hit",
    Order.Purpose.TAKE_PROFIT: "trade.take_profit_hit",
    Order.Purpose.CLOSE: "trade.closing",
}


def client_order_id(trade: Trade, purpose: str) -> str:
    """Deterministic and unique: trade, purpose and the purpose's sequence number, e.g.
    `td42e1` (alphanumeric, well under okx's 32 characters)."""
    sequence = trade.orders.filter(purpose=purpose).count() + 1
    return f"td{trade.pk}{_PURPOSE_CODE[purpose]}{sequence}"


# --- Intent ----------------------------------------------------------------------------------


def start_entry(*, trade_id: int, evaluation: Evaluation, amount: Decimal, now) -> Order | None:
    """The entry rule fired: write the entry order and make it the trade's working order.

    Returns None when the trade moved on meanwhile (another worker, a cancel).
    """
    with transaction.atomic():
        trade = _claim(trade_id, Trade.Status.PENDING)
        if trade is None:
            return None
        order = _intent(trade, Order.Purpose.ENTRY, OrderSide.BUY, amount)
        trade.rule_state = _fired_state(trade.rule_state, evaluation, now)
        trade.working_order = order
        trade.save(update_fields=["working_order", "rule_state", "updated_at"])
        trade_event(
            trade,
            "trade.entry_triggered",
            f"Entry rule met: {evaluation.explain()} Buying {fmt(amount)} at market "
            f"(order {order.client_order_id}).",
            data={"quantity": str(amount), "client_order_id": order.client_order_id},
        )
        _send_on_commit(order)
    return order


def start_exit(
    *, trade_id: int, reason: str, explanation: Evaluation | None, now: datetime
) -> Order | None:
    """Close the trade's open quantity at market because `reason` (a rule kind, or "close").

    The amount is the open quantity rounded down to the step. Returns None when the trade is
    not open or already has an order in flight. The trader's own close also works on a trade in
    Error that still holds a position (say, after an exit the exchange refused).
    """
    statuses = [Trade.Status.OPEN]
    if reason == Order.Purpose.CLOSE:
        statuses.append(Trade.Status.ERROR)
    with transaction.atomic():
        trade = _claim(trade_id, *statuses)
        if trade is None or trade.open_quantity <= 0:
            return None
        market = Market.objects.get(account_id=trade.account_id, symbol=trade.symbol)
        try:
            prepared = prepare_order(
                rules_of(market),
                amount=trade.open_quantity,
                price=trade.last_price or trade.entry_price or ZERO,
            )
        except OrderRuleViolation as violation:
            _close_as_dust(trade, str(violation), now)
            return None
        purpose = Order.Purpose(reason)
        order = _intent(trade, purpose, OrderSide.SELL, prepared.amount)
        if explanation is not None:
            trade.rule_state = _fired_state(trade.rule_state, explanation, now)
        trade.working_order = order
        trade.exit_reason = trade.exit_reason or purpose
        trade.save(update_fields=["working_order", "exit_reason", "rule_state", "updated_at"])
        why = explanation.explain() if explanation else "Closed at market by the trader."
        trade_event(
            trade,
            _EXIT_EVENT.get(purpose, "trade.closing"),
            f"{purpose.label}: {why} Selling {fmt(prepared.amount)} at market "
            f"(order {order.client_order_id}).",
            level=Event.Level.WARNING if "stop" in purpose else Event.Level.INFO,
            data={
                "quantity": str(prepared.amount),
                "price": str(trade.last_price or ""),
                "reason": purpose.label,
                "client_order_id": order.client_order_id,
            },
        )
        _send_on_commit(order)
    return order


def _send_on_commit(order: Order) -> None:
    from apps.trades import tasks  # tasks call services; imported late to avoid the cycle

    enqueue_on_commit(tasks.send_order, order.pk)


def _claim(trade_id: int, *statuses: str) -> Trade | None:
    return (
        Trade.objects.select_for_update(of=("self",))
        .select_related("owner", "account")
        .filter(pk=trade_id, status__in=statuses, working_order__isnull=True)
        .first()
    )


def _intent(trade: Trade, purpose: str, side: OrderSide, amount: Decimal) -> Order:
    return Order.objects.create(
        trade=trade,
        account_id=trade.account_id,
        purpose=purpose,
        symbol=trade.symbol,
        side=side,
        type=OrderType.MARKET,
        amount=amount,
        client_order_id=client_order_id(trade, purpose),
    )


def _fired_state(state: dict, evaluation: Evaluation, now) -> dict:
    kind = evaluation.rule.kind.value
    entry = dict(state.get(kind, {}))
    entry |= {"outcome": "fired", "fired_at": now.isoformat()}
    if evaluation.memory is not None:
        entry["memory"] = evaluation.memory.to_dict()
    return {**state, kind: entry}


def entry_failed(*, trade_id: int, reason: str) -> None:
    """The entry rule fired but no order could be sized: the trade needs attention."""
    with transaction.atomic():
        trade = _claim(trade_id, Trade.Status.PENDING)
        if trade is None:
            return
        trade.status = Trade.Status.ERROR
        trade.save(update_fields=["status", "updated_at"])
        trade_event(
            trade,
            "exchange.error",
            f"Entry rule met, but no order could be placed: {reason}",
            level=Event.Level.ERROR,
            data={"reason": reason},
        )
        live.push_table(owner_id=trade.owner_id)


# --- Sending ---------------------------------------------------------------------------------


def send_order(*, order_id: int, now: datetime) -> None:
    """Send an intent to the exchange (or re-send it after an unknown outcome).

    1. Claim it with a compare-and-swap on its attempt count, so two senders never both send.
    2. Call the exchange outside any transaction. The client order id makes a re-send safe:
       the exchange (or our adapter) resolves a known id to the existing order.
    3. Record the outcome: the order as the exchange reports it, or why it was refused.

    Circuit breaker: a success breaks the error streak; a refusal counts through its
    `exchange.error` event; a transient error does not count here, because the sync loop's
    lookup by client order id usually resolves it (see `sync_orders`).
    """
    order = Order.objects.select_related("account").filter(pk=order_id).first()
    if order is None or order.status not in (Order.Status.PENDING, Order.Status.UNKNOWN):
        return
    claimed = Order.objects.filter(
        pk=order.pk, status=order.status, attempts=order.attempts
    ).update(attempts=F("attempts") + 1, sent_at=now)
    if not claimed:
        return
    adapter = get_adapter(order.account)
    try:
        reported = adapter.create_order(
            symbol=order.symbol,
            side=OrderSide(order.side),
            type=OrderType(order.type),
            amount=order.amount,
            price=order.price,
            client_order_id=order.client_order_id,
        )
    except PermanentExchangeError as exc:
        _refused(order.pk, exc)
        return
    except ExchangeError as exc:
        # Timeouts and outages: the order may or may not exist; the sync loop finds out by id.
        error = f"{type(exc).__name__}: {exc}"
        Order.objects.filter(pk=order.pk, status__in=Order.LIVE).update(
            status=Order.Status.UNKNOWN, error=error
        )
        return
    finally:
        adapter.close()
    _breaker().record_exchange_success(account_id=order.account_id)
    record_order(order_id=order.pk, reported=reported, now=now)


def _breaker():
    # Imported here: the risk services act on trades and groups, which import this module.
    from apps.risk.services import breaker

    return breaker


def _lookup_failed(order: Order, exc: ExchangeError, now: datetime) -> None:
    """A lookup failed transiently. For an order whose outcome is unknown and that the loop
    has looked up for RECOVERY_GRACE since it was sent, the desk's own recovery has not
    worked: that counts against the circuit breaker (once per failed lookup)."""
    logger.warning("Order %s not synced: %s", order.client_order_id, exc)
    if order.status != Order.Status.UNKNOWN or order.sent_at is None:
        return
    if now - order.sent_at < RECOVERY_GRACE:
        return
    _breaker().record_exchange_error(
        account_id=order.account_id,
        error=f"order {order.client_order_id} still unknown after "
        f"{int((now - order.sent_at).total_seconds())} s: {type(exc).__name__}: {exc}",
        now=now,
    )


def _refused(order_id: int, exc: Exception) -> None:
    from apps.trades.services.groups import fills as group_fills

    if group_fills.group_id_of(order_id) is not None:
        group_fills.refused_group_order(order_id=order_id, error=exc, now=timezone.now())
        return
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        trade = Trade.objects.select_for_update(of=("self",)).select_related("owner", "account")
        trade = trade.get(pk=order.trade_id)
        order.status = Order.Status.REJECTED
        order.error = f"{type(exc).__name__}: {exc}"
        order.save(update_fields=["status", "error", "updated_at"])
        if trade.working_order_id == order.pk:
            trade.working_order = None
        if trade.open_quantity <= 0 and order.purpose == Order.Purpose.ENTRY:
            trade.status = Trade.Status.ERROR
        elif order.purpose != Order.Purpose.ENTRY:
            trade.status = Trade.Status.ERROR  # the position is still held: needs attention
        trade.save(update_fields=["working_order", "status", "updated_at"])
        trade_event(
            trade,
            "exchange.error",
            f"The exchange refused {order.get_purpose_display().lower()} order "
            f"{order.client_order_id}: {exc}",
            level=Event.Level.ERROR,
            data={"reason": str(exc), "client_order_id": order.client_order_id},
        )
        live.push_table(owner_id=trade.owner_id)


# --- Sync ------------------------------------------------------------------------------------


def sync_orders(*, now: datetime, batch: int = 100) -> int:
    """One tick of the order-sync loop: ask the exchange about every live order. Returns how
    many were checked.

    Orders never sent (their task was lost) are sent; orders with an unknown outcome are looked
    up by client order id and sent again only if the exchange has never heard of them. Finding
    one breaks the circuit breaker's error streak; one still unknown after RECOVERY_GRACE of
    failed lookups counts against it (`_lookup_failed`).
    """
    live_orders = list(
        Order.objects.filter(status__in=Order.LIVE)
        .filter(~Q(status=Order.Status.PENDING) | Q(created_at__lte=now - SEND_GRACE))
        .select_related("account__owner")
        .order_by("updated_at")[:batch]
    )
    # One order that cannot be synced (its account's exchange fails unexpectedly, its trade's
    # market is gone) is recorded and skipped; the others are synced.
    each_isolated(
        "trades.sync_orders",
        live_orders,
        lambda order: _sync_one(order, now),
        account_of=lambda order: order.account,
    )
    return len(live_orders)


def _sync_one(order: Order, now: datetime) -> None:
    if order.cancel_requested_at is not None:
        # Retried until the exchange reports the order done (cancelled, or filled first).
        from apps.trades.services.groups.cancels import cancel_order

        cancel_order(order_id=order.pk, now=now)
        return
    if order.status == Order.Status.PENDING:
        send_order(order_id=order.pk, now=now)
        return
    adapter = get_adapter(order.account)
    try:
        reported = adapter.fetch_order(
            symbol=order.symbol,
            exchange_order_id=order.exchange_order_id,
            client_order_id=order.client_order_id,
        )
    except OrderNotFound:
        if order.status == Order.Status.UNKNOWN and order.attempts < MAX_SEND_ATTEMPTS:
            send_order(order_id=order.pk, now=now)
        elif order.status == Order.Status.UNKNOWN:
            _refused(order.pk, OrderNotFound("never reached the exchange after retries"))
        return
    except ExchangeError as exc:
        _lookup_failed(order, exc, now)
        return
    finally:
        adapter.close()
    if order.status == Order.Status.UNKNOWN:
        # Found by its client order id: the send's error is resolved, the exchange works.
        _breaker().record_exchange_success(account_id=order.account_id)
    record_order(order_id=order.pk, reported=reported, now=now)


# --- Recording fills -------------------------------------------------------------------------


def record_order(*, order_id: int, reported: ExchangeOrder, now: datetime) -> None:
    """Apply the exchange's view of an order to the order and its trade.

    1. Lock both rows; the new fill is what the exchange reports beyond what we recorded.
    2. Entry fills grow the position (net of fees paid in base) and open the trade, arming
       its exits; exit fills shrink it.
    3. When the order is done: clear the working order; a closing trade with quantity left
       sends another order for the rest, else it is Closed with its realised PnL.

    A position group's order is recorded by the groups services instead (its leg, the group's
    average entry and PnL), which lock the group before the order.
    """
    from apps.trades.services.groups import fills as group_fills

    group_id = group_fills.group_id_of(order_id)
    if group_id is not None:
        group_fills.record_group_order(
            order_id=order_id, reported=reported, now=now, group_id=group_id
        )
        return
    with transaction.atomic():
        order = Order.objects.select_for_update().get(pk=order_id)
        trade = Trade.objects.select_for_update(of=("self",)).select_related("owner", "account")
        trade = trade.get(pk=order.trade_id)
        if order.status not in Order.LIVE:
            return
        new_filled = reported.filled - order.filled
        new_cost = _cost(reported) - _cost_of(order)
        new_fee = reported.fee_cost - order.fee_cost
        order.filled = reported.filled
        order.average = reported.average
        order.fee_cost = reported.fee_cost
        order.fee_currency = reported.fee_currency
        order.exchange_order_id = reported.exchange_order_id or order.exchange_order_id
        order.status = _STATUS[reported.status]
        order.error = ""
        order.save()
        if new_filled > 0:
            _apply_fill(trade, order, new_filled, new_cost, new_fee, now)
        if order.status not in Order.LIVE:
            _order_done(trade, order, now)
        trade.save()
        live.push_table(owner_id=trade.owner_id)


def _cost(reported: ExchangeOrder) -> Decimal:
    return (reported.average or ZERO) * reported.filled


def _cost_of(order: Order) -> Decimal:
    return (order.average or ZERO) * order.filled


def _apply_fill(trade: Trade, order: Order, filled, cost, fee, now) -> None:
    base = trade.symbol.split("/")[0]
    fee_in_base = fee if order.fee_currency == base else ZERO
    fee_in_quote = fee if order.fee_currency and order.fee_currency != base else ZERO
    price = cost / filled
    if order.purpose == Order.Purpose.ENTRY:
        trade.quantity += filled - fee_in_base
        trade.entry_cost += cost + fee_in_quote
        trade.entry_price = order.average
        if trade.status == Trade.Status.PENDING:
            trade.status = Trade.Status.OPEN
            trade.opened_at = now
            trade.highest = trade.lowest = trade.last_price = price
            # Exits are armed now: they start from a clean memory.
            trade.rule_state = {RuleKind.ENTRY.value: trade.rule_state.get(RuleKind.ENTRY, {})}
        trade_event(
            trade,
            "trade.entry_filled",
            f"Entry filled: {fmt(filled)} {base} at {fmt(price.normalize())}"
            f"{' (partial)' if order.status == Order.Status.OPEN else ''}. "
            "Initial stop, trailing stop and take profit are armed.",
            level=Event.Level.SUCCESS,
            data={"quantity": str(filled), "price": str(price), "fee": str(fee)},
        )
    else:
        trade.exit_quantity += filled
        trade.exit_proceeds += cost - fee_in_quote
        trade_event(
            trade,
            "trade.exit_filled",
            f"{order.get_purpose_display()} order filled {fmt(filled)} {base} at "
            f"{fmt(price.normalize())}.",
            data={"quantity": str(filled), "price": str(price), "fee": str(fee)},
        )


def _order_done(trade: Trade, order: Order, now) -> None:
    if trade.working_order_id == order.pk:
        trade.working_order = None
    if order.purpose == Order.Purpose.ENTRY:
        if trade.status == Trade.Status.PENDING:  # finished with nothing filled
            trade.status = Trade.Status.ERROR
            trade_event(
                trade,
                "exchange.error",
                f"Entry order {order.client_order_id} ended {order.get_status_display().lower()}"
                " with nothing filled.",
                level=Event.Level.ERROR,
                data={"reason": order.status},
            )
        return
    if trade.open_quantity > 0:
        # Partly filled exit: the trade keeps closing; the next tick sends the rest.
        transaction.on_commit(
            lambda: start_exit(trade_id=trade.pk, reason=order.purpose, explanation=None, now=now)
        )
        return
    _close(trade, now)


def _close(trade: Trade, now, *, note: str = "") -> None:
    trade.status = Trade.Status.CLOSED
    trade.closed_at = now
    # The cost of what was sold: dust below the market's step (the fee taken in the coin
    # leaves some) is still held, so its cost is not a loss.
    sold_cost = trade.entry_cost
    if 0 < trade.exit_quantity < trade.quantity:
        sold_cost = trade.entry_cost * trade.exit_quantity / trade.quantity
    trade.realised_pnl = trade.exit_proceeds - sold_cost
    pct = trade.realised_pnl / sold_cost * 100 if sold_cost else ZERO
    trade_event(
        trade,
        "position.closed",
        f"Position closed ({Order.Purpose(trade.exit_reason).label.lower()}): realised "
        f"{fmt(trade.realised_pnl.quantize(Decimal('0.00000001')))} "
        f"({fmt(pct.quantize(Decimal('0.01')))} %).{note}",
        level=Event.Level.SUCCESS if trade.realised_pnl >= 0 else Event.Level.WARNING,
        data={"pnl": str(trade.realised_pnl), "pnl_pct": str(pct), "reason": trade.exit_reason},
    )


def _close_as_dust(trade: Trade, reason: str, now) -> None:
    trade.exit_reason = trade.exit_reason or Order.Purpose.CLOSE
    _close(trade, now, note=f" {fmt(trade.open_quantity)} left is below the minimum ({reason}).")
    trade.save()
    live.push_table(owner_id=trade.owner_id)
