"""Which stops rest on the exchange, at what trigger, type and amount (pure)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.exchanges.domain.types import MarketRules, OrderType
from apps.positions.domain.protection import plan_stop, plan_take_profit, resting_level
from apps.strategies.domain import dca
from apps.strategies.domain.catalog import RuleKind, Side, parse_rule
from apps.strategies.domain.evaluation import Inputs
from tests.tickets.conftest import STOP_2_PCT, TAKE_3_PCT, TRAIL_1_5_PCT

D = Decimal
BTC = MarketRules(
    symbol="BTC/USDT",
    base="BTC",
    quote="USDT",
    tick_size=D("0.01"),
    step_size=D("0.00001"),
    min_amount=D("0.00001"),
    min_notional=D("5"),
    stop_types=(OrderType.MARKET, OrderType.LIMIT),
)
INPUTS = Inputs(last=D("65500"), entry_price=D("65000"), highest=D("66000"), lowest=D("64900"))


def rule(kind: RuleKind, data: dict):
    return parse_rule(kind, Side.LONG, data)


HELD = D("0.015384")


def plan(rules, *, market=BTC, quantity=HELD, inputs=INPUTS):
    return plan_stop(
        rules, inputs, Side.LONG, market=market, quantity=quantity, limit_offset_pct=D("0.5")
    )


def test_a_stop_below_the_entry_rests_as_a_stop_market_for_the_quantity_on_the_step():
    result = plan({RuleKind.INITIAL_STOP: rule(RuleKind.INITIAL_STOP, STOP_2_PCT)})

    stop = result.stop
    assert (stop.kind, stop.type, stop.price) == (RuleKind.INITIAL_STOP, OrderType.MARKET, None)
    assert stop.trigger == D("63700.00")  # 65 000 × 0.98
    assert stop.amount == D("0.01538")  # down to the 0.00001 step
    assert result.where == {RuleKind.INITIAL_STOP: ""}


def test_the_tighter_of_the_initial_and_the_trailing_stop_rests():
    rules = {
        RuleKind.INITIAL_STOP: rule(RuleKind.INITIAL_STOP, STOP_2_PCT),
        RuleKind.TRAILING_STOP: rule(RuleKind.TRAILING_STOP, TRAIL_1_5_PCT),
    }

    stop = plan(rules).stop

    # 66 000 × 0.985 = 65 010 is above 63 700: the trailing stop is the one that acts first.
    assert (stop.kind, stop.trigger) == (RuleKind.TRAILING_STOP, D("65010.00"))


def test_the_trigger_rounds_up_to_the_tick_toward_safety():
    odd = {**STOP_2_PCT, "value": "-2.0001"}

    stop = plan({RuleKind.INITIAL_STOP: rule(RuleKind.INITIAL_STOP, odd)}).stop

    assert stop.trigger == D("63699.94")  # 63 699.935 up, never down to .93


def test_a_market_with_only_stop_limit_gets_a_limit_the_offset_below_the_trigger():
    market = MarketRules(**{**BTC.__dict__, "stop_types": (OrderType.LIMIT,)})

    stop = plan(
        {RuleKind.INITIAL_STOP: rule(RuleKind.INITIAL_STOP, STOP_2_PCT)}, market=market
    ).stop

    assert (stop.type, stop.trigger, stop.price) == (OrderType.LIMIT, D("63700.00"), D("63381.50"))


def test_a_market_without_stop_orders_keeps_the_stop_on_the_desk():
    market = MarketRules(**{**BTC.__dict__, "stop_types": ()})

    result = plan({RuleKind.INITIAL_STOP: rule(RuleKind.INITIAL_STOP, STOP_2_PCT)}, market=market)

    assert result.stop is None
    assert result.where == {RuleKind.INITIAL_STOP: "this market takes no stop orders"}


def test_a_position_below_the_minimum_keeps_its_stop_on_the_desk():
    result = plan(
        {RuleKind.INITIAL_STOP: rule(RuleKind.INITIAL_STOP, STOP_2_PCT)}, quantity=D("0.00005")
    )

    assert result.stop is None
    assert "too small for a stop order" in result.where[RuleKind.INITIAL_STOP]
    assert "below the 5 USDT minimum" in result.where[RuleKind.INITIAL_STOP]


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (
            {
                "primary": "close",
                "primary_period": 21,
                "primary_timeframe": "15m",
                "condition": "below",
                "secondary": "fixed",
                "value": "60000",
            },
            "an exchange stop triggers on the last price",
        ),
        (
            {
                "primary": "last",
                "condition": "crosses_below",
                "secondary": "ema",
                "secondary_period": 21,
                "secondary_timeframe": "15m",
            },
            "is not a stop an exchange holds",
        ),
        (
            {
                "primary": "last",
                "condition": "below",
                "secondary": "ema",
                "secondary_period": 21,
                "secondary_timeframe": "15m",
            },
            "which the exchange does not know",
        ),
    ],
)
def test_a_rule_on_an_indicator_stays_on_the_desk_and_says_why(data, why):
    stop_rule = rule(RuleKind.INITIAL_STOP, data)

    level, reason = resting_level(stop_rule, INPUTS, Side.LONG)
    result = plan({RuleKind.INITIAL_STOP: stop_rule})

    assert level is None and why in reason
    assert result.stop is None and why in result.where[RuleKind.INITIAL_STOP]


def test_a_fixed_price_stop_rests_at_that_price():
    fixed = {"primary": "last", "condition": "at_or_below", "secondary": "fixed", "value": "60000"}

    stop = plan({RuleKind.INITIAL_STOP: rule(RuleKind.INITIAL_STOP, fixed)}).stop

    assert stop.trigger == D("60000.00")


def test_a_pnl_stop_rests_at_the_price_of_that_loss():
    pnl = {"primary": "pnl_pct", "condition": "at_or_below", "secondary": "fixed", "value": "-2"}

    stop = plan({RuleKind.INITIAL_STOP: rule(RuleKind.INITIAL_STOP, pnl)}).stop

    assert stop.trigger == D("63700.00")  # 2 % below the 65 000 entry


def test_a_pnl_rule_that_is_no_stop_stays_on_the_desk():
    crossing = {
        "primary": "pnl_pct",
        "condition": "crosses_below",
        "secondary": "fixed",
        "value": "-2",
    }

    level, why = resting_level(rule(RuleKind.INITIAL_STOP, crossing), INPUTS, Side.LONG)

    assert level is None and "is not a stop an exchange holds" in why


def test_no_stop_rule_no_resting_stop():
    assert plan({RuleKind.INITIAL_STOP: None, RuleKind.TRAILING_STOP: None}).stop is None


# --- The take profit ----------------------------------------------------------------------------


def take_profit(rule_data=None, *, mode=dca.TpMode.RULES, quantity=HELD, legs=(), inputs=INPUTS):
    rule_ = rule(RuleKind.TAKE_PROFIT, rule_data) if rule_data else None
    return plan_take_profit(
        rule_,
        inputs,
        Side.LONG,
        mode=mode,
        market=BTC,
        quantity=quantity,
        group_tp_pct=D("2"),
        legs=legs,
    )


@pytest.mark.parametrize(
    ("data", "price"),
    [
        (TAKE_3_PCT, D("66950.00")),  # Unrealised PnL ≥ 3 %: the entry × 1.03
        (
            {
                "primary": "last",
                "condition": "above",
                "secondary": "entry_price",
                "value": "2.5",
                "unit": "percent",
            },
            D("66625.00"),
        ),
        (
            {"primary": "last", "condition": "at_or_above", "secondary": "fixed", "value": "70000"},
            D("70000"),
        ),
        ({**TAKE_3_PCT, "value": "3.0001"}, D("66950.07")),  # 66 950.065 up, never below
    ],
)
def test_a_take_profit_rule_at_a_price_rests_one_limit_sell_of_the_whole_quantity(data, price):
    result = take_profit(data)

    [sell] = result.sells
    assert (sell.purpose, sell.price, sell.amount, sell.leg) == (
        "take_profit",
        price,
        D("0.01538"),
        None,
    )
    assert result.where == {"take_profit": ""}


def test_a_take_profit_on_an_indicator_stays_on_the_desk_with_why():
    rsi = {
        "primary": "rsi",
        "primary_period": "14",
        "primary_timeframe": "15m",
        "condition": "above",
        "secondary": "fixed",
        "value": "70",
    }

    result = take_profit(rsi)

    assert result.sells == ()
    assert "a limit sell fills on the traded price" in result.where["take_profit"]


def test_aggregate_rests_the_whole_position_at_the_average_entry_plus_the_group_tp():
    result = take_profit(TAKE_3_PCT, mode=dca.TpMode.AGGREGATE)

    [sell] = result.sells
    assert (sell.purpose, sell.price, sell.amount) == ("group_tp", D("66300.00"), D("0.01538"))
    # The ticket's own rule stays on the desk: the coins back the grid's sell.
    assert "the exchange holds the grid's take profit" in result.where["take_profit"]


LEG_A = dca.HeldLeg(key=1, quantity=D("0.00614385"), fill_price=D("65000"), tp_pct=D("1.5"))
LEG_B = dca.HeldLeg(key=2, quantity=D("0.0046953"), fill_price=D("63700"), tp_pct=D("1"))
TINY = dca.HeldLeg(key=3, quantity=D("0.00005"), fill_price=D("63000"), tp_pct=D("1"))


def test_per_leg_one_limit_sell_per_held_leg_and_a_leg_below_the_minimums_stays_on_the_desk():
    result = take_profit(
        mode=dca.TpMode.PER_LEG, quantity=D("0.01088915"), legs=(LEG_A, LEG_B, TINY)
    )

    assert [(s.purpose, s.leg, s.price, s.amount) for s in result.sells] == [
        ("leg_tp", 1, D("65975.00"), D("0.00614")),
        ("leg_tp", 2, D("64337.00"), D("0.00469")),
    ]
    assert result.legs[1] == result.legs[2] == ""
    assert result.legs[3].startswith("too small for a limit sell")


def test_per_leg_sells_never_add_up_to_more_than_the_position_holds():
    """A partial sell of the whole position (the risk engine) leaves the legs' shares: the
    later legs' sells are cut to what is left, the exchange would refuse the over-sell."""
    result = take_profit(mode=dca.TpMode.PER_LEG, quantity=D("0.008"), legs=(LEG_A, LEG_B))

    assert [(s.leg, s.amount) for s in result.sells] == [(1, D("0.00614")), (2, D("0.00186"))]


def test_hybrid_rests_the_legs_and_leaves_the_whole_position_target_to_the_desk():
    result = take_profit(mode=dca.TpMode.HYBRID, quantity=D("0.01083915"), legs=(LEG_A, LEG_B))

    assert [s.purpose for s in result.sells] == ["leg_tp", "leg_tp"]
    assert "take-profit loop" in result.where["group_tp"]


def test_a_shorts_take_profit_never_rests():
    result = plan_take_profit(
        rule(RuleKind.TAKE_PROFIT, TAKE_3_PCT),
        INPUTS,
        Side.SHORT,
        mode=dca.TpMode.RULES,
        market=BTC,
        quantity=HELD,
        group_tp_pct=D("2"),
    )

    assert result.sells == ()
    assert "short" in result.where["take_profit"]
