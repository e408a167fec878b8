"""The activation checks: everything that must hold before a ticket may trade.

Each failed check is reported against the ticket field it concerns ("symbol", "sizing",
"entry", "initial_stop", ..., "portfolio"), so the ticket can show it next to that field. The
same entry sizing is used again when the entry rule fires (`size_entry_order`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from apps.core.message_figures import figures_of_market
from apps.exchanges.domain.precision import OrderRuleViolation, fmt, prepare_order
from apps.exchanges.domain.types import Ticker
from apps.exchanges.errors import ExchangeError
from apps.exchanges.models import BalanceSnapshot, ExchangeAccount, Market
from apps.exchanges.services import market_data
from apps.exchanges.services.markets import rules_of
from apps.positions.services import opening
from apps.strategies.domain.catalog import Rule, RuleKind, Side
from apps.strategies.domain.evaluation import (
    Inputs,
    coherence_problems,
    entry_reference,
    stop_price,
)
from apps.strategies.domain.evaluation import fmt as shown  # 8 places: an indicator carries ~28
from apps.strategies.domain.sizing import Sizing, SizingError, size_entry
from apps.tickets.services.candles import CandlesUnavailable, candle_operands, warm

# A ticker older than this is not "fresh market data" for a new order.
TICKER_MAX_AGE = timedelta(minutes=2)


@dataclass(frozen=True)
class Plan:
    """What the checks found: the order the entry would send now, and the facts they used."""

    problems: dict[str, str] = field(default_factory=dict)
    amount: Decimal | None = None  # base amount the entry would buy now (rounded)
    price: Decimal | None = None  # entry reference price
    notional: Decimal | None = None
    facts: dict[str, str] = field(default_factory=dict)
    passed: tuple[str, ...] = ()  # the checks that held, in order, for the timeline

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class EntrySize:
    amount: Decimal
    price: Decimal
    notional: Decimal


def check_activation(
    *,
    account: ExchangeAccount,
    symbol: str,
    side: Side,
    sizing: Sizing,
    rules: Mapping[RuleKind, Rule | None],
    portfolio: bool,
    now: datetime,
    opens_position: bool = True,
) -> Plan:
    """Run every activation check and say what the entry would send.

    1. The opening gate (`opening.refusal`): the account trades, and (for a ticket that is
       still to enter: `opens_position`) no account guard refuses a new position on the
       symbol; its market rules are fresh and list the symbol as active.
    2. A fresh ticker, and the rules' candle sources, can be read now.
    3. The rules are coherent (a long's stop below the entry reference, take profit above).
    4. The sizing gives an amount that passes precision, min amount and min notional.
    5. With Portfolio ticked: the free quote balance covers the order plus its taker fee.
    """
    problems: dict[str, str] = {}
    market = opening.refusal(account=account, symbol=symbol, now=now, guards=opens_position)
    if isinstance(market, opening.Refused):
        return Plan({market.field: market.reason})

    inputs, data_problems = read_inputs(account=account, market=market, rules=rules, now=now)
    problems |= data_problems
    if "symbol" in problems:
        return Plan(problems)
    for kind, message in coherence_problems(rules, inputs, side).items():
        problems.setdefault(kind.value, message)
    if problems:
        return Plan(problems)

    entry = rules[RuleKind.ENTRY]
    assert entry is not None
    reference = entry_reference(entry, inputs, side)
    assert reference is not None
    try:
        size = size_entry_order(
            account=account,
            market=market,
            side=side,
            sizing=sizing,
            price=reference,
            stop=stop_price(rules.get(RuleKind.INITIAL_STOP), inputs, side, reference),
            tickers=None,
        )
    except (SizingError, OrderRuleViolation) as exc:
        return Plan({"sizing": str(exc)}, price=reference)
    facts = {"entry_reference": str(reference), "amount": str(size.amount)}
    figures = figures_of_market(market)
    passed = [
        f"{symbol} trading on fresh market rules",
        "fresh price and indicator data",
        "rules coherent",
        f"{figures.amount(size.amount)} {market.base} at {figures.price(reference)} passes "
        "precision and minimums",
    ]
    if portfolio:
        problem = buying_power_problem(account=account, market=market, size=size)
        if problem:
            problems["portfolio"] = problem
        passed.append("enough buying power including fees")
    return Plan(problems, size.amount, reference, size.notional, facts, tuple(passed))


def read_inputs(
    *, account: ExchangeAccount, market: Market, rules: Mapping[RuleKind, Rule | None], now
) -> tuple[Inputs, dict[str, str]]:
    """The ticker and candle values the rules read, fetched now."""
    problems: dict[str, str] = {}
    try:
        ticker = market_data.tickers(account=account, symbols=[market.symbol])[market.symbol]
    except (ExchangeError, KeyError) as exc:
        return Inputs(), {"symbol": f"No price for {market.symbol}: {exc}"}
    if now - ticker.timestamp > TICKER_MAX_AGE:
        age = int((now - ticker.timestamp).total_seconds())
        return Inputs(), {"symbol": f"The last {market.symbol} price is {age} s old."}
    candles: dict = {}
    for kind, rule in rules.items():
        operands = candle_operands([rule])
        if not operands:
            continue
        try:
            candles |= warm(account=account, symbol=market.symbol, operands=operands, now=now)
        except CandlesUnavailable as exc:
            problems.setdefault(kind.value, str(exc))
    return Inputs(last=ticker.last, bid=ticker.bid, ask=ticker.ask, candles=candles), problems


def size_entry_order(
    *,
    account: ExchangeAccount,
    market: Market,
    side: Side,
    sizing: Sizing,
    price: Decimal,
    stop: Decimal | None,
    tickers: Mapping[str, Ticker] | None,
) -> EntrySize:
    """The entry's base amount at `price`, rounded and checked against the market's minimums.

    Raises SizingError or OrderRuleViolation with the reason.
    """
    balances = {row.asset: row for row in BalanceSnapshot.objects.filter(account=account)}
    quote = balances.get(account.quote_currency)
    buying_power = quote.free if quote else Decimal(0)
    size = size_entry(
        sizing,
        price=price,
        buying_power=buying_power / (1 + market_data.taker_fee_rate(account=account)),
        equity=_equity(account, balances, market, price) if sizing.kind == "risk_pct" else 0,
        stop=stop,
    )
    amount = size.amount if size.amount is not None else size.quote_amount / price
    prepared = prepare_order(rules_of(market), amount=amount, price=price)
    return EntrySize(prepared.amount, price, prepared.notional)


def _equity(account, balances, market: Market, price: Decimal) -> Decimal:
    """Quote balance plus the symbol's base balance at `price`; other assets are not valued
    (that would need their tickers), which understates equity and so never over-risks."""
    equity = Decimal(0)
    if account.quote_currency in balances:
        equity += balances[account.quote_currency].total
    if market.base in balances and market.quote == account.quote_currency:
        equity += balances[market.base].total * price
    return equity


def buying_power_problem(*, account: ExchangeAccount, market: Market, size: EntrySize) -> str:
    """The portfolio filter: free quote must cover the notional plus the taker fee."""
    fee_rate = market_data.taker_fee_rate(account=account)
    needed = size.notional * (1 + fee_rate)
    quote = BalanceSnapshot.objects.filter(account=account, asset=market.quote).first()
    free = quote.free if quote else Decimal(0)
    if needed > free:
        return (
            f"Needs {shown(needed.normalize())} {market.quote} including "
            f"{fmt(fee_rate * 100)} % fees; {fmt(free.normalize())} {market.quote} is free."
        )
    return ""
