"""One position engine: a ticket's entry and an entry signal open the same kind of position,
through one gate, one order pipeline and one fill recorder, on the paper exchange."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from apps.exchanges.models import ExchangeAccount
from apps.positions.models import Order, PositionGroup
from apps.risk.models import AccountGuard
from apps.strategies.models import Strategy
from apps.tickets.models import Trade
from apps.tickets.services import activate_ticket, evaluate_rules
from tests.positions.grouping import Desk, signal
from tests.tickets.conftest import BTC, STOP_2_PCT, ticket
from tests.tickets.factories import StrategyFactory, stored_rules

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def desk(django_capture_on_commit_callbacks) -> Desk:
    return Desk(django_capture_on_commit_callbacks)


def one_leg_strategy(owner, **kw) -> Strategy:
    """A strategy that buys 1000 USDT at market in one leg, as a plain ticket does."""
    return StrategyFactory(
        owner=owner, sizing_kind="quote", sizing_value=D("1000"), dca_legs=[], **kw
    )


def activate(desk: Desk, account: ExchangeAccount, **rules) -> Trade:
    activation = desk.run(
        activate_ticket,
        user=account.owner,
        ticket=ticket(account, **rules),
        trade=None,
        now=timezone.now(),
    )
    assert activation.ok, activation.plan.problems
    return activation.trade


def tick(desk: Desk):
    return desk.run(evaluate_rules, now=timezone.now())


def test_a_breached_guard_refuses_a_tickets_entry_with_the_signals_reason(paper, desk):
    """The kill switch is engaged after the ticket was activated: when its entry rule fires,
    the trade is refused with exactly the sentence an entry signal gets, and nothing is
    bought by either."""
    trade = activate(desk, paper)
    strategy = one_leg_strategy(paper.owner)
    AccountGuard.objects.update_or_create(account=paper, defaults={"killed_at": timezone.now()})

    tick(desk)
    outcome = desk.act(paper, strategy, signal())

    trade.refresh_from_db()
    assert trade.status == Trade.Status.REJECTED
    assert outcome.decision == "rejected"
    assert trade.errors["account"] == outcome.reason
    assert outcome.reason.startswith("Kill switch engaged at ")
    assert not Order.objects.filter(account=paper).exists()
    assert not PositionGroup.objects.filter(account=paper).exists()


def test_the_same_fills_give_the_same_pnl_whatever_opened_the_position(paper, desk):
    """A ticket and a signal each buy 1000 USDT of BTC at market at 65000 and close at
    67000: the two positions hold the same quantity at the same cost and realise the same
    PnL, computed once, by the one fill recorder; the figure is checked against a hand
    calculation of the fills."""
    trade = activate(desk, paper)
    tick(desk)  # the immediate entry opens the ticket's position
    strategy = one_leg_strategy(paper.owner)
    opened = desk.act(paper, strategy, signal())
    assert opened.decision == "executed", opened.reason
    from_ticket = PositionGroup.objects.get(trade=trade)
    from_signal = PositionGroup.objects.get(pk=opened.group_id)
    assert (from_ticket.origin, from_signal.origin) == ("ticket", "signal")

    desk.price("67000.00")
    from apps.positions.services import close_group

    for position in (from_ticket, from_signal):
        desk.run(close_group, group=position, now=timezone.now())
    from_ticket.refresh_from_db()
    from_signal.refresh_from_db()

    # By hand: 0.01538 BTC bought at 65000 (the 0.1 % fee paid in BTC), the held 0.01536462
    # sold down to the 0.00001 step at 67000 less the 0.1 % fee paid in USDT; the basis of
    # what was sold is the position's cost per unit held.
    bought, fee_rate = D("0.01538"), D("0.001")
    held = bought * (1 - fee_rate)
    sold = D("0.01536")
    proceeds = sold * 67000 * (1 - fee_rate)
    expected = proceeds - bought * 65000 * sold / held
    for position in (from_ticket, from_signal):
        assert position.status == PositionGroup.Status.CLOSED
        assert position.entry_cost == bought * 65000
        assert position.exit_quantity == sold
        assert abs(position.realised_pnl - expected) < D("1e-15")
    assert from_ticket.realised_pnl == from_signal.realised_pnl
    assert from_ticket.exit_proceeds == from_signal.exit_proceeds
    assert Trade.objects.get(pk=trade.pk).status == Trade.Status.CLOSED


def test_a_strategys_initial_stop_stops_out_a_signal_position(paper, desk):
    """A DCA strategy with an initial stop 2 % below the entry: the signal's position carries
    the stop, and the rules loop sells it all at market when the price falls through it."""
    strategy = StrategyFactory(
        owner=paper.owner,
        sizing_kind="quote",
        sizing_value=D("1000"),
        dca_legs=[
            {"gap_pct": "0", "weight_pct": "50", "tp_pct": "5"},
            {"gap_pct": "5", "weight_pct": "50", "tp_pct": "5"},
        ],
        tp_mode="aggregate",
        group_tp_pct=D("5"),
        rules=stored_rules({"entry": {"primary": "immediately", "condition": "at_market"}})
        | stored_rules({"initial_stop": STOP_2_PCT}),
    )
    opened = desk.act(paper, strategy, signal())
    assert opened.decision == "executed", opened.reason
    position = PositionGroup.objects.get(pk=opened.group_id)
    assert set(position.exit_rules) == {"initial_stop"}

    desk.price("64000.00")  # -1.5 %: above the stop
    tick(desk)
    position.refresh_from_db()
    assert position.status == PositionGroup.Status.OPEN

    # The stop rests on the exchange; the price falls through it and the exchange sells
    # before the desk looks. The rules loop's rule fires too (the second line): its close
    # finds the stop filled and sends nothing more.
    desk.price("63600.00")  # -2.15 % from the 65000 average of the one filled leg
    report = tick(desk)
    assert (position.pk, "initial_stop") in report.fired
    position.refresh_from_db()
    assert position.status == PositionGroup.Status.CLOSED
    assert position.exit_reason == Order.Purpose.INITIAL_STOP
    assert position.quantity < D("0.00001")  # all of it sold, dust below the step aside
    stop = position.orders.get(purpose=Order.Purpose.INITIAL_STOP, protective=True)
    assert (stop.side, stop.status, stop.trigger_price) == ("sell", Order.Status.FILLED, D("63700"))
    desk_sell = position.orders.get(purpose=Order.Purpose.INITIAL_STOP, protective=False)
    assert (desk_sell.status, desk_sell.attempts) == (Order.Status.CANCELLED, 0)
    # The resting leg 5 % lower was cancelled with the close, never bought.
    resting = position.orders.get(leg__index=1)
    assert (resting.status, resting.filled) == (Order.Status.CANCELLED, D(0))
    assert position.realised_pnl < 0


def test_a_tickets_entry_on_a_full_pool_waits_pending_with_the_reason(paper, desk):
    """Every open position counts in the pool: with one slot held by a signal's position, a
    ticket whose entry fires stays Active / Pending, says why, and opens once the slot frees
    (its entry rule still holding)."""
    ExchangeAccount.objects.filter(pk=paper.pk).update(max_open_groups=1)
    strategy = one_leg_strategy(paper.owner)
    held = desk.act(paper, strategy, signal())
    assert held.decision == "executed"
    trade = activate(desk, paper)

    tick(desk)
    tick(desk)  # said once, not every tick
    trade.refresh_from_db()
    assert trade.status == Trade.Status.PENDING
    assert "pool is full (1 of 1 slots used)" in trade.waiting_reason
    assert trade.position_or_none is None
    from apps.core.models import Event

    waiting = Event.objects.filter(subject_type="trades.trade", subject_id=str(trade.pk))
    assert waiting.filter(kind="trade.entry_waiting").count() == 1

    from apps.positions.services import close_group

    desk.run(close_group, group=PositionGroup.objects.get(pk=held.group_id), now=timezone.now())
    tick(desk)
    trade.refresh_from_db()
    assert (trade.status, trade.waiting_reason) == (Trade.Status.OPEN, "")
    assert trade.position.symbol == BTC
