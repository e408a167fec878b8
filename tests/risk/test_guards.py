"""Account guards on the paper exchange: a breached daily loss limit or drawdown blocks
entries until the day rolls over or the operator resumes; exposure per symbol; the circuit
breaker; and the kill switch leaves nothing open on the exchange."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.core.models import Event
from apps.exchanges.domain.types import OrderSide, OrderType
from apps.exchanges.models import ExchangeAccount, PaperBalance, PaperOrder
from apps.exchanges.paper.catalog import catalog_market
from apps.exchanges.paper.services import place_order
from apps.positions.models import Order, PositionGroup
from apps.risk import services
from apps.risk.models import AccountGuard, RiskSettings
from apps.tickets.models import Trade
from apps.tickets.services import activate_ticket, evaluate_rules
from tests.positions.grouping import GRID, signal
from tests.risk.conftest import open_group
from tests.tickets.conftest import ticket

pytestmark = pytest.mark.django_db

D = Decimal


def limits(account, **fields) -> RiskSettings:
    return RiskSettings.objects.create(account=account, **fields)


def test_a_breached_daily_loss_limit_blocks_entries_until_the_day_rolls_over(paper, desk):
    limits(paper, daily_loss_limit_pct=D("2"))
    now = timezone.now().replace(hour=10)
    services.check_guards(account=paper, now=now)  # the day starts at 10000 USDT
    assert services.entry_block(account=paper, symbol="ETH/USDT", now=now) is None

    open_group(desk, paper, "BTC/USDT", "5000")
    desk.price("58500.00")  # BTC -10 %: about -500 USDT, 5 % of the day's equity
    guard = desk.run(services.check_guards, account=paper, now=now)

    assert guard.breach_guard == "daily_loss"
    reason = services.entry_block(account=paper, symbol="ETH/USDT", now=now)
    assert reason.startswith("daily loss limit: down 50")
    assert reason.endswith("the limit is 2 %")
    breached = Event.objects.get(kind="guard.breached")
    assert breached.data["guard"] == "daily_loss" and breached.level == "error"

    tomorrow = now + timedelta(days=1)
    assert services.entry_block(account=paper, symbol="ETH/USDT", now=tomorrow) is None
    guard = desk.run(services.check_guards, account=paper, now=tomorrow)
    assert guard.breach_guard == "" and guard.day == tomorrow.date()
    assert Event.objects.filter(kind="guard.released").count() == 1
    # The new day starts from today's equity: the same price is not a new loss.
    assert desk.run(services.check_guards, account=paper, now=tomorrow).breach_guard == ""


def test_a_drawdown_breach_holds_across_days_until_the_operator_resumes(paper, desk):
    limits(paper, max_drawdown_pct=D("3"))
    now = timezone.now()
    services.check_guards(account=paper, now=now)
    open_group(desk, paper, "BTC/USDT", "5000")
    desk.price("58500.00")
    desk.run(services.check_guards, account=paper, now=now)
    later = now + timedelta(days=2)
    desk.run(services.check_guards, account=paper, now=later)
    reason = services.entry_block(account=paper, symbol="BTC/USDT", now=later)
    assert reason.startswith("maximum drawdown: equity 949")
    assert reason.endswith("% below its peak of 10000 USDT, the limit is 3 %")

    desk.run(services.resume, account=paper, now=later)

    assert services.entry_block(account=paper, symbol="BTC/USDT", now=later) is None
    guard = AccountGuard.objects.get(account=paper)
    assert guard.peak_equity == guard.equity  # measured again from now
    assert Event.objects.get(kind="account.resumed").data["released"] == [reason]
    # Not breached again at the same equity.
    assert desk.run(services.check_guards, account=paper, now=later).breach_guard == ""


def test_a_breached_guard_is_a_banner_on_every_page(client, paper, desk):
    limits(paper, daily_loss_limit=D("100"))
    now = timezone.now()
    services.check_guards(account=paper, now=now)
    open_group(desk, paper, "BTC/USDT", "5000")
    desk.price("58500.00")
    desk.run(services.check_guards, account=paper, now=now)
    client.force_login(paper.owner)
    for path in ["/", "/positions/", "/signals/", "/risk/"]:
        html = client.get(path).content.decode()
        assert 'id="guard-banner"' in html
        assert "daily loss limit: down" in html.split('id="guard-banner"')[1].split("</div>")[0]


def test_no_banner_without_a_breach(client, paper):
    client.force_login(paper.owner)
    html = client.get("/").content.decode()
    assert '<div id="guard-banner" role="alert" hidden>' in html


def test_exposure_per_symbol_blocks_that_symbol_only(paper, desk):
    limits(paper, max_symbol_exposure_pct=D("30"))
    open_group(desk, paper, "BTC/USDT", "4000")
    desk.run(services.check_guards, account=paper, now=timezone.now())
    now = timezone.now()
    reason = services.entry_block(account=paper, symbol="BTC/USDT", now=now)
    assert reason.startswith("maximum exposure: BTC/USDT positions are worth 399")
    assert services.entry_block(account=paper, symbol="ETH/USDT", now=now) is None
    assert list(AccountGuard.objects.get(account=paper).exposure) == ["BTC/USDT"]


def test_the_circuit_breaker_pauses_entries_after_consecutive_errors_for_the_cool_down(paper):
    limits(paper, breaker_errors=3, breaker_window_minutes=5, breaker_cooldown_minutes=15)
    now = timezone.now()
    services.record_exchange_error(account_id=paper.pk, error="RequestTimedOut", now=now)
    services.record_exchange_error(account_id=paper.pk, error="RequestTimedOut", now=now)
    services.record_exchange_success(account_id=paper.pk)  # the streak is broken
    services.record_exchange_error(account_id=paper.pk, error="RateLimited", now=now)
    services.record_exchange_error(account_id=paper.pk, error="RateLimited", now=now)
    assert services.entry_block(account=paper, symbol="BTC/USDT", now=now) is None
    assert services.record_exchange_error(account_id=paper.pk, error="RateLimited", now=now)

    reason = services.entry_block(account=paper, symbol="BTC/USDT", now=now)
    assert reason.startswith("circuit breaker: 3 exchange errors in a row")
    assert "(last: RateLimited)" in reason
    assert (
        services.entry_block(account=paper, symbol="BTC/USDT", now=now + timedelta(minutes=16))
        is None
    )


def test_refused_orders_count_against_the_breaker_through_their_events(paper, desk):
    limits(paper, breaker_errors=2)
    from apps.positions.services import act_on_signal
    from tests.positions.grouping import grid_strategy

    strategy = grid_strategy(paper.owner, legs=[])
    for timeframe in ("15", "60"):  # 1 BTC is far more than the 10000 USDT held: refused
        desk.run(
            act_on_signal,
            account=paper,
            strategy=strategy,
            order=signal(timeframe=timeframe, quantity="1"),
            signal_id=None,
            now=timezone.now(),
        )
    assert Event.objects.filter(kind="exchange.error", account=paper).count() == 2
    reason = services.entry_block(account=paper, symbol="ETH/USDT", now=timezone.now())
    assert reason.startswith("circuit breaker: 2 exchange errors in a row")


def test_the_kill_switch_leaves_no_open_order_and_no_open_position(paper, desk):
    grid = open_group(desk, paper, "BTC/USDT", "1000", legs=GRID)  # leg 0 filled, 2 resting
    single = open_group(desk, paper, "ETH/USDT", "1000")
    trade = desk.run(
        activate_ticket, user=paper.owner, ticket=ticket(paper), trade=None, now=timezone.now()
    ).trade
    desk.run(evaluate_rules, now=timezone.now())
    trade = Trade.objects.get(pk=trade.pk)
    assert trade.status == "open"
    waits = {"primary": "last", "condition": "above", "secondary": "fixed", "value": "99000"}
    waiting = desk.run(
        activate_ticket,
        user=paper.owner,
        ticket=ticket(paper, entry=waits),
        trade=None,
        now=timezone.now(),
    ).trade
    # An order the desk did not place (by hand on the exchange, say).
    rules = catalog_market("SOL/USDT").rules
    place_order(
        account=paper,
        market=rules,
        side=OrderSide.BUY,
        type=OrderType.LIMIT,
        amount=D("1"),
        price=D("100"),
        client_order_id="manual1",
        last=D("150"),
        now=timezone.now(),
    )
    assert PaperOrder.objects.filter(account=paper, status="open").count() == 3

    done = desk.run(services.engage, account=paper, now=timezone.now())

    # Every position in the pool closes, the ticket's included; a ticket still waiting for its
    # entry is cancelled.
    assert sorted(done.groups_closed) == sorted([grid.pk, single.pk, trade.position.pk])
    assert done.legs_cancelled == 2 and done.trades_cancelled == [waiting.pk]
    assert done.foreign_cancelled == ["manual1"]
    assert not PaperOrder.objects.filter(account=paper, status="open").exists()
    assert set(PositionGroup.objects.filter(account=paper).values_list("status", flat=True)) == {
        "closed"
    }
    assert Trade.objects.get(pk=trade.pk).status == "closed"
    assert PositionGroup.objects.get(trade=trade).exit_reason == Order.Purpose.KILL_SWITCH
    assert Trade.objects.get(pk=waiting.pk).status == "cancelled"
    assert not Order.objects.filter(group__trade=waiting).exists()
    # What is left of each coin is dust below the step: nothing that could be sold.
    for balance in PaperBalance.objects.filter(account=paper).exclude(asset="USDT"):
        step = catalog_market(f"{balance.asset}/USDT").rules.step_size
        assert balance.free + balance.used < step, balance.asset
    paper.refresh_from_db()
    assert paper.is_active is False
    event = Event.objects.get(kind="account.kill_switch")
    assert event.data["legs_cancelled"] == 2 and event.level == "error"
    assert services.entry_block(account=paper, symbol="BTC/USDT", now=timezone.now()).startswith(
        "kill switch engaged"
    )

    desk.run(services.resume, account=paper, now=timezone.now())
    assert ExchangeAccount.objects.get(pk=paper.pk).is_active is True
    assert services.entry_block(account=paper, symbol="BTC/USDT", now=timezone.now()) is None


def test_the_loop_keeps_a_killed_account_flat(paper, desk):
    desk.run(services.engage, account=paper, now=timezone.now())
    # An entry that was in flight when the switch was thrown fills afterwards.
    late = open_group_on_paused(desk, paper)
    report = desk.run(services.risk_tick, now=timezone.now())
    assert report.swept == [paper.pk]
    assert PositionGroup.objects.get(pk=late.pk).status == "closed"


def open_group_on_paused(desk, account):
    """An entry that passed its checks just before the switch was thrown: opened with the
    account briefly unpaused and unkilled, then both put back."""
    guard = AccountGuard.objects.get(account=account)
    killed_at = guard.killed_at
    AccountGuard.objects.filter(pk=guard.pk).update(killed_at=None)
    ExchangeAccount.objects.filter(pk=account.pk).update(is_active=True)
    account.refresh_from_db()
    group = open_group(desk, account, "SOL/USDT", "500")
    ExchangeAccount.objects.filter(pk=account.pk).update(is_active=False)
    AccountGuard.objects.filter(pk=guard.pk).update(killed_at=killed_at)
    return group


def test_a_breached_guard_rejects_entry_signals_and_pyramid_adds_with_its_reason(paper, desk):
    limits(paper, daily_loss_limit_pct=D("2"))
    services.check_guards(account=paper, now=timezone.now())
    btc = open_group(desk, paper, "BTC/USDT", "5000", limit=3)
    desk.price("58500.00")
    desk.run(services.check_guards, account=paper, now=timezone.now())
    strategy = btc.strategy

    add = desk.act(paper, strategy, signal(symbol="BTC/USDT"))
    entry = desk.act(paper, strategy, signal(symbol="ETH/USDT"))

    for outcome in (add, entry):
        assert outcome.decision == "rejected"
        assert outcome.reason.startswith("Daily loss limit: down 50")
    assert btc.pyramids.count() == 1
    assert not PositionGroup.objects.filter(symbol="ETH/USDT").exists()
    # An exit is never blocked: it reduces the risk.
    assert desk.act(paper, strategy, signal("exit", symbol="BTC/USDT")).decision == "executed"
