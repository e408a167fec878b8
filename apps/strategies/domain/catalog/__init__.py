"""The rule catalog: every source, condition and unit a rule may use, and which combinations are
legal for each rule type. Pure.

A rule is `Primary source | Condition | Secondary source | Value`, e.g.
`Last price | crosses above | EMA(21, 15m) | +0.2 %`. This module is the one place that says what
is allowed: the ticket's dropdowns are rendered from `options_for`, the server validates with
`parse_rule`, and `apps.strategies.domain.evaluation` evaluates what `parse_rule` returns. Nothing
else decides legality.

Side-aware so shorts can follow: a long's stop sits below the price and watches the highest
price since entry; a short's would mirror both.
"""

from apps.strategies.domain.catalog.options import (
    RowOptions,
    conditions_for,
    options_for,
    secondaries_for,
    units_for,
)
from apps.strategies.domain.catalog.parsing import InvalidRule, RuleErrors, parse_rule
from apps.strategies.domain.catalog.terms import (
    CANDLE_SOURCES,
    CONDITION_LABELS,
    MAX_PERIOD,
    MAX_VALUE_PLACES,
    MIN_PERIOD,
    RULE_KIND_LABELS,
    SOURCES,
    TIMEFRAMES,
    Condition,
    Dimension,
    KindSpec,
    Operand,
    Rule,
    RuleKind,
    Side,
    SourceDef,
    Unit,
    format_value,
    immediately,
    kind_spec,
)

__all__ = [
    "CANDLE_SOURCES",
    "CONDITION_LABELS",
    "MAX_PERIOD",
    "MAX_VALUE_PLACES",
    "MIN_PERIOD",
    "RULE_KIND_LABELS",
    "SOURCES",
    "TIMEFRAMES",
    "Condition",
    "Dimension",
    "InvalidRule",
    "KindSpec",
    "Operand",
    "RowOptions",
    "Rule",
    "RuleErrors",
    "RuleKind",
    "Side",
    "SourceDef",
    "Unit",
    "conditions_for",
    "format_value",
    "immediately",
    "kind_spec",
    "options_for",
    "parse_rule",
    "secondaries_for",
    "units_for",
]
