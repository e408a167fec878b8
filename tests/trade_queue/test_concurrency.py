"""The pool limit is atomic under real concurrency: 50 entry signals released at the same moment,
each in its own thread with its own PostgreSQL connection and transaction, against a pool of
10. Exactly 10 groups open and the other 40 wait in the queue in priority order; repeated 20
times without a single overshoot. Then closing the groups promotes the queue in that order."""

from __future__ import annotations

import itertools
from decimal import ROUND_DOWN, Decimal

import pytest
from django.utils import timezone

from apps.exchanges.paper.catalog import CATALOG
from apps.exchanges.paper.services import open_paper_account
from apps.exchanges.services import refresh_balances, refresh_markets
from apps.positions.models import PositionGroup
from apps.positions.services import act_on_signal
from apps.trade_queue.models import QueuedSignal
from apps.trade_queue.selectors import ranked_queue
from tests.exchanges.factories import ExchangeAccountFactory
from tests.positions.grouping import grid_strategy, signal
from tests.threads import run_together
from tests.trade_queue.conftest import PRICES, set_prices

pytestmark = pytest.mark.django_db(transaction=True)

SIGNALS = 50
POOL = 10
ROUNDS = 20
TIMEFRAMES = ["1", "5", "15", "30", "60", "120", "240", "1D", "1W"]
KEYS = list(itertools.product(PRICES, TIMEFRAMES))[:SIGNALS]  # 50 distinct (symbol, timeframe)


def fresh_account():
    account = ExchangeAccountFactory(kind="paper", quote_currency="USDT")
    open_paper_account(account=account, initial_balance=Decimal("10000"))
    account.paper_settings.slippage_rate = Decimal(0)
    account.paper_settings.save(update_fields=["slippage_rate"])
    account.max_open_groups = POOL
    account.save(update_fields=["max_open_groups"])
    now = timezone.now()
    refresh_markets(account=account, now=now)
    refresh_balances(account=account, now=now)
    account.refresh_from_db()
    return account


def signal_prices(seed: int) -> dict[tuple[str, str], Decimal]:
    """A distinct discount per key: the signal's price 0.2 % × k above the market (k a
    permutation of 1..50 that changes with the seed), on the symbol's tick. The deeper the
    discount, the higher the priority."""
    steps = [(index * 17 + seed * 7) % SIGNALS + 1 for index in range(SIGNALS)]  # 17 ⊥ 50
    prices = {}
    for (symbol, timeframe), k in zip(KEYS, steps, strict=True):
        tick = CATALOG[symbol].rules.tick_size
        raw = Decimal(PRICES[symbol]) * (1 + Decimal(k) * Decimal("0.002"))
        prices[symbol, timeframe] = raw.quantize(tick, rounding=ROUND_DOWN)
    return prices


def by_priority(keys, prices) -> list[tuple[str, str]]:
    """The expected queue order, computed here from the design's rule (the deepest loss of the
    signal's price against the market first), independently of the desk's code."""

    def loss(key):
        price = prices[key]
        return (price - Decimal(PRICES[key[0]])) / price

    return sorted(keys, key=loss, reverse=True)


@pytest.mark.timeout(600)  # 20 rounds of 50 threads: about two and a half minutes
def test_fifty_simultaneous_entries_open_exactly_ten_groups_and_queue_forty_in_priority_order():
    for round_ in range(ROUNDS):
        set_prices()  # fresh tickers: an entry is never laid on a price older than 2 min
        account = fresh_account()
        strategy = grid_strategy(account.owner, legs=[], sizing_value="100")
        prices = signal_prices(seed=round_)
        calls = [
            (
                lambda key=key, account=account, strategy=strategy, prices=prices: act_on_signal(
                    account=account,
                    strategy=strategy,
                    order=signal(symbol=key[0], timeframe=key[1], price=str(prices[key])),
                    signal_id=None,
                    now=timezone.now(),
                )
            )
            for key in KEYS
        ]

        outcomes = run_together(calls)

        failures = [o for o in outcomes if isinstance(o, Exception) or o is None]
        assert not failures, f"round {round_}: {failures[:3]}"
        decisions = sorted(o.decision for o in outcomes)
        reasons = {o.reason for o in outcomes if o.decision == "rejected"}
        assert decisions == ["executed"] * POOL + ["queued"] * (SIGNALS - POOL), reasons
        held = PositionGroup.objects.filter(account=account, status__in=PositionGroup.POOL)
        assert held.count() == POOL, f"round {round_}: {held.count()} groups open"
        opened = {(g.symbol, g.timeframe) for g in held}
        queued = QueuedSignal.objects.filter(account=account, status="queued")
        assert queued.count() == SIGNALS - POOL
        assert {(q.symbol, q.timeframe) for q in queued} == set(KEYS) - opened
        ranked = [
            (r.queued.symbol, r.queued.timeframe)
            for r in ranked_queue(account.pk, pyramids_count=False)
        ]
        assert ranked == by_priority(set(KEYS) - opened, prices), f"round {round_}"

    # The last round's queue is promoted in that order as its groups close, one slot at a time.
    expected = list(ranked)
    for group in PositionGroup.objects.filter(account=account, status="open").order_by("pk"):
        act_on_signal(
            account=account,
            strategy=strategy,
            order=signal("exit", symbol=group.symbol, timeframe=group.timeframe),
            signal_id=None,
            now=timezone.now(),
        )
        promoted = expected.pop(0)
        assert PositionGroup.objects.filter(
            account=account, symbol=promoted[0], timeframe=promoted[1], status="open"
        ).exists(), promoted
        assert (
            PositionGroup.objects.filter(account=account, status__in=PositionGroup.POOL).count()
            == POOL
        )
    assert [
        (r.queued.symbol, r.queued.timeframe)
        for r in ranked_queue(account.pk, pyramids_count=False)
    ] == expected
