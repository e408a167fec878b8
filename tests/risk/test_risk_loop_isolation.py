"""One trader's hostile risk setting does not stop the risk loop for everyone after them: the
account is recorded and skipped, the later accounts' guards are measured and their kill switch
kept flat in the same tick, /readyz shows the loop degraded, and that trader's Risk page says
what is wrong instead of failing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from apps.core.models import Event, LoopTick
from apps.exchanges.models import ExchangeAccount, PaperSettings
from apps.exchanges.paper.services import open_paper_account
from apps.exchanges.services import refresh_balances, refresh_markets
from apps.positions.models import PositionGroup
from apps.risk.models import AccountGuard, RiskAction, RiskSettings
from apps.risk.services import risk_loop
from tests.exchanges.factories import ExchangeAccountFactory
from tests.risk.conftest import engine_on, open_group

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def paper_account() -> ExchangeAccount:
    account = ExchangeAccountFactory(kind="paper", quote_currency="USDT")
    open_paper_account(account=account, initial_balance=Decimal("10000"))
    PaperSettings.objects.filter(account=account).update(slippage_rate=Decimal(0))
    now = timezone.now()
    refresh_markets(account=account, now=now)
    refresh_balances(account=account, now=now)
    return account


NAN_DAILY_LOSS = "UPDATE risk_risksettings SET daily_loss_limit_pct = 'NaN' WHERE id = %s"


def store_hostile(account: ExchangeAccount, field: str, value) -> None:
    """Write `value` around the form and the model's validators, as an older version could."""
    settings = engine_on(account)
    if value == "NaN":  # the ORM refuses a non-finite Decimal; PostgreSQL's numeric holds it
        assert field == "daily_loss_limit_pct"
        with connection.cursor() as cursor:
            cursor.execute(NAN_DAILY_LOSS, [settings.pk])
    else:
        RiskSettings.objects.filter(pk=settings.pk).update(**{field: value})


HOSTILE = [
    ("min_group_age_minutes", 2147483647),
    ("wait_minutes", 2147483647),
    ("breaker_window_minutes", 2147483647),
    ("daily_loss_limit_pct", "NaN"),
]


@pytest.mark.parametrize(("field", "value"), HOSTILE)
def test_a_hostile_setting_skips_its_account_and_the_later_accounts_are_measured(
    client, desk, field, value
):
    hostile = paper_account()  # first by id
    measured = paper_account()
    killed = paper_account()
    assert hostile.pk < measured.pk < killed.pk
    open_group(desk, hostile, "ETH/USDT", "500")
    store_hostile(hostile, field, value)
    engine_on(measured)
    swept = open_group(desk, killed, "BTC/USDT", "500")
    AccountGuard.objects.create(account=killed, killed_at=timezone.now())

    assert desk.run(risk_loop) is True

    # The later accounts were served in the same tick.
    guard = AccountGuard.objects.get(account=measured)
    assert guard.equity == Decimal("10000") and guard.equity_at is not None
    assert PositionGroup.objects.get(pk=swept.pk).status != PositionGroup.Status.OPEN
    # The hostile account was skipped and recorded, once, for its owner.
    assert not AccountGuard.objects.filter(account=hostile, equity__isnull=False).exists()
    failed = Event.objects.get(kind="loop.item_failed", data__loop="risk.tick")
    assert failed.account == hostile and failed.user == hostile.owner
    assert f"ExchangeAccount {hostile.pk}" in failed.message
    assert "out of bounds" in failed.message and "SettingsOutOfBounds" in failed.message
    error = LoopTick.objects.get(name="risk.tick").last_error
    assert error.startswith("1 failed this tick (the others went on)")
    report = client.get("/readyz").json()
    assert report["status"] == "degraded"
    assert f"ExchangeAccount {hostile.pk}" in report["loops"]["risk.tick"]["error"]


@pytest.mark.parametrize(("field", "value"), HOSTILE)
def test_the_risk_page_of_a_hostile_setting_says_so_and_sells_nothing(client, desk, field, value):
    hostile = paper_account()
    group = open_group(desk, hostile, "ETH/USDT", "500")
    store_hostile(hostile, field, value)
    client.force_login(hostile.owner)

    page = client.get(f"/risk/?account={hostile.pk}")

    assert page.status_code == 200
    notice = page.content.decode().split('id="risk-settings-problem"')[1].split("</p>")[0]
    assert "out of bounds" in notice and "save the settings below within bounds" in notice
    assert 'id="risk-settings"' in page.content.decode()  # the form to fix them is there
    for path in (f"/risk/{hostile.pk}/preview/", f"/risk/{hostile.pk}/run/"):
        for headers in ({}, HTMX):
            answer = client.post(path, {"confirm": "yes"}, **headers)
            assert answer.status_code == 200, path
            assert 'id="risk-settings-problem"' in answer.content.decode()
    assert not RiskAction.objects.exists()
    assert PositionGroup.objects.get(pk=group.pk).status == PositionGroup.Status.OPEN


def test_a_tick_with_settings_within_bounds_records_no_failure(desk):
    account = paper_account()
    engine_on(account, min_group_age_minutes=60 * 24)
    LoopTick.objects.create(name="risk.tick", last_started_at=timezone.now(), last_error="x")

    assert desk.run(risk_loop) is True

    assert LoopTick.objects.get(name="risk.tick").last_error == ""
    assert not Event.objects.filter(kind="loop.item_failed").exists()
    assert AccountGuard.objects.get(account=account).equity == Decimal("10000")
