"""Evaluating rules from the catalog against market inputs. Pure.

The rules loop builds one `Inputs` per trade per tick (ticker, cached indicator values, the
position) and calls `evaluate` for each armed rule with the rule's `Memory` from the previous
tick. Crossing conditions compare this tick with that memory, and the memory is stored per
rule, so a restart neither misses a cross nor fires it twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from apps.core import formatting
from apps.exchanges.domain.precision import fmt as plain
from apps.strategies.domain.catalog import (
    Condition,
    Dimension,
    Operand,
    Rule,
    RuleKind,
    Side,
    Unit,
)

HUNDRED = Decimal(100)

# ("ema", 21, "15m") -> value on the last closed 15m candle; ("close", None, "15m") -> its close.
CandleKey = tuple[str, int | None, str]


def candle_key(operand: Operand) -> CandleKey:
    return (operand.source, operand.period, operand.timeframe or "")


@dataclass(frozen=True)
class Inputs:
    """Everything a rule may read, for one trade at one moment (None: not known)."""

    last: Decimal | None = None
    bid: Decimal | None = None
    ask: Decimal | None = None
    candles: Mapping[CandleKey, Decimal] = field(default_factory=dict)
    entry_price: Decimal | None = None
    highest: Decimal | None = None
    lowest: Decimal | None = None


@dataclass(frozen=True)
class Memory:
    """What a rule saw on its previous evaluation (for crossings)."""

    primary: Decimal
    threshold: Decimal

    def to_dict(self) -> dict[str, str]:
        return {"primary": str(self.primary), "threshold": str(self.threshold)}

    @classmethod
    def from_dict(cls, data: Mapping[str, str] | None) -> Memory | None:
        if not data:
            return None
        return cls(Decimal(data["primary"]), Decimal(data["threshold"]))


@dataclass(frozen=True)
class Evaluation:
    rule: Rule
    fired: bool
    primary: Decimal | None = None
    threshold: Decimal | None = None
    memory: Memory | None = None  # what to remember for the next tick
    missing: str = ""  # what could not be read, e.g. "EMA(21, 15m)"
    previous: Memory | None = None

    @property
    def outcome(self) -> str:
        if self.fired:
            return "fired"
        return "waiting for data" if self.missing else "not met"

    def explain(self, tick: Decimal | None = None) -> str:
        """One sentence a trader can read in the timeline: prices on the market's `tick` (at
        most 8 places without one), a PnL % or an RSI to 2 places; the event's data keeps
        every digit."""
        rule = self.rule
        if rule.condition == Condition.AT_MARKET:
            return "Entry is immediate, at market."
        if self.missing:
            return f"{rule.label}: waiting for {self.missing}."
        # The threshold is compared like with like: it has the primary source's dimension.
        a_price = rule.primary.definition.dimension == Dimension.PRICE

        def shown(value: Decimal | None) -> str:
            if value is None:
                return "?"
            return formatting.price(value, tick) if a_price else formatting.quote(value)

        verdict = "met" if self.fired else "not met"
        text = (
            f"{rule.label}: {verdict} ({rule.primary.label} {shown(self.primary)}, "
            f"threshold {shown(self.threshold)}"
        )
        if rule.condition.is_crossing:
            before = (
                f"before {shown(self.previous.primary)} vs {shown(self.previous.threshold)}"
                if self.previous
                else "no earlier value yet"
            )
            text += f"; {before}"
        return text + ")."


SHOWN_PLACES = Decimal("1e-8")


def fmt(value: Decimal | None) -> str:
    """For the timeline: computed values (PnL %, indicators) carry ~28 digits; 8 places do."""
    if value is None:
        return "?"
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < SHOWN_PLACES.as_tuple().exponent:
        value = value.quantize(SHOWN_PLACES)
    return plain(value)


# --- Reading sources ------------------------------------------------------------------------


def value_of(operand: Operand, inputs: Inputs, side: Side) -> Decimal | None:
    source = operand.source
    if source in ("last", "bid", "ask", "entry_price", "highest", "lowest"):
        return getattr(inputs, source)
    if source == "pnl_pct":
        return unrealised_pnl_pct(entry=inputs.entry_price, last=inputs.last, side=side)
    if operand.timeframe:
        return inputs.candles.get(candle_key(operand))
    return None


def unrealised_pnl_pct(
    *, entry: Decimal | None, last: Decimal | None, side: Side
) -> Decimal | None:
    if entry is None or last is None or entry <= 0:
        return None
    change = (last - entry) / entry * HUNDRED
    return change if side == Side.LONG else -change


def threshold_of(rule: Rule, inputs: Inputs, side: Side) -> Decimal | None:
    """The level the primary source is compared with: secondary source adjusted by the value."""
    assert rule.secondary is not None
    value = rule.value or Decimal(0)
    if rule.secondary.source == "fixed":
        return value
    base = value_of(rule.secondary, inputs, side)
    if base is None:
        return None
    if rule.condition == Condition.RETRACES_FROM:
        # A long retraces down from its highest price; a short up from its lowest.
        value = -value if side == Side.LONG else value
    if rule.unit == Unit.PERCENT:
        return base * (1 + value / HUNDRED)
    return base + value


# --- Evaluation -----------------------------------------------------------------------------


def evaluate(rule: Rule, inputs: Inputs, side: Side, memory: Memory | None) -> Evaluation:
    """Whether `rule` holds now.

    1. "Immediately, at market" always holds.
    2. Read the primary source and the threshold; if either is unknown, wait and keep the
       memory as it was (a cross during a data gap is judged against the last known values).
    3. Compare; a crossing also needs the previous tick's values, and the first evaluation
       only remembers (it cannot know which side the price came from).
    """
    if rule.condition == Condition.AT_MARKET:
        return Evaluation(rule, fired=True)
    primary = value_of(rule.primary, inputs, side)
    threshold = threshold_of(rule, inputs, side)
    missing = [
        operand.label
        for operand, known in ((rule.primary, primary), (rule.secondary, threshold))
        if known is None and operand is not None
    ]
    if missing:
        return Evaluation(rule, False, primary, threshold, memory, " and ".join(missing), memory)
    assert primary is not None and threshold is not None
    now = Memory(primary, threshold)
    return Evaluation(
        rule,
        fired=_holds(rule.condition, side, now, memory),
        primary=primary,
        threshold=threshold,
        memory=now,
        previous=memory,
    )


def _holds(condition: Condition, side: Side, now: Memory, before: Memory | None) -> bool:
    p, t = now.primary, now.threshold
    match condition:
        case Condition.ABOVE:
            return p > t
        case Condition.BELOW:
            return p < t
        case Condition.AT_OR_ABOVE:
            return p >= t
        case Condition.AT_OR_BELOW:
            return p <= t
        case Condition.RETRACES_FROM:
            return p <= t if side == Side.LONG else p >= t
        case Condition.CROSSES_ABOVE:
            return before is not None and before.primary <= before.threshold and p > t
        case Condition.CROSSES_BELOW:
            return before is not None and before.primary >= before.threshold and p < t
    return False


# --- Activation checks ----------------------------------------------------------------------


def entry_reference(entry: Rule, inputs: Inputs, side: Side) -> Decimal | None:
    """The price the entry is expected at: the market for an immediate entry, else the
    threshold of a price entry, else (an RSI entry) the last price."""
    market = inputs.ask if side == Side.LONG else inputs.bid
    if entry.condition == Condition.AT_MARKET:
        return market or inputs.last
    if entry.primary.definition.dimension == Dimension.PRICE:
        return threshold_of(entry, inputs, side)
    return inputs.last


def as_if_entered(inputs: Inputs, entry_price: Decimal) -> Inputs:
    """The inputs a just-filled position at `entry_price` would see."""
    return replace(
        inputs, entry_price=entry_price, highest=entry_price, lowest=entry_price, last=entry_price
    )


def coherence_problems(
    rules: Mapping[RuleKind, Rule | None], inputs: Inputs, side: Side
) -> dict[RuleKind, str]:
    """Rules that contradict each other: a long's stop must sit below its entry reference and
    its take profit above it (a short mirrors). Returns rule kind -> message."""
    entry = rules.get(RuleKind.ENTRY)
    if entry is None:
        return {RuleKind.ENTRY: "The entry rule is required."}
    reference = entry_reference(entry, inputs, side)
    if reference is None or reference <= 0:
        missing = "the market price" if entry.condition == Condition.AT_MARKET else entry.label
        return {RuleKind.ENTRY: f"Cannot price the entry yet: no data for {missing}."}
    entered = as_if_entered(inputs, reference)
    problems: dict[RuleKind, str] = {}
    below = "below" if side == Side.LONG else "above"
    above = "above" if side == Side.LONG else "below"
    for kind, must_be, zero_pnl in (
        (RuleKind.INITIAL_STOP, below, "a loss (below 0)"),
        (RuleKind.TAKE_PROFIT, above, "a profit (above 0)"),
    ):
        rule = rules.get(kind)
        if rule is None or rule.primary.definition.dimension == Dimension.OSCILLATOR:
            continue
        level = threshold_of(rule, entered, side)
        if level is None:
            problems[kind] = f"No data yet for {rule.secondary.label if rule.secondary else '?'}."
            continue
        if rule.primary.source == "pnl_pct":
            wrong = level >= 0 if kind == RuleKind.INITIAL_STOP else level <= 0
            if wrong:
                problems[kind] = f"{kind.label} must be at {zero_pnl}; it is at {fmt(level)} %."
            continue
        # At the entry itself is wrong either way: it would fire as soon as the trade enters.
        on_wrong_side = level >= reference if must_be == "below" else level <= reference
        if on_wrong_side:
            problems[kind] = (
                f"{kind.label} at {fmt(level)} must be {must_be} the entry at {fmt(reference)}."
            )
    return problems


def stop_price(stop: Rule | None, inputs: Inputs, side: Side, entry: Decimal) -> Decimal | None:
    """Where the initial stop would sell a position entered at `entry` (risk-based sizing)."""
    if stop is None:
        return None
    level = threshold_of(stop, as_if_entered(inputs, entry), side)
    if level is None:
        return None
    if stop.primary.source == "pnl_pct":
        move = entry * level / HUNDRED
        return entry + move if side == Side.LONG else entry - move
    if stop.primary.definition.dimension != Dimension.PRICE:
        return None
    return level


def rule_price_level(rule: Rule | None, inputs: Inputs, side: Side) -> Decimal | None:
    """The price at which `rule` acts, when it has one (a chart draws it as a line).

    A price rule's level is its threshold (a stop at the entry − 2 %, a trailing stop under the
    highest price since entry, a take profit at a fixed price or above an EMA); a PnL % rule's
    is the price at which the position reaches that PnL, from its entry. An immediate entry, an
    RSI rule or a rule whose inputs are not known yet has none (None).
    """
    if rule is None or rule.condition == Condition.AT_MARKET or rule.secondary is None:
        return None
    dimension = rule.primary.definition.dimension
    if dimension not in (Dimension.PRICE, Dimension.PERCENT):
        return None
    level = threshold_of(rule, inputs, side)
    if level is None:
        return None
    if dimension == Dimension.PRICE:
        return level
    entry = inputs.entry_price
    if entry is None or entry <= 0:
        return None
    move = entry * level / HUNDRED
    return entry + move if side == Side.LONG else entry - move


def fired_state(state: Mapping, evaluation: Evaluation, now: datetime) -> dict:
    """A rule state (kind -> {"outcome", "memory"}) after `evaluation` fired at `now`: kept for
    the timeline, and for a ticket's next revision."""
    kind = evaluation.rule.kind.value
    entry = dict(state.get(kind, {}))
    entry |= {"outcome": "fired", "fired_at": now.isoformat()}
    if evaluation.memory is not None:
        entry["memory"] = evaluation.memory.to_dict()
    return {**state, kind: entry}
