"""The bounded way in for numbers: plain notation only, bounded before any arithmetic."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.core.numbers import BIGINT_MAX, Bounds, NumberError, parse_decimal, parse_int

PERCENT = Bounds(minimum=Decimal(0), maximum=Decimal(100), places=8)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.5", Decimal("12.5")),
        ("-3", Decimal("-3")),
        ("+0.25", Decimal("0.25")),
        (".5", Decimal("0.5")),
        ("1.5e-05", Decimal("0.000015")),
        ("66782.10", Decimal("66782.10")),
        (Decimal("0.1"), Decimal("0.1")),
        (7, Decimal(7)),
    ],
)
def test_plain_numbers_are_read_exactly(text, expected):
    assert parse_decimal(text, field="price") == expected


@pytest.mark.parametrize(
    "text",
    [
        "1e999999999",
        "1e1000000",
        "9" * 4400,
        "NaN",
        "nan",
        "Infinity",
        "-inf",
        "1_000",
        " 5 ",
        "٣",
        "١٢",
        "5\x00",
        "",
        "1,5",
        "0x10",
        "1e100",
        Decimal("1e400"),
        Decimal("NaN"),
        Decimal("Infinity"),
        10**40,
        True,
        None,
        [1],
        {"a": 1},
        1.5,
    ],
)
def test_anything_but_a_plain_bounded_number_is_refused_with_the_field_named(text):
    with pytest.raises(NumberError, match=r"^price "):
        parse_decimal(text, field="price")


def test_a_refusal_quotes_a_short_value_never_the_whole_input():
    with pytest.raises(NumberError) as refused:
        parse_decimal("9" * 4400, field="gap")
    assert len(str(refused.value)) < 200


def test_bounds_and_places_are_enforced_with_the_bound_in_the_message():
    assert parse_decimal("100", field="weight", bounds=PERCENT) == 100
    with pytest.raises(NumberError, match="from 0 to 100"):
        parse_decimal("100.5", field="weight", bounds=PERCENT)
    with pytest.raises(NumberError, match="from 0 to 100"):
        parse_decimal("-1", field="weight", bounds=PERCENT)
    with pytest.raises(NumberError, match="8 decimal places"):
        parse_decimal("1.123456789", field="weight", bounds=PERCENT)
    with pytest.raises(NumberError, match="too large"):
        parse_decimal("1" + "0" * 18, field="price")


@pytest.mark.parametrize(
    ("value", "expected"), [("0", 0), ("42", 42), (42, 42), (Decimal("60"), 60)]
)
def test_whole_numbers_are_read(value, expected):
    assert parse_int(value, field="max lag", maximum=86_400) == expected


@pytest.mark.parametrize(
    "value",
    [
        "9223372036854775807",  # the bigint maximum, beyond this field's range
        "1e3",
        "1.5",
        Decimal("1e999999999"),
        Decimal("2.5"),
        "٣",
        " 5",
        "-1",
        True,
        None,
        "9" * 4400,
    ],
)
def test_anything_but_a_whole_number_in_range_is_refused(value):
    with pytest.raises(NumberError, match=r"^minutes must be a whole number from 0 to 10000"):
        parse_int(value, field="minutes", maximum=10_000)


def test_the_default_integer_range_is_the_bigint_column():
    assert parse_int(str(BIGINT_MAX), field="n") == BIGINT_MAX
    with pytest.raises(NumberError):
        parse_int(str(BIGINT_MAX + 1), field="n")


@settings(max_examples=500, deadline=1000)
@given(st.one_of(st.text(max_size=60), st.integers(), st.decimals(allow_nan=True)))
def test_any_input_gives_a_bounded_decimal_or_a_short_refusal(value):
    try:
        number = parse_decimal(value, field="value")
    except NumberError as refused:
        assert len(str(refused)) < 250
    else:
        assert number.is_finite() and abs(number) < Decimal(10) ** 18
        assert int(number) is not None  # cheap: the magnitude is bounded


@settings(max_examples=500, deadline=1000)
@given(st.one_of(st.text(max_size=60), st.integers(), st.decimals(allow_nan=True)))
def test_any_input_gives_a_bounded_int_or_a_short_refusal(value):
    try:
        number = parse_int(value, field="value", maximum=1000)
    except NumberError as refused:
        assert len(str(refused)) < 250
    else:
        assert 0 <= number <= 1000
