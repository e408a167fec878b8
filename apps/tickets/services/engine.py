"""The rules loop: each tick, evaluate the entry rule of every ticket waiting for its entry,
and the exit rules (initial stop, trailing stop, take profit) of every open position that
carries them, whoever opened it (a ticket's rules, or a signal strategy's stops).

The number of queries per tick does not grow with the number of tickets and positions: one
query loads the tickets with their revisions, one the positions, one the accounts, one the
indicator cache, one bulk update per kind writes what changed. Only a rule that fires (or an
outcome that changes) costs queries of its own, and tickers come in one batch per account.
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
from apps.core.market_formats import attach_formats
from apps.exchanges.domain.types import Ticker
from apps.exchanges.errors import ExchangeError
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services import market_data
from apps.positions.models import PositionGroup
from apps.positions.services import intents, protection, resting_take_profit
from apps.positions.services import live as positions_live
from apps.positions.services.events import group_event
from apps.positions.services.exits import close_by_rule
from apps.strategies.domain.catalog import Rule, RuleKind, Side
from apps.strategies.domain.evaluation import Evaluation, Inputs, Memory, evaluate
from apps.tickets.models import Trade
from apps.tickets.services import entries, live
from apps.tickets.services.candles import read_values
from apps.tickets.services.events import trade_event

logger = logging.getLogger(__name__)

LOOP = "trades.rules"
# Evaluated in this order; the first exit that fires closes the position.
EXITS = (RuleKind.INITIAL_STOP, RuleKind.TRAILING_STOP, RuleKind.TAKE_PROFIT)


# What a tick reads, writes and pushes: loading 1 000 rows is a third of a tick, and every
# column left out is one less to decode.
TICKET_FIELDS = (
    "owner_id",
    "account_id",
    "symbol",
    "side",
    "status",
    "rule_state",
    "last_price",
    "created_at",
    "revision__rules",
)
POSITION_FIELDS = (
    "owner_id",
    "trade_id",
    "account_id",
    "symbol",
    "side",
    "status",
    "exit_rules",
    "rule_state",
    "last_price",
    "highest",
    "lowest",
    "average_entry",
    "quantity",
    "opened_at",
)

Watched = Trade | PositionGroup


@dataclass
class TickReport:
    evaluated: int = 0
    # (ticket id, "entry") and (position id, exit rule kind) of the rules that fired
    fired: list[tuple[int, str]] = field(default_factory=list)
    unpriced: int = 0  # skipped for want of a ticker


def evaluate_rules(*, now: datetime, batch: int = 5000) -> TickReport:
    """One tick of the rules loop.

    1. Load the tickets waiting for their entry, the open positions with exit rules and no
       sell in flight, their accounts and cached indicators.
    2. Fetch one batch of tickers per account (outside any transaction).
    3. Evaluate each armed rule (a ticket: its entry; a position: stop, trailing stop, take
       profit, unless its limit sell rests on the exchange) against its memory from the last
       tick; a position tracks the highest and lowest price since it opened.
    4. Write every changed memory and price in one bulk update per kind, and an event per
       rule whose outcome changed; push the moved rows to their owners. A trailing level
       that rose moves the position's resting stop (`protection.stops_to_move`).
    5. Act on the rules that fired, each re-checked under a lock: a ticket's entry opens its
       position through the one gate (`entries.open_for_ticket`); a position's exit closes
       it at market (`exits.close_by_rule`).
    """
    report = TickReport()
    tickets = list(
        Trade.objects.filter(status=Trade.Status.PENDING, account__is_active=True)
        .select_related("revision")
        .only(*TICKET_FIELDS)[:batch]
    )
    positions = list(
        PositionGroup.objects.filter(
            status=PositionGroup.Status.OPEN, account__is_active=True, quantity__gt=0
        )
        .exclude(exit_rules={})
        .exclude(intents.sell_in_flight())
        .annotate(take_profit_rests=resting_take_profit.take_profit_rests())
        .only(*POSITION_FIELDS)[:batch]
    )
    watched: list[Watched] = [*tickets, *positions]
    if not watched:
        return report
    accounts = ExchangeAccount.objects.select_related("owner").in_bulk(
        {item.account_id for item in watched}
    )
    tickers = _tickers(watched, accounts)
    candles = read_values(watched)

    changed: list[Watched] = []
    outcome_changes: list[tuple[Watched, Evaluation]] = []
    fired: dict[Watched, tuple[Evaluation, Inputs]] = {}
    broken: dict[Watched, Exception] = {}
    for item in watched:
        ticker = tickers.get((item.account_id, item.symbol))
        if ticker is None:
            report.unpriced += 1
            continue
        try:
            result = _evaluate(item, ticker, candles.get((item.account_id, item.symbol), {}))
        except Exception as exc:  # one row's stored rules must not stop the others
            broken[item] = exc
            continue
        report.evaluated += 1
        if result.changed:
            changed.append(item)
        outcome_changes += [(item, ev) for ev in result.new_outcomes]
        if result.fired is not None:
            fired[item] = (result.fired, result.inputs)

    moved_tickets = [item for item in changed if isinstance(item, Trade)]
    moved_positions = [item for item in changed if isinstance(item, PositionGroup)]
    # The messages of new outcomes and fired rules quote prices on their markets' ticks: one
    # lookup for all of them, only on a tick that has something to say.
    attach_formats({item for item, _ in outcome_changes} | set(fired))
    with transaction.atomic():
        bulk_set(moved_tickets, ["rule_state", "last_price"])
        bulk_set(moved_positions, ["rule_state", "last_price", "highest", "lowest"])
        for item, evaluation in outcome_changes:
            _record_outcome(item, evaluation, accounts[item.account_id])
    live.push_rows(moved_tickets, moved_positions)
    positions_live.push_rows(moved_positions)
    _report_broken(broken, accounts)
    # A trailing level that rose moves the position's resting stop on the exchange (a
    # position whose rule fired this tick is closing instead).
    rising = [item for item in moved_positions if item not in fired]
    each_isolated(
        LOOP,
        protection.stops_to_move(rising, now=now),
        lambda pk: protection.protect_position(position_id=pk, now=now),
    )

    def act(item: Watched) -> None:
        evaluation, inputs = fired[item]
        report.fired.append((item.pk, evaluation.rule.kind.value))
        account = accounts[item.account_id]
        if isinstance(item, Trade):
            entries.open_for_ticket(
                trade=item, account=account, evaluation=evaluation, inputs=inputs, now=now
            )
        else:
            close_by_rule(position_id=item.pk, evaluation=evaluation, last=inputs.last, now=now)

    # Each fired rule acts on its own: one whose order cannot be written leaves the others'
    # entries and exits to go ahead.
    each_isolated(LOOP, fired, act, account_of=lambda item: accounts[item.account_id])
    return report


def _report_broken(broken: dict[Watched, Exception], accounts) -> None:
    """Record the rows whose evaluation raised, through the loops' one failure path.

    They were caught above rather than by `each_isolated` around each evaluation: that is pure
    work on every row every tick, and a savepoint per row (inside a transaction) would cost
    queries that grow with the number of rows.
    """

    def fail_again(item: Watched) -> None:
        raise broken[item]

    each_isolated(LOOP, broken, fail_again, account_of=lambda t: accounts[t.account_id])


def _tickers(watched: list[Watched], accounts) -> dict[tuple[int, str], Ticker]:
    symbols: dict[int, set[str]] = defaultdict(set)
    for item in watched:
        symbols[item.account_id].add(item.symbol)
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
    # recorded and its rows go unpriced this tick; the other accounts' rows are evaluated.
    each_isolated(LOOP, [accounts[pk] for pk in symbols], fetch, account_of=lambda a: a)
    return found


@dataclass
class _Result:
    changed: bool = False
    new_outcomes: list[Evaluation] = field(default_factory=list)
    fired: Evaluation | None = None
    inputs: Inputs | None = None


def _evaluate(item: Watched, ticker: Ticker, candles) -> _Result:
    result = _Result()
    side = Side(item.side)
    if item.last_price != ticker.last:
        item.last_price = ticker.last
        result.changed = True
    if isinstance(item, Trade):
        rules = item.revision.parsed_rules(item.side)
        kinds: tuple[RuleKind, ...] = (RuleKind.ENTRY,)
        inputs = Inputs(last=ticker.last, bid=ticker.bid, ask=ticker.ask, candles=candles)
    else:
        # Since the entry: the fill's own price counts (a slipped buy filled above the next
        # tick), as the resting stop and the chart count it.
        first = [ticker.last, *filter(None, [item.average_entry])]
        highest = max(item.highest or max(first), ticker.last)
        lowest = min(item.lowest or min(first), ticker.last)
        if (highest, lowest) != (item.highest, item.lowest):
            item.highest, item.lowest = highest, lowest
            result.changed = True
        rules = item.parsed_exit_rules()
        # A take-profit rule whose limit sell rests is the exchange's: selling it at market
        # too would pay the taker fee the resting order avoids. The stops are still the desk's.
        kinds = EXITS if not item.take_profit_rests else EXITS[:-1]
        inputs = Inputs(
            last=ticker.last,
            bid=ticker.bid,
            ask=ticker.ask,
            candles=candles,
            entry_price=item.average_entry,
            highest=item.highest,
            lowest=item.lowest,
        )
    result.inputs = inputs
    state = dict(item.rule_state)
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
    item.rule_state = state
    return result


def _record_outcome(item: Watched, evaluation: Evaluation, account: ExchangeAccount) -> None:
    # The account (its owner too) is already loaded; spares the event two queries.
    item.account = account
    item.owner = account.owner
    record = trade_event if isinstance(item, Trade) else group_event
    record(
        item,
        "trade.rule_evaluated",
        evaluation.explain(item.fmt.tick),
        data={
            "rule": evaluation.rule.kind.value,
            "outcome": evaluation.outcome,
            "primary": _text(evaluation.primary),
            "threshold": _text(evaluation.threshold),
        },
    )


def _text(value: Decimal | None) -> str:
    return "" if value is None else str(value)
