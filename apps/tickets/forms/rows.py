"""The four rule rows of the ticket, read through the rule catalog.

A row's fields carry the catalog's flat names prefixed by the rule kind (`entry-primary`,
`entry-primary_period`, `take_profit-value`, ...). `narrow` asks the catalog which choices a
row may offer after the trader's picks, so the dropdowns never offer what `parse_rule` would
refuse.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from apps.strategies.domain.catalog import (
    TIMEFRAMES,
    RowOptions,
    RuleKind,
    Side,
    kind_spec,
    options_for,
)

# A row's fields: the flat shape `parse_rule` reads.
ROW_FIELDS = (
    "primary",
    "primary_period",
    "primary_timeframe",
    "condition",
    "secondary",
    "secondary_period",
    "secondary_timeframe",
    "value",
    "unit",
)


def field_name(kind: RuleKind, field: str) -> str:
    """The form field of a row's field: `entry-primary`, `take_profit-value`, ..."""
    return f"{kind.value}-{field}"


@dataclass(frozen=True)
class Cell:
    """One field of a rule row, ready to render."""

    name: str  # the form field, e.g. entry-primary
    label: str
    widget: str  # "select", "number" or "text"
    value: str
    errors: list[str]
    choices: tuple[tuple[str, str], ...] = ()
    blank: str | None = None  # label of the empty choice; None: the select has none
    narrows: bool = False  # changing it re-renders the row with the choices left (htmx)

    @property
    def field(self) -> str:
        """The catalog's name of the field (primary, condition, value, ...)."""
        return self.name.split("-", 1)[1]

    @property
    def disabled(self) -> bool:
        """A select with nothing to choose yet (no condition before a primary is picked)."""
        return self.widget == "select" and not self.choices


@dataclass(frozen=True)
class RuleRow:
    """One ticket row as the page shows it: the picks still legal, and what it may offer."""

    kind: RuleKind
    side: Side
    values: dict[str, str]
    options: RowOptions
    errors: dict[str, list[str]]
    problem: str = ""  # an activation check that failed for the whole rule

    @property
    def name(self) -> str:
        return self.kind.value

    @property
    def label(self) -> str:
        return self.kind.label

    @property
    def required(self) -> bool:
        return kind_spec(self.kind, self.side).required

    @property
    def has_errors(self) -> bool:
        return bool(self.problem) or any(self.errors.values())

    @property
    def cells(self) -> list[Cell]:
        """`Primary | (period, timeframe) | Condition | Secondary | (params) | Value | Unit`."""
        options = self.options
        cells = [
            self._select(
                "primary",
                "Primary",
                [(source.key, source.label) for source in options.primaries],
                blank="— pick —" if self.required else "— none —",
            ),
            *self._params("primary", options.primary_params),
            self._select(
                "condition",
                "Condition",
                [(condition.value, condition.label) for condition in options.conditions],
                blank="— pick —",
            ),
            self._select(
                "secondary",
                "Compared with",
                [(source.key, source.label) for source in options.secondaries],
                blank="— pick —",
            ),
            *self._params("secondary", options.secondary_params),
        ]
        if options.takes_value:
            cells.append(self._cell("value", "Value", "text"))
            cells.append(
                self._select(
                    "unit",
                    "Unit",
                    [(unit.value, unit.label) for unit in options.units],
                    blank=None,
                    narrows=False,
                )
            )
        return cells

    def _params(self, operand: str, params: tuple[str, ...]) -> list[Cell]:
        cells = []
        if "period" in params:
            cells.append(self._cell(f"{operand}_period", "Length", "number"))
        if "timeframe" in params:
            choices = [(timeframe, timeframe) for timeframe in TIMEFRAMES]
            cells.append(
                self._select(f"{operand}_timeframe", "Timeframe", choices, blank="—", narrows=False)
            )
        return cells

    def _select(
        self,
        field: str,
        label: str,
        choices: list[tuple[str, str]],
        *,
        blank: str | None,
        narrows: bool = True,
    ) -> Cell:
        return replace(
            self._cell(field, label, "select"), choices=tuple(choices), blank=blank, narrows=narrows
        )

    def _cell(self, field: str, label: str, widget: str) -> Cell:
        return Cell(
            name=field_name(self.kind, field),
            label=label,
            widget=widget,
            value=self.values.get(field, ""),
            errors=self.errors.get(field, []),
        )


def narrow(
    kind: RuleKind, side: Side, picked: Mapping[str, Any], *, fill: bool = True
) -> tuple[dict[str, str], RowOptions]:
    """The row's picks that are still legal, and the choices it may offer next.

    Walks the row left to right: a pick the earlier picks made illegal (a condition the new
    primary does not take, say) is dropped, and so are the parameters and value of sources no
    longer picked. With `fill`, a choice with exactly one legal option is made for the trader
    (Immediately → at market, a trailing stop → retraces from → Highest since entry).
    """
    values = {field: str(picked.get(field) or "").strip() for field in ROW_FIELDS}
    options = options_for(kind, side, {})
    if values["primary"] not in {source.key for source in options.primaries}:
        values["primary"] = ""
    options = options_for(kind, side, {"primary": values["primary"]})
    values["condition"] = _keep(values["condition"], [c.value for c in options.conditions], fill)
    options = options_for(kind, side, {key: values[key] for key in ("primary", "condition")})
    values["secondary"] = _keep(values["secondary"], [s.key for s in options.secondaries], fill)
    options = options_for(kind, side, values)
    units = [unit.value for unit in options.units]
    # The unit select has no empty choice: the first unit is the default, as in `parse_rule`.
    values["unit"] = values["unit"] if values["unit"] in units else (units[0] if units else "")
    for operand, params in (
        ("primary", options.primary_params),
        ("secondary", options.secondary_params),
    ):
        for param in ("period", "timeframe"):
            if param not in params:
                values[f"{operand}_{param}"] = ""
    if not options.takes_value:
        values["value"] = ""
    return values, options


def _keep(value: str, legal: list[str], fill: bool) -> str:
    if value in legal:
        return value
    return legal[0] if fill and len(legal) == 1 else ""


def rule_fields(stored: Mapping[str, Any] | None) -> dict[str, str]:
    """A stored rule (`Rule.to_dict()`) as the row's flat fields; every field, "" if unused."""
    fields = dict.fromkeys(ROW_FIELDS, "")
    stored = stored or {}
    for operand in ("primary", "secondary"):
        data = stored.get(operand) or {}
        if data:
            fields[operand] = str(data.get("source", ""))
            for param in ("period", "timeframe"):
                if data.get(param) is not None:
                    fields[f"{operand}_{param}"] = str(data[param])
    for field in ("condition", "value", "unit"):
        if stored.get(field) not in (None, ""):
            fields[field] = str(stored[field])
    return fields
