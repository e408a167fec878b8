"""What a signal does to position groups: open one, add a pyramid to it, queue it, or exit it.

`act_on_signal` is the one entry point the webhooks app calls, once per parsed signal, in
arrival order per account and symbol; the queue (apps.trade_queue) calls it again for an entry
it promotes. It reads the market (outside any transaction), then decides and writes intent in
one transaction holding the account row lock, then the orders are sent after commit.

A signal's intent transaction first asks the caller whether the signal is still its to act on
(`still_claimed`, which locks the signal's row): a worker whose claim was taken over (it lost
its lane, and the signal was handed to another) writes nothing, so a signal never acts twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction

from apps.core.message_figures import figures_of
from apps.core.timeframes import timeframe_words
from apps.exchanges.domain.precision import fmt
from apps.exchanges.domain.types import Ticker
from apps.exchanges.errors import ExchangeError, TransientExchangeError
from apps.exchanges.models import ExchangeAccount, Market
from apps.exchanges.services import market_data
from apps.exchanges.services.markets import rules_of
from apps.positions.models import Order, PositionGroup
from apps.positions.services import hooks, intents, live, opening
from apps.positions.services.events import group_event
from apps.positions.services.hooks import Entry, QueueBusy
from apps.positions.services.pool import Pool, pool_of
from apps.positions.services.settle import settle
from apps.strategies.domain import dca
from apps.strategies.domain.catalog import Side
from apps.strategies.domain.sizing import Sizing, SizingError, SizingKind
from apps.strategies.models import Strategy
from apps.strategies.services import pyramid_capital

# A ticker older than this is not a price to lay a grid from.
TICKER_MAX_AGE = timedelta(minutes=2)
# A transient error fetching the entry's ticker (a dropped connection, a rate limit) is tried
# again after these pauses, in seconds: three tries in under a second, well inside a lane's
# drain, before the entry is rejected.
TICKER_RETRY_PAUSES = (0.2, 0.5)
TAKEN_OVER = "Its processing was taken over by another worker; this one wrote nothing."
EXECUTED = "executed"
REJECTED = "rejected"
QUEUED = "queued"


@dataclass(frozen=True)
class SignalOrder:
    action: str  # "entry" or "exit"
    symbol: str  # the account's market symbol, e.g. "BTC/USDT"
    timeframe: str  # as the signal gives it ("15", "60", "1D"...); part of the group key
    side: str  # "long" (short later)
    price: Decimal | None  # the signal's price (e.g. {{close}}), None if not given
    quantity: Decimal | None = None  # explicit base quantity from the signal, overrides sizing


@dataclass(frozen=True)
class SignalOutcome:
    decision: str  # "executed", "rejected" or "queued" (the pool is full: it waits its turn)
    reason: str  # always a sentence a trader can read
    group_id: int | None
    order_ids: tuple[int, ...]


def _rejected(reason: str, group_id: int | None = None) -> SignalOutcome:
    return SignalOutcome(REJECTED, reason, group_id, ())


def act_on_signal(
    *,
    account: ExchangeAccount,
    strategy: Strategy,
    order: SignalOrder,
    signal_id: int | None,
    now: datetime,
    queued_id: int | None = None,
    still_claimed: Callable[[], bool] | None = None,
) -> SignalOutcome:
    """Execute one signal against the account's position groups; never raises for a decision
    (every refusal is a rejected outcome with its reason). An entry that finds the pool full
    is queued. `queued_id` is the queue row being promoted: the entry is checked as if new,
    and if the pool is full again it stays queued (decision "queued", nothing written).
    `still_claimed` is called inside the intent transaction, before anything is written; when
    it answers False nothing is written (a rejected outcome saying so)."""
    if order.side != Side.LONG:
        return _rejected(f"Only long positions are traded for now, not {order.side}.")
    if not order.timeframe:
        return _rejected("The signal has no timeframe; it is part of the position group's key.")
    if order.action == "exit":
        return _exit(
            account=account,
            order=order,
            signal_id=signal_id,
            now=now,
            still_claimed=still_claimed,
        )
    if order.action == "entry":
        return _entry(
            account=account,
            strategy=strategy,
            order=order,
            signal_id=signal_id,
            now=now,
            queued_id=queued_id,
            still_claimed=still_claimed,
        )
    return _rejected(f"Unknown action {order.action!r}: a signal enters or exits.")


def _key(order: SignalOrder) -> str:
    return f"{order.symbol} {timeframe_words(order.timeframe)} {order.side}"


# --- Entry ------------------------------------------------------------------------------------


def _entry(
    *,
    account: ExchangeAccount,
    strategy: Strategy,
    order: SignalOrder,
    signal_id: int | None,
    now: datetime,
    queued_id: int | None = None,
    still_claimed: Callable[[], bool] | None = None,
) -> SignalOutcome:
    """Open a group, or add a pyramid to the open one, or queue the entry.

    1. Outside any transaction: the account trades, its market rules are fresh, the symbol is
       listed, the strategy's grid is valid, and a fresh ticker gives the market price.
    2. The pyramid's entry price is the signal's price when it gives one (the price the alert
       decided at), else the ask; its capital is the signal's quantity × that price, else the
       strategy's sizing. Leg 0's market buy is sized at the ask, what it will pay.
    3. In one transaction holding the account row lock (so concurrent signals of the account
       take turns and the pool count cannot go stale): find the open group of the key; none
       opens one if the pool has room; one takes a pyramid if below its limit.
    4. An entry that needs a slot (a new group, or any add when pyramids count toward the
       pool) and finds none free, or finds entries already waiting for the free ones, is
       queued (apps.trade_queue) once its grid is known to be placeable.
    5. Lay the grid (legs below the minimums are reported and skipped) and write the orders;
       they are sent after commit. A promoted entry's queue row is marked promoted in the
       same transaction.
    """
    checked = _market_checks(account=account, order=order, now=now)
    if isinstance(checked, SignalOutcome):
        return checked
    market, ticker = checked
    try:
        grid = strategy.grid
    except dca.GridError as error:
        return _rejected(f"The strategy's DCA grid is invalid: {error}")
    market_price = ticker.ask or ticker.last  # what leg 0's market buy pays now
    reference = order.price or market_price
    if reference <= 0:
        return _rejected(f"The signal's price {fmt(reference)} is not a price.")
    try:
        capital = _capital(account=account, strategy=strategy, order=order, price=reference)
    except SizingError as error:
        return _rejected(f"The entry cannot be sized: {error}")

    with transaction.atomic():
        account = ExchangeAccount.objects.select_for_update().get(pk=account.pk)
        group = (
            # Only the group's row: locking its owner's too would block the foreign-key checks
            # (FOR KEY SHARE) of every other transaction writing rows of that user.
            PositionGroup.objects.select_for_update(of=("self",))
            .select_related("owner", "account")
            .filter(
                account=account,
                symbol=order.symbol,
                timeframe=order.timeframe,
                side=order.side,
                status=PositionGroup.Status.OPEN,
                trade__isnull=True,  # a ticket's position is its own, never pyramided into
            )
            .first()
        )
        if still_claimed is not None and not still_claimed():
            return _rejected(TAKEN_OVER)
        pool = pool_of(account)
        if group is not None:
            # A new entry for the group restarts the risk engine's wait, even one refused at
            # the pyramid limit.
            hooks.position_added_to(position=group, now=now)
        if group is not None and group.pyramids.count() >= group.pyramid_limit:
            return _rejected(
                f"{_key(order)}: pyramid limit {group.pyramid_limit} reached "
                f"(position #{group.pk}).",
                group.pk,
            )
        if group is None or pool.pyramids_count:
            waits = _must_wait(account=account, pool=pool, order=order, queued_id=queued_id)
            if waits:
                if queued_id is not None:
                    return SignalOutcome(QUEUED, waits, group.pk if group else None, ())
                return _queue(
                    account=account,
                    strategy=strategy,
                    order=order,
                    group=group,
                    pool=pool,
                    why=waits,
                    planned=_plan(
                        grid if group is None else _group_grid(group),
                        reference=reference,
                        capital=capital,
                        market=market,
                        market_price=market_price,
                    ),
                    market_price=market_price,
                    signal_id=signal_id,
                    now=now,
                )
        if group is None:
            outcome = _open_group(
                account=account,
                strategy=strategy,
                order=order,
                grid=grid,
                reference=reference,
                capital=capital,
                market=market,
                market_price=market_price,
                signal_id=signal_id,
                now=now,
                holding=pool.used,
            )
        else:
            outcome = _add_pyramid(
                group=group,
                reference=reference,
                capital=capital,
                market=market,
                market_price=market_price,
                signal_id=signal_id,
                now=now,
            )
        if outcome.decision == EXECUTED:
            if queued_id is not None:
                hooks.entry_promoted(
                    queued_id=queued_id,
                    reason=outcome.reason,
                    group_id=outcome.group_id,
                    order_ids=outcome.order_ids,
                    now=now,
                )
            hooks.pool_changed(account_id=account.pk, freed=False)
        return outcome


def _must_wait(
    *, account: ExchangeAccount, pool: Pool, order: SignalOrder, queued_id: int | None
) -> str:
    """Why an entry that needs a slot cannot take one now ("" when it can): the pool is full,
    or (for a new signal) entries are already waiting, and the free slot is theirs by priority.
    A promotion was picked by priority and only needs the slot."""
    slots = f"{pool.used} of {pool.size} slot{'s' if pool.size != 1 else ''}"
    if pool.is_full:
        return (
            f"{account.label}'s pool is full ({slots} used, max open groups {pool.size}); "
            f"{_key(order)} waits for a free slot."
        )
    if queued_id is None:
        ahead = hooks.entries_waiting.ask(account_id=account.pk) or 0
        if ahead:
            # A slot freed a moment ago and its promotion is on its way: wait with the others.
            hooks.pool_changed(account_id=account.pk, freed=True)
            return (
                f"{ahead} entr{'ies' if ahead != 1 else 'y'} already wait for {account.label}'s "
                f"free slot ({slots} used); the queue goes by priority."
            )
    return ""


def _queue(
    *,
    account: ExchangeAccount,
    strategy: Strategy,
    order: SignalOrder,
    group: PositionGroup | None,
    pool: Pool,
    why: str,
    planned: tuple[dca.PlannedLeg, ...] | str,
    market_price: Decimal,
    signal_id: int | None,
    now: datetime,
) -> SignalOutcome:
    """Queue the entry (an entry whose grid cannot be placed is rejected instead: it would
    only be rejected when promoted)."""
    group_id = group.pk if group else None
    if isinstance(planned, str):
        return _rejected(planned, group_id)
    try:
        reason = hooks.queue_entry.ask(
            account=account,
            strategy=strategy,
            entry=Entry(order.symbol, order.timeframe, order.side, order.price, order.quantity),
            signal_id=signal_id,
            market_price=market_price,
            pool=pool,
            why=why,
            now=now,
        )
    except QueueBusy as busy:
        return _rejected(str(busy), group_id)
    if reason is None:  # no queue to wait in
        return _rejected(why, group_id)
    return SignalOutcome(QUEUED, reason, group_id, ())


def _group_grid(group: PositionGroup) -> tuple[dca.LegSpec, ...]:
    # The group keeps the grid it opened with: editing the strategy changes new groups only.
    return dca.legs_or_single(dca.parse_grid(group.grid), group_tp_pct=group.group_tp_pct)


def _market_checks(
    *, account: ExchangeAccount, order: SignalOrder, now: datetime
) -> tuple[Market, Ticker] | SignalOutcome:
    market = opening.refusal(account=account, symbol=order.symbol, now=now)
    if isinstance(market, opening.Refused):
        return _rejected(market.reason)
    ticker = _entry_ticker(account=account, symbol=order.symbol)
    if isinstance(ticker, str):
        return _rejected(ticker)
    if now - ticker.timestamp > TICKER_MAX_AGE:
        age = int((now - ticker.timestamp).total_seconds())
        return _rejected(f"The last {order.symbol} price is {age} s old; no grid is laid on it.")
    return market, ticker


def _entry_ticker(*, account: ExchangeAccount, symbol: str) -> Ticker | str:
    """The symbol's ticker, or why there is none. A transient error (the request may simply
    not have got through) is tried again after each of TICKER_RETRY_PAUSES; a permanent one,
    or a ticker the exchange does not have, is the answer at once."""
    pauses = (0.0, *TICKER_RETRY_PAUSES)
    for pause in pauses:
        if pause:
            _pause(pause)
        try:
            return market_data.tickers(account=account, symbols=[symbol])[symbol]
        except TransientExchangeError as exc:
            last = exc
        except (ExchangeError, KeyError) as exc:
            return f"No price for {symbol}: {exc}"
    return f"No price for {symbol} after {len(pauses)} tries: {last}"


def _pause(seconds: float) -> None:
    time.sleep(seconds)


def _capital(
    *, account: ExchangeAccount, strategy: Strategy, order: SignalOrder, price: Decimal
) -> Decimal:
    """The quote a pyramid spreads over its grid: the signal's quantity at its price, else the
    strategy's sizing."""
    if order.quantity is not None:
        if order.quantity <= 0:
            raise SizingError(f"The signal's quantity {fmt(order.quantity)} is not positive.")
        return order.quantity * price
    sizing = Sizing(SizingKind(strategy.sizing_kind), strategy.sizing_value.normalize())
    return pyramid_capital(account=account, sizing=sizing, price=price)


def _plan(
    grid: tuple[dca.LegSpec, ...],
    *,
    reference: Decimal,
    capital: Decimal,
    market: Market,
    market_price: Decimal,
) -> tuple[dca.PlannedLeg, ...] | str:
    """The pyramid's grid on the market; a problem string when no leg can be placed."""
    planned = dca.lay_grid(
        grid,
        entry_price=reference,
        capital=capital,
        rules=rules_of(market),
        side=Side.LONG,
        market_price=market_price,
    )
    if not any(plan.ok for plan in planned):
        return f"No leg of the grid can be placed (leg 1: {planned[0].problem})."
    return planned


def _open_group(
    *,
    account: ExchangeAccount,
    strategy: Strategy,
    order: SignalOrder,
    grid: tuple[dca.LegSpec, ...],
    reference: Decimal,
    capital: Decimal,
    market: Market,
    market_price: Decimal,
    signal_id: int | None,
    now: datetime,
    holding: int,
) -> SignalOutcome:
    # The pool was counted by the caller under the account row lock, so concurrent entries
    # take turns and the count is never stale (check and act in one locked transaction).
    planned = _plan(
        grid,
        reference=reference,
        capital=capital,
        market=market,
        market_price=market_price,
    )
    if isinstance(planned, str):
        return _rejected(planned)
    group = opening.create_position(
        account=account,
        symbol=order.symbol,
        timeframe=order.timeframe,
        side=order.side,
        strategy=strategy,
        grid=grid,
        tp_mode=strategy.tp_mode,
        group_tp_pct=strategy.group_tp_pct,
        pyramid_limit=strategy.pyramid_limit,
        # The strategy's stops guard the position beside its take profit.
        rules=opening.exit_rules(strategy.rules, opening.EXIT_RULES_OF_STRATEGY),
        rest_take_profit=strategy.rest_take_profit,
        trade_id=None,
        now=now,
    )
    group_event(
        group,
        "group.opened",
        f"Position {_key(order)} opened by an entry signal with strategy "
        f"{strategy.name}: {len(grid)} leg grid, {dca.TpMode(group.tp_mode).label.lower()} take "
        f"profit, up to {group.pyramid_limit} pyramids ({holding + 1} of "
        f"{account.max_open_groups} pool slots used on {account.label}).",
        data={
            "price": str(reference),
            "capital": str(capital),
            "tp_mode": group.tp_mode,
            "group_tp_pct": str(group.group_tp_pct),
            "signal": signal_id or "",
        },
    )
    _, orders = intents.lay_pyramid(
        group,
        index=0,
        entry_price=reference,
        capital=capital,
        planned=planned,
        signal_id=signal_id,
        now=now,
    )
    skipped = sum(1 for plan in planned if not plan.ok)
    live.push_group(group, created=True)
    shown = figures_of(group, unit=account.quote_currency)
    return SignalOutcome(
        EXECUTED,
        f"Opened {_key(order)} position #{group.pk}: pyramid 1 of {group.pyramid_limit}, "
        f"{_legs_text(orders, skipped)} with {shown.quote(capital)} "
        f"from {shown.price(reference)}.",
        group.pk,
        tuple(o.pk for o in orders),
    )


def _add_pyramid(
    *,
    group: PositionGroup,
    reference: Decimal,
    capital: Decimal,
    market: Market,
    market_price: Decimal,
    signal_id: int | None,
    now: datetime,
) -> SignalOutcome:
    count = group.pyramids.count()  # below the limit: the caller checked, under the lock
    key = group.name
    planned = _plan(
        _group_grid(group),
        reference=reference,
        capital=capital,
        market=market,
        market_price=market_price,
    )
    if isinstance(planned, str):
        return _rejected(planned, group.pk)
    shown = figures_of(group, unit=group.account.quote_currency)
    group_event(
        group,
        "group.pyramid_added",
        f"Pyramid {count + 1} of {group.pyramid_limit} added to {key} by an entry signal at "
        f"{shown.price(reference)} with {shown.quote(capital)}.",
        data={
            "pyramid": count + 1,
            "price": str(reference),
            "capital": str(capital),
            "signal": signal_id or "",
        },
    )
    _, orders = intents.lay_pyramid(
        group,
        index=count,
        entry_price=reference,
        capital=capital,
        planned=planned,
        signal_id=signal_id,
        now=now,
    )
    skipped = sum(1 for plan in planned if not plan.ok)
    live.push_group(group)
    return SignalOutcome(
        EXECUTED,
        f"Pyramid {count + 1} of {group.pyramid_limit} added to {key} position #{group.pk}: "
        f"{_legs_text(orders, skipped)} with {shown.quote(capital)} "
        f"from {shown.price(reference)}.",
        group.pk,
        tuple(o.pk for o in orders),
    )


def _legs_text(orders: list[Order], skipped: int) -> str:
    resting = sum(1 for o in orders if o.type == "limit")
    parts = []
    if len(orders) > resting:
        parts.append("leg 1 at market")
    if resting:
        parts.append(f"{resting} resting limit buy{'s' if resting != 1 else ''}")
    text = " and ".join(parts)
    if skipped:
        text += f" ({skipped} leg{'s' if skipped != 1 else ''} below the market minimum skipped)"
    return text


# --- Exit -------------------------------------------------------------------------------------


def _exit(
    *,
    account: ExchangeAccount,
    order: SignalOrder,
    signal_id: int | None,
    now: datetime,
    still_claimed: Callable[[], bool] | None = None,
) -> SignalOutcome:
    """Cancel the group's resting legs and close its whole position at market; an entry
    queued for the key is cancelled too ("cancelled by exit")."""
    with transaction.atomic():
        group = (
            # Only the group's row: locking its owner's too would block the foreign-key checks
            # (FOR KEY SHARE) of every other transaction writing rows of that user.
            PositionGroup.objects.select_for_update(of=("self",))
            .select_related("owner", "account")
            .filter(
                account=account,
                symbol=order.symbol,
                timeframe=order.timeframe,
                side=order.side,
                status__in=[PositionGroup.Status.OPEN, PositionGroup.Status.ERROR],
                trade__isnull=True,
            )
            .order_by("-opened_at", "-pk")
            .first()
        )
        if still_claimed is not None and not still_claimed():
            return _rejected(TAKEN_OVER)
        # After the group's lock, as an entry takes them (group, then queue row): no deadlock.
        cancelled = hooks.exit_cancels_queued.ask(
            account=account,
            entry=Entry(order.symbol, order.timeframe, order.side, None, None),
            signal_id=signal_id,
            now=now,
        )
        if group is None and cancelled is not None:
            return SignalOutcome(
                EXECUTED,
                f"Cancelled the {_key(order)} entry waiting in the queue"
                + (f" (signal {cancelled.signal_id})" if cancelled.signal_id else "")
                + f"; no {_key(order)} position is open to exit.",
                None,
                (),
            )
        if group is None:
            closing = PositionGroup.objects.filter(
                account=account,
                symbol=order.symbol,
                timeframe=order.timeframe,
                side=order.side,
                status=PositionGroup.Status.CLOSING,
                trade__isnull=True,
            ).first()
            if closing is not None:
                return _rejected(f"{_key(order)} position #{closing.pk} is already closing.")
            return _rejected(f"No open {_key(order)} position to exit on {account.label}.")
        outcome = close_group_locked(
            group, purpose=Order.Purpose.EXIT_SIGNAL, price=None, signal_id=signal_id, now=now
        )
    if cancelled is not None:
        outcome = replace(
            outcome, reason=f"{outcome.reason} The {_key(order)} entry queued is cancelled."
        )
    return outcome


# The event (and notification) of a stop or a take profit that fired, whether the desk's loop
# saw it (a close) or the exchange filled the resting order (`protection.hit`).
HIT_EVENT = {
    Order.Purpose.GROUP_TAKE_PROFIT: "trade.take_profit_hit",
    Order.Purpose.TAKE_PROFIT: "trade.take_profit_hit",
    Order.Purpose.LEG_TAKE_PROFIT: "trade.take_profit_hit",
    Order.Purpose.INITIAL_STOP: "trade.stop_hit",
    Order.Purpose.TRAILING_STOP: "trade.stop_hit",
}


def close_group_locked(
    group: PositionGroup,
    *,
    purpose: str,
    price: Decimal | None,
    signal_id: int | None,
    now: datetime,
    why: str = "",
) -> SignalOutcome:
    """Close a locked group (exit signal, the trader's close, or the group take profit), with
    the event that says why; the group settles at once if nothing is left to wait for."""
    price = price or group.last_price or group.average_entry
    with intents.sends_after():
        sell, cancelling = intents.begin_close(
            group, purpose=purpose, price=price, signal_id=signal_id, now=now
        )
        base = intents.base_of(group.symbol)
        parts = []
        legs = [order for order in cancelling if not order.protective]
        if legs:
            parts.append(f"cancelling {len(legs)} resting leg{'s' if len(legs) > 1 else ''}")
        protective = [order for order in cancelling if order.protective]
        if protective:
            # A stop, or the take profit's limit sells (one per leg, per leg).
            what = "stop" if protective[0].is_stop else "take profit"
            ids = ", ".join(order.client_order_id for order in protective)
            orders = "orders" if len(protective) > 1 else "order"
            parts.append(f"cancelling its resting {what} ({orders} {ids}) first")
        if sell is not None:
            parts.append(
                f"selling {figures_of(group).amount(sell.amount)} {base} at market "
                f"(order {sell.client_order_id})"
            )
        action = " and ".join(parts) or "nothing held and nothing resting"
        reason = intents.CLOSE_REASONS[purpose]
        group_event(
            group,
            HIT_EVENT.get(purpose, "group.exit"),
            f"{reason.capitalize()}: {why + ' ' if why else ''}closing the position: {action}.",
            data={
                "quantity": str(sell.amount) if sell else "0",
                "price": str(price or ""),
                "reason": reason,
                "cancelled": [o.client_order_id for o in cancelling],
                "signal": signal_id or "",
            },
        )
    settle(group, price=price, now=now)
    group.save()
    live.push_group(group)
    return SignalOutcome(
        EXECUTED,
        f"Closing {group}: {action}.",
        group.pk,
        (sell.pk,) if sell else (),
    )
