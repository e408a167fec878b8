"""What the ticket's dropdowns may offer, narrowed by what the trader has picked. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from apps.strategies.domain.catalog.terms import (
    LONG_SPECS,
    SOURCES,
    Condition,
    Dimension,
    RuleKind,
    Side,
    SourceDef,
    Unit,
    kind_spec,
)


def conditions_for(kind: RuleKind, side: Side, primary: str) -> tuple[Condition, ...]:
    spec = kind_spec(kind, side)
    if primary not in spec.primaries:
        return ()
    if primary == "immediately":
        return (Condition.AT_MARKET,)
    if primary == "pnl_pct":
        # PnL % is already measured from the position's side (a short's profit is positive too),
        # so its conditions do not mirror: a stop is below it and a take profit above, always.
        spec = LONG_SPECS[kind]
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
