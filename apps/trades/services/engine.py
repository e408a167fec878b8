"""The rules loop: evaluate every running trade's armed rules once per tick.

The number of queries per tick does not grow with the number of trades: one query loads the
trades with their revisions, one the accounts, one the indicator cache, one bulk update writes
what changed. Only a rule that fires (or an outcome that changes) costs queries of its own, and
tickers come in one batch per account.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import transaction

from apps.core.bulk import bulk_set
from apps.core.loops import each_isolated
from apps.exchanges.domain.precision import OrderRuleViolation
from apps.exchanges.domain.types import Ticker
from apps.exchanges.errors import ExchangeError
from apps.exchanges.models import ExchangeAccount, Market
from apps.exchanges.services import market_data
from apps.trades.domain.catalog import Rule, RuleKind, Side
from apps.trades.domain.evaluation import Evaluation, Inputs, Memory, evaluate, stop_price
from apps.trades.domain.sizing import SizingError
from apps.trades.models import Trade
from apps.trades.services import live, orders
from apps.trades.services.candles import read_values
from apps.trades.services.checks import guard_problem, size_entry_order
from apps.trades.services.events import trade_event
from apps.trades.services.tickets import refuse_entry

logger = logging.getLogger(__name__)

LOOP = "trades.rules"
# Evaluated in this order; the first exit that fires closes the trade.
EXITS = (RuleKind.INITIAL_STOP, RuleKind.TRAILING_STOP, RuleKind.TAKE_PROFIT)


# What a tick reads, writes and pushes (prices and PnL): loading 1 000 trades is a third of a
# tick, and every column left out is one less to decode.
TICK_FIELDS = (
    "owner_id",
    "account_id",
    "symbol",
    "side",
    "status",
    "rule_state",
    "last_price",
    "highest",
    "lowest",
    "entry_price",
    "quantity",
    "exit_quantity",
    "realised_pnl",
    "created_at",
    "revision__rules",
)


@dataclass
class TickReport:
    evaluated: int = 0
    fired: list[tuple[int, str]] = field(default_factory=list)  # (trade id, rule kind)
    unpriced: int = 0  # trades skipped for want of a ticker


def evaluate_rules(*, now: datetime, batch: int = 5000) -> TickReport:
    """One tick of the rules loop.

    1. Load running trades with nothing in flight, and their accounts and cached indicators.
    2. Fetch one batch of tickers per account (outside any transaction).
    3. Evaluate each armed rule (Pending: the entry; Open: stop, trailing stop, take profit)
       against its memory from the last tick; track the highest and lowest price since entry.
    4. Write every changed memory and price in one bulk update, and an event per rule whose
       outcome changed; push the moved rows to their owners.
    5. Act on the rules that fired: each through `orders`, which re-checks the trade under a
       lock, so a trade that moved on meanwhile is left alone. An entry first passes the
       account guards, as a webhook entry does; a refused one is Rejected with the reason.
    """
    report = TickReport()
    trades = list(
        Trade.objects.filter(
            status__in=Trade.RUNNING, working_order__isnull=True, account__is_active=True
        )
        .select_related("revision")
        .only(*TICK_FIELDS)[:batch]
    )
    if not trades:
        return report
    accounts = ExchangeAccount.objects.in_bulk({trade.account_id for trade in trades})
    tickers = _tickers(trades, accounts)
    candles = read_values(trades)

    changed: list[Trade] = []
    outcome_changes: list[tuple[Trade, Evaluation]] = []
    fired: dict[Trade, tuple[Evaluation, Inputs]] = {}
    broken: dict[Trade, Exception] = {}
    for trade in trades:
        ticker = tickers.get((trade.account_id, trade.symbol))
        if ticker is None:
            report.unpriced += 1
            continue
        try:
            result = _evaluate_trade(
                trade, ticker, candles.get((trade.account_id, trade.symbol), {})
            )
        except Exception as exc:  # one trade's stored rules must not stop the others
            broken[trade] = exc
            continue
        report.evaluated += 1
        if result.changed:
            changed.append(trade)
        outcome_changes += [(trade, ev) for ev in result.new_outcomes]
        if result.fired is not None:
            fired[trade] = (result.fired, result.inputs)

    with transaction.atomic():
        bulk_set(changed, ["rule_state", "last_price", "highest", "lowest"])
        for trade, evaluation in outcome_changes:
            _record_outcome(trade, evaluation, accounts[trade.account_id])
    live.push_rows(changed)
    _report_broken(broken, accounts)

    def act(trade: Trade) -> None:
        evaluation, inputs = fired[trade]
        report.fired.append((trade.pk, evaluation.rule.kind.value))
        _act(trade, evaluation, inputs, accounts[trade.account_id], now)

    # Each fired rule acts on its own: one trade whose order cannot be written leaves the
    # others' entries and exits to go ahead.
    each_isolated(LOOP, fired, act, account_of=lambda trade: accounts[trade.account_id])
    return report


def _report_broken(broken: dict[Trade, Exception], accounts) -> None:
    """Record the trades whose evaluation raised, through the loops' one failure path.

    They were caught above rather than by `each_isolated` around each evaluation: that is pure
    work on every trade every tick, and a savepoint per trade (inside a transaction) would cost
    queries that grow with the number of trades.
    """

    def fail_again(trade: Trade) -> None:
        raise broken[trade]

    each_isolated(LOOP, broken, fail_again, account_of=lambda t: accounts[t.account_id])


def _tickers(trades, accounts) -> dict[tuple[int, str], Ticker]:
    symbols: dict[int, set[str]] = defaultdict(set)
    for trade in trades:
        symbols[trade.account_id].add(trade.symbol)
    found: dict[tuple[int, str], Ticker] = {}

    def fetch(account: ExchangeAccount) -> None:
        try:
            batch = market_data.tickers(account=account, symbols=sorted(symbols[account.pk]))
        except ExchangeError as exc:
            logger.warning("Rules loop: no tickers for account %s: %s", account.pk, exc)
            return
        for symbol, ticker in batch.items():
            found[(account.pk, symbol)] = ticker

    # An account whose batch fails in an unexpected way (say, a hostile setting of its own) is
    # recorded and its trades go unpriced this tick; the other accounts' trades are evaluated.
    each_isolated(LOOP, [accounts[pk] for pk in symbols], fetch, account_of=lambda a: a)
    return found


@dataclass
class _TradeResult:
    changed: bool = False
    new_outcomes: list[Evaluation] = field(default_factory=list)
    fired: Evaluation | None = None
    inputs: Inputs | None = None


def _evaluate_trade(trade: Trade, ticker: Ticker, candles) -> _TradeResult:
    result = _TradeResult()
    side = Side(trade.side)
    if trade.last_price != ticker.last:
        trade.last_price = ticker.last
        result.changed = True
    if trade.status == Trade.Status.OPEN:
        highest = max(trade.highest or ticker.last, ticker.last)
        lowest = min(trade.lowest or ticker.last, ticker.last)
        if (highest, lowest) != (trade.highest, trade.lowest):
            trade.highest, trade.lowest = highest, lowest
            result.changed = True
    inputs = Inputs(
        last=ticker.last,
        bid=ticker.bid,
        ask=ticker.ask,
        candles=candles,
        entry_price=trade.entry_price,
        highest=trade.highest,
        lowest=trade.lowest,
    )
    result.inputs = inputs
    rules = trade.revision.parsed_rules(trade.side)
    kinds = (RuleKind.ENTRY,) if trade.status == Trade.Status.PENDING else EXITS
    state = dict(trade.rule_state)
    for kind in kinds:
        rule: Rule | None = rules[kind]
        if rule is None:
            continue
        before = state.get(kind.value, {})
        evaluation = evaluate(rule, inputs, side, Memory.from_dict(before.get("memory")))
        after = {"outcome": evaluation.outcome}
        # Only a crossing needs the previous values; the others would rewrite it every tick.
        if evaluation.memory is not None and rule.condition.is_crossing:
            after["memory"] = evaluation.memory.to_dict()
        if after != before:
            state[kind.value] = after
            result.changed = True
        if evaluation.outcome != before.get("outcome") and not evaluation.fired:
            result.new_outcomes.append(evaluation)
        if evaluation.fired:
            result.fired = evaluation
            break
    trade.rule_state = state
    return result


def _record_outcome(trade: Trade, evaluation: Evaluation, account: ExchangeAccount) -> None:
    trade.account = account  # already loaded; spares the event a query
    trade_event(
        trade,
        "trade.rule_evaluated",
        evaluation.explain(),
        data={
            "rule": evaluation.rule.kind.value,
            "outcome": evaluation.outcome,
            "primary": _text(evaluation.primary),
            "threshold": _text(evaluation.threshold),
        },
    )


def _text(value: Decimal | None) -> str:
    return "" if value is None else str(value)


def _act(trade: Trade, evaluation: Evaluation, inputs: Inputs, account, now: datetime) -> None:
    kind = evaluation.rule.kind
    if kind != RuleKind.ENTRY:
        orders.start_exit(trade_id=trade.pk, reason=kind.value, explanation=evaluation, now=now)
        return
    blocked = guard_problem(account=account, symbol=trade.symbol, now=now)
    if blocked:
        refuse_entry(trade_id=trade.pk, reason=blocked, now=now)
        return
    side = Side(trade.side)
    # A market buy pays the ask; size it at that price.
    price = (inputs.ask if side == Side.LONG else inputs.bid) or inputs.last
    try:
        market = Market.objects.get(account=account, symbol=trade.symbol)
        rules = trade.revision.parsed_rules(trade.side)
        size = size_entry_order(
            account=account,
            market=market,
            side=side,
            sizing=trade.revision.sizing,
            price=price,
            stop=stop_price(rules[RuleKind.INITIAL_STOP], inputs, side, price),
            tickers=None,
        )
    except (Market.DoesNotExist, SizingError, OrderRuleViolation) as exc:
        orders.entry_failed(trade_id=trade.pk, reason=str(exc))
        return
    orders.start_entry(trade_id=trade.pk, evaluation=evaluation, amount=size.amount, now=now)
