"""Promote and Remove on the Queue page act on the caller's own entry named in the URL, and
what happens is decided on the server: nothing else a post carries (another account, another
entry, a price or quantity) is read. Promotion holds the signal lane by a short renewed lease,
so a promoter that dies frees the lane within seconds."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.exchanges.models import PaperSettings
from apps.exchanges.paper.services import open_paper_account
from apps.exchanges.services import refresh_balances, refresh_markets
from apps.trade_queue.models import QueuedSignal
from tests.exchanges.factories import ExchangeAccountFactory
from tests.trade_queue.conftest import open_symbols, row
from tests.trades.grouping import grid_strategy, signal

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def full_pool_with_queue(desk, account):
    """BTC open (1 of 1), SOL queued at a discount (rank 1), ETH without a price (rank 2)."""
    strategy = grid_strategy(account.owner, legs=[], sizing_value="100")
    account.max_open_groups = 1
    account.save(update_fields=["max_open_groups"])
    desk.act(account, strategy, signal(symbol="BTC/USDT"))
    desk.act(account, strategy, signal(symbol="ETH/USDT"))
    desk.act(account, strategy, signal(symbol="SOL/USDT", price="153.5"))
    return account


@pytest.fixture
def queued(pool, desk):
    return full_pool_with_queue(desk, pool)


@pytest.fixture
def foreign(pool, desk):
    """Another trader's account with the same queue."""
    other = ExchangeAccountFactory(kind="paper", quote_currency="USDT")
    open_paper_account(account=other, initial_balance=Decimal("10000"))
    PaperSettings.objects.filter(account=other).update(slippage_rate=Decimal(0))
    refresh_markets(account=other, now=timezone.now())
    refresh_balances(account=other, now=timezone.now())
    return full_pool_with_queue(desk, other)


def snapshot(account) -> list[tuple]:
    return list(
        QueuedSignal.objects.filter(account=account)
        .order_by("pk")
        .values_list("pk", "status", "pinned_at", "signal_price", "quantity", "symbol")
    )


def test_promote_pins_only_the_callers_entry_and_ignores_posted_plan_data(
    client, queued, foreign, desk
):
    client.force_login(queued.owner)
    eth, foreign_sol = row(queued, "ETH/USDT"), row(foreign, "SOL/USDT")
    before = snapshot(foreign)
    posted = {
        "queued_id": foreign_sol.pk,
        "account": foreign.pk,
        "signal_price": "1e400",
        "quantity": "abc",
        "symbol": "DOGE/USDT",
        "rank": "1",
    }

    response = desk.run(
        client.post, path=reverse("trade_queue:promote", args=[eth.pk]), data=posted, **HTMX
    )

    assert response.status_code == 200
    assert "ETH/USDT 15 long takes the next free slot ahead of priority" in response.text
    eth.refresh_from_db()
    assert eth.pinned_at is not None and eth.symbol == "ETH/USDT" and eth.signal_price is None
    assert row(queued, "SOL/USDT").pinned_at is None
    assert snapshot(foreign) == before and open_symbols(foreign) == ["BTC/USDT"]


@pytest.mark.parametrize("path", ["trade_queue:promote", "trade_queue:remove"])
def test_another_traders_entry_as_the_target_is_404_and_changes_nothing(
    client, queued, foreign, desk, path
):
    client.force_login(queued.owner)
    before = snapshot(foreign)
    target = row(foreign, "ETH/USDT")

    response = desk.run(client.post, path=reverse(path, args=[target.pk]), data={"confirm": "yes"})

    assert response.status_code == 404
    assert snapshot(foreign) == before


@pytest.mark.parametrize("answer", ["off", "0", "1", "on", "YES"])
def test_remove_removes_only_on_the_exact_answer(client, queued, desk, answer):
    client.force_login(queued.owner)
    url = reverse("trade_queue:remove", args=[row(queued, "ETH/USDT").pk])

    response = desk.run(client.post, path=url, data={"confirm": answer}, **HTMX)

    assert response.status_code == 200 and "Nothing was removed yet" in response.text
    assert row(queued, "ETH/USDT").status == QueuedSignal.Status.QUEUED
