"""The desk's number writing (apps.core.formatting): ticks, steps, quote values, signs, %."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from apps.core import formatting as f
from apps.core.formatting import MarketFormat

MINUS = "\u2212"


@pytest.mark.parametrize(
    ("value", "tick", "shown"),
    [
        (D("156.043946684005"), D("0.01"), "156.04"),
        (D("156.045"), D("0.01"), "156.05"),  # half-up, as exchanges round to the tick
        (D("64250.1"), D("0.01"), "64,250.10"),  # trailing zero kept to the tick's places
        (D("156.3"), D("0.5"), "156.5"),
        (D("156.2"), D("0.5"), "156.0"),
        (D("156.25"), D("0.5"), "156.5"),
        (D("64250.49"), D("1"), "64,250"),
        (D("64255"), D("10"), "64,260"),
        (D("0.0000123456"), D("0.00000001"), "0.00001235"),
        (D("0.00001"), D("0.00000001"), "0.00001000"),
        (D("1234567890123.456"), D("0.01"), "1,234,567,890,123.46"),
        (D("0"), D("0.01"), "0.00"),
        (D("-12.345"), D("0.01"), f"{MINUS}12.35"),
        (D("0.01000000"), D("0.01000000"), "0.01"),  # a stored tick with trailing zeros
    ],
)
def test_a_price_is_written_on_its_tick_with_the_ticks_places(value, tick, shown):
    assert f.price(value, tick) == shown


@pytest.mark.parametrize(
    ("value", "step", "shown"),
    [
        (D("0.123"), D("0.001"), "0.123"),
        (D("0.12300000"), D("0.001"), "0.123"),
        (D("1500"), D("0.001"), "1,500.000"),
        (D("12"), D("1"), "12"),
        (D("-0.5"), D("0.001"), f"{MINUS}0.500"),
        (D("0"), D("0.001"), "0.000"),
        # Off the step (net of a fee paid in base): its digits, never rounded up to more.
        (D("0.01083915"), D("0.00001"), "0.01083915"),
        (D("1234.123456789"), D("0.001"), "1,234.12345679"),
    ],
)
def test_an_amount_is_written_on_its_step(value, step, shown):
    assert f.amount(value, step) == shown


def test_a_market_format_gives_units_and_the_fallback_keeps_at_most_8_places():
    market = MarketFormat.of_symbol("BTC/USDT:USDT", tick=D("0.1"), step=D("0.00001"))
    assert (market.base, market.quote) == ("BTC", "USDT")
    assert f.price(D("64250.123"), market.tick, market.quote) == "64,250.1 USDT"
    assert f.amount(D("0.00012"), market.step, market.base) == "0.00012 BTC"
    assert f.price(D("156.043946684005")) == "156.04394668"
    assert f.price(D("10000.000000000000000000")) == "10,000"
    assert f.amount(D("1E+3"), None, "BTC") == "1,000 BTC"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (D("10001.4509751616"), "10,001.45 USDT"),
        (D("0.005"), "0.01 USDT"),
        (D("-0.004"), "0.00 USDT"),  # rounds to zero: no sign
        (D("-2500"), f"{MINUS}2,500.00 USDT"),
        (D("123456789012345678.999"), "123,456,789,012,345,679.00 USDT"),
        (7, "7.00 USDT"),
    ],
)
def test_a_quote_value_has_two_places_separators_and_its_unit(value, shown):
    assert f.quote(value, "USDT") == shown


def test_quote_places_follow_the_setting_given():
    assert f.quote(D("1.23456"), "USDT", places=4) == "1.2346 USDT"
    assert f.quote(D("1.5"), "", places=0) == "2"


@pytest.mark.parametrize(
    ("value", "shown", "tone"),
    [
        (D("12.4"), "+12.40 USDT", "gain"),
        (D("-3.1"), f"{MINUS}3.10 USDT", "loss"),
        (D("0"), "0.00 USDT", ""),
        (D("-0.001"), "0.00 USDT", ""),  # reads 0.00: neither signed nor coloured
        (D("1234567.891"), "+1,234,567.89 USDT", "gain"),
    ],
)
def test_pnl_is_signed_with_a_true_minus_and_toned_as_it_reads(value, shown, tone):
    assert f.signed(value, "USDT") == shown
    assert f.tone(value) == tone


@pytest.mark.parametrize(
    ("value", "plain", "change"),
    [
        (D("1.2"), "1.20 %", "+1.20 %"),
        (D("-1.205"), f"{MINUS}1.21 %", f"{MINUS}1.21 %"),
        (D("0"), "0.00 %", "0.00 %"),
        (D("12345.6"), "12,345.60 %", "+12,345.60 %"),
    ],
)
def test_a_percentage_has_two_places_and_a_sign_only_as_a_change(value, plain, change):
    assert f.pct(value) == plain
    assert f.pct(value, signed=True) == change


@pytest.mark.parametrize("writer", [f.price, f.amount, f.quote, f.signed, f.pct])
def test_nothing_reads_as_a_dash_and_text_as_itself(writer):
    assert writer(None) == "–"
    assert writer("") == "–"
    assert writer("market") == "market"
    assert f.tone(None) == ""


def test_rounding_for_the_eyes_never_changes_the_value_given():
    value = D("156.043946684005")
    f.price(value, D("0.01"))
    f.quote(value, "USDT")
    f.signed(value)
    assert value == D("156.043946684005") and str(value) == "156.043946684005"


def test_a_decimal_kept_as_text_is_written_like_one_and_words_stay_words():
    assert f.price("64250.123", D("0.01"), "USDT") == "64,250.12 USDT"
    assert f.signed("-3.1", "USDT") == f"{MINUS}3.10 USDT"
    assert f.price("market") == "market"
    assert f.quote("1e999999999", "USDT") == "1e999999999"  # refused unread, shown as given


def test_a_status_reads_with_its_reason_in_plain_words():
    assert f.status_words("Closed", "exit signal") == "Closed · exit signal"
    assert f.status_words("Open") == "Open"
