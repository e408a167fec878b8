"""The risk engine's maths without a database: eligibility and its reasons, loser and winner
ranking, just-enough winner quantities rounded down to the step, minimum skips, the shortfall
policy, the guards, and the property that a plan never realises more than the loss."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.exchanges.domain.types import MarketRules
from apps.risk.domain import guards
from apps.risk.domain.selection import (
    EngineSettings,
    GroupFacts,
    Shortfall,
    TimerStart,
    loser_eligibility,
    plan_offset,
    rank_losers,
    rank_winners,
    select,
    size_winner,
)

D = Decimal
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
HOUR_AGO = NOW - timedelta(hours=1, minutes=1)
BTC = MarketRules("BTC/USDT", "BTC", "USDT", D("0.01"), D("0.00001"), D("0.00001"), None, D("5"))
SOL = MarketRules("SOL/USDT", "SOL", "USDT", D("0.01"), D("0.001"), D("0.001"), None, D("5"))


def group(gid: int, *, avg="100", price="100", qty="1", rules=SOL, opened=HOUR_AGO, **kw):
    kw.setdefault("pyramids", 1)
    kw.setdefault("pyramid_limit", 1)
    kw.setdefault("last_pyramid_at", opened)
    return GroupFacts(
        id=gid,
        label=f"#{gid}",
        rules=rules,
        quantity=D(qty),
        average_entry=D(avg),
        price=D(price),
        opened_at=opened,
        **kw,
    )


# --- Eligibility --------------------------------------------------------------------------


def test_a_deep_loser_with_full_pyramids_and_an_elapsed_timer_is_eligible():
    result = loser_eligibility(group(1, price="94"), EngineSettings(), now=NOW)
    assert result.eligible and result.reasons == ()
    assert result.timer_remaining == timedelta(0)


def test_every_reason_a_loser_is_not_eligible_is_given():
    facts = group(
        1,
        price="97",
        pyramids=2,
        pyramid_limit=5,
        last_pyramid_at=NOW - timedelta(minutes=20),
        blocked=True,
        skip_once=True,
        sell_in_flight=True,
    )
    result = loser_eligibility(facts, EngineSettings(), now=NOW)
    assert not result.eligible
    assert result.reasons == (
        "blocked",
        "skipping once",
        "a sell is in flight",
        "PnL -3 % is short of the -5 % loss threshold",
        "pyramids 2 of 5",
        "timer: 40 min 00 s left",
    )


def test_a_group_in_profit_is_not_called_a_loss():
    result = loser_eligibility(group(1, price="100.74"), EngineSettings(), now=NOW)
    assert "in profit (PnL +0.74 %)" in result.reasons
    assert not any("loss" in reason for reason in result.reasons)


def test_the_threshold_is_inclusive_and_pyramids_can_be_ignored():
    facts = group(1, price="95", pyramids=1, pyramid_limit=3)
    assert not loser_eligibility(facts, EngineSettings(), now=NOW).eligible
    relaxed = EngineSettings(require_all_pyramids=False)
    assert loser_eligibility(facts, relaxed, now=NOW).eligible


@pytest.mark.parametrize(
    ("mode", "field", "reason"),
    [
        (TimerStart.LAST_PYRAMID, "last_pyramid_at", "no pyramid yet"),
        (TimerStart.DCA_SUBMITTED, "dca_submitted_at", "DCA orders still being submitted"),
        (TimerStart.DCA_FILLED, "dca_filled_at", "DCA orders still working"),
    ],
)
def test_the_timer_starts_from_the_configured_moment(mode, field, reason):
    settings_ = EngineSettings(timer_start=mode)
    not_started = group(1, price="90", **{field: None})
    assert (
        f"timer not started: {reason}" in loser_eligibility(not_started, settings_, now=NOW).reasons
    )
    recent = group(1, price="90", **{field: NOW - timedelta(minutes=59)})
    assert "timer: 1 min 00 s left" in loser_eligibility(recent, settings_, now=NOW).reasons
    elapsed = group(1, price="90", **{field: NOW - timedelta(minutes=60)})
    assert loser_eligibility(elapsed, settings_, now=NOW).eligible


def test_a_replacement_signal_restarts_the_timer_unless_the_settings_say_otherwise():
    replaced = group(1, price="90", timer_reset_at=NOW - timedelta(minutes=5))
    result = loser_eligibility(replaced, EngineSettings(), now=NOW)
    assert result.reasons == ("timer: 55 min 00 s left",)
    ignoring = EngineSettings(replacement_resets_timer=False)
    assert loser_eligibility(replaced, ignoring, now=NOW).eligible


def test_minimum_group_age():
    young = group(1, price="90", opened=NOW - timedelta(minutes=90))
    aged = EngineSettings(min_group_age=timedelta(hours=2))
    assert loser_eligibility(young, aged, now=NOW).reasons == ("younger than 2 h 00 min",)


# --- Ranking ------------------------------------------------------------------------------


def test_losers_rank_by_deepest_loss_pct_then_largest_loss_then_oldest():
    shallow_big = group(1, avg="100", price="90", qty="100")  # -10 %, -1000
    deep_small = group(2, avg="100", price="80", qty="1")  # -20 %, -20
    same_pct_bigger = group(3, avg="100", price="80", qty="2")  # -20 %, -40
    same_all_older = group(4, avg="100", price="80", qty="2", opened=HOUR_AGO - timedelta(days=1))
    ranked = rank_losers([shallow_big, deep_small, same_pct_bigger, same_all_older])
    assert [g.id for g in ranked] == [4, 3, 2, 1]


def test_winners_are_other_open_groups_in_profit_by_profit_at_most_the_limit():
    loser = group(1, price="80")
    small = group(2, price="101")  # +1
    big = group(3, price="150")  # +50
    mid = group(4, price="110")  # +10
    flat = group(5, price="100")
    blocked = group(6, price="200", blocked=True)
    skipping = group(7, price="200", skip_once=True)
    selling = group(8, price="200", sell_in_flight=True)
    groups = [loser, small, big, mid, flat, blocked, skipping, selling]
    assert [g.id for g in rank_winners(groups, loser_id=1, limit=3)] == [3, 4, 2]
    assert [g.id for g in rank_winners(groups, loser_id=1, limit=2)] == [3, 4]


# --- Sizing -------------------------------------------------------------------------------


def test_a_winner_closes_just_enough_rounded_down_to_the_step():
    # 10 USDT per SOL of profit; 64.998 USDT uncovered needs 6.4998 SOL: 6.499 at the step.
    piece = size_winner(group(2, avg="150", price="160", qty="20"), uncovered=D("64.998"))
    assert piece.quantity == D("6.499")
    assert piece.realised == D("64.990")
    assert piece.realised <= D("64.998")


def test_a_winner_that_cannot_cover_is_closed_in_full_down_to_the_step():
    piece = size_winner(group(2, avg="150", price="160", qty="6.6593334"), uncovered=D("500"))
    assert piece.quantity == D("6.659")
    assert piece.realised == D("66.590")


def test_a_winner_below_the_minimum_notional_after_rounding_is_skipped_with_the_numbers():
    # 0.4 USDT uncovered at 10 per SOL: 0.04 SOL, worth 6.4 USDT at 160: fine. At 1 USDT per
    # SOL of profit: 0.4 SOL at 101 = 40.4: fine. Here 0.03 SOL × 160 = 4.8 < 5.
    piece = size_winner(group(2, avg="150", price="160", qty="20"), uncovered=D("0.3"))
    assert piece.quantity == 0 and piece.realised == 0
    assert piece.skipped == "0.030 SOL × 160.00 USDT = 4.8 USDT is below the 5 USDT minimum."


def test_a_winner_whose_quantity_rounds_to_zero_is_skipped():
    piece = size_winner(
        group(2, avg="65000", price="71500", qty="1", rules=BTC), uncovered=D("0.01")
    )
    assert piece.quantity == 0
    assert "rounds down to 0 at the step of 0.00001" in piece.skipped


def test_one_loser_three_winners_the_last_one_partly():
    loser = group(1, avg="3200", price="2944", qty="0.9365625")  # -239.76
    btc = group(2, avg="65000", price="71500", qty="0.01536462", rules=BTC)  # +99.87
    ltc = group(3, avg="80", price="86", qty="12.4875")  # +74.925
    sol = group(4, avg="150", price="160.5", qty="6.659334")  # +69.923
    plan = plan_offset(loser, [loser, sol, ltc, btc], EngineSettings())
    assert plan.required == D("239.76")
    assert [(s.group_id, s.quantity, s.realised) for s in plan.slices] == [
        (2, D("0.01536"), D("99.84")),
        (3, D("12.487"), D("74.922")),
        (4, D("6.190"), D("64.995")),
    ]
    assert plan.covered == D("239.757") and plan.execute
    assert plan.reason == "Offsetting 239.76 of 239.76 USDT with 3 winners, then closing #1."


def test_shortfall_policy_partial_goes_ahead_and_skip_does_nothing():
    loser = group(1, avg="100", price="50", qty="10")  # -500
    winner = group(2, avg="100", price="110", qty="10")  # +100
    partial = plan_offset(loser, [loser, winner], EngineSettings())
    assert partial.execute and partial.covered == D("100")
    skip = plan_offset(loser, [loser, winner], EngineSettings(shortfall=Shortfall.SKIP))
    assert not skip.execute
    assert skip.reason == "The winners cover only 100 of 500 USDT; the policy is to skip."


def test_no_winner_means_no_action_whatever_the_policy():
    loser = group(1, avg="100", price="50", qty="10")
    plan = plan_offset(loser, [loser], EngineSettings())
    assert not plan.execute
    assert plan.reason == "Nothing to offset: no winner can offset any of it."


def test_select_picks_the_top_eligible_loser_and_notes_skip_once_groups_passed_over():
    deepest = group(1, avg="100", price="70", qty="1", skip_once=True)  # -30 %, skipping
    next_ = group(2, avg="100", price="80", qty="1")  # -20 %
    winner = group(3, avg="100", price="150", qty="1", skip_once=True)
    other = group(4, avg="100", price="130", qty="1")
    chosen = select([deepest, next_, winner, other], EngineSettings(), now=NOW)
    assert chosen.plan.loser.id == 2
    assert [s.group_id for s in chosen.plan.slices] == [4]
    assert chosen.skipped_losers == (1,)
    assert chosen.skipped_winners == (3,)


# --- The property -------------------------------------------------------------------------

prices = st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2)
quantities = st.decimals(min_value=D("0.001"), max_value=D("1000"), places=6)
steps = st.sampled_from([D("1"), D("0.1"), D("0.001"), D("0.00001")])


@st.composite
def winners(draw):
    average = draw(prices)
    price = draw(st.decimals(min_value=average + D("0.01"), max_value=average * 3, places=2))
    step = draw(steps)
    rules = MarketRules("X/USDT", "X", "USDT", D("0.01"), step, step, None, D("5"))
    return average, price, draw(quantities), rules


@settings(max_examples=300, deadline=None)
@given(
    loss_avg=prices,
    loss_drop=st.decimals(min_value=D("0.05"), max_value=D("0.95"), places=4),
    loss_qty=quantities,
    drawn=st.lists(winners(), min_size=0, max_size=5),
    max_winners=st.integers(min_value=1, max_value=5),
)
def test_a_plan_never_closes_more_than_needed(loss_avg, loss_drop, loss_qty, drawn, max_winners):
    loser_price = max((loss_avg * (1 - loss_drop)).quantize(D("0.01")), D("0.01"))
    loser = group(1, avg=str(loss_avg), price=str(loser_price), qty=str(loss_qty))
    pool = [
        group(i + 2, avg=str(a), price=str(p), qty=str(q), rules=r)
        for i, (a, p, q, r) in enumerate(drawn)
    ]
    if loser.pnl is None or loser.pnl >= 0:
        return
    plan = plan_offset(loser, [loser, *pool], EngineSettings(max_winners=max_winners))
    by_id = {g.id: g for g in pool}
    assert plan.covered <= plan.required
    assert len(plan.slices) <= max_winners
    for piece in plan.slices:
        winner = by_id[piece.group_id]
        assert 0 <= piece.quantity <= winner.quantity
        assert piece.quantity % winner.rules.step_size == 0
        assert piece.realised == piece.quantity * (winner.price - winner.average_entry)
        assert piece.realised <= piece.uncovered_before
        if piece.quantity > 0:
            # Just enough: one more step would either overshoot or exceed what is held.
            more = piece.quantity + winner.rules.step_size
            per_unit = winner.price - winner.average_entry
            assert more > winner.quantity or more * per_unit > piece.uncovered_before
            assert piece.quantity * winner.price >= winner.rules.min_notional


# --- Guards -------------------------------------------------------------------------------


def test_daily_loss_limit_in_quote_and_in_percent():
    limits = guards.GuardLimits(daily_loss_quote=D("300"), daily_loss_pct=D("2"))
    assert (
        guards.daily_loss_breach(
            day_start_equity=D("10000"), equity=D("9801"), limits=limits, quote="USDT"
        )
        is None
    )
    breach = guards.daily_loss_breach(
        day_start_equity=D("10000"), equity=D("9800"), limits=limits, quote="USDT"
    )
    assert breach.reason == "daily loss limit: down 200 USDT (2 %) today, the limit is 2 %"
    by_quote = guards.daily_loss_breach(
        day_start_equity=D("100000"), equity=D("99700"), limits=limits, quote="USDT"
    )
    assert by_quote.reason.endswith("the limit is 300 USDT")


def test_drawdown_from_the_peak_and_exposure_per_symbol():
    limits = guards.GuardLimits(max_drawdown_pct=D("10"), max_symbol_exposure_pct=D("25"))
    assert (
        guards.drawdown_breach(peak=D("12000"), equity=D("10801"), limits=limits, quote="USDT")
        is None
    )
    breach = guards.drawdown_breach(peak=D("12000"), equity=D("10800"), limits=limits, quote="USDT")
    assert breach.guard == guards.DRAWDOWN and "10 % below its peak of 12000" in breach.reason
    over = guards.exposure_breaches(
        exposures={"BTC/USDT": D("2500"), "ETH/USDT": D("2499.99")},
        equity=D("10000"),
        limits=limits,
        quote="USDT",
    )
    assert [b.data["symbol"] for b in over] == ["BTC/USDT"]


def test_equity_values_every_balance_and_names_what_it_cannot_price():
    equity, unpriced = guards.equity_of(
        balances={"USDT": D("5000"), "BTC": D("0.1"), "XYZ": D("3"), "ETH": D("0")},
        prices={"BTC": D("60000")},
        quote="USDT",
    )
    assert equity == D("11000") and unpriced == ("XYZ",)


def test_the_breaker_counts_errors_within_the_window_and_trips_at_the_threshold():
    window = timedelta(minutes=10)
    streak = guards.ErrorStreak(0, None)
    for minute in range(4):
        streak = guards.after_error(streak, now=NOW + timedelta(minutes=minute), window=window)
    assert streak.count == 4 and not guards.breaker_trips(streak, threshold=5)
    tripped = guards.after_error(streak, now=NOW + timedelta(minutes=9), window=window)
    assert guards.breaker_trips(tripped, threshold=5)
    late = guards.after_error(streak, now=NOW + timedelta(minutes=11), window=window)
    assert late == guards.ErrorStreak(1, NOW + timedelta(minutes=11))
