"""One trade, order, group or account that breaks is skipped and reported; each trades loop goes on
for the others in the same tick, and /readyz shows the loop degraded."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from apps.core.models import Event, LoopTick
from apps.exchanges.models import ExchangeAccount, Market, PaperSettings
from apps.exchanges.paper.services import open_paper_account, set_price
from apps.exchanges.services import refresh_balances, refresh_markets
from apps.positions.models import Order, PositionGroup
from apps.positions.services.loops import order_sync_loop, take_profit_loop
from apps.tickets.models import CandleValue, Trade, TradeRevision
from apps.tickets.services import activate_ticket
from apps.tickets.services.loops import market_data_loop, rules_loop
from tests.exchanges.factories import ExchangeAccountFactory
from tests.positions.grouping import Desk, grid_strategy, signal
from tests.tickets.bulk import running_trades
from tests.tickets.conftest import BTC, ticket
from tests.tickets.test_indicator_cache import EMA_CROSS

pytestmark = pytest.mark.django_db

ETH = "ETH/USDT"
# A fault rate that is not a number: every call of that account's paper exchange raises
# decimal.InvalidOperation (not one of our exchange errors) before it does anything.
HOSTILE_FAULTS = {"RateLimited": "NaN"}


def paper_account() -> ExchangeAccount:
    account = ExchangeAccountFactory(kind="paper", quote_currency="USDT")
    open_paper_account(account=account, initial_balance=Decimal("10000"))
    now = timezone.now()
    refresh_markets(account=account, now=now)
    refresh_balances(account=account, now=now)
    return account


def make_hostile(account: ExchangeAccount) -> None:
    PaperSettings.objects.filter(account=account).update(error_rates=HOSTILE_FAULTS)


def trades_of(account: ExchangeAccount, *, symbol: str = BTC, price: str) -> tuple[Trade, Trade]:
    """One trade waiting for its entry and one open whose position was bought at `price` (its
    stop fires 20 % below)."""
    running_trades(account, 2, symbol=symbol, price=Decimal(price))
    pending, open_ = Trade.objects.filter(account=account).order_by("-pk")[:2][::-1]
    assert (pending.status, open_.status) == (Trade.Status.PENDING, Trade.Status.OPEN)
    assert open_.position.average_entry == Decimal(price)
    return pending, open_


def failures(loop: str) -> dict[str, Event]:
    return {
        event.data["item"]: event
        for event in Event.objects.filter(kind="loop.item_failed", data__loop=loop)
    }


def test_the_rules_loop_skips_a_hostile_account_a_broken_rule_and_a_failing_exit(client, paper):
    set_price(symbol=BTC, price=Decimal("65000.00"))
    set_price(symbol=ETH, price=Decimal("3400.00"))
    hostile = paper_account()
    hostile_pending, hostile_open = trades_of(hostile, price="90000")
    make_hostile(hostile)
    waiting, stopped = trades_of(paper, price="90000")
    # A ticket saved before values were bounded: its stored entry value no catalog can read.
    broken, _ = trades_of(paper, price="65000")
    break_rules_of(broken)
    # An open trade whose market row is gone: its stop fires, but no exit can be written.
    _, orphan = trades_of(paper, symbol=ETH, price="9000")
    Market.objects.filter(account=paper, symbol=ETH).delete()

    assert rules_loop() is True

    # The healthy account's other trades were evaluated and its stop acted on.
    waiting.refresh_from_db()
    assert waiting.last_price == Decimal("65000")
    assert waiting.rule_state["entry"]["outcome"] == "not met"
    assert Order.objects.filter(group__trade=stopped, purpose=Order.Purpose.INITIAL_STOP).exists()
    # The hostile account's tickets and positions were left as they were, and so was the
    # broken ticket.
    for row in (hostile_pending, hostile_open.position, broken):
        before = (row.last_price, row.rule_state)
        row.refresh_from_db()
        assert (row.last_price, row.rule_state) == before
    # The orphan's position was priced with the others; only its exit could not be written.
    orphan = orphan.position
    orphan.refresh_from_db()
    assert orphan.last_price == Decimal("3400")
    assert orphan.rule_state["initial_stop"]["outcome"] == "fired"
    assert orphan.status == PositionGroup.Status.OPEN
    assert not Order.objects.filter(group=orphan).exists()

    failed = failures("trades.rules")
    assert set(failed) == {
        f"ExchangeAccount {hostile.pk}",
        f"Trade {broken.pk}",
        f"PositionGroup {orphan.pk}",
    }
    assert failed[f"ExchangeAccount {hostile.pk}"].account == hostile
    assert failed[f"ExchangeAccount {hostile.pk}"].user == hostile.owner
    assert "InvalidOperation" in failed[f"ExchangeAccount {hostile.pk}"].message
    assert "InvalidRule" in failed[f"Trade {broken.pk}"].message
    assert failed[f"Trade {broken.pk}"].account == paper
    assert "DoesNotExist" in failed[f"PositionGroup {orphan.pk}"].message
    assert failed[f"PositionGroup {orphan.pk}"].account == paper

    error = LoopTick.objects.get(name="trades.rules").last_error
    assert error.startswith("3 failed this tick (the others went on)")
    assert f"ExchangeAccount {hostile.pk}: InvalidOperation" in error
    report = client.get("/readyz").json()
    assert report["status"] == "degraded"
    assert f"Trade {broken.pk}" in report["loops"]["trades.rules"]["error"]


def test_a_rules_tick_without_failures_clears_the_loop_error(paper):
    trades_of(paper, price="65000")
    set_price(symbol=BTC, price=Decimal("65000.00"))
    LoopTick.objects.create(name="trades.rules", last_started_at=timezone.now(), last_error="x")

    assert rules_loop() is True

    assert LoopTick.objects.get(name="trades.rules").last_error == ""
    assert not Event.objects.filter(kind="loop.item_failed").exists()


def break_rules_of(trade: Trade) -> None:
    """Store an entry value no catalog can read, as a ticket saved before values were bounded."""
    rules = trade.revision.rules
    TradeRevision.objects.filter(pk=trade.revision_id).update(
        rules={**rules, "entry": {**rules["entry"], "value": "1e999999999"}}
    )


# --- Order sync -------------------------------------------------------------------------------


@pytest.fixture
def desk(django_capture_on_commit_callbacks) -> Desk:
    return Desk(django_capture_on_commit_callbacks)


def test_the_order_sync_loop_skips_the_orders_of_a_hostile_account_and_records_the_rest(
    paper, desk
):
    hostile = paper_account()
    resting = {}
    for account in (paper, hostile):
        group_id = desk.act(account, grid_strategy(account.owner), signal()).group_id
        # The second leg, 2 % below the entry (the third rests 4 % below).
        resting[account] = Order.objects.filter(group_id=group_id, status=Order.Status.OPEN).latest(
            "price"
        )
    make_hostile(hostile)
    desk.price("63700.00")  # both accounts' second legs fill on the paper book

    assert order_sync_loop() is True

    healthy_leg, hostile_leg = resting[paper], resting[hostile]
    healthy_leg.refresh_from_db()
    hostile_leg.refresh_from_db()
    assert healthy_leg.status == Order.Status.FILLED
    assert hostile_leg.status == Order.Status.OPEN  # not synced this tick
    failed = failures("trades.sync_orders")
    # Every live order of the hostile account failed, and only those.
    hostile_orders = Order.objects.filter(account=hostile, status=Order.Status.OPEN)
    assert set(failed) == {f"Order {pk}" for pk in hostile_orders.values_list("pk", flat=True)}
    assert len(failed) == 2
    assert (failed[f"Order {hostile_leg.pk}"].account, failed[f"Order {hostile_leg.pk}"].user) == (
        hostile,
        hostile.owner,
    )
    error = LoopTick.objects.get(name="trades.sync_orders").last_error
    assert error.startswith("2 failed this tick")
    assert f"Order {hostile_leg.pk}: InvalidOperation" in error


# --- Take profit ------------------------------------------------------------------------------


def test_the_take_profit_loop_skips_a_hostile_account_and_a_group_it_cannot_decide_on(paper, desk):
    hostile = paper_account()
    healthy = desk.act(paper, grid_strategy(paper.owner), signal()).group_id
    undecidable = desk.act(paper, grid_strategy(paper.owner), signal(timeframe="60")).group_id
    hostile_group = desk.act(hostile, grid_strategy(hostile.owner), signal()).group_id
    make_hostile(hostile)
    # A mode the domain does not know, stored bypassing the strategy form.
    PositionGroup.objects.filter(pk=undecidable).update(tp_mode="moonshot")
    desk.price("66300.00")  # 2 % above the 65000 entry: every aggregate target is reached

    assert take_profit_loop() is True

    healthy_sells = Order.objects.filter(group_id=healthy, side="sell")
    assert healthy_sells.get().purpose == Order.Purpose.GROUP_TAKE_PROFIT
    assert not Order.objects.filter(group_id__in=[undecidable, hostile_group], side="sell")
    failed = failures("trades.take_profit")
    assert set(failed) == {f"ExchangeAccount {hostile.pk}", f"PositionGroup {undecidable}"}
    assert failed[f"PositionGroup {undecidable}"].account == paper
    assert "moonshot" in failed[f"PositionGroup {undecidable}"].message
    error = LoopTick.objects.get(name="trades.take_profit").last_error
    assert error.startswith("2 failed this tick")


# --- Market data ------------------------------------------------------------------------------


def test_the_market_data_loop_skips_a_hostile_account_and_a_broken_trade(paper):
    hostile = paper_account()
    for account in (paper, hostile):
        activate_ticket(
            user=account.owner,
            ticket=ticket(account, entry=EMA_CROSS),
            trade=None,
            now=timezone.now(),
        )
    broken, _ = trades_of(paper, price="65000")
    break_rules_of(broken)
    make_hostile(hostile)
    CandleValue.objects.all().delete()

    assert market_data_loop() is True

    assert CandleValue.objects.filter(account=paper, source="ema", timeframe="15m").exists()
    assert not CandleValue.objects.filter(account=hostile).exists()
    failed = failures("trades.market_data")
    series = str((hostile.pk, BTC, "15m"))
    assert set(failed) == {series, f"Trade {broken.pk}"}
    assert (failed[series].account, failed[f"Trade {broken.pk}"].account) == (hostile, paper)
    error = LoopTick.objects.get(name="trades.market_data").last_error
    assert error.startswith("2 failed this tick")
    assert f"Trade {broken.pk}: InvalidRule" in error
