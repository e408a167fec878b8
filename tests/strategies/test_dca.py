"""The DCA domain: grid validation, laying a grid on a market, average entry, PnL, and the
three take-profit modes. Pure: no database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from apps.exchanges.domain.types import MarketRules
from apps.strategies.domain import dca
from apps.strategies.domain.catalog import Side
from apps.strategies.domain.dca import HeldLeg, LegSpec, TakeProfit, TpMode, TpScope

D = Decimal
PROPERTY = settings(max_examples=200, deadline=None, database=None)
# binance BTCUSDT: tick 0.01, step 0.00001, min 0.00001 BTC and 5 USDT (the paper catalog's).
BTC = MarketRules(
    symbol="BTC/USDT",
    base="BTC",
    quote="USDT",
    tick_size=D("0.01"),
    step_size=D("0.00001"),
    min_amount=D("0.00001"),
    min_notional=D("5"),
)
XRP = MarketRules(
    symbol="XRP/USDT",
    base="XRP",
    quote="USDT",
    tick_size=D("0.0001"),
    step_size=D("1"),
    min_amount=D("1"),
    min_notional=D("5"),
)


def legs(*rows: tuple[str, str, str]) -> list[dict[str, str]]:
    return [{"gap_pct": g, "weight_pct": w, "tp_pct": t} for g, w, t in rows]


# --- Validation -------------------------------------------------------------------------------


def test_a_valid_grid_has_no_problems_and_parses_to_legs():
    raw = legs(("0", "40", "1.5"), ("2", "30", "1"), ("4", "30", "3"))
    assert dca.grid_problems(raw) == {}
    assert dca.parse_grid(raw)[1] == LegSpec(D("2"), D("30"), D("1"))


def test_no_legs_means_one_leg_at_market_with_all_the_capital_and_the_group_tp():
    assert dca.grid_problems([]) == {}
    assert dca.legs_or_single(dca.parse_grid([]), group_tp_pct=D("2")) == (
        LegSpec(D(0), D(100), D("2")),
    )


@pytest.mark.parametrize(
    ("raw", "index", "fragment"),
    [
        (legs(("0", "40", "1"), ("2", "50", "1")), None, "add up to 90 %"),
        (legs(("0", "60", "1"), ("2", "50", "1")), None, "add up to 110 %"),
        (legs(("-1", "100", "1")), 0, "cannot be negative"),
        (legs(("0", "50", "1"), ("3", "25", "1"), ("2", "25", "1")), 2, "must not decrease"),
        (legs(("0", "100", "0")), 0, "take profit must be above 0"),
        (legs(("0", "100", "-2")), 0, "take profit must be above 0"),
        (legs(("0", "0", "1"), ("1", "100", "1")), 0, "weight must be a number above 0"),
        (legs(("zero", "100", "1")), 0, "gap must be a number"),
        (legs(("0", "100", "Infinity")), 0, "take profit must be a number"),
        (legs(("0", "100", "1001")), 0, "at most 1000 %"),
        (legs(("95", "100", "1")), 0, "below 95 %"),
    ],
)
def test_each_grid_problem_is_reported_on_the_leg_it_concerns(raw, index, fragment):
    problems = dca.grid_problems(raw)
    assert index in problems
    assert any(fragment in message for message in problems[index]), problems
    with pytest.raises(dca.GridError):
        dca.parse_grid(raw)


def test_weights_must_add_up_to_exactly_100_not_nearly():
    raw = legs(("0", "33.33", "1"), ("1", "33.33", "1"), ("2", "33.33", "1"))
    assert "99.99 %" in dca.grid_problems(raw)[None][0]
    raw[2]["weight_pct"] = "33.34"
    assert dca.grid_problems(raw) == {}


def test_at_most_twenty_legs():
    raw = legs(*[(str(i), "5", "1") for i in range(20)])
    assert dca.grid_problems(raw) == {}
    raw = legs(*[(str(i), "4", "1") for i in range(25)])
    assert "At most 20 legs" in dca.grid_problems(raw)[None][0]


def test_equal_gaps_are_allowed():
    assert dca.grid_problems(legs(("0", "50", "1"), ("0", "50", "2"))) == {}


def test_tp_settings_are_checked():
    assert dca.tp_settings_problems(pyramid_limit=5, group_tp_pct=D(2)) == {}
    problems = dca.tp_settings_problems(pyramid_limit=0, group_tp_pct=D(0))
    assert set(problems) == {"pyramid_limit", "group_tp_pct"}


# --- Laying a grid ----------------------------------------------------------------------------


def test_legs_are_laid_below_the_entry_rounded_to_the_tick_and_truncated_to_the_step():
    grid = dca.parse_grid(legs(("0", "40", "1.5"), ("2", "30", "1"), ("3.333", "30", "3")))
    planned = dca.lay_grid(grid, entry_price=D("65000"), capital=D("1000"), rules=BTC)
    assert [(p.price, p.amount, p.ok) for p in planned] == [
        (D("65000"), D("0.00615"), True),  # 400 / 65000 = 0.0061538...
        (D("63700"), D("0.0047"), True),  # 300 / 63700 = 0.0047095...
        (D("62833.55"), D("0.00477"), True),  # 65000 × 0.96667 = 62833.55; 300 / it = 0.004774
    ]


@pytest.mark.parametrize(
    "price, tp_pct, side, target",
    [
        ("62833.55", "2.5", Side.LONG, "64404.39"),  # 64404.38875 rounds half up
        ("0.5123", "2", Side.LONG, "0.52"),  # 0.522546 on a 0.01 tick
        ("65000", "1.5", Side.SHORT, "64025"),  # a short's target is below its fill
    ],
)
def test_a_legs_take_profit_price_is_its_price_plus_its_tp_on_the_tick(price, tp_pct, side, target):
    spec = LegSpec(gap_pct=D(0), weight_pct=D(100), tp_pct=D(tp_pct))
    leg = dca.PlannedLeg(0, spec, D(price), D("0.001"))
    assert dca.leg_tp_price(leg, tick_size=D("0.01"), side=side) == D(target)


def test_the_market_leg_is_sized_at_the_market_price_the_others_from_the_entry():
    grid = dca.parse_grid(legs(("0", "50", "1"), ("2", "50", "1")))
    planned = dca.lay_grid(
        grid, entry_price=D("6500"), capital=D("1000"), rules=BTC, market_price=D("65000")
    )
    # A signal price 10x below the market buys 500 USDT's worth at market, not 5000.
    assert [(p.price, p.amount) for p in planned] == [
        (D("65000"), D("0.00769")),
        (D("6370"), D("0.07849")),
    ]


def test_a_leg_below_min_notional_after_rounding_is_reported_with_the_numbers():
    grid = dca.parse_grid(legs(("0", "99.5", "1"), ("5", "0.5", "1")))
    planned = dca.lay_grid(grid, entry_price=D("65000"), capital=D("600"), rules=BTC)
    assert planned[0].ok
    skipped = planned[1]
    assert not skipped.ok
    assert (skipped.price, skipped.amount) == (D("61750"), D("0.00004"))  # 3 / 61750, truncated
    # The leg's amount and price on the step and tick; what was asked (3 / 61750) to 8 places.
    assert skipped.problem.startswith(
        "0.00004 BTC × 61,750.00 USDT = 2.47 USDT is below the 5 USDT minimum (0.00004858 BTC"
    )
    assert skipped.problem.endswith("BTC truncated to the 0.00001 BTC step).")


def test_a_leg_whose_amount_truncates_to_nothing_is_reported():
    grid = dca.parse_grid(legs(("0", "99", "1"), ("1", "1", "1")))
    planned = dca.lay_grid(grid, entry_price=D("0.55"), capital=D("50"), rules=XRP)
    assert planned[0].amount == D("90")  # 49.5 / 0.55
    assert planned[1].amount == D(0)
    assert "rounds down to 0" in planned[1].problem


@st.composite
def grids(draw):
    count = draw(st.integers(min_value=1, max_value=8))
    cuts = sorted(draw(st.lists(st.integers(1, 99), min_size=count - 1, max_size=count - 1)))
    weights = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
    assume(all(w > 0 for w in weights))
    gaps = sorted(draw(st.lists(st.integers(0, 900), min_size=count, max_size=count)))
    return tuple(
        LegSpec(D(gap) / 10, D(weight), D("1.5")) for gap, weight in zip(gaps, weights, strict=True)
    )


@PROPERTY
@given(
    grid=grids(),
    capital=st.decimals(min_value=D("1"), max_value=D("1000000"), places=2),
    entry=st.decimals(min_value=D("100"), max_value=D("200000"), places=2),
)
def test_laid_amounts_never_spend_more_than_the_capital_and_are_rounded_down(grid, capital, entry):
    planned = dca.lay_grid(grid, entry_price=entry, capital=capital, rules=BTC)
    assert sum((p.notional for p in planned), D(0)) <= capital
    for plan in planned:
        share = capital * plan.spec.weight_pct / 100
        assert plan.amount * plan.price <= share  # each leg within its own share
        assert plan.amount % BTC.step_size == 0  # on the step
        assert plan.price % BTC.tick_size == 0  # on the tick
        assert share / plan.price - plan.amount < BTC.step_size  # truncated, not lower
        assert plan.price <= entry  # a long's legs never sit above the entry
        if plan.ok:
            assert plan.notional >= BTC.min_notional
        else:
            assert plan.problem


# --- Average entry and PnL --------------------------------------------------------------------


def test_average_entry_is_weighted_by_quantity():
    fills = [(D("0.006"), D("65000")), (D("0.004"), D("63700"))]
    assert dca.average_entry(fills) == (D("390") + D("254.8")) / D("0.01")
    assert dca.average_entry([]) is None
    assert dca.average_entry([(D(0), D("1"))]) is None


@PROPERTY
@given(
    st.lists(
        st.tuples(
            st.decimals(min_value=D("0.00001"), max_value=D("100"), places=5),
            st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2),
        ),
        min_size=1,
        max_size=20,
    )
)
def test_average_entry_lies_between_the_lowest_and_highest_fill(fills):
    average = dca.average_entry(fills)
    assert min(p for _, p in fills) <= average <= max(p for _, p in fills)


def test_unrealised_pnl_in_quote_and_percent():
    kwargs = {"quantity": D("0.01"), "average": D("64000"), "last": D("65280")}
    assert dca.unrealised_pnl(**kwargs) == D("12.80")
    assert dca.unrealised_pnl_pct(average=D("64000"), last=D("65280")) == D(2)
    assert dca.unrealised_pnl(quantity=D(0), average=D(1), last=D(2)) is None


# --- Take-profit modes ------------------------------------------------------------------------

# Leg 1 bought at 65000 (TP 1.5 % → 65975), leg 2 at 63700 (TP 1 % → 64337).
# Average of 0.006 @ 65000 and 0.004 @ 63700 = 64480; group TP 2 % → 65769.6.
HELD = [
    HeldLeg(key=1, quantity=D("0.006"), fill_price=D("65000"), tp_pct=D("1.5")),
    HeldLeg(key=2, quantity=D("0.004"), fill_price=D("63700"), tp_pct=D("1")),
]


def decide(mode: TpMode, last: str, legs=HELD, quantity="0.010004"):
    return dca.take_profit(
        mode=mode, last=D(last), legs=legs, position_quantity=D(quantity), group_tp_pct=D(2)
    )


def leg_tp(key: int) -> TakeProfit:
    leg = next(leg for leg in HELD if leg.key == key)
    target = leg.fill_price * (1 + leg.tp_pct / 100)
    return TakeProfit(TpScope.LEG, leg.quantity, target, leg.fill_price, leg.tp_pct, key)


GROUP = TakeProfit(TpScope.GROUP, D("0.010004"), D("65769.6"), D("64480"), D(2))


@pytest.mark.parametrize(
    ("mode", "last", "expected"),
    [
        # per-leg: each leg on its own target, nothing for the group
        (TpMode.PER_LEG, "64336.99", []),
        (TpMode.PER_LEG, "64337", [leg_tp(2)]),
        (TpMode.PER_LEG, "65975", [leg_tp(1), leg_tp(2)]),
        (TpMode.PER_LEG, "70000", [leg_tp(1), leg_tp(2)]),
        # aggregate: the whole position (fee dust included) at average × 1.02, legs ignored
        (TpMode.AGGREGATE, "65000", []),
        (TpMode.AGGREGATE, "65769.59", []),
        (TpMode.AGGREGATE, "65769.6", [GROUP]),
        # hybrid: whichever is reached first; the group wins a tie, since it includes the legs
        (TpMode.HYBRID, "64000", []),
        (TpMode.HYBRID, "64337", [leg_tp(2)]),
        (TpMode.HYBRID, "65769.6", [GROUP]),
        (TpMode.HYBRID, "66000", [GROUP]),
    ],
)
def test_take_profit_decisions_per_mode(mode, last, expected):
    assert list(decide(mode, last)) == expected


def test_hybrid_aggregate_adjusts_to_the_legs_left_after_a_leg_took_its_profit():
    # Leg 2 sold at its own target: the average is now leg 1's fill alone, so the group's
    # target moves from 65769.6 to 65000 × 1.02 = 66300. At 65769.6 nothing happens any more;
    # leg 1's own target (65975) comes first; with a higher leg TP, the group's 66300 does.
    left = HELD[:1]
    assert decide(TpMode.HYBRID, "65769.6", legs=left, quantity="0.006") == ()
    assert decide(TpMode.HYBRID, "65975", legs=left, quantity="0.006") == (leg_tp(1),)
    high_leg_tp = [HeldLeg(key=1, quantity=D("0.006"), fill_price=D("65000"), tp_pct=D("5"))]
    group = decide(TpMode.HYBRID, "66300", legs=high_leg_tp, quantity="0.006")
    assert group == (TakeProfit(TpScope.GROUP, D("0.006"), D("66300"), D("65000"), D(2)),)


def test_nothing_held_decides_nothing():
    assert decide(TpMode.HYBRID, "99999", legs=[]) == ()
    assert decide(TpMode.AGGREGATE, "99999", quantity="0") == ()


@PROPERTY
@given(
    mode=st.sampled_from(list(TpMode)),
    last=st.decimals(min_value=D("50000"), max_value=D("80000"), places=2),
)
def test_decisions_never_close_more_than_is_held(mode, last):
    decisions = decide(mode, str(last))
    closed = sum((d.quantity for d in decisions), D(0))
    assert closed <= D("0.010004")
    assert all(last >= d.target for d in decisions)
    if any(d.scope == TpScope.GROUP for d in decisions):
        assert len(decisions) == 1


def _planned(index: int, price: str, amount: str, problem: str = "") -> dca.PlannedLeg:
    spec = LegSpec(gap_pct=Decimal(0), weight_pct=Decimal(50), tp_pct=Decimal(1))
    return dca.PlannedLeg(index, spec, Decimal(price), Decimal(amount), problem)


def test_the_groups_take_profit_follows_the_average_of_the_legs_filled_so_far():
    """Leg 1 alone: 100 + 2 %; with leg 2: the average (1 × 100 + 3 × 80) / 4 = 85, + 2 %;
    a leg not placed never fills, so it moves nothing; a short's target is below."""
    planned = [_planned(0, "100", "1"), _planned(1, "80", "3"), _planned(2, "70", "1", "too small")]
    targets = dca.group_tp_prices(planned, group_tp_pct=Decimal(2), tick_size=Decimal("0.01"))
    assert targets == (Decimal("102.00"), Decimal("86.70"), None)
    short = dca.group_tp_prices(
        planned[:1], group_tp_pct=Decimal(2), tick_size=Decimal("0.01"), side=Side.SHORT
    )
    assert short == (Decimal("98.00"),)
