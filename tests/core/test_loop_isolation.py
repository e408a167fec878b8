"""One failing account or row is skipped and reported; the loop goes on for the others."""

from __future__ import annotations

import pytest

from apps.core.loops import each_isolated, run_loop
from apps.core.models import Event, LoopTick
from tests.exchanges.factories import ExchangeAccountFactory

pytestmark = pytest.mark.django_db


def test_a_failing_account_is_skipped_recorded_and_the_rest_handled(client):
    first, bad, last = ExchangeAccountFactory(), ExchangeAccountFactory(), ExchangeAccountFactory()
    handled = []

    def act(account):
        if account == bad:
            raise OverflowError("Python int too large to convert to C int")
        handled.append(account)

    def tick():
        each_isolated("test.accounts", [first, bad, last], act, account_of=lambda a: a)

    assert run_loop("test.accounts", tick) is True

    assert handled == [first, last]
    tick_row = LoopTick.objects.get(name="test.accounts")
    assert tick_row.last_error.startswith("1 failed this tick (the others went on)")
    assert f"ExchangeAccount {bad.pk}: OverflowError" in tick_row.last_error
    event = Event.objects.get(kind="loop.item_failed")
    assert (event.account, event.user, event.level) == (bad, bad.owner, Event.Level.ERROR)
    assert "test.accounts" in event.message and "The other accounts were handled" in event.message

    report = client.get("/readyz").json()
    assert report["status"] == "degraded"
    assert "OverflowError" in report["loops"]["test.accounts"]["error"]


def test_a_row_failing_on_every_tick_is_reported_once_per_period_and_cleared_when_fixed():
    account = ExchangeAccountFactory()
    broken = {"yes": True}

    def act(item):
        if broken["yes"]:
            raise ValueError("bad row")

    for _ in range(3):
        run_loop("test.rows", lambda: each_isolated("test.rows", [account], act))
    assert Event.objects.filter(kind="loop.item_failed").count() == 1

    broken["yes"] = False
    run_loop("test.rows", lambda: each_isolated("test.rows", [account], act))
    assert LoopTick.objects.get(name="test.rows").last_error == ""


def test_a_database_error_in_one_item_does_not_poison_the_others():
    from django.db import connection

    accounts = [ExchangeAccountFactory(), ExchangeAccountFactory()]
    seen = []

    def act(account):
        if account == accounts[0]:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1/0")
        seen.append(type(account).objects.filter(pk=account.pk).exists())

    assert each_isolated("test.db", accounts, act) == 1
    assert seen == [True]
