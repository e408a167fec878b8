"""A ticket's whole life on the paper exchange: activate, entry (which opens its position),
exits on the position, fills, PnL, events."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from apps.exchanges.models import PaperOrder
from apps.exchanges.paper.services import set_price
from apps.positions.models import Order, PositionGroup
from apps.positions.services import sync_orders
from apps.tickets.models import Trade
from apps.tickets.selectors import timeline
from apps.tickets.services import (
    TicketError,
    activate_ticket,
    cancel_trade,
    close_trade,
    evaluate_rules,
    save_ticket,
)
from tests.client_ids import client_id
from tests.tickets.conftest import BTC, STOP_2_PCT, TAKE_3_PCT, TRAIL_1_5_PCT, ticket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def desk_side_stops(settings):
    """These are the desk's own rules, the second line behind a resting stop: with stops
    resting on the exchange, the paper exchange would fill them before the rules loop looks
    (that is tests/positions/test_resting_stops.py)."""
    settings.RESTING_STOPS = False


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run a service and the work it enqueues on commit (order sends), as a worker would."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def price(value: str) -> None:
    set_price(symbol=BTC, price=Decimal(value))


def tick(on_commit):
    return on_commit(evaluate_rules, now=timezone.now())


def kinds(trade: Trade) -> list[str]:
    """The trade's story: its own events and its position's, oldest first."""
    return [event.kind for event in timeline(trade).events]


def orders_of(trade: Trade):
    return Order.objects.filter(group__trade=trade)


def activate(on_commit, account, **kw):
    return on_commit(
        activate_ticket,
        user=account.owner,
        ticket=ticket(account, **kw),
        trade=None,
        now=timezone.now(),
    )


def test_immediate_entry_then_take_profit_closes_with_realised_pnl(paper, on_commit):
    activation = activate(
        on_commit, paper, initial_stop=STOP_2_PCT, trailing_stop=None, take_profit=TAKE_3_PCT
    )
    assert activation.ok, activation.plan.problems
    trade = activation.trade
    assert trade.status == Trade.Status.PENDING

    tick(on_commit)  # the immediate entry fires; the paper market order fills at once
    trade.refresh_from_db()
    position = trade.position
    entry = orders_of(trade).get()
    assert (entry.purpose, entry.status, entry.client_order_id) == (
        Order.Purpose.ENTRY,
        Order.Status.FILLED,
        client_id(position.pk, "p1l1"),
    )
    assert entry.amount == Decimal("0.01538")  # 1000 USDT / 65000, down to the 0.00001 step
    assert trade.status == Trade.Status.OPEN
    assert (position.status, position.tp_mode, position.timeframe) == ("open", "rules", "")
    assert position.average_entry == Decimal("65000")
    assert position.quantity == entry.amount - entry.fee_cost  # the buy's fee is paid in BTC
    assert set(position.exit_rules) == {"initial_stop", "take_profit"}

    price("66000.00")  # +1.5 %: take profit not met yet
    tick(on_commit)
    position.refresh_from_db()
    assert position.status == PositionGroup.Status.OPEN
    assert position.rule_state["take_profit"]["outcome"] == "not met"

    price("67000.00")  # +3.08 %
    tick(on_commit)
    trade.refresh_from_db()
    position.refresh_from_db()
    exit_order = orders_of(trade).get(purpose=Order.Purpose.TAKE_PROFIT)
    assert exit_order.status == Order.Status.FILLED
    assert exit_order.amount == Decimal("0.01536")  # the 0.0153646 held, down to the step
    assert (trade.status, position.status) == (Trade.Status.CLOSED, PositionGroup.Status.CLOSED)
    assert position.exit_reason == Order.Purpose.TAKE_PROFIT
    proceeds = Decimal("0.01536") * 67000 * (1 - Decimal("0.001"))
    # The cost basis of the 0.01536 sold, of the 0.01536462 held after the fee: the position's
    # cost per unit held.
    held = Decimal("0.01538") * (1 - Decimal("0.001"))
    sold_cost = Decimal("0.01538") * 65000 * Decimal("0.01536") / held
    assert abs(position.realised_pnl - (proceeds - sold_cost)) < Decimal("1e-15")
    assert position.realised_pnl > 0  # +3.08 % less two 0.1 % fees
    assert kinds(trade)[:3] == ["trade.saved", "trade.activated", "trade.entry_triggered"]
    assert {"trade.entry_filled", "trade.take_profit_hit", "position.closed"} <= set(kinds(trade))


def test_initial_stop_sells_when_price_falls_two_percent(paper, on_commit):
    trade = activate(on_commit, paper, initial_stop=STOP_2_PCT).trade
    tick(on_commit)
    price("63800.00")  # -1.85 %
    tick(on_commit)
    trade.refresh_from_db()
    assert trade.status == Trade.Status.OPEN
    price("63700.00")  # exactly -2 %: "at or below"
    tick(on_commit)
    trade.refresh_from_db()
    assert trade.status == Trade.Status.CLOSED
    assert trade.position.exit_reason == Order.Purpose.INITIAL_STOP
    assert trade.position.realised_pnl < 0
    assert "trade.stop_hit" in kinds(trade)
    # The messages quote the market's tick (0.01) and QUOTE_PLACES, signed for the PnL; the
    # events' data keep every digit.
    events = {event.kind: event for event in timeline(trade).events}
    messages = {kind: event.message for kind, event in events.items()}
    assert messages["trade.stop_hit"] == (
        "Initial stop: Last price | is at or below | Entry price | -2 %: met (Last price "
        "63,700.00, threshold 63,700.00); closing the position: selling 0.01536 BTC at market "
        f"(order {client_id(trade.position, 's1')})."
    )
    loss = trade.position.realised_pnl
    assert loss.quantize(Decimal("0.01")) == Decimal("-21.95")
    assert messages["group.sold"] == (
        "Initial stop order filled 0.01536 BTC at 63,700.00 for the position: realised "
        "\u221221.95 USDT."
    )
    assert messages["position.closed"].startswith(
        "Position closed (initial stop): realised \u221221.95 USDT (\u22122.20 %)."
    )
    assert Decimal(events["position.closed"].data["pnl"]) == loss  # exact, not the rounded figure


def test_trailing_stop_follows_the_highest_price(paper, on_commit):
    trade = activate(on_commit, paper, trailing_stop=TRAIL_1_5_PCT).trade
    tick(on_commit)
    price("70000.00")
    tick(on_commit)
    price("69000.00")  # 1.43 % below the high of 70000
    tick(on_commit)
    trade.refresh_from_db()
    assert (trade.status, trade.position.highest) == (Trade.Status.OPEN, Decimal("70000"))
    price("68950.00")  # 1.5 % below 70000
    tick(on_commit)
    trade.refresh_from_db()
    assert trade.status == Trade.Status.CLOSED
    assert trade.position.exit_reason == Order.Purpose.TRAILING_STOP
    assert trade.position.realised_pnl > 0


def test_a_cross_fires_once_and_survives_a_restart(paper, on_commit):
    crosses = {
        "primary": "last",
        "condition": "crosses_above",
        "secondary": "fixed",
        "value": "66000",
    }
    trade = activate(on_commit, paper, entry=crosses).trade
    price("67000.00")
    tick(on_commit)  # first look: above, but it was never seen below; no cross yet
    trade.refresh_from_db()
    assert trade.status == Trade.Status.PENDING
    assert trade.rule_state["entry"]["memory"] == {"primary": "67000", "threshold": "66000"}

    price("65500.00")
    tick(on_commit)
    # A restart loses nothing: the memory is in the database, not in the process.
    price("66500.00")
    tick(on_commit)
    tick(on_commit)
    trade.refresh_from_db()
    assert trade.status == Trade.Status.OPEN
    assert orders_of(trade).filter(purpose=Order.Purpose.ENTRY).count() == 1


def test_cancel_a_pending_trade_and_close_an_open_one_at_market(paper, on_commit):
    waiting = activate(
        on_commit,
        paper,
        entry={"primary": "last", "condition": "above", "secondary": "fixed", "value": "99000"},
    ).trade
    cancelled = on_commit(cancel_trade, trade=waiting, now=timezone.now())
    assert cancelled.status == Trade.Status.CANCELLED
    tick(on_commit)
    assert not orders_of(waiting).exists()

    trade = activate(on_commit, paper).trade
    tick(on_commit)
    trade.refresh_from_db()
    with pytest.raises(TicketError, match="close it at market"):
        cancel_trade(trade=trade, now=timezone.now())
    on_commit(close_trade, trade=trade, now=timezone.now())
    trade.refresh_from_db()
    assert trade.status == Trade.Status.CLOSED
    assert trade.position.exit_reason == Order.Purpose.CLOSE


def test_an_entry_lost_in_transit_is_found_by_its_client_order_id(paper, on_commit):
    """The exchange placed the order but the answer never came: the sync loop finds it by
    its client order id and records the fill; no second order is placed."""
    from apps.exchanges.models import PaperSettings

    PaperSettings.objects.filter(account=paper).update(timeout_after_placing_rate=Decimal(1))
    trade = activate(on_commit, paper).trade
    tick(on_commit)
    entry = orders_of(trade).get()
    assert entry.status == Order.Status.UNKNOWN
    PaperSettings.objects.filter(account=paper).update(timeout_after_placing_rate=Decimal(0))

    on_commit(sync_orders, now=timezone.now())
    entry.refresh_from_db()
    trade.refresh_from_db()
    assert entry.status == Order.Status.FILLED
    assert trade.status == Trade.Status.OPEN
    assert PaperOrder.objects.filter(account=paper).count() == 1


def test_save_then_activate_the_same_trade(paper, on_commit):
    saved = on_commit(save_ticket, user=paper.owner, ticket=ticket(paper))
    assert saved.status == Trade.Status.SAVED
    activation = on_commit(
        activate_ticket,
        user=paper.owner,
        ticket=ticket(paper, take_profit=TAKE_3_PCT),
        trade=saved,
        now=timezone.now(),
    )
    assert activation.ok
    assert activation.trade.pk == saved.pk
    assert activation.trade.revision.number == 1
    assert "take_profit" in activation.trade.revision.rules


def test_an_exit_the_exchange_refuses_leaves_the_trade_in_error_until_closed(paper, on_commit):
    from apps.exchanges.models import PaperBalance

    trade = activate(on_commit, paper, initial_stop=STOP_2_PCT).trade
    tick(on_commit)
    held = PaperBalance.objects.get(account=paper, asset="BTC")
    PaperBalance.objects.filter(pk=held.pk).update(free=0)  # sold elsewhere, behind our back
    price("63000.00")
    tick(on_commit)
    trade.refresh_from_db()
    assert trade.status == Trade.Status.ERROR
    assert trade.position.status == PositionGroup.Status.ERROR
    assert orders_of(trade).get(purpose=Order.Purpose.INITIAL_STOP).status == Order.Status.REJECTED
    assert "exchange.error" in kinds(trade)

    tick(on_commit)  # the rules loop leaves a position in error alone
    assert orders_of(trade).count() == 2

    PaperBalance.objects.filter(pk=held.pk).update(free=held.free)
    on_commit(close_trade, trade=trade, now=timezone.now())
    trade.refresh_from_db()
    assert trade.status == Trade.Status.CLOSED


@pytest.mark.django_db(transaction=True)
def test_the_entrys_fill_pushes_the_tickets_table_with_the_position_held(
    paper, on_commit, monkeypatch
):
    """The Desk's ticket row shows the position's size once the entry fills, not the empty
    position it was when the entry rule fired (the worker sends the order later)."""
    from apps.core import background
    from apps.positions.services import send_order
    from tests.live import Listener
    from tests.tickets.factories import TradeFactory, ticket_entry

    trade = TradeFactory(account=paper, owner=paper.owner, status=Trade.Status.PENDING)
    with monkeypatch.context() as held:  # the worker has not taken the send task yet
        held.setattr(background, "enqueue", lambda *args, **kwargs: None)
        entry = ticket_entry(trade, amount="0.01")  # what the fired entry wrote
    assert entry.status == Order.Status.PENDING
    live = Listener(paper.owner_id)

    on_commit(send_order, order_id=entry.pk, now=timezone.now())  # the worker's send: it fills

    tables = live.pushed('id="trades-table"')
    position = PositionGroup.objects.get(trade=trade)
    assert position.quantity == Decimal("0.01") * (1 - Decimal("0.001"))  # less the fee
    assert len(tables) == 1
    # Held net of the fee paid in BTC, off the step: its digits kept, with the unit.
    assert '<span class="trade-size">0.00999 BTC</span>' in tables[0]
