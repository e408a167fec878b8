"""Which of a position's stops can rest on the exchange, and the stop order that would. Pure.

An exchange holds a stop as one number: sell once the last traded price is at or below the
trigger. A rule rests there only when it says exactly that about a level the exchange can be
told: `Last price | is at or below | Entry price | -2 %` (or `Unrealised PnL | is at or
below | -2 %`, the same price), a fixed price, or a trailing
`Last price | retraces from | Highest | 3 %` (the level moves, the desk moves the order). A
rule on an indicator (RSI, a crossing of an EMA) stays with the desk's rules loop, which also
stays the second line behind every resting stop.

A position may instead rest its take profit (`plan_take_profit`): limit sells at the targets
(the ticket's rule where it is a price, the group's target, or each leg's own). On spot one
coin backs only one resting sell (the exchange holds it: the free balance is the guard), so a
position rests either its take profit or its stop, never both; the other is the desk's. An
OCO order (one cancels the other) would hold both on the same coins; ccxt offers it only on
okx spot, untested here, so it is not used.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from apps.exchanges.domain.precision import (
    OrderRuleViolation,
    prepare_order,
    round_price,
    round_stop_price,
)
from apps.exchanges.domain.types import MarketRules, OrderType
from apps.strategies.domain import dca
from apps.strategies.domain.catalog import Condition, Rule, RuleKind, Side
from apps.strategies.domain.evaluation import Inputs, threshold_of

HUNDRED = Decimal(100)
STOP_KINDS = (RuleKind.INITIAL_STOP, RuleKind.TRAILING_STOP)
# Levels the exchange can be told: a number, or one the desk knows and moves the order with.
_LEVELS = ("fixed", "entry_price", "highest", "lowest")
_LONG_STOPS = (Condition.AT_OR_BELOW, Condition.BELOW, Condition.RETRACES_FROM)
_LONG_TAKE_PROFITS = (Condition.AT_OR_ABOVE, Condition.ABOVE)
# A take profit's level is a price the exchange can be told once: a number, or one from the
# entry (a rising `highest` would need the order moved; the desk watches that one).
_TAKE_PROFIT_LEVELS = ("fixed", "entry_price")
# The purposes of the orders a resting take profit places (the Order purposes' values).
RULE_TP = RuleKind.TAKE_PROFIT.value
GROUP_TP = "group_tp"
LEG_TP = "leg_tp"
TAKE_PROFIT_PURPOSES = (RULE_TP, GROUP_TP, LEG_TP)


@dataclass(frozen=True)
class WantedStop:
    """The stop order that should rest for the position now."""

    kind: RuleKind  # the rule it stands for (the tighter of the two stops)
    trigger: Decimal  # on the tick
    type: OrderType  # MARKET: stop-market; LIMIT: stop-limit at `price`
    price: Decimal | None
    amount: Decimal  # the position's quantity, down to the step


@dataclass(frozen=True)
class Plan:
    """The stop to rest (None: none), and for each stop rule where it acts and why."""

    stop: WantedStop | None
    where: dict[RuleKind, str]  # kind -> "" when it rests on the exchange, else why not


def resting_level(rule: Rule, inputs: Inputs, side: Side) -> tuple[Decimal | None, str]:
    """(the price the exchange would trigger `rule` at, "") or (None, why it stays with the
    desk)."""
    if side != Side.LONG:
        return None, "a short's stop is a buy the desk places itself"
    # `Unrealised PnL | is at or below | -2 %` is the price 2 % below the entry.
    holds = {"pnl_pct": _LONG_STOPS[:2], "last": _LONG_STOPS}.get(rule.primary.source)
    if holds is not None and rule.condition not in holds:
        return None, f"“{rule.condition.label}” is not a stop an exchange holds"
    return _price_level(
        rule, inputs, side, levels=_LEVELS, reads="an exchange stop triggers on the last price"
    )


def _price_level(
    rule: Rule, inputs: Inputs, side: Side, *, levels: tuple[str, ...], reads: str
) -> tuple[Decimal | None, str]:
    """The price a rule on the last price (or on the unrealised PnL %, from the entry) stands
    for, when its level is one the exchange can be told (`levels`); else why not. `reads`:
    why another primary source cannot rest."""
    if rule.primary.source == "pnl_pct":
        if rule.secondary is None or rule.secondary.source != "fixed":
            return None, "its level is not a fixed PnL %"
        if inputs.entry_price is None:
            return None, "its level is not known yet"
        return inputs.entry_price * (1 + (rule.value or 0) / HUNDRED), ""
    if rule.primary.source != "last":
        return None, f"it reads {rule.primary.label}; {reads}"
    if rule.secondary is None or rule.secondary.source not in levels:
        label = rule.secondary.label if rule.secondary else "nothing"
        return None, f"its level follows {label}, which the exchange does not know"
    level = threshold_of(rule, inputs, side)
    if level is None or level <= 0:
        return None, "its level is not known yet"
    return level, ""


def plan_stop(
    rules: Mapping[RuleKind, Rule | None],
    inputs: Inputs,
    side: Side,
    *,
    market: MarketRules,
    quantity: Decimal,
    limit_offset_pct: Decimal,
) -> Plan:
    """The stop order that protects `quantity` under `rules`.

    1. Each stop rule that resolves to a price (`resting_level`) is a candidate; the higher
       trigger (a long exits sooner there) is the one that rests: both say "sell below".
    2. The trigger is rounded toward safety (up, to the tick). A market that takes
       stop-market orders gets one; one that takes only stop-limit gets a limit
       `limit_offset_pct` below the trigger, so a fast fall still fills.
    3. The amount is the quantity down to the step, checked against the market's minimums
       at the trigger; a position too small for an order keeps its stop on the desk.
    """
    where: dict[RuleKind, str] = {}
    levels: dict[RuleKind, Decimal] = {}
    for kind in STOP_KINDS:
        rule = rules.get(kind)
        if rule is None:
            continue
        level, why = resting_level(rule, inputs, side)
        where[kind] = why
        if level is not None:
            levels[kind] = level
    if not levels:
        return Plan(None, where)
    if not market.stop_types:
        return Plan(
            None, dict.fromkeys(levels, "this market takes no stop orders") | _others(where, levels)
        )
    kind = max(levels, key=lambda k: levels[k])
    trigger = round_stop_price(levels[kind], market.tick_size, long=True)
    type_, price = OrderType.MARKET, None
    if OrderType.MARKET not in market.stop_types:
        type_ = OrderType.LIMIT
        price = max(
            round_price(trigger * (1 - limit_offset_pct / HUNDRED), market.tick_size),
            market.tick_size,
        )
    try:
        amount = prepare_order(market, amount=quantity, price=price or trigger).amount
    except OrderRuleViolation as violation:
        too_small = f"the position is too small for a stop order: {violation}"
        return Plan(None, dict.fromkeys(levels, too_small) | _others(where, levels))
    return Plan(WantedStop(kind, trigger, type_, price, amount), where)


def _others(where: dict[RuleKind, str], levels: Mapping[RuleKind, Decimal]) -> dict[RuleKind, str]:
    return {kind: why for kind, why in where.items() if kind not in levels}


# --- The take profit ---------------------------------------------------------------------------


@dataclass(frozen=True)
class WantedTakeProfit:
    """One limit sell that should rest for the position's take profit now."""

    purpose: str  # RULE_TP, GROUP_TP or LEG_TP
    price: Decimal  # the limit, on the tick, rounded up: never below the target
    amount: Decimal  # down to the step
    leg: int | None = None  # the leg's key for a leg's own take profit


@dataclass(frozen=True)
class TakeProfitPlan:
    """The limit sells to rest, where each take profit acts and why not on the exchange.

    `where`: RULE_TP / GROUP_TP -> "" when it rests, else why it stays on the desk;
    `legs`: a held leg's key -> the same, for a leg's own take profit."""

    sells: tuple[WantedTakeProfit, ...] = ()
    where: dict[str, str] = field(default_factory=dict)
    legs: dict[int, str] = field(default_factory=dict)


def take_profit_level(rule: Rule, inputs: Inputs, side: Side) -> tuple[Decimal | None, str]:
    """(the price a limit sell for `rule` rests at, "") or (None, why it stays with the desk).
    `Unrealised PnL | is at or above | 3 %` is the entry × 1.03; `Last price | is at or
    above | Entry price | +3 %` the same; a fixed price is itself."""
    if side != Side.LONG:
        return None, "a short's take profit is a buy the desk places itself"
    if rule.condition not in _LONG_TAKE_PROFITS:
        return None, f"“{rule.condition.label}” is not a price a limit sell waits at"
    return _price_level(
        rule,
        inputs,
        side,
        levels=_TAKE_PROFIT_LEVELS,
        reads="a limit sell fills on the traded price",
    )


def plan_take_profit(
    rule: Rule | None,
    inputs: Inputs,
    side: Side,
    *,
    mode: dca.TpMode,
    market: MarketRules,
    quantity: Decimal,
    group_tp_pct: Decimal,
    legs: Sequence[dca.HeldLeg] = (),
) -> TakeProfitPlan:
    """The limit sells that rest the position's take profit.

    1. Rules mode (a ticket's own): the take-profit rule, when it is a price
       (`take_profit_level`): one sell of the whole quantity.
    2. Aggregate: one sell of the whole quantity at the average entry + the group TP %.
    3. Per leg, and hybrid's legs: one sell per held leg (oldest first) at its own target,
       for what it still holds; never more in all than the position holds (a partial sell
       of the whole position leaves the legs' shares unsold). Hybrid's whole-position target
       stays with the desk's take-profit loop: the legs' sells hold the coins.
    4. A grid position's ticket rule stays with the desk: the grid's take profit rests.
    Each price goes up to the tick (a sell never below its target), each amount down to the
    step; one too small for the market's minimums stays with the desk, with why.
    """
    if side != Side.LONG:
        short = "a short's take profit is a buy the desk places itself"
        where = {RULE_TP: short} if rule is not None or mode == dca.TpMode.RULES else {}
        if mode in (dca.TpMode.AGGREGATE, dca.TpMode.HYBRID):
            where[GROUP_TP] = short
        return TakeProfitPlan((), where, {leg.key: short for leg in legs})
    if mode == dca.TpMode.RULES:
        if rule is None:
            return TakeProfitPlan()
        level, why = take_profit_level(rule, inputs, side)
        if level is not None:
            sell, why = _limit_sell(RULE_TP, level, quantity, market)
        else:
            sell = None
        return TakeProfitPlan(_some(sell), {RULE_TP: why})
    where: dict[str, str] = {}
    if rule is not None:
        where[RULE_TP] = "the exchange holds the grid's take profit (one coin backs one sell)"
    if mode == dca.TpMode.AGGREGATE:
        entry = inputs.entry_price
        if entry is None or quantity <= 0:
            where[GROUP_TP] = "its level is not known yet"
            return TakeProfitPlan((), where)
        target = dca.target_price(entry, group_tp_pct, side)
        sell, where[GROUP_TP] = _limit_sell(GROUP_TP, target, quantity, market)
        return TakeProfitPlan(_some(sell), where)
    if mode == dca.TpMode.HYBRID:
        where[GROUP_TP] = (
            "the desk's take-profit loop watches the whole position's target; the legs' "
            "limit sells hold the coins"
        )
    sells: list[WantedTakeProfit] = []
    by_leg: dict[int, str] = {}
    left = quantity
    for leg in legs:
        target = dca.target_price(leg.fill_price, leg.tp_pct, side)
        sell, by_leg[leg.key] = _limit_sell(
            LEG_TP, target, min(leg.quantity, left), market, leg=leg.key
        )
        if sell is not None:
            sells.append(sell)
            left -= sell.amount
    return TakeProfitPlan(tuple(sells), where, by_leg)


def _limit_sell(
    purpose: str, level: Decimal, amount: Decimal, market: MarketRules, *, leg: int | None = None
) -> tuple[WantedTakeProfit | None, str]:
    if level <= 0:
        return None, "its level is not known yet"
    # Up to the tick, as a long's stop: a take profit never sells below its target.
    price = round_stop_price(level, market.tick_size, long=True)
    if amount <= 0:
        return None, "nothing of it is left to sell"
    try:
        prepared = prepare_order(market, amount=amount, price=price)
    except OrderRuleViolation as violation:
        return None, f"too small for a limit sell: {violation}"
    return WantedTakeProfit(purpose, price, prepared.amount, leg), ""


def _some(sell: WantedTakeProfit | None) -> tuple[WantedTakeProfit, ...]:
    return () if sell is None else (sell,)
