"""An entry's ticker is tried again after a transient error, a bounded number of times.

The faults are the paper exchange's own: its fault settings make every adapter call raise
NetworkFailure (a rate of 1 fails every call, whatever the draw). The seam is the pause between
tries (`signals._pause`): the test's pause records how long the desk would wait and, after the
n-th pause, ends the outage by clearing the account's fault settings, as an operator ending a
drill would, instead of sleeping. Nothing of the desk's own is replaced.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from apps.exchanges.models import PaperSettings
from apps.positions.models import Order, PositionGroup
from apps.positions.services import act_on_signal
from apps.positions.services import signals as group_signals
from tests.client_ids import client_id
from tests.positions.grouping import grid_strategy, signal

pytestmark = pytest.mark.django_db

OUTAGE = {"NetworkFailure": "1"}


@pytest.fixture
def outage(paper, monkeypatch):
    """Start a ticker outage on the paper account; `outage(n)` ends it after the n-th pause
    (None: it never ends). Returns the pauses the desk took, in seconds."""
    pauses: list[float] = []

    def start(ends_after: int | None) -> list[float]:
        PaperSettings.objects.filter(account=paper).update(error_rates=OUTAGE)

        def pause(seconds: float) -> None:
            pauses.append(seconds)
            if len(pauses) == ends_after:
                PaperSettings.objects.filter(account=paper).update(error_rates={})

        monkeypatch.setattr(group_signals, "_pause", pause)
        return pauses

    return start


def enter(paper, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        return act_on_signal(
            account=paper,
            strategy=grid_strategy(paper.owner),
            order=signal(price="65000"),
            signal_id=None,
            now=timezone.now(),
        )


@pytest.mark.parametrize("failures", [1, 2])
def test_one_or_two_transient_ticker_errors_then_a_price_executes_the_entry(
    paper, outage, django_capture_on_commit_callbacks, failures
):
    pauses = outage(ends_after=failures)

    outcome = enter(paper, django_capture_on_commit_callbacks)

    assert outcome.decision == "executed", outcome.reason
    assert pauses == list(group_signals.TICKER_RETRY_PAUSES[:failures])
    group = PositionGroup.objects.get(pk=outcome.group_id)
    assert group.status == PositionGroup.Status.OPEN
    leg_0 = group.orders.get(client_order_id=client_id(group.pk, "p1l1"))
    assert leg_0.status == Order.Status.FILLED


def test_a_ticker_outage_that_outlasts_the_tries_rejects_the_entry_saying_how_often_it_tried(
    paper, outage, django_capture_on_commit_callbacks
):
    pauses = outage(ends_after=None)

    outcome = enter(paper, django_capture_on_commit_callbacks)

    assert outcome.decision == "rejected"
    assert outcome.reason == (
        "No price for BTC/USDT after 3 tries: NetworkFailure injected by the paper exchange's "
        "fault settings."
    )
    assert pauses == [0.2, 0.5]  # under a second in all
    assert sum(Decimal(str(p)) for p in pauses) < 1
    assert not PositionGroup.objects.exists()
    assert not Order.objects.exists()
