"""Which of a position's stops can rest on the exchange, and the stop order that would. Pure.

An exchange holds a stop as one number: sell once the last traded price is at or below the
trigger. A rule rests there only when it says exactly that about a level the exchange can be
told: `Last price | is at or below | Entry price | -2 %` (or `Unrealised PnL | is at or
below | -2 %`, the same price), a fixed price, or a trailing
`Last price | retraces from | Highest | 3 %` (the level moves, the desk moves the order). A
rule on an indicator (RSI, a crossing of an EMA) stays with the desk's rules loop, which also
stays the second line behind every resting stop.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from apps.exchanges.domain.precision import (
    OrderRuleViolation,
    prepare_order,
    round_price,
    round_stop_price,
)
from apps.exchanges.domain.types import MarketRules, OrderType
from apps.strategies.domain.catalog import Condition, Rule, RuleKind, Side
from apps.strategies.domain.evaluation import Inputs, threshold_of

HUNDRED = Decimal(100)
STOP_KINDS = (RuleKind.INITIAL_STOP, RuleKind.TRAILING_STOP)
# Levels the exchange can be told: a number, or one the desk knows and moves the order with.
_LEVELS = ("fixed", "entry_price", "highest", "lowest")
_LONG_STOPS = (Condition.AT_OR_BELOW, Condition.BELOW, Condition.RETRACES_FROM)


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
    if rule.primary.source == "pnl_pct" and rule.condition in _LONG_STOPS[:2]:
        # `Unrealised PnL | is at or below | -2 %` is the price 2 % below the entry.
        if rule.secondary is None or rule.secondary.source != "fixed":
            return None, "its level is not a fixed PnL %"
        if inputs.entry_price is None:
            return None, "its level is not known yet"
        return inputs.entry_price * (1 + (rule.value or 0) / HUNDRED), ""
    if rule.primary.source != "last":
        return None, f"it reads {rule.primary.label}; an exchange stop triggers on the last price"
    if rule.condition not in _LONG_STOPS:
        return None, f"“{rule.condition.label}” is not a stop an exchange holds"
    if rule.secondary is None or rule.secondary.source not in _LEVELS:
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
