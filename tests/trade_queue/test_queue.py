"""The queue on the paper exchange: entries that find the pool full wait, are replaced by newer
entries for their key, cancelled by exits, expire, and are promoted by priority when a group
closes, re-validated as new signals, never beyond the pool's size."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.core.models import Event
from apps.exchanges.models import ExchangeAccount, Market
from apps.positions.models import PositionGroup
from apps.trade_queue.models import QueuedSignal
from apps.trade_queue.services import (
    QueueError,
    promote_account,
    promotion_loop,
    remove_queued,
    request_promotion,
    update_pool_settings,
)
from tests.positions.grouping import signal
from tests.trade_queue.conftest import open_symbols, pool_settings, row, waiting_keys

pytestmark = pytest.mark.django_db

D = Decimal


def queue_kinds() -> list[str]:
    return list(
        Event.objects.filter(kind__startswith="queue.")
        .order_by("pk")
        .values_list("kind", flat=True)
    )


# --- Queueing -----------------------------------------------------------------------------


def test_an_entry_that_finds_the_pool_full_is_queued_with_its_rank_not_dropped(
    pool, desk, strategy
):
    assert desk.act(pool, strategy, signal(symbol="BTC/USDT")).decision == "executed"

    eth = desk.act(pool, strategy, signal(symbol="ETH/USDT"))
    sol = desk.act(pool, strategy, signal(symbol="SOL/USDT", price="153"))

    assert eth.decision == sol.decision == "queued"
    assert eth.reason.startswith("Queued at rank 1 of 1: ")
    assert "pool is full (1 of 1 slot used, max open groups 1)" in eth.reason
    # SOL's signal price is 2 % above the market (a discount now): it goes ahead of ETH,
    # whose signal had no price.
    assert sol.reason.startswith("Queued at rank 1 of 2: ")
    assert waiting_keys(pool) == ["SOL/USDT 15", "ETH/USDT 15"]
    assert open_symbols(pool) == ["BTC/USDT"]
    queued = row(pool, "SOL/USDT")
    assert (queued.signal_price, queued.market_price, queued.replacements) == (
        D("153"),
        D("150"),
        0,
    )
    assert queued.expires_at - queued.queued_at == timedelta(minutes=60)  # the default
    assert queue_kinds() == ["queue.queued", "queue.queued"]


def test_a_newer_entry_for_the_same_key_replaces_the_queued_one_and_keeps_its_queue_time(
    pool, desk, strategy
):
    desk.act(pool, strategy, signal(symbol="BTC/USDT"))
    desk.act(pool, strategy, signal(symbol="ETH/USDT", price="3200"))
    first = row(pool, "ETH/USDT")

    again = desk.act(pool, strategy, signal(symbol="ETH/USDT", price="3150.5"))
    third = desk.act(pool, strategy, signal(symbol="ETH/USDT", price="3100"))

    assert again.decision == third.decision == "queued"
    assert "(replacement 1)" in again.reason and "(replacement 2)" in third.reason
    replaced = QueuedSignal.objects.get()  # still one row for the key
    assert replaced.pk == first.pk
    assert replaced.queued_at == first.queued_at
    assert (replaced.replacements, replaced.signal_price) == (2, D("3100"))
    assert replaced.expires_at > first.expires_at  # the newer signal's own lifetime
    # Another timeframe of the same symbol is another key.
    desk.act(pool, strategy, signal(symbol="ETH/USDT", timeframe="60"))
    assert QueuedSignal.objects.count() == 2
    assert queue_kinds() == ["queue.queued", "queue.replaced", "queue.replaced", "queue.queued"]


def test_an_exit_for_a_queued_key_cancels_it(pool, desk, strategy):
    desk.act(pool, strategy, signal(symbol="BTC/USDT"))
    desk.act(pool, strategy, signal(symbol="ETH/USDT"))

    exit_ = desk.act(pool, strategy, signal("exit", symbol="ETH/USDT"))

    assert exit_.decision == "executed"
    assert exit_.reason == (
        "Cancelled the ETH/USDT 15m long entry waiting in the queue; no ETH/USDT 15m long position "
        "is open to exit."
    )
    queued = row(pool, "ETH/USDT")
    assert queued.status == "cancelled"
    assert queued.reason.startswith("Cancelled by an exit signal")
    assert open_symbols(pool) == ["BTC/USDT"]  # another key's group is untouched
    # Nothing is left to promote when BTC closes.
    desk.act(pool, strategy, signal("exit", symbol="BTC/USDT"))
    assert open_symbols(pool) == []
    assert queue_kinds() == ["queue.queued", "queue.cancelled"]


def test_an_exit_with_nothing_queued_or_open_is_still_rejected(pool, desk, strategy):
    outcome = desk.act(pool, strategy, signal("exit", symbol="ETH/USDT"))
    assert outcome.decision == "rejected"
    assert outcome.reason.startswith("No open ETH/USDT 15m long position to exit")


def test_queued_entries_expire_after_the_accounts_expiry(pool, desk, strategy):
    pool_settings(pool, queue_expiry_minutes=5)
    desk.act(pool, strategy, signal(symbol="BTC/USDT"))
    desk.act(pool, strategy, signal(symbol="ETH/USDT"))
    queued = row(pool, "ETH/USDT")
    assert queued.expires_at - queued.queued_at == timedelta(minutes=5)

    desk.run(promote_account, account_id=pool.pk, now=queued.queued_at + timedelta(minutes=4))
    assert row(pool, "ETH/USDT").status == "queued"
    desk.run(promote_account, account_id=pool.pk, now=queued.queued_at + timedelta(minutes=5))

    expired = row(pool, "ETH/USDT")
    assert expired.status == "expired"
    assert expired.reason.startswith("Expired: no pool slot went to it before")
    desk.act(pool, strategy, signal("exit", symbol="BTC/USDT"))
    assert not PositionGroup.objects.filter(symbol="ETH/USDT").exists()
    assert queue_kinds() == ["queue.queued", "queue.expired"]


# --- Promotion ----------------------------------------------------------------------------


def test_when_a_group_closes_the_highest_priority_entry_is_promoted_at_once(pool, desk, strategy):
    desk.act(pool, strategy, signal(symbol="BTC/USDT"))
    desk.act(pool, strategy, signal(symbol="ETH/USDT"))  # no price: loss unknown, last
    desk.act(pool, strategy, signal(symbol="XRP/USDT", price="0.5400"))  # a premium: -1.85 %
    desk.act(pool, strategy, signal(symbol="SOL/USDT", price="153"))  # a discount: 1.96 %
    assert waiting_keys(pool) == ["SOL/USDT 15", "XRP/USDT 15", "ETH/USDT 15"]

    desk.act(pool, strategy, signal("exit", symbol="BTC/USDT"))

    assert open_symbols(pool) == ["SOL/USDT"]
    promoted = row(pool, "SOL/USDT")
    group = PositionGroup.objects.get(symbol="SOL/USDT")
    assert (promoted.status, promoted.group_id) == ("promoted", group.pk)
    assert promoted.reason.startswith("Promoted from the queue (waited ")
    assert f"Opened SOL/USDT 15m long position #{group.pk}" in promoted.reason
    assert group.pyramids.get().entry_price == D("153")  # the signal's own price
    assert group.orders.get().status == "filled"  # its order was sent and filled
    assert waiting_keys(pool) == ["XRP/USDT 15", "ETH/USDT 15"]

    desk.act(pool, strategy, signal("exit", symbol="SOL/USDT"))
    assert open_symbols(pool) == ["XRP/USDT"]
    assert waiting_keys(pool) == ["ETH/USDT 15"]


def test_the_promotion_loop_fills_a_slot_whose_promotion_task_was_lost(
    pool, desk, strategy, django_capture_on_commit_callbacks
):
    desk.act(pool, strategy, signal(symbol="BTC/USDT"))
    desk.act(pool, strategy, signal(symbol="ETH/USDT"))
    with django_capture_on_commit_callbacks(execute=False):  # its tasks never run
        desk_exit = signal("exit", symbol="BTC/USDT")
        from apps.positions.services import act_on_signal

        act_on_signal(
            account=pool, strategy=strategy, order=desk_exit, signal_id=None, now=timezone.now()
        )
    assert PositionGroup.objects.get(symbol="BTC/USDT").status == "closing"
    assert row(pool, "ETH/USDT").status == "queued"

    desk.run(promotion_loop)

    assert row(pool, "ETH/USDT").status == "promoted"
    assert open_symbols(pool) == ["ETH/USDT"]


def test_a_promoted_entry_is_revalidated_as_new_and_rejected_with_the_reason(pool, desk, strategy):
    desk.act(pool, strategy, signal(symbol="BTC/USDT"))
    desk.act(pool, strategy, signal(symbol="ETH/USDT"))
    desk.act(pool, strategy, signal(symbol="SOL/USDT"))
    Market.objects.filter(account=pool, symbol="ETH/USDT").update(active=False)

    desk.act(pool, strategy, signal("exit", symbol="BTC/USDT"))

    rejected = row(pool, "ETH/USDT")
    assert rejected.status == "rejected"
    assert rejected.reason == (
        f"Promoted, then rejected: ETH/USDT is not trading on {pool.label} right now."
    )
    # The slot went to the next entry instead.
    assert open_symbols(pool) == ["SOL/USDT"]
    assert row(pool, "SOL/USDT").status == "promoted"


def test_a_promoted_entry_is_sized_from_the_buying_power_it_finds_when_promoted(pool, desk):
    from apps.exchanges.models import BalanceSnapshot
    from tests.positions.grouping import grid_strategy

    by_balance = grid_strategy(
        pool.owner, legs=[], sizing_kind="buying_power_pct", sizing_value="10"
    )
    desk.act(pool, by_balance, signal(symbol="BTC/USDT"))
    desk.act(pool, by_balance, signal(symbol="ETH/USDT"))
    # The balances loop has seen the account's quote change since the entry was queued.
    BalanceSnapshot.objects.filter(account=pool, asset="USDT").update(free=D("5000"))

    desk.act(pool, by_balance, signal("exit", symbol="BTC/USDT"))

    capital = PositionGroup.objects.get(symbol="ETH/USDT").pyramids.get().capital
    # 10 % of 5000 after the taker fee, as stored (18 places), not of the 10000 when queued.
    assert capital == (D("5000") / D("1.001") * 10 / 100).quantize(D("1E-18"))


def test_a_promoted_entry_without_the_buying_power_is_rejected_with_the_reason(pool, desk):
    from apps.exchanges.models import BalanceSnapshot
    from tests.positions.grouping import grid_strategy

    by_balance = grid_strategy(
        pool.owner, legs=[], sizing_kind="buying_power_pct", sizing_value="10"
    )
    desk.act(pool, by_balance, signal(symbol="BTC/USDT"))
    desk.act(pool, by_balance, signal(symbol="ETH/USDT"))
    BalanceSnapshot.objects.filter(account=pool, asset="USDT").update(free=D("20"))

    desk.act(pool, by_balance, signal("exit", symbol="BTC/USDT"))

    rejected = row(pool, "ETH/USDT")
    assert rejected.status == "rejected"
    assert rejected.reason.startswith("Promoted, then rejected: No leg of the grid can be placed")
    assert "1.92 USDT is below the 5 USDT minimum" in rejected.reason
    assert open_symbols(pool) == []


def test_a_paused_account_freezes_its_queue_until_it_is_resumed(pool, desk, strategy):
    desk.act(pool, strategy, signal(symbol="BTC/USDT"))
    desk.act(pool, strategy, signal(symbol="ETH/USDT"))
    ExchangeAccount.objects.filter(pk=pool.pk).update(is_active=False)

    desk.act(pool, strategy, signal("exit", symbol="BTC/USDT"))
    desk.run(promotion_loop)

    assert row(pool, "ETH/USDT").status == "queued"
    assert open_symbols(pool) == []

    ExchangeAccount.objects.filter(pk=pool.pk).update(is_active=True)
    desk.run(promotion_loop)
    assert row(pool, "ETH/USDT").status == "promoted"
    assert open_symbols(pool) == ["ETH/USDT"]


def test_raising_the_pool_size_promotes_at_once_and_lowering_it_opens_nothing_new(
    pool, desk, strategy
):
    desk.act(pool, strategy, signal(symbol="BTC/USDT"))
    desk.act(pool, strategy, signal(symbol="ETH/USDT"))
    desk.act(pool, strategy, signal(symbol="SOL/USDT"))

    desk.run(
        update_pool_settings,
        account=pool,
        max_open_groups=3,
        pyramids_count=False,
        queue_expiry_minutes=30,
    )
    assert open_symbols(pool) == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]

    desk.run(
        update_pool_settings,
        account=pool,
        max_open_groups=1,
        pyramids_count=False,
        queue_expiry_minutes=30,
    )
    assert desk.act(pool, strategy, signal(symbol="XRP/USDT")).decision == "queued"
    desk.act(pool, strategy, signal("exit", symbol="BTC/USDT"))
    desk.act(pool, strategy, signal("exit", symbol="ETH/USDT"))
    assert open_symbols(pool) == ["SOL/USDT"]  # 1 of 1: XRP still waits
    desk.act(pool, strategy, signal("exit", symbol="SOL/USDT"))
    assert open_symbols(pool) == ["XRP/USDT"]


def test_when_pyramids_count_an_add_to_an_open_group_waits_and_ranks_first(pool, desk, strategy):
    pool_settings(pool, pyramids_count=True)
    ExchangeAccount.objects.filter(pk=pool.pk).update(max_open_groups=3)
    pool.refresh_from_db()
    desk.act(pool, strategy, signal(symbol="BTC/USDT"))
    desk.act(pool, strategy, signal(symbol="BTC/USDT"))  # a pyramid: slot 2
    desk.act(pool, strategy, signal(symbol="ETH/USDT"))  # slot 3

    sol = desk.act(pool, strategy, signal(symbol="SOL/USDT", price="160"))  # a 6 % discount
    add = desk.act(pool, strategy, signal(symbol="ETH/USDT"))

    assert sol.decision == add.decision == "queued"
    assert add.group_id == PositionGroup.objects.get(symbol="ETH/USDT").pk
    assert waiting_keys(pool) == ["ETH/USDT 15", "SOL/USDT 15"]  # the continuation first

    desk.act(pool, strategy, signal("exit", symbol="BTC/USDT"))  # frees two slots

    eth = PositionGroup.objects.get(symbol="ETH/USDT")
    assert eth.pyramids.count() == 2
    assert open_symbols(pool) == ["ETH/USDT", "SOL/USDT"]  # 2 + 1 pyramids: 3 of 3


def test_promote_takes_the_next_free_slot_ahead_of_priority_never_beyond_the_cap(
    pool, desk, strategy
):
    desk.act(pool, strategy, signal(symbol="BTC/USDT"))
    desk.act(pool, strategy, signal(symbol="SOL/USDT", price="153"))
    desk.act(pool, strategy, signal(symbol="ETH/USDT"))
    assert waiting_keys(pool) == ["SOL/USDT 15", "ETH/USDT 15"]

    message = desk.run(
        request_promotion, queued_id=row(pool, "ETH/USDT").pk, now=timezone.now(), by="Trader"
    )

    assert message == (
        f"ETH/USDT 15m long takes the next free slot ahead of priority ({pool.label}'s pool: "
        "1 of 1 used)."
    )
    assert open_symbols(pool) == ["BTC/USDT"]  # the cap holds
    assert waiting_keys(pool) == ["ETH/USDT 15", "SOL/USDT 15"]
    desk.act(pool, strategy, signal("exit", symbol="BTC/USDT"))
    assert open_symbols(pool) == ["ETH/USDT"]
    assert row(pool, "SOL/USDT").status == "queued"


def test_promote_with_a_free_slot_opens_the_group_at_once(pool, desk, strategy):
    desk.act(pool, strategy, signal(symbol="BTC/USDT"))
    desk.act(pool, strategy, signal(symbol="ETH/USDT"))
    ExchangeAccount.objects.filter(pk=pool.pk).update(max_open_groups=2)  # no promotion ran

    message = desk.run(
        request_promotion, queued_id=row(pool, "ETH/USDT").pk, now=timezone.now(), by="Trader"
    )

    assert message.startswith("Promoted from the queue")
    assert open_symbols(pool) == ["BTC/USDT", "ETH/USDT"]
    with pytest.raises(QueueError, match="no longer queued"):
        request_promotion(queued_id=row(pool, "ETH/USDT").pk, now=timezone.now())


def test_remove_takes_an_entry_out_of_the_queue(pool, desk, strategy):
    desk.act(pool, strategy, signal(symbol="BTC/USDT"))
    desk.act(pool, strategy, signal(symbol="ETH/USDT"))

    message = desk.run(
        remove_queued, queued_id=row(pool, "ETH/USDT").pk, now=timezone.now(), by="Trader"
    )

    assert message == "ETH/USDT 15m long entry removed from the queue."
    assert row(pool, "ETH/USDT").status == "removed"
    desk.act(pool, strategy, signal("exit", symbol="BTC/USDT"))
    assert open_symbols(pool) == []


def test_a_new_entry_waits_behind_the_queue_for_a_slot_freed_a_moment_ago(
    pool, desk, strategy, django_capture_on_commit_callbacks
):
    """Between a group's close and its promotion task, a new entry must not take the freed
    slot from the entries already waiting: it queues behind them, by priority."""
    desk.act(pool, strategy, signal(symbol="BTC/USDT"))
    desk.act(pool, strategy, signal(symbol="ETH/USDT", price="3300"))  # 3 % discount
    from apps.positions.services import act_on_signal

    with django_capture_on_commit_callbacks(execute=False):
        act_on_signal(
            account=pool,
            strategy=strategy,
            order=signal("exit", symbol="BTC/USDT"),
            signal_id=None,
            now=timezone.now(),
        )
    late = desk.act(pool, strategy, signal(symbol="SOL/USDT"))

    assert late.decision == "queued"
    assert "already wait" in late.reason
    assert open_symbols(pool) == ["ETH/USDT"]  # the promotion it enqueued went by priority
    assert row(pool, "SOL/USDT").status == "queued"
