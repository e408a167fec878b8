"""Promote and Remove on the Queue page act on the caller's own entry named in the URL, and
what happens is decided on the server: nothing else a post carries (another account, another
entry, a price or quantity) is read. Promotion holds the signal lane by a short renewed lease,
so a promoter that dies frees the lane within seconds."""

from __future__ import annotations

import csv
import io
import time
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.core.locks import is_held
from apps.exchanges.models import PaperSettings
from apps.exchanges.paper.services import open_paper_account
from apps.exchanges.services import refresh_balances, refresh_markets
from apps.trade_queue.models import QueuedSignal
from apps.trade_queue.services import promote_account
from apps.webhooks.services.processing import lane_lease, lane_name
from tests.exchanges.factories import ExchangeAccountFactory
from tests.positions.grouping import grid_strategy, signal
from tests.trade_queue.conftest import open_symbols, row
from tests.webhooks.crash import _start, kill, output

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
    assert "ETH/USDT 15m long takes the next free slot ahead of priority" in response.text
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

    assert response.status_code == 200
    assert "Nothing was removed: the confirmation was not answered yes." in response.text
    assert row(queued, "ETH/USDT").status == QueuedSignal.Status.QUEUED


# --- The lane's lease -------------------------------------------------------------------------

PROMOTE = r"""
import sys
import django

django.setup()
from tradedesk.celery import app

app.conf.task_always_eager = True  # no worker: what it enqueues runs inline, as under pytest
from apps.webhooks.services import processing

processing.LANE_LEASE_SECONDS = int(sys.argv[2])
from apps.trade_queue.services import promote_account

promote_account(account_id=int(sys.argv[1]))
"""


def free_a_slot(account) -> None:
    """One more pool slot, without the promotion a settings change would start."""
    type(account).objects.filter(pk=account.pk).update(max_open_groups=2)


def test_promotion_waits_while_the_lane_is_held_and_leaves_it_free(queued, desk):
    free_a_slot(queued)
    sol = row(queued, "SOL/USDT")

    with lane_lease(queued.pk, "SOL/USDT") as other:  # a signal of the lane being processed
        assert other is not None
        assert desk.run(promote_account, account_id=queued.pk) == []
    assert row(queued, "SOL/USDT").status == QueuedSignal.Status.QUEUED

    acted = desk.run(promote_account, account_id=queued.pk)

    assert [q.pk for q in acted] == [sol.pk]
    assert open_symbols(queued) == ["BTC/USDT", "SOL/USDT"]
    assert not is_held(lane_name(queued.pk, "SOL/USDT"))


@pytest.mark.django_db(transaction=True)
def test_a_promoter_killed_while_holding_the_lane_frees_it_within_seconds(queued):
    """The promoter runs in another process and is killed with -9 while it holds the lane,
    asleep in its exchange call; the lane is free again once its lease lapses, not after the
    old lock's 70 s."""
    seconds = 2
    free_a_slot(queued)
    PaperSettings.objects.filter(account=queued).update(latency_ms=3000)
    lane = lane_name(queued.pk, "SOL/USDT")
    promoter = _start(PROMOTE, str(queued.pk), str(seconds))
    try:
        deadline = time.monotonic() + 60
        while not (is_held(lane) and row(queued, "SOL/USDT").status == "promoting"):
            assert promoter.poll() is None, output(promoter)
            assert time.monotonic() < deadline, "the promoter never took the lane"
            time.sleep(0.02)
    finally:
        kill(promoter)
    killed_at = time.monotonic()

    while is_held(lane) and time.monotonic() - killed_at < 30:
        time.sleep(0.05)
    freed_after = time.monotonic() - killed_at

    assert freed_after < seconds + 2
    with lane_lease(queued.pk, "SOL/USDT") as next_holder:
        assert next_holder is not None
    assert open_symbols(queued) == ["BTC/USDT"]  # killed before it bought anything


def test_the_queue_csv_neutralises_a_label_a_spreadsheet_would_read_as_a_formula(client, queued):
    type(queued).objects.filter(pk=queued.pk).update(label='=HYPERLINK("http://x.test","go")')
    client.force_login(queued.owner)

    response = client.get(reverse("trade_queue:queue-csv"))

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["account"] for r in rows] == ['\'=HYPERLINK("http://x.test","go")'] * 2
    assert rows[0]["signal_price"] == "153.5"
