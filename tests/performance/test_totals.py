"""The database's totals (`selectors.totals`, one SQL aggregate) against the pure `figures()`
computed in Python from the same positions, read back row by row: on the known ledger, on
every kind of stop, on a seeded random ledger, and the queries staying the same whatever the
ledger holds."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import pytest

from apps.performance import selectors
from apps.performance.domain.figures import ClosedPosition, figures, figures_of, risk_at_stop
from apps.performance.domain.period import Period
from apps.positions.models import PositionGroup
from tests.performance.ledger import PNL_STOP, T0, _position, build_ledger

pytestmark = pytest.mark.django_db
ALL_TIME = Period(None, None)
# R multiples are divisions the database and Python round in their own precisions (PostgreSQL
# keeps at least 18 places here, Python 28 digits): they agree far below a displayed digit.
R_TOLERANCE = D("1e-15")


def python_ledger(scope: selectors.Scope) -> list[ClosedPosition]:
    """The positions behind the view loaded one by one, their risk read by `risk_at_stop`:
    the independent way to the same figures."""
    rows = selectors.closed_positions(scope).values_list(
        "id", "realised_pnl", "entry_cost", "opened_at", "closed_at", "exit_rules__initial_stop"
    )
    return [
        ClosedPosition(pk, pnl, cost, opened, closed or opened, risk_at_stop(stop, cost))
        for pk, pnl, cost, opened, closed, stop in rows
    ]


def assert_same_figures(scope: selectors.Scope) -> None:
    curve = selectors.equity_curve(scope)
    from_sql = figures_of(selectors.totals(scope), curve)
    from_python = figures(python_ledger(scope), curve)
    if from_python.expectancy_r is None:
        assert from_sql.expectancy_r is None
    else:
        assert abs(from_sql.expectancy_r - from_python.expectancy_r) < R_TOLERANCE
    # Every other figure exactly: counts, sums, ratios, averages, best, worst, holding time.
    assert replace(from_sql, expectancy_r=None) == replace(from_python, expectancy_r=None)


ENTRY_STOP = {
    "primary": {"source": "last"},
    "condition": "at_or_below",
    "secondary": {"source": "entry_price"},
    "value": "-2",
    "unit": "percent",
}


def stop(value, source="pnl_pct") -> dict:
    return {"initial_stop": {**PNL_STOP, "primary": {"source": source}, "value": value}}


@pytest.fixture
def known():
    built = build_ledger()
    return built, selectors.scope_for(user=built.user, account=None, period=ALL_TIME)


def test_sql_totals_equal_the_pure_figures_on_the_known_ledger(known):
    built, scope = known
    totals = selectors.totals(scope)
    # A + B + C + D (tests/performance/ledger.py): fees and A's partial exit are in the PnL.
    assert totals.count == 4 and totals.wins == 2 and totals.losses == 2
    assert totals.pnl == D("6.845")
    assert totals.gross_profit == D("19.735") and totals.gross_loss == D("-12.89")
    assert totals.holding == timedelta(hours=6 + 2 + 24 + 4)
    assert totals.with_stop == 2  # A and B: -5 % PnL stops
    assert abs(totals.r_sum - (D("14.785") / D("5.005") + D("-10.39") / D("10.01"))) < R_TOLERANCE
    assert (totals.best.id, totals.best.pnl) == (built.positions[0].pk, D("14.785"))
    assert (totals.worst.id, totals.worst.pnl) == (built.positions[1].pk, D("-10.39"))
    assert_same_figures(scope)


def test_every_kind_of_stop_gives_r_exactly_where_risk_at_stop_does(known):
    built, scope = known
    account = built.account
    kinds = [
        stop("-2.5"),  # counts
        stop(" -7 "),  # counts: Decimal and PostgreSQL both read the spaces away
        stop(-3),  # a JSON number: counts
        stop("1e1"),  # an exponent: counts (10 %)
        stop("60000", source="last"),  # a price stop: no R
        # A price stop 2 % under the entry: counts (2 % of the cost at risk).
        {"initial_stop": {**ENTRY_STOP}},
        # ... but 2 quote under the entry (not a %), or under a fixed price: no R.
        {"initial_stop": {**ENTRY_STOP, "unit": "number"}},
        {"initial_stop": {**ENTRY_STOP, "secondary": {"source": "fixed"}}},
        stop("-5", source="ema"),  # an indicator stop: no R
        stop("junk"),
        stop(""),
        stop(None),
        stop("NaN"),
        stop("Infinity"),
        stop("0"),  # no risk: no R
        stop("-0.0"),
        stop("--5"),
        stop("5.5.5"),
        stop(True),
        {"initial_stop": {"primary": {"source": "pnl_pct"}}},  # no value at all
        {"initial_stop": {}},
        {"take_profit": {"primary": {"source": "pnl_pct"}, "value": "5"}},  # not a stop
        {},
    ]
    for offset, exit_rules in enumerate(kinds):
        _position(account, symbol="ADA/USDT", entry_cost=D("40") + offset,
                  realised_pnl=D("-1.25") + D(offset) / 8, exit_rules=exit_rules,
                  opened_at=T0, closed_at=T0 + timedelta(minutes=offset))  # fmt: skip
    # A stop on PnL % but nothing spent: no R (no division by zero).
    _position(account, symbol="ADA/USDT", entry_cost=D(0), realised_pnl=D(0),
              exit_rules=stop("-5"), opened_at=T0, closed_at=T0)  # fmt: skip
    expected = [p for p in python_ledger(scope) if p.risk]
    assert len(expected) == 2 + 5  # A and B, and the five usable stops above
    totals = selectors.totals(scope)
    assert totals.with_stop == len(expected)
    assert abs(totals.r_sum - sum(p.pnl / p.risk for p in expected)) < R_TOLERANCE
    assert_same_figures(scope)


def test_a_break_even_position_is_neither_a_win_nor_a_loss(known):
    built, scope = known
    _position(built.account, symbol="XRP/USDT", entry_cost=D("30"), realised_pnl=D(0),
              opened_at=T0, closed_at=T0 + timedelta(hours=1))  # fmt: skip
    totals = selectors.totals(scope)
    assert totals.count == 5 and totals.wins == 2 and totals.losses == 2
    assert_same_figures(scope)


def test_the_pnl_keeps_every_digit_of_the_sums(known):
    """PnL is the wins' sum plus the losses' sum, added without rounding: 36 digits each."""
    built, scope = known
    big, small = D("123456789012345678.123456789012345678"), D("-98765432109876543.987654321")
    for pnl in (big, big, small):
        _position(built.account, symbol="BTC/USDT", entry_cost=D(1), realised_pnl=pnl,
                  opened_at=T0, closed_at=T0)  # fmt: skip
    # 6.845 + 2 × 123456789012345678.123456789012345678 - 98765432109876543.987654321, by
    # hand: 36 digits, more than Python's default 28 would keep.
    totals = selectors.totals(scope)
    assert totals.pnl == D("148148145914814819.104259257024691356")
    breakdowns, daily = selectors.grouped(scope)
    assert sum(row.count for row in breakdowns["symbol"]) == 7
    btc = next(row for row in breakdowns["symbol"] if row.key == "BTC/USDT")
    assert btc.pnl == D("148148145914814831.994259257024691356")  # + A and C: 19.735
    assert daily[0] == (T0.date(), D("148148145914814827.044259257024691356"))  # + A


def test_equal_pnls_name_the_lower_id_best_and_worst(known):
    built, scope = known
    twins = [
        _position(built.account, symbol="ETH/USDT", realised_pnl=pnl, entry_cost=D(10),
                  opened_at=T0, closed_at=T0)
        for pnl in (D("14.785"), D("-10.39"))
    ]  # fmt: skip
    totals = selectors.totals(scope)
    assert totals.best.id == built.positions[0].pk < twins[0].pk
    assert totals.worst.id == built.positions[1].pk < twins[1].pk
    assert_same_figures(scope)


def test_an_empty_view_has_empty_totals(known):
    built, _ = known
    before = Period(T0.date() - timedelta(days=9), T0.date() - timedelta(days=1))
    scope = selectors.scope_for(user=built.user, account=None, period=before)
    totals = selectors.totals(scope)
    assert totals.count == 0 and totals.best is None and totals.worst is None
    assert totals.pnl == 0 and totals.with_stop == 0
    assert_same_figures(scope)


def test_sql_totals_equal_the_pure_figures_on_a_seeded_random_ledger(known):
    built, _ = known
    rng = random.Random(17)  # noqa: S311 (test data, not crypto)
    stops = [stop("-5"), stop("-1.75"), stop("12"), stop("60000", "last"), stop("x"), {}]
    for _ in range(150):
        cost = D(rng.randint(1, 500_000)) / 1000
        closed = T0 + timedelta(minutes=rng.randint(0, 7 * 24 * 60))
        _position(built.account, symbol=rng.choice(["BTC/USDT", "ETH/USDT"]),
                  entry_cost=cost, realised_pnl=cost * rng.randint(-900, 900) / 10_000,
                  exit_rules=rng.choice(stops), closed_at=closed,
                  opened_at=closed - timedelta(seconds=rng.randint(0, 500_000)))  # fmt: skip
    for period in (ALL_TIME, Period(T0.date() + timedelta(days=2), T0.date() + timedelta(4))):
        assert_same_figures(selectors.scope_for(user=built.user, account=None, period=period))
    one = selectors.scope_for(user=built.user, account=built.account, period=ALL_TIME)
    assert_same_figures(one)


def test_the_grouping_sets_equal_one_group_by_per_breakdown(known):
    """PostgreSQL's single pass (`grouped`) against the GROUP BY per breakdown that SQLite runs
    (`breakdown`, `daily_pnl`), on the known ledger and a seeded random one."""
    built, _ = known
    rng = random.Random(5)  # noqa: S311 (test data, not crypto)
    for _ in range(60):
        closed = T0 + timedelta(hours=rng.randint(0, 24 * 9))
        _position(built.account, symbol=rng.choice(["BTC/USDT", "ETH/USDT", "SOL/USDT"]),
                  timeframe=rng.choice(["", "15", "60"]), exit_reason=rng.choice(["close", ""]),
                  entry_cost=D(rng.randint(1, 9_999)) / 100,
                  realised_pnl=D(rng.randint(-5_000, 5_000)) / 1000,
                  opened_at=closed, closed_at=closed)  # fmt: skip
    # A break-even position: neither a win nor a loss in any set.
    _position(built.account, symbol="SOL/USDT", entry_cost=D(7), realised_pnl=D(0),
              opened_at=T0, closed_at=T0 + timedelta(days=2))  # fmt: skip
    for period in (ALL_TIME, Period(T0.date() + timedelta(days=1), T0.date() + timedelta(days=3))):
        view = selectors.scope_for(user=built.user, account=None, period=period)
        breakdowns, daily = selectors.grouped(view)
        one_by_one = {name: selectors.breakdown(view, name) for name in selectors.BREAKDOWNS}
        assert breakdowns == one_by_one
        assert daily == selectors.daily_pnl(view) and daily
        assert sum(row.count for row in breakdowns["symbol"]) == selectors.totals(view).count


def test_another_traders_positions_are_not_in_the_totals(known):
    built, _ = known
    theirs = selectors.scope_for(user=built.other_user, account=None, period=ALL_TIME)
    totals = selectors.totals(theirs)
    assert totals.count == 1 and totals.pnl == D("999.99")  # their DOGE only
    mine = selectors.scope_for(user=built.user, account=None, period=ALL_TIME)
    assert selectors.totals(mine).pnl == D("6.845")


def _grow(built, count: int) -> None:
    PositionGroup.objects.bulk_create(
        [
            PositionGroup(owner=built.user, account=built.account, status="closed",
                          symbol=f"S{i % 7}/USDT", timeframe=str(i % 3), entry_cost=D(10 + i),
                          realised_pnl=D(i % 11 - 5), exit_rules=stop(str(-(i % 4))),
                          exit_reason="close", opened_at=T0, closed_at=T0 + timedelta(hours=i))
            for i in range(count)
        ]
    )  # fmt: skip


@pytest.mark.parametrize("size", [10, 400])
def test_the_page_data_takes_the_same_queries_whatever_the_ledger_holds(
    known, size, django_assert_num_queries
):
    built, scope = known
    _grow(built, size)
    # The curve's day opens and its equity now, the ledger's totals, the open PnL, and the
    # breakdowns with the daily PnL.
    with django_assert_num_queries(5):
        view = selectors.performance(scope)
    assert view.figures.count == 4 + size


def test_the_curve_ends_at_the_equity_now_when_the_period_runs_to_today(known):
    _, scope = known
    curve = selectors.equity_curve(scope)
    # The five day opens, then the last snapshot (03-05 12:01, the open + 7) at its moment.
    assert [p.equity for p in curve] == [
        D("1000"),
        D("1020"),
        D("1005"),
        D("969"),
        D("1030"),
        D("1037"),
    ]
    assert curve[-1].at == datetime(2026, 3, 5, 12, 1, tzinfo=UTC) and curve[-2].at is None
    series = selectors.chart_series(selectors.performance(scope))["equity"]
    times = [row["time"] for row in series]
    assert times == sorted(set(times))  # one time axis: opens at 00:00, the last at 12:01
    assert times[-1] - times[-2] == 12 * 3600 + 60


def test_a_period_ending_before_today_ends_at_its_last_open(known):
    built, _ = known
    until = selectors.scope_for(
        user=built.user, account=None, period=Period(None, date(2026, 3, 5))
    )
    curve = selectors.equity_curve(until, now=datetime(2026, 3, 6, 9, tzinfo=UTC))
    assert [p.equity for p in curve][-1] == D("1030") and curve[-1].at is None
    # On 03-05 itself, though, the period runs to today: the curve ends at the equity now.
    today = selectors.equity_curve(until, now=datetime(2026, 3, 5, 13, tzinfo=UTC))
    assert today[-1].equity == D("1037")


def test_a_trader_without_an_account_sees_an_empty_view(db):
    from tests.accounts.factories import UserFactory

    scope = selectors.scope_for(user=UserFactory(), account=None, period=ALL_TIME)
    view = selectors.performance(scope)
    assert view.empty and view.curve == [] and view.daily == []
    assert all(rows == [] for _, _, rows in view.breakdowns)


def test_the_timeframe_breakdown_names_timeframes_as_traders_write_them(known):
    """The ledger's signal positions stored TradingView's "15" and "60": rows read 15m, 1h."""
    built, _ = known
    view = selectors.scope_for(user=built.user, account=None, period=ALL_TIME)
    rows = selectors.breakdown(view, "timeframe")
    assert {row.key: row.label for row in rows} == {
        "15": "15m",
        "60": "1h",
        "": "none (a ticket)",
    }
    assert selectors.grouped(view)[0]["timeframe"] == rows
