"""The one gate for opening a position, and the writing of a new position.

Whatever opens a position — an entry signal, a promoted queue entry, an activated ticket whose
entry rule fired, or the ticket's activation checks asking ahead — asks `refusal` first, and
gets the same reason for the same cause:

1. the account trades (it is not paused);
2. every entry check passes (`hooks.entry_check`): the risk app connects its guards at
   start-up (kill switch, circuit breaker, daily loss, drawdown, the symbol's exposure), so
   the engine never imports risk;
3. the account's market rules are fresh, and list the symbol as trading.

The pool (a free slot) is checked by the opener under the account's row lock, where the count
cannot go stale: signals queue when it is full, a ticket's entry waits as Pending with the
reason shown (`apps.tickets.services.entries`). Precision, minimums and balance are checked
when the position's grid is laid on the market (`dca.lay_grid`, sizing).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from apps.exchanges.models import ExchangeAccount, Market
from apps.exchanges.services.markets import MarketsStale, ensure_markets_fresh
from apps.positions.models import PositionGroup
from apps.positions.services import hooks
from apps.strategies.domain import dca
from apps.strategies.models import Strategy


@dataclass(frozen=True)
class Refused:
    """Why no position may open: `field` is the ticket field it concerns ("account" or
    "symbol"), `reason` a sentence a trader reads."""

    field: str
    reason: str


def refusal(
    *, account: ExchangeAccount, symbol: str, now: datetime, guards: bool = True
) -> Refused | Market:
    """The gate's checks that do not need the pool: the market to open on, or why not.
    `guards=False` leaves the entry checks out, for a check that opens nothing (a running
    ticket's new revision)."""
    if not account.is_active:
        return Refused("account", f"{account.label} is paused; resume it to trade.")
    blocked = guard_problem(account=account, symbol=symbol, now=now) if guards else ""
    if blocked:
        return Refused("account", blocked)
    try:
        ensure_markets_fresh(account=account, now=now)
    except MarketsStale as stale:
        return Refused("symbol", str(stale))
    market = Market.objects.filter(account=account, symbol=symbol).first()
    if market is None:
        return Refused("symbol", f"{account.label} has no market {symbol}.")
    if not market.active:
        return Refused("symbol", f"{symbol} is not trading on {account.label} right now.")
    return market


def guard_problem(*, account: ExchangeAccount, symbol: str, now: datetime) -> str:
    """Why the registered entry checks (the account guards) refuse a new position ("" when
    they do not)."""
    blocked = hooks.entry_check.ask(account=account, symbol=symbol, now=now)
    return f"{blocked[0].upper()}{blocked[1:]}." if blocked else ""


EXIT_RULES_OF_STRATEGY = ("initial_stop", "trailing_stop")
EXIT_RULES_OF_TICKET = ("initial_stop", "trailing_stop", "take_profit")


def exit_rules(rules: dict, kinds: tuple[str, ...]) -> dict:
    """The exit rules a position carries, out of a ticket's or strategy's stored rules."""
    return {kind: rules[kind] for kind in kinds if rules.get(kind)}


def create_position(
    *,
    account: ExchangeAccount,
    symbol: str,
    timeframe: str,
    side: str,
    strategy: Strategy | None,
    grid: tuple[dca.LegSpec, ...],
    tp_mode: str,
    group_tp_pct: Decimal,
    pyramid_limit: int,
    rules: dict,
    trade_id: int | None,
    now: datetime,
    rest_take_profit: bool = False,
) -> PositionGroup:
    """Write a new position (no pyramid yet) with its settings frozen: editing the strategy
    or the ticket later changes new positions, never one already running. `trade_id` is the
    ticket that opened it (None for a signal)."""
    position = PositionGroup.objects.create(
        owner=account.owner,
        account=account,
        symbol=symbol,
        timeframe=timeframe,
        side=side,
        strategy=strategy,
        tp_mode=tp_mode,
        group_tp_pct=group_tp_pct,
        pyramid_limit=pyramid_limit,
        grid=[leg.to_dict() for leg in grid],
        trade_id=trade_id,
        exit_rules=rules,
        rest_take_profit=rest_take_profit,
        opened_at=now,
    )
    position.account = account  # the locked row, owner included, for the events
    return position
