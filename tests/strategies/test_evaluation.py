"""Evaluating rules against market inputs: thresholds, comparisons at their boundaries,
crossings with memory across ticks and data gaps, PnL %, and the activation checks (coherence,
entry reference, stop price).

Pure: no database. Rules are built with `parse_rule` from the form's shape, as a ticket would.
"""

from __future__ import annotations

from decimal import Decimal
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.strategies.domain.catalog import Rule, RuleKind, Side, immediately, parse_rule
from apps.strategies.domain.evaluation import (
    Inputs,
    Memory,
    as_if_entered,
    coherence_problems,
    entry_reference,
    evaluate,
    stop_price,
    threshold_of,
    unrealised_pnl_pct,
)
from tests.tickets.conftest import STOP_2_PCT, TAKE_3_PCT, TRAIL_1_5_PCT

LONG, SHORT = Side.LONG, Side.SHORT
ENTRY = RuleKind.ENTRY
STOP = RuleKind.INITIAL_STOP
TRAIL = RuleKind.TRAILING_STOP
TAKE = RuleKind.TAKE_PROFIT
D = Decimal
EMA_21_15M = ("ema", 21, "15m")


def rule(kind: RuleKind, side: Side = LONG, **fields: str) -> Rule:
    parsed = parse_rule(kind, side, fields)
    assert parsed is not None
    return parsed


def entry_on_last(condition: str, level: str = "100") -> Rule:
    """`Last price | <condition> | Fixed value | <level>`: an entry may use every comparison."""
    return rule(ENTRY, primary="last", condition=condition, secondary="fixed", value=level)


def last(price: str | Decimal | None, **more) -> Inputs:
    return Inputs(last=None if price is None else D(price), **more)


EMA_CROSS = rule(
    ENTRY,
    primary="last",
    condition="crosses_above",
    secondary="ema",
    secondary_period="21",
    secondary_timeframe="15m",
    value="0.2",
    unit="percent",
)


# --- Thresholds -----------------------------------------------------------------------------


def test_fixed_value_is_the_threshold_whatever_the_market():
    assert threshold_of(entry_on_last("above", "65000.5"), Inputs(), LONG) == D("65000.5")


@pytest.mark.parametrize(
    ("unit", "value", "threshold"),
    [
        ("percent", "-2", D("196")),
        ("price", "-2", D("198")),
        ("percent", "0", D("200")),
        ("price", "0", D("200")),
        ("percent", "0.5", D("201")),
        ("price", "0.5", D("200.5")),
    ],
)
def test_offset_is_a_percentage_or_an_absolute_amount_of_the_secondary(unit, value, threshold):
    stop = rule(STOP, **{**STOP_2_PCT, "value": value, "unit": unit})
    assert threshold_of(stop, Inputs(entry_price=D(200)), LONG) == threshold


def test_offset_from_an_indicator_reads_its_cached_candle_value():
    inputs = Inputs(candles={EMA_21_15M: D("65000"), ("ema", 50, "15m"): D("1")})
    assert threshold_of(EMA_CROSS, inputs, LONG) == D("65130.0")


def test_candle_close_reads_the_close_of_its_timeframe():
    stop = rule(STOP, **{**STOP_2_PCT, "primary": "close", "primary_timeframe": "1h"})
    inputs = Inputs(
        entry_price=D(100), candles={("close", None, "1h"): D("97.5"), ("close", None, "4h"): D(1)}
    )
    evaluation = evaluate(stop, inputs, LONG, None)
    assert (evaluation.primary, evaluation.fired) == (D("97.5"), True)


@pytest.mark.parametrize(
    ("side", "secondary", "unit", "inputs", "threshold"),
    [
        (LONG, "highest", "percent", Inputs(highest=D(200)), D("197")),
        (LONG, "highest", "price", Inputs(highest=D(200)), D("198.5")),
        (SHORT, "lowest", "percent", Inputs(lowest=D(100)), D("101.5")),
        (SHORT, "lowest", "price", Inputs(lowest=D(100)), D("101.5")),
    ],
)
def test_retracement_threshold_is_below_the_high_for_a_long_and_above_the_low_for_a_short(
    side, secondary, unit, inputs, threshold
):
    trail = rule(TRAIL, side, **{**TRAIL_1_5_PCT, "secondary": secondary, "unit": unit})
    assert threshold_of(trail, inputs, side) == threshold


# --- Comparisons at, just above and just below the threshold ---------------------------------

JUST_BELOW, AT, JUST_ABOVE = "99.99999999", "100", "100.00000001"


@pytest.mark.parametrize(
    ("condition", "price", "fired"),
    [
        ("above", JUST_BELOW, False),
        ("above", AT, False),
        ("above", JUST_ABOVE, True),
        ("at_or_above", JUST_BELOW, False),
        ("at_or_above", AT, True),
        ("at_or_above", JUST_ABOVE, True),
        ("below", JUST_BELOW, True),
        ("below", AT, False),
        ("below", JUST_ABOVE, False),
        ("at_or_below", JUST_BELOW, True),
        ("at_or_below", AT, True),
        ("at_or_below", JUST_ABOVE, False),
    ],
)
def test_comparison_against_the_threshold_is_strict_or_inclusive_as_named(condition, price, fired):
    evaluation = evaluate(entry_on_last(condition), last(price), LONG, None)
    assert (evaluation.fired, evaluation.outcome) == (fired, "fired" if fired else "not met")


@pytest.mark.parametrize(
    ("price", "fired"), [("196.01", False), ("196", True), ("195.99", True), ("197.99", False)]
)
def test_stop_two_percent_below_entry_fires_at_and_below_its_level(price, fired):
    stop = rule(STOP, **STOP_2_PCT)
    assert evaluate(stop, last(price, entry_price=D(200)), LONG, None).fired is fired


@pytest.mark.parametrize(
    ("price", "fired"), [("199", False), ("198.5", True), ("198.49", True), ("198.51", False)]
)
def test_stop_an_amount_below_entry_fires_at_and_below_its_level(price, fired):
    stop = rule(STOP, **{**STOP_2_PCT, "value": "-1.5", "unit": "price"})
    assert evaluate(stop, last(price, entry_price=D(200)), LONG, None).fired is fired


@pytest.mark.parametrize(
    ("side", "extreme", "price", "fired"),
    [
        (LONG, {"highest": D(200)}, "197.01", False),
        (LONG, {"highest": D(200)}, "197", True),
        (LONG, {"highest": D(200)}, "150", True),
        (SHORT, {"lowest": D(100)}, "101.49", False),
        (SHORT, {"lowest": D(100)}, "101.5", True),
        (SHORT, {"lowest": D(100)}, "130", True),
    ],
)
def test_trailing_stop_fires_once_the_price_gives_back_its_retracement(side, extreme, price, fired):
    secondary = "highest" if side == LONG else "lowest"
    trail = rule(TRAIL, side, **{**TRAIL_1_5_PCT, "secondary": secondary})
    assert evaluate(trail, last(price, **extreme), side, None).fired is fired


def test_at_market_fires_without_any_data():
    evaluation = evaluate(immediately(), Inputs(), LONG, None)
    assert (evaluation.fired, evaluation.outcome) == (True, "fired")


# --- Unrealised PnL % -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "price", "pnl"),
    [
        (LONG, "103", D(3)),
        (LONG, "98", D(-2)),
        (LONG, "100", D(0)),
        (SHORT, "97", D(3)),
        (SHORT, "102", D(-2)),
    ],
)
def test_unrealised_pnl_pct_is_positive_when_the_position_gains(side, price, pnl):
    assert unrealised_pnl_pct(entry=D(100), last=D(price), side=side) == pnl


@pytest.mark.parametrize(("entry", "price"), [(None, D(1)), (D(1), None), (D(0), D(1))])
def test_unrealised_pnl_pct_is_unknown_without_a_positive_entry_and_a_price(entry, price):
    assert unrealised_pnl_pct(entry=entry, last=price, side=LONG) is None


@pytest.mark.parametrize(
    ("side", "price", "fired"),
    [(LONG, "103", True), (LONG, "102.99", False), (SHORT, "97", True), (SHORT, "97.01", False)],
)
def test_take_profit_on_pnl_fires_at_three_percent_gain_either_side(side, price, fired):
    take = rule(TAKE, side, **TAKE_3_PCT)
    assert evaluate(take, last(price, entry_price=D(100)), side, None).fired is fired


@pytest.mark.parametrize(
    ("side", "price", "fired"),
    [(LONG, "98", True), (LONG, "98.01", False), (SHORT, "102", True), (SHORT, "101.99", False)],
)
def test_stop_on_pnl_fires_at_two_percent_loss_either_side(side, price, fired):
    stop = rule(
        STOP, side, primary="pnl_pct", condition="at_or_below", secondary="fixed", value="-2"
    )
    assert evaluate(stop, last(price, entry_price=D(100)), side, None).fired is fired


# --- Crossings ------------------------------------------------------------------------------


def ticks(rule_: Rule, prices: list[str | None], side: Side = LONG, **more) -> list[bool]:
    """Evaluate `rule_` over successive last prices, carrying the memory as the loop would."""
    memory, fired = None, []
    for price in prices:
        evaluation = evaluate(rule_, last(price, **more), side, memory)
        memory = evaluation.memory
        fired.append(evaluation.fired)
    return fired


def test_first_evaluation_never_fires_a_crossing_even_beyond_the_threshold():
    assert ticks(entry_on_last("crosses_above"), ["150"]) == [False]
    assert ticks(entry_on_last("crosses_below"), ["50"]) == [False]


def test_crosses_above_fires_once_on_the_cross_and_not_while_staying_above():
    assert ticks(entry_on_last("crosses_above"), ["99", "101", "102", "150"]) == [
        False,
        True,
        False,
        False,
    ]


def test_crosses_above_fires_again_only_after_going_back_below():
    fired = ticks(entry_on_last("crosses_above"), ["99", "101", "98", "101"])
    assert fired == [False, True, False, True]


def test_crosses_below_fires_once_on_the_cross():
    assert ticks(entry_on_last("crosses_below"), ["101", "99", "98"]) == [False, True, False]


def test_landing_exactly_on_the_threshold_is_not_yet_a_cross():
    assert ticks(entry_on_last("crosses_above"), ["99", "100", "100.01"]) == [False, False, True]


def test_leaving_the_threshold_upwards_counts_as_crossing_above():
    # Touch-and-go: starting at the level itself, a move above is a cross.
    assert ticks(entry_on_last("crosses_above"), ["100", "100.01"]) == [False, True]


def test_crossing_compares_with_the_threshold_as_it_was_on_the_previous_tick():
    # The EMA rises with the price: the price stays below its (moving) threshold, so no cross.
    before = Memory(primary=D(100), threshold=D(101))
    inputs = Inputs(last=D(102), candles={EMA_21_15M: D(102)})  # threshold 102.204
    assert evaluate(EMA_CROSS, inputs, LONG, before).fired is False
    inputs = Inputs(last=D(103), candles={EMA_21_15M: D(102)})
    assert evaluate(EMA_CROSS, inputs, LONG, before).fired is True


def test_evaluation_remembers_this_ticks_primary_and_threshold():
    before = Memory(D(1), D(2))
    evaluation = evaluate(EMA_CROSS, Inputs(last=D(7), candles={EMA_21_15M: D(500)}), LONG, before)
    assert evaluation.memory == Memory(D(7), D("501.0"))
    assert evaluation.previous == before


def test_memory_survives_storage_so_a_restart_still_sees_the_cross():
    cross = entry_on_last("crosses_above")
    stored = evaluate(cross, last("99"), LONG, None).memory.to_dict()
    assert stored == {"primary": "99", "threshold": "100"}
    assert evaluate(cross, last("101"), LONG, Memory.from_dict(stored)).fired is True


@pytest.mark.parametrize("stored", [None, {}])
def test_no_stored_memory_reads_as_none(stored):
    assert Memory.from_dict(stored) is None


# --- Missing data ---------------------------------------------------------------------------


def test_missing_primary_waits_and_keeps_the_previous_memory():
    before = Memory(D(99), D(100))
    evaluation = evaluate(entry_on_last("crosses_above"), Inputs(), LONG, before)
    assert (evaluation.fired, evaluation.outcome) == (False, "waiting for data")
    assert (evaluation.missing, evaluation.memory) == ("Last price", before)


def test_missing_indicator_names_it_and_keeps_the_previous_memory():
    before = Memory(D(99), D(100))
    evaluation = evaluate(EMA_CROSS, last("200"), LONG, before)
    assert (evaluation.outcome, evaluation.missing, evaluation.memory) == (
        "waiting for data",
        "EMA(21, 15m)",
        before,
    )


def test_missing_both_sides_names_both():
    evaluation = evaluate(EMA_CROSS, Inputs(), LONG, None)
    assert evaluation.missing == "Last price and EMA(21, 15m)"


def test_a_level_rule_waits_rather_than_failing_when_data_is_missing():
    stop = rule(STOP, **STOP_2_PCT)
    evaluation = evaluate(stop, last("1"), LONG, None)  # far below, but no entry price known
    assert (evaluation.fired, evaluation.missing) == (False, "Entry price")


def test_a_cross_during_a_data_gap_is_seen_when_data_returns():
    assert ticks(entry_on_last("crosses_above"), ["99", None, None, "101"]) == [
        False,
        False,
        False,
        True,
    ]


def test_a_first_tick_with_no_data_leaves_nothing_to_cross_from():
    assert ticks(entry_on_last("crosses_above"), [None, "101"]) == [False, False]


def test_missing_data_explains_what_it_waits_for():
    assert evaluate(EMA_CROSS, last("1"), LONG, None).explain() == (
        "Last price | crosses above | EMA(21, 15m) | +0.2 %: waiting for EMA(21, 15m)."
    )


def test_a_crossing_explains_both_ticks():
    evaluation = evaluate(entry_on_last("crosses_above"), last("101"), LONG, Memory(D(99), D(100)))
    assert evaluation.explain() == (
        "Last price | crosses above | Fixed value | 100: met "
        "(Last price 101, threshold 100; before 99 vs 100)."
    )


def test_an_explanation_writes_prices_on_the_tick_and_a_pnl_pct_to_two_places():
    # The trader's trial read "threshold 62926.339" and "Unrealised PnL % 0.05642375".
    stop = rule(STOP, **STOP_2_PCT)
    evaluation = evaluate(stop, Inputs(last=D("64210.4"), entry_price=D("64210.55")), LONG, None)
    assert evaluation.threshold == D("62926.3390")  # exact in the evaluation (and its event)
    assert evaluation.explain(D("0.1")) == (
        "Last price | is at or below | Entry price | -2 %: not met "
        "(Last price 64,210.4, threshold 62,926.3)."
    )
    assert "threshold 62,926.339)" in evaluation.explain()  # no tick known: as it is, 8 at most
    take = rule(TAKE, primary="pnl_pct", condition="at_or_above", secondary="fixed", value="3")
    inputs = Inputs(last=D("100.0564237"), entry_price=D(100))
    assert evaluate(take, inputs, LONG, None).explain(D("0.01")) == (
        "Unrealised PnL % | is at or above | Fixed value | 3: not met "
        "(Unrealised PnL % 0.06, threshold 3.00)."
    )


# --- Properties -----------------------------------------------------------------------------

prices = st.decimals(
    min_value=Decimal("0.00000001"),
    max_value=Decimal("10000000"),
    places=8,
    allow_nan=False,
    allow_infinity=False,
)


@pytest.mark.parametrize(("one", "other"), [("at_or_above", "below"), ("above", "at_or_below")])
@given(price=prices, level=prices)
def test_a_condition_and_its_opposite_are_exact_complements(one, other, price, level):
    inputs = last(price)
    fired_one = evaluate(entry_on_last(one, str(level)), inputs, LONG, None).fired
    fired_other = evaluate(entry_on_last(other, str(level)), inputs, LONG, None).fired
    assert fired_one != fired_other


@given(level=prices, stream=st.lists(st.one_of(st.none(), prices), min_size=2, max_size=30))
def test_crossings_never_both_fire_on_one_tick_and_alternate_around_the_level(level, stream):
    above, below = (
        entry_on_last("crosses_above", str(level)),
        entry_on_last("crosses_below", str(level)),
    )
    memory_above = memory_below = None
    fired: list[str] = []
    for price in stream:
        inputs = last(price)
        up = evaluate(above, inputs, LONG, memory_above)
        down = evaluate(below, inputs, LONG, memory_below)
        memory_above, memory_below = up.memory, down.memory
        assert not (up.fired and down.fired)
        fired += ["up"] * up.fired + ["down"] * down.fired
    if level not in stream:  # touching the level and leaving it counts as a cross (see above)
        assert all(a != b for a, b in pairwise(fired))
    # A gap keeps the memory, so each cross is judged between consecutive known prices.
    known = [p for p in stream if p is not None]
    pairs = list(pairwise(known))
    assert fired.count("up") == sum(1 for a, b in pairs if a <= level < b)
    assert fired.count("down") == sum(1 for a, b in pairs if a >= level > b)


# --- Activation: entry reference, coherence, stop price --------------------------------------

EMA_STOP = {
    **STOP_2_PCT,
    "secondary": "ema",
    "secondary_period": "21",
    "secondary_timeframe": "15m",
}
MARKET = Inputs(last=D("100.5"), bid=D(100), ask=D(101))


@pytest.mark.parametrize(("side", "reference"), [(LONG, D(101)), (SHORT, D(100))])
def test_immediate_entry_is_referenced_at_the_side_of_the_book_it_takes(side, reference):
    assert entry_reference(immediately(), MARKET, side) == reference


def test_immediate_entry_falls_back_to_the_last_price_without_a_book():
    assert entry_reference(immediately(), Inputs(last=D("100.5")), LONG) == D("100.5")


def test_price_entry_is_referenced_at_its_threshold():
    inputs = Inputs(last=D(1), ask=D(2), candles={EMA_21_15M: D(65000)})
    assert entry_reference(EMA_CROSS, inputs, LONG) == D("65130.0")


def test_rsi_entry_is_referenced_at_the_last_price():
    rsi_entry = rule(
        ENTRY,
        primary="rsi",
        primary_period="14",
        primary_timeframe="1h",
        condition="crosses_below",
        secondary="fixed",
        value="30",
    )
    assert entry_reference(rsi_entry, MARKET, LONG) == D("100.5")


def test_as_if_entered_starts_every_position_source_at_the_entry():
    entered = as_if_entered(MARKET, D(99))
    assert (entered.entry_price, entered.highest, entered.lowest, entered.last) == (D(99),) * 4
    assert (entered.bid, entered.ask) == (MARKET.bid, MARKET.ask)


def fixed_level(kind: RuleKind, side: Side, condition: str, level: str) -> Rule:
    return rule(kind, side, primary="last", condition=condition, secondary="fixed", value=level)


def test_coherent_long_has_no_problems():
    rules = {
        ENTRY: immediately(),
        STOP: rule(STOP, **STOP_2_PCT),
        TRAIL: rule(TRAIL, **TRAIL_1_5_PCT),
        TAKE: rule(TAKE, **TAKE_3_PCT),
    }
    assert coherence_problems(rules, MARKET, LONG) == {}


@pytest.mark.parametrize(
    ("side", "stop", "take", "problems"),
    [
        (LONG, ("at_or_below", "100"), ("at_or_above", "102"), {}),
        (
            LONG,
            ("at_or_below", "101"),
            ("at_or_above", "102"),
            {STOP: "Initial stop at 101 must be below the entry at 101."},
        ),
        (
            LONG,
            ("at_or_below", "102"),
            ("at_or_above", "101"),
            {
                STOP: "Initial stop at 102 must be below the entry at 101.",
                TAKE: "Take profit at 101 must be above the entry at 101.",
            },
        ),
        (
            LONG,
            ("at_or_below", "100"),
            ("at_or_above", "99"),
            {TAKE: "Take profit at 99 must be above the entry at 101."},
        ),
        (SHORT, ("at_or_above", "101"), ("at_or_below", "99"), {}),
        (
            SHORT,
            ("at_or_above", "99"),
            ("at_or_below", "98"),
            {STOP: "Initial stop at 99 must be above the entry at 100."},
        ),
        (
            SHORT,
            ("at_or_above", "100"),
            ("at_or_below", "100"),
            {
                STOP: "Initial stop at 100 must be above the entry at 100.",
                TAKE: "Take profit at 100 must be below the entry at 100.",
            },
        ),
    ],
)
def test_stop_must_sit_on_the_losing_side_of_the_entry_and_the_target_on_the_winning_side(
    side, stop, take, problems
):
    rules = {
        ENTRY: immediately(),
        STOP: fixed_level(STOP, side, *stop),
        TAKE: fixed_level(TAKE, side, *take),
    }
    assert coherence_problems(rules, MARKET, side) == problems


@pytest.mark.parametrize(
    ("kind", "value", "problem"),
    [
        (STOP, "-2", None),
        (STOP, "0", "Initial stop must be at a loss (below 0); it is at 0 %."),
        (STOP, "2", "Initial stop must be at a loss (below 0); it is at 2 %."),
        (TAKE, "3", None),
        (TAKE, "0", "Take profit must be at a profit (above 0); it is at 0 %."),
        (TAKE, "-1", "Take profit must be at a profit (above 0); it is at -1 %."),
    ],
)
@pytest.mark.parametrize("side", list(Side))
def test_pnl_stop_must_be_a_loss_and_pnl_target_a_profit(kind, value, problem, side):
    condition = "at_or_below" if kind == STOP else "at_or_above"
    pnl_rule = rule(
        kind, side, primary="pnl_pct", condition=condition, secondary="fixed", value=value
    )
    problems = coherence_problems({ENTRY: immediately(), kind: pnl_rule}, MARKET, side)
    assert problems == ({kind: problem} if problem else {})


def test_oscillator_take_profit_is_not_checked_against_the_entry_price():
    rsi_take = rule(
        TAKE,
        primary="rsi",
        primary_period="14",
        primary_timeframe="1h",
        condition="at_or_above",
        secondary="fixed",
        value="70",  # below the entry's price of 101, but an RSI level, not a price
    )
    assert coherence_problems({ENTRY: immediately(), TAKE: rsi_take}, MARKET, LONG) == {}


def test_price_entry_without_its_indicator_cannot_be_priced():
    problems = coherence_problems({ENTRY: EMA_CROSS}, MARKET, LONG)
    assert problems == {
        ENTRY: "Cannot price the entry yet: no data for "
        "Last price | crosses above | EMA(21, 15m) | +0.2 %."
    }


def test_immediate_entry_without_any_price_cannot_be_priced():
    problems = coherence_problems(
        {ENTRY: immediately(), STOP: rule(STOP, **STOP_2_PCT)}, Inputs(), LONG
    )
    assert problems == {ENTRY: "Cannot price the entry yet: no data for the market price."}


@pytest.mark.parametrize("rules", [{}, {ENTRY: None, STOP: None}])
def test_missing_entry_is_reported_on_the_entry(rules):
    assert coherence_problems(rules, MARKET, LONG) == {ENTRY: "The entry rule is required."}


def test_stop_on_an_indicator_without_data_is_reported_on_the_stop():
    ema_stop = rule(STOP, **EMA_STOP)
    problems = coherence_problems({ENTRY: immediately(), STOP: ema_stop}, MARKET, LONG)
    assert problems == {STOP: "No data yet for EMA(21, 15m)."}


def test_stop_on_an_indicator_is_checked_against_the_entry_reference():
    ema_stop = rule(STOP, **EMA_STOP)
    inputs = Inputs(ask=D(101), candles={EMA_21_15M: D(110)})  # 110 x 0.98 = 107.8, above 101
    problems = coherence_problems({ENTRY: immediately(), STOP: ema_stop}, inputs, LONG)
    assert problems == {STOP: "Initial stop at 107.8 must be below the entry at 101."}


@pytest.mark.parametrize(
    ("side", "stop", "price"),
    [
        (LONG, STOP_2_PCT, D(98)),
        (LONG, {**STOP_2_PCT, "value": "-3", "unit": "price"}, D(97)),
        (
            LONG,
            {"primary": "last", "condition": "below", "secondary": "fixed", "value": "95"},
            D(95),
        ),
        (SHORT, {**STOP_2_PCT, "condition": "at_or_above", "value": "2"}, D(102)),
    ],
)
def test_stop_price_is_the_level_the_initial_stop_would_sell_at(side, stop, price):
    assert stop_price(rule(STOP, side, **stop), MARKET, side, D(100)) == price


@pytest.mark.parametrize(("side", "price"), [(LONG, D(98)), (SHORT, D(102))])
def test_stop_price_of_a_pnl_stop_is_that_loss_away_from_the_entry(side, price):
    pnl_stop = rule(
        STOP, side, primary="pnl_pct", condition="at_or_below", secondary="fixed", value="-2"
    )
    assert stop_price(pnl_stop, MARKET, side, D(100)) == price


def test_no_stop_has_no_stop_price():
    assert stop_price(None, MARKET, LONG, D(100)) is None


def test_stop_on_an_indicator_without_data_has_no_stop_price():
    ema_stop = rule(STOP, **EMA_STOP)
    assert stop_price(ema_stop, MARKET, LONG, D(100)) is None
