"""The catalog's vocabulary: sides, rule kinds, sources, conditions, units, which combinations
each rule kind allows, and the Rule value itself. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Side(StrEnum):
    LONG = "long"
    SHORT = "short"


class RuleKind(StrEnum):
    ENTRY = "entry"
    INITIAL_STOP = "initial_stop"
    TRAILING_STOP = "trailing_stop"
    TAKE_PROFIT = "take_profit"

    @property
    def label(self) -> str:
        return RULE_KIND_LABELS[self]


RULE_KIND_LABELS = {
    RuleKind.ENTRY: "Entry",
    RuleKind.INITIAL_STOP: "Initial stop",
    RuleKind.TRAILING_STOP: "Trailing stop",
    RuleKind.TAKE_PROFIT: "Take profit",
}


class Dimension(StrEnum):
    """What a source measures; only like is compared with like."""

    NONE = "none"  # "Immediately": no value at all
    PRICE = "price"
    PERCENT = "percent"  # unrealised PnL %
    OSCILLATOR = "oscillator"  # RSI, 0..100
    ANY = "any"  # a fixed value takes the dimension of the other side


class Condition(StrEnum):
    AT_MARKET = "at_market"
    CROSSES_ABOVE = "crosses_above"
    CROSSES_BELOW = "crosses_below"
    ABOVE = "above"
    BELOW = "below"
    AT_OR_ABOVE = "at_or_above"
    AT_OR_BELOW = "at_or_below"
    RETRACES_FROM = "retraces_from"

    @property
    def label(self) -> str:
        return CONDITION_LABELS[self]

    @property
    def is_crossing(self) -> bool:
        return self in (Condition.CROSSES_ABOVE, Condition.CROSSES_BELOW)


CONDITION_LABELS = {
    Condition.AT_MARKET: "at market",
    Condition.CROSSES_ABOVE: "crosses above",
    Condition.CROSSES_BELOW: "crosses below",
    Condition.ABOVE: "is above",
    Condition.BELOW: "is below",
    Condition.AT_OR_ABOVE: "is at or above",
    Condition.AT_OR_BELOW: "is at or below",
    Condition.RETRACES_FROM: "retraces from",
}


class Unit(StrEnum):
    PRICE = "price"  # an absolute price (or a price offset from the secondary source)
    PERCENT = "percent"  # a percentage of the secondary source
    NUMBER = "number"  # a plain number (PnL %, RSI level)

    @property
    def label(self) -> str:
        return {"price": "price", "percent": "%", "number": "number"}[self.value]


@dataclass(frozen=True)
class SourceDef:
    key: str
    label: str
    dimension: Dimension
    params: tuple[str, ...] = ()  # "period", "timeframe"
    needs_position: bool = False  # only known once the trade holds a position


SOURCES: dict[str, SourceDef] = {
    source.key: source
    for source in (
        SourceDef("immediately", "Immediately", Dimension.NONE),
        SourceDef("last", "Last price", Dimension.PRICE),
        SourceDef("bid", "Bid", Dimension.PRICE),
        SourceDef("ask", "Ask", Dimension.PRICE),
        SourceDef("close", "Candle close", Dimension.PRICE, ("timeframe",)),
        SourceDef("ema", "EMA", Dimension.PRICE, ("period", "timeframe")),
        SourceDef("sma", "SMA", Dimension.PRICE, ("period", "timeframe")),
        SourceDef("rsi", "RSI", Dimension.OSCILLATOR, ("period", "timeframe")),
        SourceDef("entry_price", "Entry price", Dimension.PRICE, needs_position=True),
        SourceDef("highest", "Highest since entry", Dimension.PRICE, needs_position=True),
        SourceDef("lowest", "Lowest since entry", Dimension.PRICE, needs_position=True),
        SourceDef("pnl_pct", "Unrealised PnL %", Dimension.PERCENT, needs_position=True),
        SourceDef("fixed", "Fixed value", Dimension.ANY),
    )
}

TIMEFRAMES = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d")
MIN_PERIOD, MAX_PERIOD = 2, 500
MAX_VALUE_PLACES = 12
# Sources whose value comes from candles (and so from the indicator cache).
CANDLE_SOURCES = frozenset(key for key, source in SOURCES.items() if "timeframe" in source.params)

_ABOVE = (Condition.CROSSES_ABOVE, Condition.ABOVE, Condition.AT_OR_ABOVE)
_BELOW = (Condition.CROSSES_BELOW, Condition.BELOW, Condition.AT_OR_BELOW)
_COMPARISONS = (
    Condition.CROSSES_ABOVE,
    Condition.CROSSES_BELOW,
    Condition.ABOVE,
    Condition.BELOW,
    Condition.AT_OR_ABOVE,
    Condition.AT_OR_BELOW,
)


@dataclass(frozen=True)
class KindSpec:
    """Which sources and conditions one rule type may use (for a long; shorts mirror)."""

    primaries: tuple[str, ...]
    conditions: tuple[Condition, ...]
    secondaries: tuple[str, ...]
    required: bool = False


_MARKET_PRICES = ("last", "bid", "ask", "close", "ema", "sma")
LONG_SPECS = {
    RuleKind.ENTRY: KindSpec(
        primaries=("immediately", *_MARKET_PRICES, "rsi"),
        conditions=(Condition.AT_MARKET, *_COMPARISONS),
        secondaries=(*_MARKET_PRICES, "rsi", "fixed"),
        required=True,
    ),
    RuleKind.INITIAL_STOP: KindSpec(
        primaries=("last", "bid", "close", "pnl_pct"),
        conditions=_BELOW,
        secondaries=("entry_price", "fixed", "ema", "sma"),
    ),
    RuleKind.TRAILING_STOP: KindSpec(
        primaries=("last", "bid", "close"),
        conditions=(Condition.RETRACES_FROM,),
        secondaries=("highest",),
    ),
    RuleKind.TAKE_PROFIT: KindSpec(
        primaries=("last", "bid", "close", "pnl_pct", "rsi"),
        conditions=_ABOVE,
        secondaries=("entry_price", "fixed", "ema", "sma"),
    ),
}
_MIRROR = {
    **dict(zip(_ABOVE, _BELOW, strict=True)),
    **dict(zip(_BELOW, _ABOVE, strict=True)),
    "highest": "lowest",
    "bid": "ask",
}


def kind_spec(kind: RuleKind, side: Side) -> KindSpec:
    spec = LONG_SPECS[kind]
    if side == Side.LONG or kind == RuleKind.ENTRY:
        return spec
    return KindSpec(
        primaries=tuple(_MIRROR.get(key, key) for key in spec.primaries),
        conditions=tuple(_MIRROR.get(condition, condition) for condition in spec.conditions),
        secondaries=tuple(_MIRROR.get(key, key) for key in spec.secondaries),
        required=spec.required,
    )


# --- Rules ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operand:
    source: str
    period: int | None = None
    timeframe: str | None = None

    @property
    def definition(self) -> SourceDef:
        return SOURCES[self.source]

    @property
    def label(self) -> str:
        params = [str(p) for p in (self.period, self.timeframe) if p is not None]
        name = self.definition.label
        return f"{name}({', '.join(params)})" if params else name

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"source": self.source}
        if self.period is not None:
            data["period"] = self.period
        if self.timeframe is not None:
            data["timeframe"] = self.timeframe
        return data


@dataclass(frozen=True)
class Rule:
    kind: RuleKind
    primary: Operand
    condition: Condition
    secondary: Operand | None = None
    value: Decimal | None = None
    unit: Unit | None = None

    @property
    def label(self) -> str:
        """`Last price | crosses above | EMA(21, 15m) | +0.2 %`."""
        if self.condition == Condition.AT_MARKET:
            return "Immediately, at market"
        parts = [self.primary.label, self.condition.label]
        if self.secondary is not None:
            parts.append(self.secondary.label)
        if self.value is not None:
            parts.append(format_value(self.value, self.unit, signed=self._offset))
        return " | ".join(parts)

    @property
    def words(self) -> str:
        """The rule as a sentence, for a position's page: `Last price is at or below Entry
        price -2 %`, `Unrealised PnL is at or above 3 %`, `Last price retraces 1.5 % from
        Highest since entry` (a Fixed value is just its number; a PnL % reads as a %)."""
        if self.condition == Condition.AT_MARKET:
            return "Immediately, at market"
        primary = self.primary.label
        value = (
            "" if self.value is None else format_value(self.value, self.unit, signed=self._offset)
        )
        fixed = self.secondary is None or self.secondary.source == "fixed"
        if fixed and self.primary.definition.dimension == Dimension.PERCENT and value:
            primary, value = primary.removesuffix(" %"), f"{value} %"
        if self.condition == Condition.RETRACES_FROM and self.secondary is not None:
            return " ".join(
                p for p in (primary, "retraces", value, "from", self.secondary.label) if p
            )
        parts = [primary, self.condition.label]
        if not fixed:
            parts.append(self.secondary.label)
        if value:
            parts.append(value)
        return " ".join(parts)

    @property
    def _offset(self) -> bool:
        return (
            self.secondary is not None
            and self.secondary.source != "fixed"
            and self.condition != Condition.RETRACES_FROM
        )

    @property
    def operands(self) -> tuple[Operand, ...]:
        return (self.primary,) if self.secondary is None else (self.primary, self.secondary)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "primary": self.primary.to_dict(),
            "condition": self.condition.value,
        }
        if self.secondary is not None:
            data["secondary"] = self.secondary.to_dict()
        if self.value is not None:
            data["value"] = str(self.value)
        if self.unit is not None:
            data["unit"] = self.unit.value
        return data


def format_value(value: Decimal, unit: Unit | None, *, signed: bool = False) -> str:
    text = f"{value.normalize():f}"
    if signed and value > 0:
        text = "+" + text
    return f"{text} %" if unit == Unit.PERCENT else text


def immediately() -> Rule:
    """The simplest entry: buy now, at market."""
    return Rule(RuleKind.ENTRY, Operand("immediately"), Condition.AT_MARKET)
