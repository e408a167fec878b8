"""Sizing an entry from the ticket and the account: fixed amounts, a share of buying power, and
risk-based sizing to the initial stop. Pure: no database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.strategies.domain.sizing import (
    Size,
    Sizing,
    SizingError,
    SizingKind,
    size_entry,
    sizing_problem,
)

D = Decimal
ACCOUNT = {"price": D(65000), "buying_power": D(8000), "equity": D(10000), "stop": D(63700)}


def size(kind: SizingKind, value: str, **account: Decimal | None) -> Size:
    return size_entry(Sizing(kind, D(value)), **{**ACCOUNT, **account})


def test_fixed_base_amount_passes_through_as_a_base_amount():
    assert size(SizingKind.BASE, "0.015") == Size(amount=D("0.015"))


def test_fixed_quote_amount_passes_through_as_a_quote_amount():
    assert size(SizingKind.QUOTE, "1000") == Size(quote_amount=D(1000))


@pytest.mark.parametrize(("pct", "quote"), [("25", D(2000)), ("100", D(8000)), ("0.5", D(40))])
def test_share_of_buying_power_is_that_percentage_of_the_free_quote(pct, quote):
    assert size(SizingKind.BUYING_POWER, pct) == Size(quote_amount=quote)


def test_fixed_sizes_ignore_the_account_and_the_stop():
    sized = size(SizingKind.QUOTE, "1000", buying_power=D(0), equity=D(0), stop=None)
    assert sized == Size(quote_amount=D(1000))


def test_risk_sizing_is_equity_times_risk_over_the_distance_to_the_stop():
    # 1 % of 10000 is 100 to lose; 1300 from 65000 down to 63700 per BTC: 100 / 1300 BTC.
    assert size(SizingKind.RISK, "1") == Size(amount=D(100) / D(1300))


def test_risk_sizing_loses_exactly_the_risk_if_the_stop_fills():
    amount = size(SizingKind.RISK, "2", price=D(100), stop=D(95)).amount
    assert amount == D(40)
    assert amount * (D(100) - D(95)) == D(200)  # 2 % of 10000


def test_risk_sizing_of_a_short_uses_the_distance_up_to_its_stop():
    assert size(SizingKind.RISK, "1", price=D(100), stop=D(104)) == Size(amount=D(25))


@given(
    risk=st.decimals(min_value=D("0.01"), max_value=D(10), places=2),
    price=st.decimals(min_value=D("0.0001"), max_value=D(100000), places=4),
    distance_share=st.decimals(min_value=D("0.001"), max_value=D("0.99"), places=3),
)
def test_risk_sized_loss_at_the_stop_is_the_risked_share_of_equity(risk, price, distance_share):
    stop = price - price * distance_share  # exact: few enough digits for Decimal's 28
    amount = size(SizingKind.RISK, str(risk), price=price, stop=stop).amount
    loss = amount * (price - stop)
    assert abs(loss - D(10000) * risk / 100) < D("1E-20")


@pytest.mark.parametrize(
    ("sizing", "problem"),
    [
        (Sizing(SizingKind.BASE, D(0)), "The size must be greater than zero."),
        (Sizing(SizingKind.QUOTE, D(-5)), "The size must be greater than zero."),
        (Sizing(SizingKind.BUYING_POWER, D(0)), "The size must be greater than zero."),
        (Sizing(SizingKind.RISK, D("-0.5")), "The size must be greater than zero."),
        (Sizing(SizingKind.BUYING_POWER, D("100.01")), "At most 100 % of buying power."),
        (
            Sizing(SizingKind.RISK, D("10.01")),
            "Risking more than 10 % of equity on one trade is refused.",
        ),
    ],
)
def test_sizing_out_of_bounds_is_refused_with_its_reason(sizing, problem):
    assert sizing_problem(sizing) == problem
    with pytest.raises(SizingError, match=problem.replace(".", r"\.")):
        size_entry(sizing, **ACCOUNT)


@pytest.mark.parametrize(
    "sizing",
    [
        Sizing(SizingKind.BASE, D("0.00000001")),
        Sizing(SizingKind.QUOTE, D(1000000)),
        Sizing(SizingKind.BUYING_POWER, D(100)),
        Sizing(SizingKind.RISK, D(10)),
    ],
)
def test_sizing_at_its_bounds_is_fine(sizing):
    assert sizing_problem(sizing) == ""


@pytest.mark.parametrize(
    ("kind", "account", "message"),
    [
        (
            SizingKind.RISK,
            {"stop": None},
            "Risk-based sizing needs an initial stop with a price.",
        ),
        (
            SizingKind.RISK,
            {"stop": D(65000)},
            "The initial stop is at the entry price; the risk cannot be sized.",
        ),
        (SizingKind.RISK, {"equity": D(0)}, "The account has no equity to risk."),
        (SizingKind.RISK, {"equity": D(-1)}, "The account has no equity to risk."),
        (
            SizingKind.BUYING_POWER,
            {"buying_power": D(0)},
            "There is no buying power to take a share of.",
        ),
        (
            SizingKind.BUYING_POWER,
            {"buying_power": D("-0.01")},
            "There is no buying power to take a share of.",
        ),
    ],
)
def test_sizing_the_account_cannot_support_is_refused(kind, account, message):
    with pytest.raises(SizingError) as raised:
        size(kind, "1", **account)
    assert str(raised.value) == message


def test_sizing_error_is_a_value_error_a_view_can_show():
    assert issubclass(SizingError, ValueError)


@pytest.mark.parametrize(
    ("sizing", "label"),
    [
        (Sizing(SizingKind.BASE, D("0.0150")), "0.015 base"),
        (Sizing(SizingKind.QUOTE, D("1000")), "1000 quote"),
        (Sizing(SizingKind.BUYING_POWER, D("25.0")), "25 % of buying power"),
        (Sizing(SizingKind.RISK, D("1.5")), "risk 1.5 % of equity"),
    ],
)
def test_sizing_reads_as_the_trader_typed_it(sizing, label):
    assert sizing.label == label
