"""A rule's price level, as a chart draws it: price rules give their threshold, PnL % rules the
price at which the position reaches that PnL, and rules without a price give none. Pure."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.strategies.domain.catalog import RuleKind, Side, immediately, parse_rule
from apps.strategies.domain.evaluation import Inputs, rule_price_level
from tests.tickets.conftest import STOP_2_PCT, TAKE_3_PCT, TRAIL_1_5_PCT

D = Decimal
HELD = Inputs(last=D("105"), entry_price=D("100"), highest=D("110"), lowest=D("95"))


def level(kind: RuleKind, fields: dict, side: Side = Side.LONG, inputs: Inputs = HELD):
    return rule_price_level(parse_rule(kind, side, fields), inputs, side)


def test_a_stop_two_percent_under_the_entry_is_drawn_at_98():
    assert level(RuleKind.INITIAL_STOP, STOP_2_PCT) == D("98")


def test_a_trailing_stop_hangs_under_the_highest_price_since_entry():
    assert level(RuleKind.TRAILING_STOP, TRAIL_1_5_PCT) == D("108.35")


def test_a_short_trailing_stop_sits_above_the_lowest_price():
    trail = {**TRAIL_1_5_PCT, "secondary": "lowest"}
    assert level(RuleKind.TRAILING_STOP, trail, Side.SHORT) == D("96.425")


def test_a_pnl_take_profit_is_the_price_where_that_pnl_is_reached():
    assert level(RuleKind.TAKE_PROFIT, TAKE_3_PCT) == D("103")
    # A short's PnL rises as the price falls: the same rule sits under its entry.
    assert level(RuleKind.TAKE_PROFIT, TAKE_3_PCT, Side.SHORT) == D("97")


def test_a_fixed_price_take_profit_is_that_price():
    fixed = {"primary": "last", "condition": "at_or_above", "secondary": "fixed", "value": "120"}
    assert level(RuleKind.TAKE_PROFIT, fixed) == D("120")


def test_an_ema_stop_follows_the_ema_and_has_no_level_until_it_is_known():
    ema = {
        "primary": "last",
        "condition": "below",
        "secondary": "ema",
        "secondary_period": "21",
        "secondary_timeframe": "15m",
        "value": "-1",
        "unit": "percent",
    }
    assert level(RuleKind.INITIAL_STOP, ema) is None
    known = Inputs(entry_price=D("100"), candles={("ema", 21, "15m"): D("99")})
    assert level(RuleKind.INITIAL_STOP, ema, inputs=known) == D("98.01")


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        (
            RuleKind.TAKE_PROFIT,
            {
                "primary": "rsi",
                "primary_period": "14",
                "primary_timeframe": "1h",
                "condition": "above",
                "secondary": "fixed",
                "value": "70",
            },
        ),
        (RuleKind.TAKE_PROFIT, TAKE_3_PCT),  # a PnL % level before any entry
    ],
)
def test_a_rule_without_a_price_has_no_level(kind, fields):
    assert level(kind, fields, inputs=Inputs(last=D("105"))) is None


def test_an_immediate_entry_and_a_missing_rule_have_no_level():
    assert rule_price_level(immediately(), HELD, Side.LONG) is None
    assert rule_price_level(None, HELD, Side.LONG) is None
