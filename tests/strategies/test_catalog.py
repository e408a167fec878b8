"""The rule catalog: what each rule type may use, how the ticket's dropdowns narrow, how a form
row becomes a `Rule` (or errors on the right field), and how a rule reads and round-trips.

Pure: no database. Legality is checked exhaustively, both ways: everything the dropdowns offer
parses, and `parse_rule` refuses everything they do not offer.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import product
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.strategies.domain.catalog import (
    MAX_PERIOD,
    MAX_VALUE_PLACES,
    MIN_PERIOD,
    SOURCES,
    TIMEFRAMES,
    Condition,
    InvalidRule,
    Operand,
    Rule,
    RuleKind,
    Side,
    Unit,
    conditions_for,
    immediately,
    kind_spec,
    options_for,
    parse_rule,
    secondaries_for,
    units_for,
)
from tests.tickets.conftest import IMMEDIATELY, STOP_2_PCT, TAKE_3_PCT, TRAIL_1_5_PCT

LONG, SHORT = Side.LONG, Side.SHORT
ENTRY = RuleKind.ENTRY
STOP = RuleKind.INITIAL_STOP
TRAIL = RuleKind.TRAILING_STOP
TAKE = RuleKind.TAKE_PROFIT

EMA_ENTRY = {
    "primary": "last",
    "condition": "crosses_above",
    "secondary": "ema",
    "secondary_period": "21",
    "secondary_timeframe": "15m",
    "value": "0.2",
    "unit": "percent",
}


def _period(role: str = "secondary", period: str = "21", timeframe: str = "15m") -> dict:
    return {f"{role}_period": period, f"{role}_timeframe": timeframe}


def errors_of(kind: RuleKind, side: Side, data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(InvalidRule) as raised:
        parse_rule(kind, side, data)
    return dict(raised.value.errors)


# --- The issue's examples -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "data", "label"),
    [
        (ENTRY, EMA_ENTRY, "Last price | crosses above | EMA(21, 15m) | +0.2 %"),
        (STOP, STOP_2_PCT, "Last price | is at or below | Entry price | -2 %"),
        (TRAIL, TRAIL_1_5_PCT, "Last price | retraces from | Highest since entry | 1.5 %"),
        (TAKE, TAKE_3_PCT, "Unrealised PnL % | is at or above | Fixed value | 3"),
        (ENTRY, IMMEDIATELY, "Immediately, at market"),
    ],
)
def test_issue_examples_parse_from_the_form_and_read_as_written(kind, data, label):
    assert parse_rule(kind, LONG, data).label == label


def test_ema_entry_parses_into_its_parts():
    assert parse_rule(ENTRY, LONG, EMA_ENTRY) == Rule(
        ENTRY,
        Operand("last"),
        Condition.CROSSES_ABOVE,
        Operand("ema", 21, "15m"),
        Decimal("0.2"),
        Unit.PERCENT,
    )


def test_immediate_entry_from_the_form_is_the_immediately_rule():
    assert parse_rule(ENTRY, LONG, IMMEDIATELY) == immediately()


def test_take_profit_on_pnl_reads_its_value_as_a_plain_number():
    rule = parse_rule(TAKE, LONG, TAKE_3_PCT)
    assert (rule.value, rule.unit) == (Decimal(3), Unit.NUMBER)


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        ("-150", "price", "-150"),  # an absolute offset has no unit sign
        ("0", "percent", "0 %"),  # zero is not signed
        ("2.50", "percent", "+2.5 %"),  # trailing zeros dropped
        ("100", "percent", "+100 %"),  # normalised without an exponent
    ],
)
def test_offset_label_signs_positive_values_and_shows_the_unit(value, unit, shown):
    rule = parse_rule(
        STOP, LONG, {**STOP_2_PCT, "secondary": "ema", **_period(), "value": value, "unit": unit}
    )
    assert rule.label == f"Last price | is at or below | EMA(21, 15m) | {shown}"


def test_candle_close_label_shows_its_timeframe():
    rule = parse_rule(
        STOP, LONG, {**STOP_2_PCT, "primary": "close", "primary_timeframe": "1h", "value": "-1"}
    )
    assert rule.label == "Candle close(1h) | is at or below | Entry price | -1 %"


# --- Reading the form -----------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["0.2", "+0.2", " 0.2 ", "0.2%", "0.2 %"])
def test_value_accepts_the_ways_a_trader_types_it(raw):
    assert parse_rule(ENTRY, LONG, {**EMA_ENTRY, "value": raw}).value == Decimal("0.2")


def test_empty_offset_means_exactly_at_the_secondary_source():
    rule = parse_rule(STOP, LONG, {**STOP_2_PCT, "value": ""})
    assert (rule.value, rule.unit) == (Decimal(0), Unit.PERCENT)


def test_missing_unit_defaults_to_percent_for_a_price_offset():
    rule = parse_rule(STOP, LONG, {k: v for k, v in STOP_2_PCT.items() if k != "unit"})
    assert rule.unit == Unit.PERCENT


def test_price_unit_is_kept_for_an_absolute_offset():
    rule = parse_rule(STOP, LONG, {**STOP_2_PCT, "value": "-150", "unit": "price"})
    assert (rule.value, rule.unit) == (Decimal(-150), Unit.PRICE)


@pytest.mark.parametrize("kind", [STOP, TRAIL, TAKE])
@pytest.mark.parametrize("row", [{}, {"primary": ""}, {"unit": "percent"}, _period("secondary")])
def test_an_empty_optional_row_is_no_rule(kind, row):
    assert parse_rule(kind, LONG, row) is None


def test_exactly_twelve_decimal_places_are_accepted():
    value = "0." + "0" * (MAX_VALUE_PLACES - 1) + "1"
    assert parse_rule(ENTRY, LONG, {**EMA_ENTRY, "value": value}).value == Decimal(value)


@pytest.mark.parametrize("period", [str(MIN_PERIOD), str(MAX_PERIOD)])
def test_period_bounds_are_inclusive(period):
    rule = parse_rule(ENTRY, LONG, {**EMA_ENTRY, "secondary_period": period})
    assert rule.secondary == Operand("ema", int(period), "15m")


def test_retracement_in_price_may_exceed_one_hundred():
    rule = parse_rule(TRAIL, LONG, {**TRAIL_1_5_PCT, "value": "150", "unit": "price"})
    assert (rule.value, rule.unit) == (Decimal(150), Unit.PRICE)


# --- Illegal rows: the message lands on the field to fix ------------------------------------

ILLEGAL = [
    pytest.param(
        STOP,
        LONG,
        {**STOP_2_PCT, "secondary": "fixed", "value": "63,700", "unit": "price"},
        "value",
        "Write '63,700' with a point for decimals and no thousands separator.",
        id="comma-is-ambiguous",
    ),
    pytest.param(
        STOP,
        LONG,
        {**STOP_2_PCT, "secondary": "fixed", "value": "60000%", "unit": "price"},
        "value",
        "A % sign does not fit here: the value is a price.",
        id="percent-sign-on-a-price",
    ),
    pytest.param(
        TAKE,
        LONG,
        {
            "primary": "rsi",
            **_period("primary"),
            "condition": "at_or_above",
            "secondary": "fixed",
            "value": "150",
        },
        "value",
        "RSI runs from 0 to 100.",
        id="rsi-level-out-of-range",
    ),
    pytest.param(
        STOP,
        LONG,
        {**STOP_2_PCT, "primary": "rsi", **_period("primary")},
        "primary",
        "RSI cannot be the primary source of the initial stop rule.",
        id="rsi-primary-in-initial-stop",
    ),
    pytest.param(
        STOP,
        LONG,
        {**STOP_2_PCT, "condition": "crosses_above"},
        "condition",
        "'crosses above' does not apply here; use crosses below, is below, is at or below.",
        id="crosses-above-in-long-stop",
    ),
    pytest.param(
        STOP,
        SHORT,
        {**STOP_2_PCT, "condition": "crosses_below"},
        "condition",
        "'crosses below' does not apply here; use crosses above, is above, is at or above.",
        id="crosses-below-in-short-stop",
    ),
    pytest.param(
        STOP,
        LONG,
        {**STOP_2_PCT, "condition": "sideways"},
        "condition",
        "'sideways' does not apply here; use crosses below, is below, is at or below.",
        id="unknown-condition",
    ),
    pytest.param(
        STOP,
        LONG,
        {**STOP_2_PCT, "condition": ""},
        "condition",
        "Pick a condition (crosses below, is below, is at or below).",
        id="no-condition",
    ),
    pytest.param(
        TAKE,
        LONG,
        {"primary": "rsi", **_period("primary"), "condition": "at_or_above"}
        | {"secondary": "entry_price", "value": "70"},
        "secondary",
        "RSI cannot be compared with Entry price in the take profit rule; use Fixed value.",
        id="rsi-against-entry-price",
    ),
    pytest.param(
        STOP,
        LONG,
        {**STOP_2_PCT, "primary": "pnl_pct", "secondary": "ema", **_period()},
        "secondary",
        "Unrealised PnL % cannot be compared with EMA in the initial stop rule; use Fixed value.",
        id="pnl-against-ema",
    ),
    pytest.param(
        TRAIL,
        LONG,
        {**TRAIL_1_5_PCT, "secondary": "entry_price"},
        "secondary",
        "Last price cannot be compared with Entry price in the trailing stop rule; "
        "use Highest since entry.",
        id="retrace-from-entry-price",
    ),
    pytest.param(
        TRAIL,
        LONG,
        {**TRAIL_1_5_PCT, "secondary": "lowest"},
        "secondary",
        "Last price cannot be compared with Lowest since entry in the trailing stop rule; "
        "use Highest since entry.",
        id="long-retrace-from-lowest",
    ),
    pytest.param(
        TRAIL,
        SHORT,
        {**TRAIL_1_5_PCT, "secondary": "highest"},
        "secondary",
        "Last price cannot be compared with Highest since entry in the trailing stop rule; "
        "use Lowest since entry.",
        id="short-retrace-from-highest",
    ),
    pytest.param(
        TRAIL,
        LONG,
        {**TRAIL_1_5_PCT, "secondary": ""},
        "secondary",
        "Pick what to compare with (Highest since entry).",
        id="no-secondary",
    ),
    pytest.param(
        ENTRY,
        LONG,
        {**STOP_2_PCT, "condition": "crosses_above"},
        "secondary",
        "Last price cannot be compared with Entry price in the entry rule; "
        "use Last price, Bid, Ask, Candle close, EMA, SMA, Fixed value.",
        id="entry-against-entry-price",
    ),
    pytest.param(
        ENTRY,
        LONG,
        {"primary": "entry_price", "condition": "above", "secondary": "fixed", "value": "1"},
        "primary",
        "Entry price cannot be the primary source of the entry rule.",
        id="entry-price-as-entry-primary",
    ),
    pytest.param(ENTRY, LONG, {}, "primary", "The entry rule is required.", id="missing-entry"),
    pytest.param(
        ENTRY, LONG, {"primary": ""}, "primary", "The entry rule is required.", id="blank-entry"
    ),
    pytest.param(
        STOP,
        LONG,
        {"condition": "at_or_below", "value": "-2"},
        "primary",
        "Pick a primary source, or clear the row.",
        id="half-filled-row",
    ),
    pytest.param(
        STOP,
        LONG,
        {"secondary": "entry_price"},
        "primary",
        "Pick a primary source, or clear the row.",
        id="secondary-without-primary",
    ),
    *[
        pytest.param(
            ENTRY,
            LONG,
            {**EMA_ENTRY, "secondary_period": period},
            "secondary_period",
            "EMA needs a length from 2 to 500 candles.",
            id=f"period-{period or 'empty'}",
        )
        for period in ("1", "501", "0", "-5", "21.5", "abc", "")
    ],
    pytest.param(
        ENTRY,
        LONG,
        {"primary": "rsi", "primary_period": "1", "primary_timeframe": "1h"}
        | {"condition": "crosses_above", "secondary": "fixed", "value": "30"},
        "primary_period",
        "RSI needs a length from 2 to 500 candles.",
        id="primary-period",
    ),
    *[
        pytest.param(
            ENTRY,
            LONG,
            {**EMA_ENTRY, "secondary_timeframe": timeframe},
            "secondary_timeframe",
            f"Pick a timeframe ({', '.join(TIMEFRAMES)}).",
            id=f"timeframe-{timeframe or 'empty'}",
        )
        for timeframe in ("7m", "15M", "1w", "")
    ],
    pytest.param(
        STOP,
        LONG,
        {**STOP_2_PCT, "primary": "close", "primary_timeframe": "2d"},
        "primary_timeframe",
        f"Pick a timeframe ({', '.join(TIMEFRAMES)}).",
        id="primary-timeframe",
    ),
    *[
        pytest.param(
            ENTRY,
            LONG,
            {**EMA_ENTRY, "value": raw},
            "value",
            f"'{raw}' is not a number.",
            id=f"value-{raw}",
        )
        for raw in ("abc", "1.2.3", "NaN", "Infinity", "-inf")
    ],
    *[
        pytest.param(
            TRAIL,
            LONG,
            {**TRAIL_1_5_PCT, "value": raw, "unit": unit},
            "value",
            "A retracement must be greater than zero.",
            id=f"retracement-{raw}-{unit}",
        )
        for raw, unit in (("0", "percent"), ("-1.5", "percent"), ("0", "price"))
    ],
    *[
        pytest.param(
            TRAIL,
            side,
            {**TRAIL_1_5_PCT, "secondary": secondary, "value": raw},
            "value",
            "A retracement must be less than 100 %.",
            id=f"retracement-{raw}-{side}",
        )
        for raw, side, secondary in (("100", LONG, "highest"), ("150", SHORT, "lowest"))
    ],
    pytest.param(
        TRAIL,
        LONG,
        {**TRAIL_1_5_PCT, "value": ""},
        "value",
        "Enter a value.",
        id="retracement-missing",
    ),
    *[
        pytest.param(
            STOP,
            LONG,
            {**STOP_2_PCT, "secondary": "fixed", "value": raw, "unit": ""},
            "value",
            "A price must be greater than zero.",
            id=f"fixed-price-{raw}",
        )
        for raw in ("0", "-65000")
    ],
    pytest.param(
        STOP,
        LONG,
        {**STOP_2_PCT, "secondary": "fixed", "value": "", "unit": ""},
        "value",
        "Enter a value.",
        id="fixed-value-missing",
    ),
    pytest.param(
        STOP,
        LONG,
        {**STOP_2_PCT, "value": "-100"},
        "value",
        "An offset of -100 % or less leaves no price.",
        id="offset-minus-100-pct",
    ),
    *[
        pytest.param(
            ENTRY,
            LONG,
            {**EMA_ENTRY, "value": raw},
            "value",
            f"Use at most {MAX_VALUE_PLACES} decimal places.",
            id=f"places-{raw}",
        )
        for raw in ("0.0000000000001", "1E-13")
    ],
    pytest.param(
        STOP,
        LONG,
        {**STOP_2_PCT, "unit": "number"},
        "unit",
        "Use % or price here.",
        id="number-unit-for-price-offset",
    ),
    pytest.param(
        TAKE,
        LONG,
        {**TAKE_3_PCT, "unit": "percent"},
        "unit",
        "Use number here.",
        id="percent-unit-for-pnl",
    ),
    pytest.param(
        STOP,
        LONG,
        {**STOP_2_PCT, "secondary": "fixed", "value": "60000", "unit": "percent"},
        "unit",
        "Use price here.",
        id="percent-unit-for-fixed-price",
    ),
]


@pytest.mark.parametrize(("kind", "side", "data", "field", "message"), ILLEGAL)
def test_illegal_row_is_refused_with_a_message_on_the_field_to_fix(
    kind, side, data, field, message
):
    assert errors_of(kind, side, data) == {field: message}


def test_every_bad_parameter_of_a_row_is_reported_at_once():
    data = {
        "primary": "close",
        "primary_timeframe": "7m",
        "condition": "crosses_above",
        "secondary": "sma",
        "secondary_period": "1",
        "secondary_timeframe": "15m",
        "value": "x",
    }
    assert set(errors_of(ENTRY, LONG, data)) == {"primary_timeframe", "secondary_period", "value"}


def test_invalid_rule_is_a_value_error_naming_the_fields():
    with pytest.raises(ValueError, match=r"^primary: RSI cannot be the primary source"):
        parse_rule(STOP, LONG, {**STOP_2_PCT, "primary": "rsi", **_period("primary")})


# --- What each rule type may use ------------------------------------------------------------


@pytest.mark.parametrize("side", list(Side))
def test_entry_never_reads_a_source_that_needs_a_position(side):
    spec = kind_spec(ENTRY, side)
    assert not [key for key in (*spec.primaries, *spec.secondaries) if SOURCES[key].needs_position]


@pytest.mark.parametrize("kind", list(RuleKind))
def test_only_the_entry_is_required(kind):
    assert kind_spec(kind, LONG).required == (kind == ENTRY)


def test_short_stops_mirror_the_long_ones():
    stop, trail = kind_spec(STOP, SHORT), kind_spec(TRAIL, SHORT)
    assert stop.primaries == ("last", "ask", "close", "pnl_pct")
    assert stop.conditions == (Condition.CROSSES_ABOVE, Condition.ABOVE, Condition.AT_OR_ABOVE)
    assert trail.primaries == ("last", "ask", "close")
    assert trail.secondaries == ("lowest",)


def test_short_take_profit_waits_for_the_price_to_fall():
    assert conditions_for(TAKE, SHORT, "last") == (
        Condition.CROSSES_BELOW,
        Condition.BELOW,
        Condition.AT_OR_BELOW,
    )


def test_entry_is_the_same_for_both_sides():
    assert kind_spec(ENTRY, SHORT) == kind_spec(ENTRY, LONG)


@pytest.mark.parametrize("side", list(Side))
@pytest.mark.parametrize(
    ("kind", "conditions"),
    [
        (STOP, (Condition.CROSSES_BELOW, Condition.BELOW, Condition.AT_OR_BELOW)),
        (TAKE, (Condition.CROSSES_ABOVE, Condition.ABOVE, Condition.AT_OR_ABOVE)),
    ],
)
def test_pnl_conditions_do_not_mirror_because_pnl_is_already_side_aware(side, kind, conditions):
    # A short's profit is a positive PnL % too, so its stop is "below" and its target "above".
    assert conditions_for(kind, side, "pnl_pct") == conditions


def test_short_stop_on_pnl_parses_below_a_loss():
    data = {"primary": "pnl_pct", "condition": "at_or_below", "secondary": "fixed", "value": "-2"}
    assert (
        parse_rule(STOP, SHORT, data).label
        == "Unrealised PnL % | is at or below | Fixed value | -2"
    )


def test_conditions_for_a_price_source_never_offer_at_market():
    assert Condition.AT_MARKET not in conditions_for(ENTRY, LONG, "last")


def test_conditions_for_an_illegal_primary_are_empty():
    assert conditions_for(STOP, LONG, "rsi") == ()


def test_secondaries_for_an_illegal_condition_are_empty():
    assert secondaries_for(STOP, LONG, "last", "crosses_above") == ()


def test_entry_on_rsi_compares_with_rsi_or_a_fixed_level():
    assert secondaries_for(ENTRY, LONG, "rsi", "crosses_above") == ("rsi", "fixed")


@pytest.mark.parametrize(
    ("primary", "secondary", "units"),
    [
        ("last", "fixed", (Unit.PRICE,)),
        ("last", "ema", (Unit.PERCENT, Unit.PRICE)),
        ("last", "highest", (Unit.PERCENT, Unit.PRICE)),
        ("pnl_pct", "fixed", (Unit.NUMBER,)),
        ("rsi", "fixed", (Unit.NUMBER,)),
        ("rsi", "rsi", (Unit.NUMBER,)),
    ],
)
def test_units_read_fixed_values_in_the_primarys_terms_and_offsets_as_pct_or_price(
    primary, secondary, units
):
    assert units_for(primary, secondary) == units


# --- The dropdowns narrow -------------------------------------------------------------------


def test_empty_picks_offer_every_primary_and_nothing_else():
    options = options_for(STOP, LONG, {})
    assert [source.key for source in options.primaries] == ["last", "bid", "close", "pnl_pct"]
    assert (options.conditions, options.secondaries, options.units) == ((), (), ())
    assert not options.takes_value


def test_rsi_take_profit_offers_only_a_fixed_value_as_a_number():
    picked = {"primary": "rsi", "condition": "at_or_above"}
    options = options_for(TAKE, LONG, picked)
    assert [source.key for source in options.secondaries] == ["fixed"]
    assert options.primary_params == ("period", "timeframe")
    assert options_for(TAKE, LONG, {**picked, "secondary": "fixed"}).units == (Unit.NUMBER,)


def test_immediately_offers_only_at_market_and_no_value():
    assert options_for(ENTRY, LONG, {"primary": "immediately"}).conditions == (Condition.AT_MARKET,)
    options = options_for(ENTRY, LONG, {"primary": "immediately", "condition": "at_market"})
    assert (options.secondaries, options.units, options.takes_value) == ((), (), False)


def test_short_stop_offers_conditions_above_the_price():
    options = options_for(STOP, SHORT, {"primary": "last"})
    assert options.conditions == (Condition.CROSSES_ABOVE, Condition.ABOVE, Condition.AT_OR_ABOVE)


def test_short_trailing_stop_retraces_from_the_lowest_price():
    options = options_for(TRAIL, SHORT, {"primary": "last", "condition": "retraces_from"})
    assert [source.key for source in options.secondaries] == ["lowest"]


def test_picking_an_ema_offers_its_period_and_timeframe_and_both_units():
    picked = {"primary": "last", "condition": "crosses_above", "secondary": "ema"}
    options = options_for(ENTRY, LONG, picked)
    assert options.secondary_params == ("period", "timeframe")
    assert options.units == (Unit.PERCENT, Unit.PRICE)
    assert options.takes_value


def test_an_illegal_pick_offers_nothing_further():
    options = options_for(STOP, LONG, {"primary": "rsi", "condition": "at_or_below"})
    assert (options.conditions, options.secondaries, options.primary_params) == ((), (), ())


def test_a_secondary_not_offered_offers_no_unit():
    picked = {"primary": "last", "condition": "at_or_below", "secondary": "highest"}
    options = options_for(STOP, LONG, picked)
    assert (options.secondary_params, options.units) == ((), ())


# --- Exhaustive: what the dropdowns offer is exactly what parses ----------------------------

VALID_PARAMS = {"period": "21", "timeframe": "15m"}


def _params(role: str, key: str) -> dict[str, str]:
    """Valid period and timeframe fields for source `key` as the `role` (primary, secondary)."""
    return {f"{role}_{param}": VALID_PARAMS[param] for param in SOURCES[key].params}


def _valid_value(primary: str, secondary: str) -> str:
    if (primary, secondary) == ("pnl_pct", "fixed"):
        return "-2.5"  # a PnL % may be a loss
    return "1.5"  # a positive price or RSI level, a retracement, an offset


def offered_rows(kind: RuleKind, side: Side) -> list[dict[str, str]]:
    """Every row the ticket's dropdowns let a trader build, as the form would post it."""
    rows = []
    for primary in options_for(kind, side, {}).primaries:
        picked = {"primary": primary.key}
        for condition in options_for(kind, side, picked).conditions:
            picked = {"primary": primary.key, "condition": condition.value}
            row = {**picked, **_params("primary", primary.key)}
            if condition == Condition.AT_MARKET:
                rows.append(row)
                continue
            for secondary in options_for(kind, side, picked).secondaries:
                picked_all = {**picked, "secondary": secondary.key}
                for unit in options_for(kind, side, picked_all).units:
                    rows.append(
                        {
                            **row,
                            "secondary": secondary.key,
                            **_params("secondary", secondary.key),
                            "value": _valid_value(primary.key, secondary.key),
                            "unit": unit.value,
                        }
                    )
    return rows


ALL_OFFERED = [
    pytest.param(kind, side, row, id=f"{side}-{kind}-{'-'.join(str(v) for v in row.values())}")
    for kind, side in product(RuleKind, Side)
    for row in offered_rows(kind, side)
]


def test_the_catalog_offers_a_sizeable_number_of_rows():
    # Guards the enumeration itself: an empty or tiny list would make the round trip vacuous.
    assert len(ALL_OFFERED) > 300


@pytest.mark.parametrize(("kind", "side", "row"), ALL_OFFERED)
def test_every_offered_row_parses_and_round_trips_through_to_dict(kind, side, row):
    rule = parse_rule(kind, side, row)
    assert parse_rule(kind, side, rule.to_dict()) == rule
    assert rule.label  # renders without a KeyError on any source or unit


def every_conceivable_row():
    """Every source x condition x source x unit, legal or not, each with valid parameters."""
    for primary, condition in product(SOURCES, Condition):
        row = {"primary": primary, "condition": condition.value, **_params("primary", primary)}
        if condition == Condition.AT_MARKET:
            yield (primary, condition.value, None, None), row
            continue
        for secondary, unit in product(SOURCES, Unit):
            key = (primary, condition.value, secondary, unit.value)
            yield (
                key,
                row
                | {"secondary": secondary, **_params("secondary", secondary)}
                | {
                    "value": "1.5",
                    "unit": unit.value,
                },
            )


def _accepts(kind: RuleKind, side: Side, row: dict[str, str]) -> bool:
    try:
        parse_rule(kind, side, row)
    except InvalidRule:
        return False
    return True


@pytest.mark.parametrize(("kind", "side"), list(product(RuleKind, Side)))
def test_parse_accepts_exactly_the_combinations_the_dropdowns_offer(kind, side):
    offered = {
        (row["primary"], row["condition"], row.get("secondary"), row.get("unit"))
        for row in offered_rows(kind, side)
    }
    accepted = {key for key, row in every_conceivable_row() if _accepts(kind, side, row)}
    assert (accepted - offered, offered - accepted) == (set(), set())


values = st.decimals(
    min_value=Decimal("0.000000000001"),
    max_value=Decimal("99.999999999999"),
    places=MAX_VALUE_PLACES,
    allow_nan=False,
    allow_infinity=False,
)


def _with(row: dict[str, str], *, period: int, timeframe: str, value: Decimal) -> dict:
    changed = dict(row)
    for field in row:
        if field.endswith("_period"):
            changed[field] = str(period)
        elif field.endswith("_timeframe"):
            changed[field] = timeframe
        elif field == "value":
            changed[field] = str(value)
    return changed


@given(
    case=st.sampled_from([case.values for case in ALL_OFFERED]),
    value=values,
    period=st.integers(MIN_PERIOD, MAX_PERIOD),
    timeframe=st.sampled_from(TIMEFRAMES),
)
def test_round_trip_holds_for_any_legal_value_period_and_timeframe(case, value, period, timeframe):
    kind, side, row = case
    rule = parse_rule(kind, side, _with(row, period=period, timeframe=timeframe, value=value))
    assert parse_rule(kind, side, rule.to_dict()) == rule
    assert rule.value in (None, value)
    assert {operand.period for operand in rule.operands} <= {None, period}
    assert {operand.timeframe for operand in rule.operands} <= {None, timeframe}


@pytest.mark.parametrize(
    ("kind", "data", "words"),
    [
        (STOP, STOP_2_PCT, "Last price is at or below Entry price -2 %"),
        (TAKE, TAKE_3_PCT, "Unrealised PnL is at or above 3 %"),
        (TRAIL, TRAIL_1_5_PCT, "Last price retraces 1.5 % from Highest since entry"),
        (ENTRY, EMA_ENTRY, "Last price crosses above EMA(21, 15m) +0.2 %"),
        (ENTRY, IMMEDIATELY, "Immediately, at market"),
    ],
)
def test_a_rule_reads_as_a_sentence_without_the_builders_pipes(kind, data, words):
    """A position's page says its rules in words, not `Unrealised PnL % | … | Fixed value | 3`."""
    rule = parse_rule(kind, LONG, data)
    assert rule.words == words
    assert "|" not in rule.words and "Fixed value" not in rule.words
