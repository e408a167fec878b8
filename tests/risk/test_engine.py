"""The risk engine on the paper exchange: one loser and three winners, a winner that closes
between selection and execution, a price that moves, Skip once, Block, and the timer reset a
replacement signal causes."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.utils import timezone

from apps.core.models import Event
from apps.exchanges.models import PaperOrder
from apps.positions.models import Order, PositionGroup, Pyramid
from apps.positions.services import close_group
from apps.risk import services
from apps.risk.models import GroupRisk, RiskAction
from tests.client_ids import client_id
from tests.positions.grouping import signal
from tests.risk.conftest import engine_on, open_group

pytestmark = pytest.mark.django_db

D = Decimal
FEE = D("0.001")


def stored(value: Decimal) -> Decimal:
    return value.quantize(D("1E-18"), rounding=ROUND_HALF_UP)


@pytest.fixture
def book(paper, desk):
    """ETH 3000 USDT (the loser to be), BTC, LTC and SOL 1000 USDT each (winners to be)."""
    groups = {
        "ETH": open_group(desk, paper, "ETH/USDT", "3000"),
        "BTC": open_group(desk, paper, "BTC/USDT", "1000"),
        "LTC": open_group(desk, paper, "LTC/USDT", "1000"),
        "SOL": open_group(desk, paper, "SOL/USDT", "1000"),
    }
    # ETH -8 %; BTC +10 %, LTC +7.5 %, SOL +7 %.
    for symbol, price in [("ETH", "2944"), ("BTC", "71500"), ("LTC", "86"), ("SOL", "160.5")]:
        desk.price(price, f"{symbol}/USDT")
    return groups


def risk_sells(group: PositionGroup) -> list[Order]:
    return list(group.orders.filter(purpose=Order.Purpose.RISK).order_by("pk"))


def test_one_loser_three_winners_partly_closed_for_the_right_quantities_and_pnl_adds_up(
    paper, desk, book
):
    engine_on(paper)
    before = {k: PositionGroup.objects.get(pk=g.pk) for k, g in book.items()}
    assert before["ETH"].quantity == D("0.9365625")  # 0.9375 bought, the fee paid in ETH

    action = desk.run(services.run, account=paper, now=timezone.now(), trigger="loop")

    assert action.status == RiskAction.Status.EXECUTED
    assert action.required == D("239.76")  # 0.9365625 × (3200 − 2944)
    assert action.covered == D("239.757")
    sold = {k: risk_sells(g) for k, g in book.items()}
    # Most profitable first, each just enough for what is still uncovered, down to the step.
    assert [(o.amount, o.status, o.average) for o in sold["BTC"]] == [
        (D("0.01536"), "filled", D("71500"))
    ]
    assert [(o.amount, o.average) for o in sold["LTC"]] == [(D("12.487"), D("86"))]
    assert [(o.amount, o.average) for o in sold["SOL"]] == [(D("6.19"), D("160.5"))]
    assert [(o.amount, o.average) for o in sold["ETH"]] == [(D("0.9365"), D("2944"))]
    winners = action.calculation["winners"]
    assert [(D(w["quantity"]), D(w["realised"])) for w in winners] == [
        (D("0.01536"), D("99.84")),
        (D("12.487"), D("74.922")),
        (D("6.19"), D("64.995")),
    ]
    assert [o["client_order_id"] for o in action.calculation["orders"]] == [
        client_id(book["BTC"].pk, "r1"),
        client_id(book["LTC"].pk, "r1"),
        client_id(book["SOL"].pk, "r1"),
        client_id(book["ETH"].pk, "r1"),
    ]

    after = {k: PositionGroup.objects.get(pk=g.pk) for k, g in book.items()}
    assert after["ETH"].status == PositionGroup.Status.CLOSED
    assert after["ETH"].exit_reason == "risk"
    assert after["SOL"].status == PositionGroup.Status.OPEN  # partly closed
    assert after["SOL"].quantity == D("6.659334") - D("6.19")
    # Booked PnL: proceeds net of the taker fee, less the cost basis of what was sold.
    prices = {"ETH": D("2944"), "BTC": D("71500"), "LTC": D("86"), "SOL": D("160.5")}
    booked, fee_bound = {}, D(0)
    for key, orders in sold.items():
        amount = orders[0].amount
        basis = before[key].open_cost * amount / before[key].quantity
        booked[key] = stored(amount * prices[key] * (1 - FEE) - basis)
        assert after[key].realised_pnl == booked[key], key
        # Fees: the sell's, and the buy's share in the basis (it was paid in the base coin).
        fee_bound += FEE * (amount * prices[key] + basis)
    # The winners' gains pay for the loser's loss: gross, the plan's covered against its
    # required (a wash but for the step); booked, that less the fees of the four round trips.
    winners_pnl = booked["BTC"] + booked["LTC"] + booked["SOL"]
    assert winners_pnl < action.covered
    gross = action.covered - action.required
    assert gross == D("-0.003")
    net = winners_pnl + booked["ETH"]
    assert gross - fee_bound <= net < gross
    event = Event.objects.get(kind="risk.action")
    # Prices on each market's tick, amounts on its step, quote values to 2 places with the
    # unit, the PnL % to 2 places; the data keep the exact figures (74.922 realised by LTC).
    assert event.message.startswith(
        f"Risk action #{action.pk}: ETH/USDT 15m long #{book['ETH'].pk} at \u22128.00 % needs "
        f"239.76 USDT. Winners: BTC/USDT 15m long #{book['BTC'].pk} 0.01536 at 71,500.00 "
        f"realises 99.84 USDT; LTC/USDT 15m long #{book['LTC'].pk} 12.487 at 86.00 realises "
        f"74.92 USDT; SOL/USDT 15m long #{book['SOL'].pk} 6.190 at 160.50 realises 65.00 USDT."
    )
    closing = Event.objects.get(kind="risk.winner_closing", subject_id=str(book["LTC"].pk))
    assert "selling 12.487 LTC of this winner" in closing.message
    assert "to realise about 74.92 USDT" in closing.message
    assert D(closing.data["realised"]) == D("74.922")
    assert D(event.data["required"]) == D("239.76") and event.account_id == paper.pk
    assert "ETH/USDT 15m long" in event.message and "skipped" not in event.message
    assert not PaperOrder.objects.filter(account=paper, status="open").exists()


def test_a_winner_that_closes_between_selection_and_execution_is_left_out_and_the_rest_adapt(
    paper, desk, book
):
    engine_on(paper)
    seen = services.preview(account=paper, now=timezone.now())
    assert seen.selection.plan.slices[0].group_id == book["BTC"].pk
    expected = seen.selection.plan.to_dict()

    desk.run(close_group, group=book["BTC"], now=timezone.now())  # the trader closes it

    action = desk.run(services.run, account=paper, now=timezone.now(), expected=expected)
    assert action.status == RiskAction.Status.EXECUTED
    assert risk_sells(book["BTC"]) == []
    assert [o.amount for o in risk_sells(book["LTC"])] == [D("12.487")]
    assert [o.amount for o in risk_sells(book["SOL"])] == [D("6.659")]  # all it holds now
    assert action.covered == D("74.922") + D("6.659") * D("10.5")  # partial offset
    assert action.covered < action.required
    changes = action.calculation["changes"]
    assert any("BTC/USDT 15m long" in c and "no longer a winner" in c for c in changes)
    assert "Since selection" in action.reason
    assert PositionGroup.objects.get(pk=book["ETH"].pk).status == PositionGroup.Status.CLOSED


def test_a_loser_that_recovers_before_execution_aborts_the_action_with_the_reason(
    paper, desk, book
):
    engine_on(paper)
    expected = services.preview(account=paper, now=timezone.now()).selection.plan.to_dict()
    desk.price("3100", "ETH/USDT")  # -3.12 %: above the -5 % threshold now

    action = desk.run(services.run, account=paper, now=timezone.now(), expected=expected)

    assert action.status == RiskAction.Status.ABORTED
    assert action.reason.startswith("Aborted: ETH/USDT 15m long")
    assert "PnL -3.12 % is short of the -5 % loss threshold" in action.reason
    assert not Order.objects.filter(purpose=Order.Purpose.RISK).exists()
    assert Event.objects.filter(kind="risk.action_aborted").count() == 1


def test_shortfall_policy_skip_does_nothing_on_run_now_and_says_why(paper, desk, book):
    engine_on(paper, shortfall="skip", max_winners=1)
    action = desk.run(services.run, account=paper, now=timezone.now())
    assert action.status == RiskAction.Status.SKIPPED
    assert action.reason == "The winners cover only 99.84 of 239.76 USDT; the policy is to skip."
    assert not Order.objects.filter(purpose=Order.Purpose.RISK).exists()
    # The loop does not record the same refusal every tick.
    assert desk.run(services.run, account=paper, now=timezone.now(), trigger="loop") is None


def test_a_blocked_group_is_neither_loser_nor_winner(paper, desk, book):
    xrp = open_group(desk, paper, "XRP/USDT", "1000")
    desk.price("0.5000", "XRP/USDT")  # -9.1 %: deeper than ETH's -8 %
    engine_on(paper)
    services.set_blocked(group=xrp, blocked=True)
    services.set_blocked(group=book["BTC"], blocked=True)

    action = desk.run(services.run, account=paper, now=timezone.now())

    assert action.loser_id == book["ETH"].pk
    used = [w["group"] for w in action.calculation["winners"]]
    assert book["BTC"].pk not in used and used[0] == book["LTC"].pk
    assert risk_sells(xrp) == [] and risk_sells(book["BTC"]) == []
    assert PositionGroup.objects.get(pk=xrp.pk).status == PositionGroup.Status.OPEN
    row = {r.group.pk: r for r in services.preview(account=paper, now=timezone.now()).rows}
    assert row[xrp.pk].eligibility.reasons == ("blocked",)


def test_skip_once_passes_over_the_loser_once_and_restarts_its_timer(paper, desk, book):
    engine_on(paper, wait_minutes=60)
    long_ago = timezone.now() - timedelta(hours=2)
    Pyramid.objects.filter(group__account=paper).update(created_at=long_ago)
    services.set_skip_once(group=book["ETH"])
    now = timezone.now()

    assert desk.run(services.run, account=paper, now=now, trigger="loop") is None
    control = GroupRisk.objects.get(group=book["ETH"])
    assert control.skip_once is False and control.skipped_at == now
    assert Event.objects.filter(kind="risk.skipped_once", subject_id=str(book["ETH"].pk)).exists()
    rows = {r.group.pk: r for r in services.preview(account=paper, now=now).rows}
    assert rows[book["ETH"].pk].eligibility.reasons == ("timer: 1 h 00 min left",)

    later = now + timedelta(minutes=61)
    action = desk.run(services.run, account=paper, now=later, trigger="loop")
    assert action is not None and action.loser_id == book["ETH"].pk


def test_skip_once_on_a_winner_leaves_it_out_of_the_next_action_only(paper, desk, book):
    engine_on(paper)
    services.set_skip_once(group=book["BTC"])
    action = desk.run(services.run, account=paper, now=timezone.now())
    assert book["BTC"].pk not in [w["group"] for w in action.calculation["winners"]]
    assert GroupRisk.objects.get(group=book["BTC"]).skip_once is False


def test_a_replacement_signal_resets_the_timer(paper, desk, book):
    settings = engine_on(paper, wait_minutes=60)
    Pyramid.objects.filter(group__account=paper).update(
        created_at=timezone.now() - timedelta(hours=2)
    )
    now = timezone.now()
    rows = {r.group.pk: r for r in services.preview(account=paper, now=now).rows}
    assert rows[book["ETH"].pk].eligibility.eligible

    services.reset_timer(position=book["ETH"], now=now - timedelta(minutes=10))

    rows = {r.group.pk: r for r in services.preview(account=paper, now=now).rows}
    assert rows[book["ETH"].pk].eligibility.reasons == ("timer: 50 min 00 s left",)
    assert desk.run(services.run, account=paper, now=now, trigger="loop") is None
    settings.replacement_resets_timer = False
    settings.save()
    rows = {r.group.pk: r for r in services.preview(account=paper, now=now).rows}
    assert rows[book["ETH"].pk].eligibility.eligible


def test_the_engine_leaves_an_account_alone_while_it_is_off(paper, desk, book):
    engine_on(paper).delete()
    report = desk.run(services.risk_tick, now=timezone.now())
    assert report.actions == []
    assert not Order.objects.filter(purpose=Order.Purpose.RISK).exists()


def test_the_loop_acts_when_the_engine_is_on(paper, desk, book):
    engine_on(paper)
    report = desk.run(services.risk_tick, now=timezone.now())
    assert len(report.actions) == 1
    assert RiskAction.objects.get(pk=report.actions[0]).trigger == "loop"
    # The next tick finds nothing more to do: the loser is gone.
    assert desk.run(services.risk_tick, now=timezone.now()).actions == []


def test_an_entry_signal_for_an_open_group_restarts_its_timer(paper, desk):
    eth = open_group(desk, paper, "ETH/USDT", "1000", limit=2)
    assert not GroupRisk.objects.filter(group=eth, timer_reset_at__isnull=False).exists()

    desk.act(paper, eth.strategy, signal(symbol="ETH/USDT"))  # a pyramid add
    first = GroupRisk.objects.get(group=eth).timer_reset_at
    desk.act(paper, eth.strategy, signal(symbol="ETH/USDT"))  # refused at the limit: still resets

    assert first is not None
    assert GroupRisk.objects.get(group=eth).timer_reset_at > first
