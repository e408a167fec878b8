"""Reading a rule from the ticket's fields (or stored JSON) into a legal Rule, or saying exactly
which field is wrong and why. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from apps.core.numbers import Bounds, NumberError, parse_decimal
from apps.strategies.domain.catalog.options import conditions_for, secondaries_for, units_for
from apps.strategies.domain.catalog.terms import (
    MAX_PERIOD,
    MAX_VALUE_PLACES,
    MIN_PERIOD,
    SOURCES,
    TIMEFRAMES,
    Condition,
    Operand,
    Rule,
    RuleKind,
    Side,
    Unit,
    kind_spec,
)

# A rule's value: a price, an offset or a percentage; nothing a market quotes is beyond this.
VALUE_BOUNDS = Bounds(minimum=Decimal(-(10**12)), maximum=Decimal(10**12), places=MAX_VALUE_PLACES)


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
        # ASCII digits, a few of them: int() reads "٣" as 3 and refuses 5 000 nines.
        if not re.fullmatch(r"\d{1,6}", raw, re.ASCII) or not MIN_PERIOD <= int(raw) <= MAX_PERIOD:
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
    text = raw.strip().removesuffix("%").rstrip()
    try:
        # The bounded parser: a value of 1e999999999 saved once made every later page compute
        # with it; now it never gets past the form.
        return parse_decimal(text, field="value", bounds=VALUE_BOUNDS)
    except NumberError as error:
        if error.kind == "format":
            errors["value"] = f"'{_short(raw)}' is not a number."
        elif "decimal places" in str(error):
            errors["value"] = f"Use at most {MAX_VALUE_PLACES} decimal places."
        else:
            errors["value"] = f"The value must be {VALUE_BOUNDS.describe()}."
        return None


def _short(text: str, limit: int = 24) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


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
