"""The Desk's header: each app's figures, from what the desk recorded. Equity and today's PnL
come from the risk loop's last measure (today's PnL is equity against 00:00 UTC's, realised and
unrealised together, fees included); the pool and exposure from the open positions; the queue
from its waiting entries; the guards, and the loops' health."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.core.dashboard import figures_for
from apps.risk.models import AccountGuard
from apps.trade_queue.models import QueuedSignal
from apps.webhooks.models import Signal
from apps.webhooks.services import create_route
from tests.exchanges.factories import ExchangeAccountFactory
from tests.tickets.factories import StrategyFactory

pytestmark = pytest.mark.django_db


def figures(user_id) -> dict:
    return {figure.key: figure for figure in figures_for(user_id=user_id, now=timezone.now())}


@pytest.fixture
def account():
    return ExchangeAccountFactory(kind="paper", quote_currency="USDT", max_open_groups=4)


def guard(account, *, equity: str, day_start: str, **fields) -> AccountGuard:
    now = timezone.now()
    return AccountGuard.objects.create(
        account=account,
        equity=Decimal(equity),
        equity_at=now,
        day=now.date(),
        day_start_equity=Decimal(day_start),
        **fields,
    )


def test_equity_and_todays_pnl_read_from_the_days_opening_equity(account):
    guard(account, equity="10500.004", day_start="10000")
    shown = figures(account.owner_id)
    assert shown["equity"].value == "10,500.00 USDT"
    assert shown["today-pnl"].value == "+500.00 USDT"  # 10500.004 − 10000, to 2 places
    assert shown["today-pnl"].detail.startswith("+5.00 % since 00:00 UTC")
    assert shown["today-pnl"].tone == "gain"
    assert shown["guards"].value == "All clear"


def test_a_loss_reads_with_a_minus_sign_and_in_red(account):
    guard(account, equity="9876.5", day_start="10000")
    shown = figures(account.owner_id)
    assert shown["today-pnl"].value == "\u2212123.50 USDT"
    assert shown["today-pnl"].detail.startswith("\u22121.24 %")  # −1.235 %, half up
    assert shown["today-pnl"].tone == "loss"


def test_yesterdays_opening_equity_gives_no_pnl_for_today(account):
    g = guard(account, equity="10500", day_start="10000")
    AccountGuard.objects.filter(pk=g.pk).update(day=timezone.now().date() - timedelta(days=1))
    assert figures(account.owner_id)["today-pnl"].value == "–"


def test_several_accounts_are_summed_per_quote_currency_never_across(account):
    guard(account, equity="1000", day_start="1000")
    other = ExchangeAccountFactory(owner=account.owner, kind="paper", quote_currency="USDC")
    guard(other, equity="250.5", day_start="250")
    third = ExchangeAccountFactory(owner=account.owner, kind="paper", quote_currency="USDT")
    guard(third, equity="500", day_start="500")
    assert figures(account.owner_id)["equity"].value == "250.50 USDC · 1,500.00 USDT"


def test_the_kill_switch_shows_in_the_guards_figure(account):
    guard(account, equity="1000", day_start="1000", killed_at=timezone.now())
    shown = figures(account.owner_id)["guards"]
    assert (shown.value, shown.tone) == ("Kill switch on", "error")
    assert "kill switch engaged" in shown.detail


def test_the_pool_and_the_queue(account):
    shown = figures(account.owner_id)
    assert (shown["positions"].value, shown["positions"].detail) == ("0", "pool 0 / 4")
    assert shown["queued"].value == "0"
    route = create_route(
        owner=account.owner,
        label="TV",
        account=account,
        strategy=StrategyFactory(owner=account.owner),
        ip_allowlist="",
    )
    now = timezone.now()
    signal = Signal.objects.create(
        route=route, account=account, received_at=now, body=b"buy", key="k1",
        action="entry", symbol="BTC/USDT", status=Signal.Status.QUEUED,
    )  # fmt: skip
    QueuedSignal.objects.create(
        owner=account.owner, account=account, symbol="BTC/USDT", timeframe="15", side="long",
        signal=signal, queued_at=now, expires_at=now + timedelta(hours=1),
    )  # fmt: skip
    shown = figures(account.owner_id)["queued"]
    assert (shown.value, shown.tone) == ("1", "warning")


def test_another_users_accounts_never_count(account):
    guard(account, equity="10500", day_start="10000")
    stranger = ExchangeAccountFactory(kind="paper")
    assert figures(stranger.owner_id)["equity"].value == "–"
    assert figures(stranger.owner_id)["today-pnl"].value == "–"
