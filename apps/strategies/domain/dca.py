"""DCA grids, average entry, PnL and the take-profit modes of position groups. Pure.

A strategy's grid is a list of legs, each with a price gap % below the pyramid's entry price
(for a long), a capital weight % and its own take-profit %. Laying a grid turns it into orders:
prices rounded to the tick, amounts from capital × weight / leg price truncated to the step,
and every leg checked against the market's minimums *after* rounding, which is what the
exchange will see. A leg that fails is reported with the reason and never sent.

Take profit, exactly as DESIGN.md says:
* per-leg: each filled leg closes its own quantity at its fill × (1 + its TP %);
* aggregate: the whole position closes at the average entry × (1 + the group TP %);
* hybrid: both are armed; whichever triggers first acts, and the other adjusts to what is left
  (a leg closed on its own leaves the average entry of the legs still held, which moves the
  aggregate target; an aggregate close leaves no leg to take profit on).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from apps.core import formatting
from apps.core.numbers import ZERO, NumberError, parse_decimal
from apps.exchanges.domain.precision import (
    OrderRuleViolation,
    fmt,
    prepare_order,
    round_amount,
    round_price,
)
from apps.exchanges.domain.types import MarketRules
from apps.strategies.domain.catalog import Side

HUNDRED = Decimal(100)
MAX_LEGS = 20
MAX_GAP_PCT = Decimal(95)  # a long leg 95 % below the entry is already a stretch
MAX_TP_PCT = Decimal(1000)
MAX_PYRAMID_LIMIT = 50


class TpMode(StrEnum):
    PER_LEG = "per_leg"
    AGGREGATE = "aggregate"
    HYBRID = "hybrid"
    # A ticket's position without a strategy grid: its own take-profit rule decides.
    RULES = "rules"

    @property
    def label(self) -> str:
        return POSITION_TP_MODE_LABELS[self]


# What a strategy offers; a position may also be RULES (`POSITION_TP_MODE_LABELS`).
TP_MODE_LABELS = {
    TpMode.PER_LEG: "Per leg",
    TpMode.AGGREGATE: "Aggregate",
    TpMode.HYBRID: "Hybrid",
}
POSITION_TP_MODE_LABELS = TP_MODE_LABELS | {TpMode.RULES: "By the ticket's rules"}


@dataclass(frozen=True)
class LegSpec:
    """One leg of a strategy's grid, in percent."""

    gap_pct: Decimal
    weight_pct: Decimal
    tp_pct: Decimal

    def to_dict(self) -> dict[str, str]:
        return {
            "gap_pct": fmt(self.gap_pct),
            "weight_pct": fmt(self.weight_pct),
            "tp_pct": fmt(self.tp_pct),
        }


class GridError(ValueError):
    """The grid is not valid; `problems` maps a leg index (None: the grid as a whole) to its
    messages."""

    def __init__(self, problems: dict[int | None, list[str]]) -> None:
        self.problems = problems
        flat = [
            f"{'Grid' if index is None else f'Leg {index + 1}'}: {message}"  # legs count from 1
            for index, messages in problems.items()
            for message in messages
        ]
        super().__init__(" ".join(flat))


# --- The grid as configured -------------------------------------------------------------------


def _decimal(value: object) -> Decimal | None:
    """A leg's number, or None when it is not a plain, bounded one (`apps.core.numbers`): a
    weight of 1e999999999 must not reach the sum of weights, nor a gap a message."""
    try:
        return parse_decimal(value.strip() if isinstance(value, str) else value, field="leg")
    except NumberError:
        return None


def grid_problems(raw_legs: Sequence[Mapping[str, object]]) -> dict[int | None, list[str]]:
    """What is wrong with a grid, per leg index (None: the whole grid). Empty when valid.

    An empty grid is valid: it means one leg at market with all the capital.
    """
    problems: dict[int | None, list[str]] = {}

    def add(index: int | None, message: str) -> None:
        problems.setdefault(index, []).append(message)

    if len(raw_legs) > MAX_LEGS:
        add(None, f"At most {MAX_LEGS} legs; this grid has {len(raw_legs)}.")
    total, weights_ok = ZERO, True
    previous_gap: Decimal | None = None
    for index, raw in enumerate(raw_legs):
        gap, weight, tp = (_decimal(raw.get(key)) for key in ("gap_pct", "weight_pct", "tp_pct"))
        if gap is None:
            add(index, "The gap must be a number (0 for the first leg at the entry price).")
        elif gap < 0:
            add(index, "The gap cannot be negative: legs sit at or below the entry price.")
        elif gap >= MAX_GAP_PCT:
            add(index, f"The gap must be below {fmt(MAX_GAP_PCT)} %.")
        elif previous_gap is not None and gap < previous_gap:
            add(
                index,
                f"Gaps must not decrease: {fmt(gap)} % comes after {fmt(previous_gap)} %.",
            )
        if gap is not None:
            previous_gap = gap if previous_gap is None else max(previous_gap, gap)
        if weight is None or weight <= 0:
            weights_ok = False
            add(index, "The weight must be a number above 0 %.")
        else:
            total += weight
        if tp is None:
            add(index, "The take profit must be a number.")
        elif tp <= 0:
            add(index, "The take profit must be above 0 %.")
        elif tp > MAX_TP_PCT:
            add(index, f"The take profit must be at most {fmt(MAX_TP_PCT)} %.")
    # The sum is only worth a message once every weight is a number of its own.
    if raw_legs and weights_ok and total != HUNDRED:
        add(None, f"The weights add up to {fmt(total)} %; they must add up to exactly 100 %.")
    return problems


def parse_grid(raw_legs: Sequence[Mapping[str, object]]) -> tuple[LegSpec, ...]:
    """The validated grid; raises GridError with every problem at once."""
    problems = grid_problems(raw_legs)
    if problems:
        raise GridError(problems)
    return tuple(
        LegSpec(
            gap_pct=_decimal(raw["gap_pct"]),  # type: ignore[arg-type]
            weight_pct=_decimal(raw["weight_pct"]),  # type: ignore[arg-type]
            tp_pct=_decimal(raw["tp_pct"]),  # type: ignore[arg-type]
        )
        for raw in raw_legs
    )


def legs_or_single(legs: Sequence[LegSpec], *, group_tp_pct: Decimal) -> tuple[LegSpec, ...]:
    """A strategy without a grid buys everything at once: one leg, 100 %, the group's TP."""
    return tuple(legs) or (LegSpec(gap_pct=ZERO, weight_pct=HUNDRED, tp_pct=group_tp_pct),)


def tp_settings_problems(*, pyramid_limit: int, group_tp_pct: Decimal) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not 1 <= pyramid_limit <= MAX_PYRAMID_LIMIT:
        problems["pyramid_limit"] = f"Between 1 and {MAX_PYRAMID_LIMIT} pyramids per group."
    if group_tp_pct <= 0:
        problems["group_tp_pct"] = "The group take profit must be above 0 %."
    elif group_tp_pct > MAX_TP_PCT:
        problems["group_tp_pct"] = f"At most {fmt(MAX_TP_PCT)} %."
    return problems


# --- Laying a grid ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedLeg:
    """One leg of a pyramid's grid, rounded to the market. `problem` says why it is not sent."""

    index: int
    spec: LegSpec
    price: Decimal  # on the tick
    amount: Decimal  # truncated to the step (what would be sent)
    problem: str = ""

    @property
    def notional(self) -> Decimal:
        return self.amount * self.price

    @property
    def ok(self) -> bool:
        return not self.problem


def leg_price(entry_price: Decimal, gap_pct: Decimal, side: Side = Side.LONG) -> Decimal:
    """Unrounded: a long's leg sits `gap_pct` below the entry, a short's above."""
    move = entry_price * gap_pct / HUNDRED
    return entry_price - move if side == Side.LONG else entry_price + move


def lay_grid(
    legs: Sequence[LegSpec],
    *,
    entry_price: Decimal,
    capital: Decimal,
    rules: MarketRules,
    side: Side = Side.LONG,
    market_price: Decimal | None = None,
) -> tuple[PlannedLeg, ...]:
    """Each leg's price and amount for a pyramid of `capital` (quote) entered at `entry_price`.

    1. The leg's price is the entry price moved by its gap, rounded to the tick. Leg 0 at a gap
       of 0 buys at market: with `market_price` (what a market buy pays now), it is sized at
       that price, so a signal price far below the market never buys more than its share.
    2. Its amount is capital × weight / that rounded price, truncated to the step, so
       amount × price never exceeds the leg's share of the capital.
    3. Minimum amount and minimum notional are checked on the rounded values; a leg that fails
       keeps its rounded numbers and the reason.
    """
    if entry_price <= 0:
        raise ValueError(f"The entry price must be positive, got {fmt(entry_price)}.")
    if capital <= 0:
        raise ValueError(f"The capital must be positive, got {fmt(capital)}.")
    planned: list[PlannedLeg] = []
    for index, spec in enumerate(legs):
        reference = entry_price
        if market_price is not None and index == 0 and spec.gap_pct == 0:
            reference = market_price
        price = max(round_price(leg_price(reference, spec.gap_pct, side), rules.tick_size), ZERO)
        if price <= 0:
            planned.append(PlannedLeg(index, spec, price, ZERO, "The leg's price rounds to 0."))
            continue
        share = capital * spec.weight_pct / HUNDRED
        try:
            prepared = prepare_order(rules, amount=share / price, price=price)
        except OrderRuleViolation as violation:
            planned.append(
                PlannedLeg(index, spec, price, _truncated(share / price, rules), str(violation))
            )
            continue
        planned.append(PlannedLeg(index, spec, prepared.price, prepared.amount))
    return tuple(planned)


def leg_tp_price(leg: PlannedLeg, *, tick_size: Decimal, side: Side = Side.LONG) -> Decimal:
    """Where a filled leg's own take profit sells: its price moved by its TP %, on the tick
    (what per-leg and hybrid modes arm when the leg fills at its price)."""
    return round_price(target_price(leg.price, leg.spec.tp_pct, side), tick_size)


def group_tp_prices(
    planned: Sequence[PlannedLeg],
    *,
    group_tp_pct: Decimal,
    tick_size: Decimal,
    side: Side = Side.LONG,
) -> tuple[Decimal | None, ...]:
    """Where the group's take profit sells once each leg and the placed legs before it have
    filled at their prices: their quantity-weighted average entry moved by the group TP %, on
    the tick (what aggregate and hybrid modes arm, `take_profit`). None for a leg that is not
    placed: it never fills, so it moves no target."""
    targets: list[Decimal | None] = []
    filled: list[tuple[Decimal, Decimal]] = []
    for leg in planned:
        if not leg.ok:
            targets.append(None)
            continue
        filled.append((leg.amount, leg.price))
        average = average_entry(filled)
        targets.append(
            None
            if average is None
            else round_price(target_price(average, group_tp_pct, side), tick_size)
        )
    return tuple(targets)


def _truncated(amount: Decimal, rules: MarketRules) -> Decimal:
    return round_amount(amount, rules.step_size) if amount > 0 else ZERO


# --- Average entry and PnL --------------------------------------------------------------------


def average_entry(fills: Sequence[tuple[Decimal, Decimal]]) -> Decimal | None:
    """Quantity-weighted average price of (quantity, price) fills; None when nothing is held."""
    quantity = sum((q for q, _ in fills if q > 0), ZERO)
    if quantity <= 0:
        return None
    return sum((q * p for q, p in fills if q > 0), ZERO) / quantity


def unrealised_pnl(
    *, quantity: Decimal, average: Decimal | None, last: Decimal | None, side: Side = Side.LONG
) -> Decimal | None:
    if average is None or last is None or quantity <= 0:
        return None
    move = last - average
    return quantity * (move if side == Side.LONG else -move)


def unrealised_pnl_pct(
    *, average: Decimal | None, last: Decimal | None, side: Side = Side.LONG
) -> Decimal | None:
    if not average or last is None:
        return None
    change = (last - average) / average * HUNDRED
    return change if side == Side.LONG else -change


def target_price(price: Decimal, tp_pct: Decimal, side: Side = Side.LONG) -> Decimal:
    move = price * tp_pct / HUNDRED
    return price + move if side == Side.LONG else price - move


# --- Take-profit decisions --------------------------------------------------------------------


@dataclass(frozen=True)
class HeldLeg:
    """A filled leg's part still held: what per-leg take profit may close."""

    key: int  # the leg's id, handed back in the decision
    quantity: Decimal
    fill_price: Decimal
    tp_pct: Decimal


class TpScope(StrEnum):
    LEG = "leg"
    GROUP = "group"


@dataclass(frozen=True)
class TakeProfit:
    """Close `quantity` (unrounded) because the price reached `target`."""

    scope: TpScope
    quantity: Decimal
    target: Decimal
    reference: Decimal  # the leg's fill, or the average entry
    tp_pct: Decimal
    leg: int | None = None

    def explain(self, last: Decimal, tick: Decimal | None = None) -> str:
        """Why it closes, its prices on the market's `tick` (8 places at most without one):
        the decision itself used every digit."""

        def shown(value: Decimal) -> str:
            return formatting.price(value, tick)

        if self.scope == TpScope.LEG:
            return (
                f"last {shown(last)} reached the leg's target {shown(self.target)} "
                f"(fill {shown(self.reference)} + {fmt(self.tp_pct)} %)"
            )
        return (
            f"last {shown(last)} reached the group's target {shown(self.target)} "
            f"(average entry {shown(self.reference)} + {fmt(self.tp_pct)} %)"
        )


def _reached(last: Decimal, target: Decimal, side: Side) -> bool:
    return last >= target if side == Side.LONG else last <= target


def take_profit(
    *,
    mode: TpMode,
    last: Decimal,
    legs: Sequence[HeldLeg],
    position_quantity: Decimal,
    group_tp_pct: Decimal,
    side: Side = Side.LONG,
) -> tuple[TakeProfit, ...]:
    """What to close now. An aggregate decision closes the whole position (`position_quantity`,
    which may hold fee dust no leg owns); leg decisions close each leg's own quantity.

    In hybrid mode an aggregate target reached wins over the legs in the same tick: closing
    everything includes them.
    """
    held = [leg for leg in legs if leg.quantity > 0]
    if mode == TpMode.RULES or not held or position_quantity <= 0:
        return ()
    if mode in (TpMode.AGGREGATE, TpMode.HYBRID):
        average = average_entry([(leg.quantity, leg.fill_price) for leg in held])
        assert average is not None
        target = target_price(average, group_tp_pct, side)
        if _reached(last, target, side):
            return (TakeProfit(TpScope.GROUP, position_quantity, target, average, group_tp_pct),)
        if mode == TpMode.AGGREGATE:
            return ()
    decisions = []
    for leg in held:
        target = target_price(leg.fill_price, leg.tp_pct, side)
        if _reached(last, target, side):
            decisions.append(
                TakeProfit(TpScope.LEG, leg.quantity, target, leg.fill_price, leg.tp_pct, leg.key)
            )
    return tuple(decisions)
