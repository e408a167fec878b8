"""The rule catalog: every source, condition and unit a rule may use, and which combinations are
legal for each rule type. Pure.

A rule is `Primary source | Condition | Secondary source | Value`, e.g.
`Last price | crosses above | EMA(21, 15m) | +0.2 %`. This module is the one place that says what
is allowed: the ticket's dropdowns are rendered from `options_for`, the server validates with
`parse_rule`, and `apps.trades.domain.evaluation` evaluates what `parse_rule` returns. Nothing
else decides legality.

Side-aware so shorts can follow: a long's stop sits below the price and watches the highest
price since entry; a short's would mirror both.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
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

    @property
    def is_exit(self) -> bool:
        return self != RuleKind.ENTRY


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
_LONG_SPECS = {
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
    spec = _LONG_SPECS[kind]
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


# --- What the dropdowns may offer ----------------------------------------------------------


def conditions_for(kind: RuleKind, side: Side, primary: str) -> tuple[Condition, ...]:
    spec = kind_spec(kind, side)
    if primary not in spec.primaries:
        return ()
    if primary == "immediately":
        return (Condition.AT_MARKET,)
    if primary == "pnl_pct":
        # PnL % is already measured from the position's side (a short's profit is positive too),
        # so its conditions do not mirror: a stop is below it and a take profit above, always.
        spec = _LONG_SPECS[kind]
    return tuple(c for c in spec.conditions if c != Condition.AT_MARKET)


def secondaries_for(kind: RuleKind, side: Side, primary: str, condition: str) -> tuple[str, ...]:
    if condition not in conditions_for(kind, side, primary):
        return ()
    if condition == Condition.AT_MARKET:
        return ()
    dimension = SOURCES[primary].dimension
    return tuple(
        key
        for key in kind_spec(kind, side).secondaries
        if SOURCES[key].dimension in (dimension, Dimension.ANY)
    )


def units_for(primary: str, secondary: str) -> tuple[Unit, ...]:
    """How the value reads: fixed values in the primary's own terms, offsets as % or price."""
    dimension = SOURCES[primary].dimension
    if secondary == "fixed":
        return (Unit.PRICE,) if dimension == Dimension.PRICE else (Unit.NUMBER,)
    if dimension == Dimension.PRICE:
        return (Unit.PERCENT, Unit.PRICE)
    return (Unit.NUMBER,)


@dataclass(frozen=True)
class RowOptions:
    """What one ticket row may offer, given what the trader has picked so far."""

    kind: RuleKind
    primaries: tuple[SourceDef, ...]
    conditions: tuple[Condition, ...]
    secondaries: tuple[SourceDef, ...]
    units: tuple[Unit, ...]
    primary_params: tuple[str, ...]
    secondary_params: tuple[str, ...]
    takes_value: bool


def options_for(kind: RuleKind, side: Side, picked: Mapping[str, str]) -> RowOptions:
    """Narrow the row's choices to what is legal after the trader's picks (empty picks: all)."""
    spec = kind_spec(kind, side)
    primary = picked.get("primary", "")
    condition = picked.get("condition", "")
    secondary = picked.get("secondary", "")
    conditions = conditions_for(kind, side, primary) if primary else ()
    secondaries = secondaries_for(kind, side, primary, condition) if condition else ()
    units = units_for(primary, secondary) if secondary in secondaries else ()
    return RowOptions(
        kind=kind,
        primaries=tuple(SOURCES[key] for key in spec.primaries),
        conditions=conditions,
        secondaries=tuple(SOURCES[key] for key in secondaries),
        units=units,
        primary_params=SOURCES[primary].params if primary in spec.primaries else (),
        secondary_params=SOURCES[secondary].params if secondary in secondaries else (),
        takes_value=bool(units),
    )


# --- Parsing and validation -----------------------------------------------------------------


class RuleErrors(dict[str, str]):
    """Field name (primary, condition, secondary, value, ...) -> message."""


def parse_rule(kind: RuleKind, side: Side, data: Mapping[str, Any]) -> Rule | None:
    """Turn a rule's fields (form or stored JSON) into a legal `Rule`, or raise `InvalidRule`.

    Accepts the flat form shape (primary, primary_period, primary_timeframe, condition,
    secondary, ..., value, unit) and the nested stored shape (`Rule.to_dict`). An empty row
    is None, which only the entry may not be.
    """
    flat = _flatten(data)
    errors = RuleErrors()
    primary_key = flat.get("primary") or ""
    if not primary_key:
        if any(flat.get(field) for field in ("condition", "secondary", "value")):
            errors["primary"] = "Pick a primary source, or clear the row."
        elif kind_spec(kind, side).required:
            errors["primary"] = f"The {kind.label.lower()} rule is required."
        if errors:
            raise InvalidRule(errors)
        return None
    spec = kind_spec(kind, side)
    if primary_key not in spec.primaries:
        raise InvalidRule(
            {"primary": f"{_label(primary_key)} cannot be the primary source of the {_rule(kind)}."}
        )
    primary = _operand(primary_key, flat, "primary", errors)

    condition_key = flat.get("condition") or ""
    legal_conditions = conditions_for(kind, side, primary_key)
    if condition_key not in legal_conditions:
        allowed = ", ".join(c.label for c in legal_conditions)
        errors["condition"] = (
            f"Pick a condition ({allowed})."
            if not condition_key
            else f"'{_condition_label(condition_key)}' does not apply here; use {allowed}."
        )
        raise InvalidRule(errors)
    condition = Condition(condition_key)
    if condition == Condition.AT_MARKET:
        if errors:
            raise InvalidRule(errors)
        return Rule(kind, primary, condition)

    secondary_key = flat.get("secondary") or ""
    legal_secondaries = secondaries_for(kind, side, primary_key, condition_key)
    if secondary_key not in legal_secondaries:
        allowed = ", ".join(_label(key) for key in legal_secondaries)
        errors["secondary"] = (
            f"Pick what to compare with ({allowed})."
            if not secondary_key
            else f"{primary.definition.label} cannot be compared with {_label(secondary_key)} "
            f"in the {_rule(kind)}; use {allowed}."
        )
        raise InvalidRule(errors)
    secondary = _operand(secondary_key, flat, "secondary", errors)

    units = units_for(primary_key, secondary_key)
    unit_key = flat.get("unit") or units[0].value
    if unit_key not in {unit.value for unit in units}:
        errors["unit"] = f"Use {' or '.join(u.label for u in units)} here."
    value = _value(flat.get("value"), secondary_key, errors)
    if not errors and value is not None:
        unit = Unit(unit_key)
        problem = _value_problem(kind, condition, secondary_key, value, unit)
        if not problem and flat.get("value", "").strip().endswith("%") and unit != Unit.PERCENT:
            problem = f"A % sign does not fit here: the value is a {unit.label}."
        if not problem and primary_key == "rsi" and secondary_key == "fixed":
            problem = "" if 0 <= value <= 100 else "RSI runs from 0 to 100."
        if problem:
            errors["value"] = problem
    if errors:
        raise InvalidRule(errors)
    return Rule(kind, primary, condition, secondary, value, Unit(unit_key))


class InvalidRule(ValueError):
    def __init__(self, errors: Mapping[str, str]) -> None:
        self.errors = RuleErrors(errors)
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))


def _flatten(data: Mapping[str, Any]) -> dict[str, str]:
    flat: dict[str, str] = {}
    for side in ("primary", "secondary"):
        operand = data.get(side)
        if isinstance(operand, Mapping):
            flat[side] = str(operand.get("source", ""))
            for param in ("period", "timeframe"):
                if operand.get(param) is not None:
                    flat[f"{side}_{param}"] = str(operand[param])
        elif operand is not None:
            flat[side] = str(operand)
            for param in ("period", "timeframe"):
                if data.get(f"{side}_{param}") not in (None, ""):
                    flat[f"{side}_{param}"] = str(data[f"{side}_{param}"])
    for field in ("condition", "value", "unit"):
        if data.get(field) not in (None, ""):
            flat[field] = str(data[field]).strip()
    return flat


def _operand(key: str, flat: Mapping[str, str], side: str, errors: RuleErrors) -> Operand:
    params = SOURCES[key].params
    period = timeframe = None
    if "period" in params:
        raw = flat.get(f"{side}_period", "")
        if not re.fullmatch(r"\d+", raw) or not MIN_PERIOD <= int(raw) <= MAX_PERIOD:
            errors[f"{side}_period"] = (
                f"{SOURCES[key].label} needs a length from {MIN_PERIOD} to {MAX_PERIOD} candles."
            )
        else:
            period = int(raw)
    if "timeframe" in params:
        raw = flat.get(f"{side}_timeframe", "")
        if raw not in TIMEFRAMES:
            errors[f"{side}_timeframe"] = f"Pick a timeframe ({', '.join(TIMEFRAMES)})."
        else:
            timeframe = raw
    return Operand(key, period, timeframe)


def _value(raw: str | None, secondary: str, errors: RuleErrors) -> Decimal | None:
    if raw in (None, ""):
        if secondary == "fixed" or secondary in ("highest", "lowest"):
            errors["value"] = "Enter a value."
            return None
        return Decimal(0)  # an offset left empty means "exactly at the secondary source"
    if "," in raw:
        # "63,700" could be 63700 or 63.7; a stop at the wrong one is a costly guess.
        errors["value"] = f"Write '{raw}' with a point for decimals and no thousands separator."
        return None
    try:
        value = Decimal(raw.replace(" ", "").rstrip("%"))
    except InvalidOperation:
        errors["value"] = f"'{raw}' is not a number."
        return None
    if not value.is_finite():
        errors["value"] = f"'{raw}' is not a number."
        return None
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_VALUE_PLACES:
        errors["value"] = f"Use at most {MAX_VALUE_PLACES} decimal places."
        return None
    return value


def _value_problem(
    kind: RuleKind, condition: Condition, secondary: str, value: Decimal, unit: Unit
) -> str:
    if condition == Condition.RETRACES_FROM:
        if value <= 0:
            return "A retracement must be greater than zero."
        if unit == Unit.PERCENT and value >= 100:
            return "A retracement must be less than 100 %."
    if secondary == "fixed" and unit == Unit.PRICE and value <= 0:
        return "A price must be greater than zero."
    if unit == Unit.PERCENT and value <= -100:
        return "An offset of -100 % or less leaves no price."
    return ""


def _label(key: str) -> str:
    return SOURCES[key].label if key in SOURCES else repr(key)


def _condition_label(key: str) -> str:
    try:
        return Condition(key).label
    except ValueError:
        return key


def _rule(kind: RuleKind) -> str:
    return f"{kind.label.lower()} rule"
