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
from apps.trades.models import Order, Trade, TradeRevision
from apps.trades.services.loops import rules_loop
from tests.exchanges.factories import ExchangeAccountFactory
from tests.trades.bulk import running_trades
from tests.trades.conftest import BTC

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
    """One trade waiting for its entry and one open at `price` (its stop fires 20 % below)."""
    running_trades(account, 2, symbol=symbol, price=Decimal(price))
    pending, open_ = Trade.objects.filter(account=account).order_by("-pk")[:2][::-1]
    assert (pending.status, open_.status) == (Trade.Status.PENDING, Trade.Status.OPEN)
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
    rules = broken.revision.rules
    TradeRevision.objects.filter(pk=broken.revision_id).update(
        rules={**rules, "entry": {**rules["entry"], "value": "1e999999999"}}
    )
    # An open trade whose market row is gone: its stop fires, but no exit can be written.
    _, orphan = trades_of(paper, symbol=ETH, price="9000")
    Market.objects.filter(account=paper, symbol=ETH).delete()

    assert rules_loop() is True

    # The healthy account's other trades were evaluated and its stop acted on.
    waiting.refresh_from_db()
    assert waiting.last_price == Decimal("65000")
    assert waiting.rule_state["entry"]["outcome"] == "not met"
    assert Order.objects.filter(trade=stopped, purpose=Order.Purpose.INITIAL_STOP).exists()
    # The hostile account's trades were left as they were, and so were the broken ones.
    for trade in (hostile_pending, hostile_open, broken):
        before = trade.last_price
        trade.refresh_from_db()
        assert trade.last_price == before
    # The orphan was priced with the others; only its exit could not be written.
    orphan.refresh_from_db()
    assert orphan.last_price == Decimal("3400")
    assert not Order.objects.filter(trade=orphan).exists()

    failed = failures("trades.rules")
    assert set(failed) == {
        f"ExchangeAccount {hostile.pk}",
        f"Trade {broken.pk}",
        f"Trade {orphan.pk}",
    }
    assert failed[f"ExchangeAccount {hostile.pk}"].account == hostile
    assert failed[f"ExchangeAccount {hostile.pk}"].user == hostile.owner
    assert "InvalidOperation" in failed[f"ExchangeAccount {hostile.pk}"].message
    assert "InvalidRule" in failed[f"Trade {broken.pk}"].message
    assert failed[f"Trade {broken.pk}"].account == paper
    assert "DoesNotExist" in failed[f"Trade {orphan.pk}"].message

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
