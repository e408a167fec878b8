"""The kill switch empties the account's queue (and says so), and Resume says what it will do
before it does it, keeping a breached daily loss limit until the day rolls over unless the
trader explicitly resets the day."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from apps.core.models import Event
from apps.exchanges.models import ExchangeAccount
from apps.positions.models import PositionGroup
from apps.risk import services
from apps.risk.models import AccountGuard, RiskSettings
from apps.trade_queue.models import QueuedSignal
from apps.trade_queue.services import promote_account
from tests.positions.grouping import grid_strategy, signal
from tests.risk.conftest import open_group

pytestmark = pytest.mark.django_db

D = Decimal


def _queue_entry(desk, account, symbol: str) -> QueuedSignal:
    outcome = desk.act(account, grid_strategy(account.owner, legs=[]), signal(symbol=symbol))
    assert outcome.decision == "queued", outcome.reason
    return QueuedSignal.objects.get(account=account, symbol=symbol, status="queued")


@pytest.fixture
def full_pool(paper, desk):
    """A pool of one slot, taken by a BTC group, with an ETH entry waiting in the queue."""
    ExchangeAccount.objects.filter(pk=paper.pk).update(max_open_groups=1)
    paper.refresh_from_db()
    btc = open_group(desk, paper, "BTC/USDT", "1000")
    return btc, _queue_entry(desk, paper, "ETH/USDT")


def _breach_daily_loss(account, desk) -> str:
    RiskSettings.objects.create(account=account, daily_loss_limit_pct=D("2"))
    services.check_guards(account=account, now=timezone.now())
    open_group(desk, account, "SOL/USDT", "5000")
    desk.price("135.00", "SOL/USDT")  # SOL -10 %: about -500 USDT, 5 % of the day
    guard = desk.run(services.check_guards, account=account, now=timezone.now())
    assert guard.breach_guard == "daily_loss"
    return guard.breach_reason


def signal_of(queued) -> str:
    """How prompts name a queued entry: by the signal the trader knows, not the queue row."""
    return f"signal #{queued.signal_id}" if queued.signal_id else "no signal"


def test_the_kill_switch_removes_every_queued_entry_and_lists_them(paper, desk, full_pool):
    _, queued = full_pool

    done = desk.run(services.engage, account=paper, now=timezone.now())

    assert done.queued_removed == [f"ETH/USDT 15m long ({signal_of(queued)})"]
    assert f"1 queued entry removed: ETH/USDT 15m long ({signal_of(queued)})" in done.summary
    queued.refresh_from_db()
    assert queued.status == QueuedSignal.Status.REMOVED
    assert queued.reason.startswith(f"Removed by the kill switch on {paper.label}")
    event = Event.objects.get(kind="account.kill_switch")
    assert event.data["queued_removed"] == done.queued_removed
    assert "1 queued entry removed" in event.message


def test_nothing_queued_before_the_kill_switch_opens_when_the_trader_resumes(
    paper, desk, full_pool
):
    """The incident: a queued entry survived the switch and opened a position on Resume."""
    desk.run(services.engage, account=paper, now=timezone.now())

    desk.run(services.resume, account=paper, now=timezone.now())
    desk.run(promote_account, account_id=paper.pk, now=timezone.now())  # the promotion loop

    assert not PositionGroup.objects.filter(account=paper, symbol="ETH/USDT").exists()
    assert not QueuedSignal.objects.filter(account=paper, status__in=QueuedSignal.WAITING)


def test_a_queued_entry_that_arrives_during_the_sweep_is_removed_by_the_next_tick(
    paper, desk, full_pool
):
    desk.run(services.engage, account=paper, now=timezone.now())
    # An entry that passed its checks just before the switch, queued just after it.
    ExchangeAccount.objects.filter(pk=paper.pk).update(is_active=True)
    AccountGuard.objects.filter(account=paper).update(killed_at=None)
    ExchangeAccount.objects.filter(pk=paper.pk).update(max_open_groups=0)
    late = _queue_entry(desk, paper, "XRP/USDT")
    ExchangeAccount.objects.filter(pk=paper.pk).update(is_active=False)
    AccountGuard.objects.filter(account=paper).update(killed_at=timezone.now())

    report = desk.run(services.risk_tick, now=timezone.now())

    assert paper.pk in report.swept
    assert QueuedSignal.objects.get(pk=late.pk).status == QueuedSignal.Status.REMOVED


def test_resume_keeps_a_breached_daily_loss_limit_and_the_days_baseline(paper, desk):
    reason = _breach_daily_loss(paper, desk)
    before = AccountGuard.objects.get(account=paper)
    desk.run(services.engage, account=paper, now=timezone.now())

    desk.run(services.resume, account=paper, now=timezone.now())

    assert ExchangeAccount.objects.get(pk=paper.pk).is_active
    blocked = services.entry_block(account=paper, symbol="ETH/USDT", now=timezone.now())
    assert blocked == reason
    after = AccountGuard.objects.get(account=paper)
    assert after.day_start_equity == before.day_start_equity
    assert after.killed_at is None
    resumed = Event.objects.get(kind="account.resumed")
    assert resumed.data["kept"] == reason and resumed.data["reset_daily"] is False
    assert "kept until the day rolls over" in resumed.message
    # The next tick does not clear it either: the day still starts where it started.
    desk.run(services.check_guards, account=paper, now=timezone.now())
    assert services.entry_block(account=paper, symbol="ETH/USDT", now=timezone.now()) == reason


def test_resume_with_the_explicit_reset_starts_the_day_again(paper, desk):
    _breach_daily_loss(paper, desk)

    desk.run(services.resume, account=paper, now=timezone.now(), reset_daily=True)

    guard = AccountGuard.objects.get(account=paper)
    assert guard.day_start_equity == guard.equity and guard.breach_guard == ""
    assert services.entry_block(account=paper, symbol="ETH/USDT", now=timezone.now()) is None
    assert Event.objects.get(kind="account.resumed").data["reset_daily"] is True


def test_resume_plan_says_what_it_releases_keeps_and_promotes(paper, desk, full_pool):
    _, queued = full_pool
    xrp = _queue_entry(desk, paper, "XRP/USDT")  # waits behind ETH
    # Paused (say, by an operator) while a second slot is added: the queue is frozen.
    ExchangeAccount.objects.filter(pk=paper.pk).update(is_active=False, max_open_groups=2)
    paper.refresh_from_db()

    plan = services.resume_plan(account=paper, now=timezone.now())

    assert plan.releases == [f"{paper.label} is paused"]
    assert plan.daily_breach == ""
    assert [q.pk for q in plan.promotes] == [queued.pk] and plan.stays_queued == 1
    text = " ".join(plan.items)
    assert (
        f"Promotes 1 queued entry into free pool slots: ETH/USDT 15m long ({signal_of(queued)})"
        in text
    )
    assert "1 more keep waiting" in text
    # Resume then does what it said.
    desk.run(services.resume, account=paper, now=timezone.now())
    desk.run(promote_account, account_id=paper.pk, now=timezone.now())
    assert QueuedSignal.objects.get(pk=queued.pk).status == QueuedSignal.Status.PROMOTED
    assert QueuedSignal.objects.get(pk=xrp.pk).status == QueuedSignal.Status.QUEUED


def test_resume_plan_names_a_breached_daily_limit_it_keeps(paper, desk):
    reason = _breach_daily_loss(paper, desk)
    desk.run(services.engage, account=paper, now=timezone.now())

    plan = services.resume_plan(account=paper, now=timezone.now())

    assert plan.daily_breach == reason
    assert plan.releases[0].startswith("kill switch engaged at")
    assert reason not in plan.releases
    assert any(line.startswith("Keeps the breached daily loss limit") for line in plan.items)
    assert plan.can_reset_daily


def test_the_kill_switch_and_resume_name_a_queued_entry_by_its_signal_not_its_queue_row(
    paper, desk
):
    from apps.risk.selectors import kill_switch_plan
    from apps.webhooks.models import Signal
    from apps.webhooks.services import create_route
    from tests.tickets.factories import StrategyFactory

    ExchangeAccount.objects.filter(pk=paper.pk).update(max_open_groups=1)
    paper.refresh_from_db()
    held = open_group(desk, paper, "BTC/USDT", "1000")
    route = create_route(
        owner=paper.owner,
        label="TV",
        account=paper,
        strategy=StrategyFactory(owner=paper.owner),
        ip_allowlist="",
    )
    signals = [
        Signal.objects.create(
            route=route, account=paper, received_at=timezone.now(), body=b"buy", key=f"k{n}"
        )
        for n in range(3)  # the signal's id is not the queue row's
    ]
    strategy = grid_strategy(paper.owner, legs=[])
    desk.act(paper, strategy, signal(symbol="ETH/USDT"), signal_id=signals[-1].pk)
    queued = QueuedSignal.objects.get(account=paper, symbol="ETH/USDT")
    assert queued.signal_id != queued.pk

    plan = " ".join(kill_switch_plan(paper))

    assert f"Removes 1 queued entry: ETH/USDT 15m long (signal #{signals[-1].pk})" in plan
    assert f"(#{queued.pk})" not in plan and "(s)" not in plan
    assert f"Closes 1 position at market, from tickets and signals: {held.name} #{held.pk}." in plan
    ExchangeAccount.objects.filter(pk=paper.pk).update(max_open_groups=2)
    paper.refresh_from_db()
    resume = " ".join(services.resume_plan(account=paper, now=timezone.now()).items)
    assert f"ETH/USDT 15m long (signal #{signals[-1].pk})" in resume
