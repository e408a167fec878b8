"""Precision: amounts, prices and stops moved to the market's steps, limits checked afterwards.

Checked three ways: freqtrade's own test tables (the oracle in ../shared, read with exact
Decimals), hypothesis properties, and plain examples of the messages a trader reads.
"""

from __future__ import annotations

import json
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.exchanges.domain.precision import (
    OrderRuleViolation,
    PrecisionMode,
    PreparedOrder,
    Rounding,
    decimal_places_to_tick,
    fmt,
    prepare_order,
    round_amount,
    round_price,
    round_stop_price,
    smallest_step,
    to_precision,
)
from apps.exchanges.domain.types import MarketRules

# --- The freqtrade oracle ------------------------------------------------------------------------

ORACLE_PATH = (
    Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "freqtrade_precision_cases.json"
)
ORACLE_ABSENT = (
    f"the freqtrade precision oracle is not at {ORACLE_PATH} (no ../shared checkout next to the "
    "project); the oracle cases are skipped, the properties and examples below still run"
)

# SIGNIFICANT_DIGITS rows are left out: the desk counts in steps (TICK_SIZE, as binance, bybit,
# okx and kraken publish), `to_precision` does not support significant digits, and a
# significant-digits precision has no fixed tick to compare with.
EXCLUDED_MODE = "SIGNIFICANT_DIGITS"

# freqtrade's `stake_amount_limits` rows are not used: their minimum stake adds freqtrade's own
# reserves (5% plus stoploss headroom, capped at 50%) and divides by leverage. That is a sizing
# policy, not the exchange rule that `prepare_order` enforces after rounding.


def _load_oracle() -> dict[str, Any] | None:
    if not ORACLE_PATH.exists():
        return None
    # parse_float=Decimal reads each number exactly as written in freqtrade's tests, with no
    # binary float in between; integers (decimal places) stay ints.
    return json.loads(ORACLE_PATH.read_text(encoding="utf-8"), parse_float=Decimal)


ORACLE = _load_oracle()


def _case_id(case: dict[str, Any], value_field: str) -> str:
    rounding = f"-{case['rounding_mode']}" if "rounding_mode" in case else ""
    precision = case.get("precision", case.get("price_precision"))
    return f"{case[value_field]}@{case['precision_mode']}={precision}{rounding}"


def oracle_cases(section: str, value_field: str) -> list[Any]:
    """Every row of `section` in a counting mode the desk supports, one readable id per row."""
    if ORACLE is None:
        return [pytest.param(None, id="oracle-absent", marks=pytest.mark.skip(ORACLE_ABSENT))]
    table = ORACLE[section]
    return [
        pytest.param(
            {**case, "compare": case.get("compare", table["compare"])},
            id=_case_id(case, value_field),
        )
        for case in table["cases"]
        if case["precision_mode"] != EXCLUDED_MODE
    ]


def assert_matches_oracle(actual: Decimal, case: dict[str, Any]) -> None:
    """Compare as the fixture's `conventions.compare` says the freqtrade test did."""
    expected = case["expected"]
    if case["compare"] == "exact":
        assert actual == expected
    elif case["compare"] == "approx":
        assert actual == pytest.approx(expected)
    else:
        pytest.fail(f"the oracle asks for a comparison this test does not know: {case['compare']}")


def mode_and_rounding(case: dict[str, Any]) -> tuple[PrecisionMode, Rounding]:
    mode, rounding = PrecisionMode[case["precision_mode"]], Rounding[case["rounding_mode"]]
    # Our enums carry ccxt's codes; the oracle records the codes next to most names.
    assert mode == case["precision_mode_code"]
    assert rounding == case.get("rounding_mode_code", rounding)
    return mode, rounding


@pytest.mark.parametrize("case", oracle_cases("amount_to_precision", "amount"))
def test_amount_matches_freqtrade_amount_to_precision(case):
    mode, rounding = mode_and_rounding(case)
    step = smallest_step(case["precision"], mode=mode)

    assert_matches_oracle(
        to_precision(case["amount"], case["precision"], mode=mode, rounding=rounding), case
    )
    assert_matches_oracle(round_amount(case["amount"], step), case)  # what the desk calls


# The desk's own function for each price rounding; no desk price is ever truncated.
DESK_PRICE_ROUNDING = {
    Rounding.ROUND: round_price,
    Rounding.ROUND_UP: lambda price, tick: round_stop_price(price, tick, long=True),
    Rounding.ROUND_DOWN: lambda price, tick: round_stop_price(price, tick, long=False),
}


@pytest.mark.parametrize("case", oracle_cases("price_to_precision", "price"))
def test_price_matches_freqtrade_price_to_precision(case):
    mode, rounding = mode_and_rounding(case)
    tick = smallest_step(case["precision"], mode=mode)

    assert_matches_oracle(
        to_precision(case["price"], case["precision"], mode=mode, rounding=rounding), case
    )
    if rounding in DESK_PRICE_ROUNDING:
        assert_matches_oracle(DESK_PRICE_ROUNDING[rounding](case["price"], tick), case)


@pytest.mark.parametrize("case", oracle_cases("price_to_precision_default_market", "price"))
def test_default_market_price_matches_freqtrade(case):
    mode, rounding = mode_and_rounding(case)
    places = case["price_precision"]

    assert_matches_oracle(to_precision(case["price"], places, mode=mode, rounding=rounding), case)
    assert_matches_oracle(round_price(case["price"], decimal_places_to_tick(places)), case)


@pytest.mark.parametrize("case", oracle_cases("price_get_one_pip", "price"))
def test_smallest_step_matches_freqtrade_price_get_one_pip(case):
    mode = PrecisionMode[case["precision_mode"]]
    assert mode == case["precision_mode_code"]

    assert_matches_oracle(smallest_step(case["precision"], mode=mode), case)


# --- Properties ----------------------------------------------------------------------------------

PROPERTY = settings(max_examples=200, deadline=None, database=None)  # no .hypothesis/ left behind

powers_of_ten = st.integers(min_value=0, max_value=8).map(lambda k: Decimal(1).scaleb(-k))
odd_ticks = st.sampled_from(
    [Decimal(t) for t in ("0.5", "0.01", "0.00001", "5", "0.0025", "0.005", "0.00013", "1")]
)
steps = powers_of_ten | odd_ticks
positive_values = st.decimals(
    min_value=Decimal("0.00000001"),
    max_value=Decimal("10000000"),
    places=12,
    allow_nan=False,
    allow_infinity=False,
)


@PROPERTY
@given(amount=positive_values, step=steps)
def test_rounded_amount_never_exceeds_the_input_and_is_a_multiple_of_the_step(amount, step):
    rounded = round_amount(amount, step)

    assert rounded <= amount
    assert amount - rounded < step  # truncated by less than one step, not more
    assert rounded % step == 0


@PROPERTY
@given(price=positive_values, tick=steps)
def test_rounded_price_is_a_multiple_of_the_tick_within_half_a_tick(price, tick):
    rounded = round_price(price, tick)

    assert rounded % tick == 0
    assert abs(rounded - price) <= tick / 2


@PROPERTY
@given(price=positive_values, tick=steps)
def test_long_stop_rounds_up_and_short_stop_rounds_down_to_the_tick(price, tick):
    long_stop = round_stop_price(price, tick, long=True)
    short_stop = round_stop_price(price, tick, long=False)

    assert price <= long_stop < price + tick
    assert price - tick < short_stop <= price
    assert long_stop % tick == 0
    assert short_stop % tick == 0


PYTHON_QUANTIZE_ROUNDING = {
    Rounding.TRUNCATE: ROUND_DOWN,
    Rounding.ROUND: ROUND_HALF_UP,
    Rounding.ROUND_UP: ROUND_CEILING,
    Rounding.ROUND_DOWN: ROUND_FLOOR,
}


@PROPERTY
@given(
    value=positive_values | positive_values.map(lambda v: -v),
    places=st.integers(min_value=-3, max_value=8),
    rounding=st.sampled_from(Rounding),
)
def test_decimal_places_agree_with_decimal_quantize(value, places, rounding):
    # ccxt rounds DECIMAL_PLACES markets with Decimal.quantize; the step arithmetic must agree.
    expected = value.quantize(Decimal(1).scaleb(-places), PYTHON_QUANTIZE_ROUNDING[rounding])

    assert (
        to_precision(value, places, mode=PrecisionMode.DECIMAL_PLACES, rounding=rounding)
        == expected
    )


@PROPERTY
@given(value=positive_values, tick=steps)
def test_negative_values_round_as_mirror_images(value, tick):
    def at(v: Decimal, rounding: Rounding) -> Decimal:
        return to_precision(v, tick, mode=PrecisionMode.TICK_SIZE, rounding=rounding)

    assert at(-value, Rounding.TRUNCATE) == -at(value, Rounding.TRUNCATE)
    assert at(-value, Rounding.ROUND) == -at(value, Rounding.ROUND)  # halves away from zero
    assert at(-value, Rounding.ROUND_UP) == -at(value, Rounding.ROUND_DOWN)


@st.composite
def market_rules(draw: st.DrawFn) -> MarketRules:
    limits = st.decimals(
        min_value=Decimal("0.00001"), max_value=Decimal("50"), places=5, allow_nan=False
    )
    return MarketRules(
        symbol="BTC/USDT",
        base="BTC",
        quote="USDT",
        tick_size=draw(steps),
        step_size=draw(powers_of_ten),
        min_amount=draw(st.none() | limits),
        max_amount=draw(st.none() | limits.map(lambda v: v * 1000)),
        min_notional=draw(st.none() | limits),
    )


@PROPERTY
@given(
    rules=market_rules(),
    amount=st.decimals(min_value=Decimal("0.00000001"), max_value=Decimal(100), places=12),
    price=positive_values,
)
def test_prepared_order_meets_the_limits_or_the_refusal_names_the_broken_one(rules, amount, price):
    # Steps here are powers of ten, so Decimal.quantize is an independent truncation.
    truncated = amount.quantize(rules.step_size, ROUND_DOWN)
    rounded_price = round_price(price, rules.tick_size)
    notional = truncated * rounded_price
    try:
        order = prepare_order(rules, amount=amount, price=price)
    except OrderRuleViolation as refusal:
        assert_refusal_names_a_broken_rule(
            str(refusal), rules, amount=amount, price=price, truncated=truncated
        )
    else:
        assert order == PreparedOrder(amount=truncated, price=rounded_price, notional=notional)
        assert truncated > 0 and rounded_price > 0
        assert rules.min_amount is None or truncated >= rules.min_amount
        assert rules.max_amount is None or truncated <= rules.max_amount
        assert rules.min_notional is None or notional >= rules.min_notional


def assert_refusal_names_a_broken_rule(
    message: str, rules: MarketRules, *, amount: Decimal, price: Decimal, truncated: Decimal
) -> None:
    rounded_price = round_price(price, rules.tick_size)
    notional = truncated * rounded_price
    if "rounds down to 0" in message:
        assert truncated == 0
        assert message.startswith(f"{fmt(amount)} BTC rounds down to 0 at the step of ")
    elif "rounds to 0" in message:
        assert rounded_price == 0
        assert message.startswith(f"{fmt(price)} USDT rounds to 0 at the tick of ")
    elif "minimum amount" in message:
        assert truncated < rules.min_amount
        amount_shown = on_step(truncated, rules.step_size)
        assert f"{amount_shown} BTC is below the {limit(rules.min_amount)} BTC" in message
    elif "maximum amount" in message:
        assert truncated > rules.max_amount
        amount_shown = on_step(truncated, rules.step_size)
        assert f"{amount_shown} BTC is above the {limit(rules.max_amount)} BTC" in message
    else:
        assert rules.min_notional is not None and notional < rules.min_notional
        assert (
            f"{on_step(truncated, rules.step_size)} BTC × "
            f"{on_step(rounded_price, rules.tick_size)} USDT = {limit(notional)} USDT is below "
            f"the {limit(rules.min_notional)} USDT minimum"
        ) in message


# --- Examples ------------------------------------------------------------------------------------


def on_step(value: Decimal, step: Decimal) -> str:
    """How a refusal writes an order's own amount or price: with the step's (or tick's)
    places and separators (the value is already on it, so the quantize is exact)."""
    return f"{value.quantize(Decimal(1).scaleb(step.normalize().as_tuple().exponent)):,f}"


def limit(value: Decimal) -> str:
    """How a refusal writes a market's limit or the notional: at most 8 places, no trailing
    zeros, separators."""
    rounded = value.quantize(Decimal("1e-8"), ROUND_HALF_UP)
    if value and not rounded:  # too small for 8 places: exactly
        return f"{value.normalize():f}"
    return f"{rounded.normalize():,f}"


def btc_usdt(**limits: Decimal) -> MarketRules:
    """binance BTC/USDT's steps (ccxt-offline notes §4), with the limits a test needs."""
    return MarketRules(
        symbol="BTC/USDT",
        base="BTC",
        quote="USDT",
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.00001"),
        **limits,
    )


def refusal(rules: MarketRules, *, amount: str, price: str) -> str:
    with pytest.raises(OrderRuleViolation) as raised:
        prepare_order(rules, amount=Decimal(amount), price=Decimal(price))
    return str(raised.value)


def test_prepared_order_is_rounded_as_binance_rounds_and_carries_its_notional():
    # ccxt's binance sends 0.0012345 @ 64250.123 as quantity=0.00123&price=64250.12.
    order = prepare_order(btc_usdt(), amount=Decimal("0.0012345"), price=Decimal("64250.123"))

    assert order == PreparedOrder(
        amount=Decimal("0.00123"), price=Decimal("64250.12"), notional=Decimal("79.0276476")
    )


def test_min_notional_refusal_names_amount_price_notional_and_minimum():
    message = refusal(btc_usdt(min_notional=Decimal(5)), amount="0.00007", price="64250.12")

    # The order's amount and price on the step and tick; the notional and minimum as they are.
    assert message == "0.00007 BTC × 64,250.12 USDT = 4.4975084 USDT is below the 5 USDT minimum."


def test_min_notional_is_checked_on_the_truncated_amount():
    # 0.000079 × 64250.12 = 5.07... would pass; the 0.00007 the exchange would see does not.
    message = refusal(btc_usdt(min_notional=Decimal(5)), amount="0.000079", price="64250.12")

    assert "0.00007 BTC × 64,250.12 USDT = 4.4975084 USDT is below the 5 USDT minimum" in message
    assert "(0.000079 BTC truncated to the 0.00001 BTC step)" in message


def test_min_notional_is_checked_on_the_rounded_price():
    rules = btc_usdt(min_notional=Decimal("5.004"))

    message = refusal(rules, amount="1", price="5.004")  # 5.004 USDT is sent as 5.00

    assert message == "1.00000 BTC × 5.00 USDT = 5 USDT is below the 5.004 USDT minimum."


def test_order_exactly_at_the_minimums_is_accepted():
    rules = btc_usdt(min_amount=Decimal("0.0001"), min_notional=Decimal("5"))

    order = prepare_order(rules, amount=Decimal("0.0001"), price=Decimal("50000"))

    assert (order.amount, order.notional) == (Decimal("0.0001"), Decimal("5"))


def test_min_amount_refusal_names_the_rounded_amount_and_the_minimum():
    message = refusal(btc_usdt(min_amount=Decimal("0.0001")), amount="0.000099", price="64250")

    assert message == (
        "0.00009 BTC is below the 0.0001 BTC minimum amount "
        "(0.000099 BTC truncated to the 0.00001 BTC step)."
    )


def test_max_amount_refusal_names_the_amount_and_the_maximum():
    message = refusal(btc_usdt(max_amount=Decimal("9000")), amount="9000.5", price="1")

    assert message == "9,000.50000 BTC is above the 9,000 BTC maximum amount."


def test_amount_that_truncates_to_zero_is_refused():
    message = refusal(btc_usdt(), amount="0.000004", price="64250")

    assert message == "0.000004 BTC rounds down to 0 at the step of 0.00001 BTC."


def test_price_that_rounds_to_zero_is_refused():
    message = refusal(btc_usdt(), amount="1", price="0.004")

    assert message == "0.004 USDT rounds to 0 at the tick of 0.01 USDT."


@pytest.mark.parametrize("amount", ["-0.5", "0", "NaN", "Infinity"])
def test_amount_that_is_not_a_positive_number_is_refused(amount):
    message = refusal(btc_usdt(), amount=amount, price="64250")

    assert message == f"Amount must be positive, got {amount} BTC."


@pytest.mark.parametrize("price", ["-64250", "0", "NaN", "-Infinity"])
def test_price_that_is_not_a_positive_number_is_refused(price):
    message = refusal(btc_usdt(), amount="1", price=price)

    assert message == f"Price must be positive, got {price} USDT."


def test_truncation_is_exact_where_dividing_by_the_step_would_round():
    # 0.00039 - 1e-40 is just below three steps of 0.00013. Dividing first gives 2.999...
    # rounded to 28 digits, i.e. 3, and would return 0.00039: more than was asked for.
    amount = Decimal("0.00038" + "9" * 35)

    assert round_amount(amount, Decimal("0.00013")) == Decimal("0.00026")


def test_rounding_keeps_every_digit_beyond_the_default_28():
    price = Decimal("123456789012345678901.123456789")

    assert round_price(price, Decimal("0.000000001")) == price
    assert round_stop_price(price, Decimal("0.01")) == Decimal("123456789012345678901.13")


@pytest.mark.parametrize(
    ("price", "tick", "rounded"),
    [("2.345", "0.01", "2.35"), ("2.9975", "0.005", "3"), ("234.25", "0.5", "234.5")],
)
def test_price_exactly_half_a_tick_away_rounds_up_as_ccxt_does(price, tick, rounded):
    # ccxt ROUND keeps the upper tick on a tie; banker's rounding would give 2.34 for 2.345.
    assert round_price(Decimal(price), Decimal(tick)) == Decimal(rounded)


def test_ccxt_round_down_goes_toward_minus_infinity_unlike_pythons_round_down():
    def at(rounding: Rounding) -> Decimal:
        return to_precision(
            Decimal("-2.9909"), Decimal("0.001"), mode=PrecisionMode.TICK_SIZE, rounding=rounding
        )

    assert at(Rounding.TRUNCATE) == Decimal("-2.990")
    assert at(Rounding.ROUND_DOWN) == Decimal("-2.991")
    assert at(Rounding.ROUND_UP) == Decimal("-2.990")
    assert at(Rounding.ROUND) == Decimal("-2.991")


@pytest.mark.parametrize(
    ("places", "tick"), [(8, "0.00000001"), (2, "0.01"), (0, "1"), (-1, "10"), (-2, "100")]
)
def test_decimal_places_become_a_power_of_ten_tick(places, tick):
    assert decimal_places_to_tick(places) == Decimal(tick)


@pytest.mark.parametrize("places", [Decimal(2), 2.0, True])
def test_decimal_places_must_be_an_int(places):
    with pytest.raises(TypeError):
        decimal_places_to_tick(places)


def test_a_float_tick_is_refused_rather_than_read_through_binary():
    with pytest.raises(TypeError):
        to_precision(Decimal("2.5"), 0.1, mode=PrecisionMode.TICK_SIZE, rounding=Rounding.TRUNCATE)


@pytest.mark.parametrize("step", ["0", "-0.01", "NaN", "Infinity"])
def test_a_step_that_is_not_positive_and_finite_is_refused(step):
    with pytest.raises(ValueError, match="step must be positive"):
        round_amount(Decimal("1"), Decimal(step))


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("2.500", "2.5"),
        ("1E-8", "0.00000001"),
        ("2.999E+4", "29990"),
        ("100", "100"),
        ("-0.00", "0"),
        ("64250.10", "64250.1"),
        ("123456789012345678901234.567890", "123456789012345678901234.56789"),
    ],
)
def test_fmt_writes_decimals_without_exponent_or_trailing_zeros(value, text):
    assert fmt(Decimal(value)) == text


def test_rounded_results_carry_no_positive_exponent():
    tens = to_precision(
        Decimal("29991.5555"), -1, mode=PrecisionMode.DECIMAL_PLACES, rounding=Rounding.TRUNCATE
    )

    assert str(tens) == "29990"


def test_a_refusal_quotes_a_sized_amount_to_8_places_never_its_28_digits():
    # 100 USDT at 65000: 0.0015384615384615384615384615 BTC asked, 0.00153 BTC sent.
    rules = btc_usdt(min_notional=Decimal(500))
    message = refusal(rules, amount=str(Decimal(100) / Decimal(65000)), price="65000")
    assert message == (
        "0.00153 BTC × 65,000.00 USDT = 99.45 USDT is below the 500 USDT minimum "
        "(0.00153846 BTC truncated to the 0.00001 BTC step)."
    )
