"""The pool limit is atomic: however many entries arrive at once, open groups never exceed the
account's cap, and one key never holds two open groups. Real threads, real transactions."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from apps.positions.models import PositionGroup
from apps.positions.services import act_on_signal
from apps.trade_queue.models import QueuedSignal
from tests.positions.grouping import grid_strategy, signal
from tests.threads import run_together

pytestmark = pytest.mark.django_db(transaction=True)

SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "DOGE/USDT", "LTC/USDT"]


def entry(account, strategy, order):
    return lambda: act_on_signal(
        account=account, strategy=strategy, order=order, signal_id=None, now=timezone.now()
    )


def test_simultaneous_entries_on_six_symbols_never_open_more_groups_than_the_cap(paper):
    paper.max_open_groups = 2
    paper.save(update_fields=["max_open_groups"])
    strategy = grid_strategy(paper.owner, legs=[], sizing_value="100")

    outcomes = run_together([entry(paper, strategy, signal(symbol=s)) for s in SYMBOLS])

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    decisions = sorted(o.decision for o in outcomes)
    assert decisions == ["executed"] * 2 + ["queued"] * 4  # the rest wait for a slot
    assert all("max open groups 2" in o.reason for o in outcomes if o.decision == "queued")
    assert PositionGroup.objects.filter(account=paper, status="open").count() == 2
    assert QueuedSignal.objects.filter(account=paper, status="queued").count() == 4
    opened = {o.group_id for o in outcomes if o.decision == "executed"}
    assert set(PositionGroup.objects.values_list("pk", flat=True)) == opened


def test_simultaneous_entries_on_one_key_open_one_group_and_pyramid_up_to_the_limit(paper):
    strategy = grid_strategy(paper.owner, legs=[], sizing_value="100", pyramid_limit=3)

    outcomes = run_together([entry(paper, strategy, signal()) for _ in range(5)])

    assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
    group = PositionGroup.objects.get()
    assert sorted(o.decision for o in outcomes) == ["executed"] * 3 + ["rejected"] * 2
    assert {o.group_id for o in outcomes} == {group.pk}
    assert group.pyramids.count() == 3
    assert sorted(group.pyramids.values_list("index", flat=True)) == [0, 1, 2]
    assert group.orders.filter(status="filled").count() == 3
    assert group.quantity == 3 * Decimal("0.00153") * (1 - Decimal("0.001"))
