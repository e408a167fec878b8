"""`make run`'s demo: seed_demo gives the demo trader a route, rundesk prints a curl that works."""

from __future__ import annotations

import re
import shlex
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.core.startup import banners
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.paper.services import set_price
from apps.exchanges.services import refresh_balances, refresh_markets
from apps.positions.models import PositionGroup
from apps.strategies.models import Strategy
from apps.webhooks.demo import demo_webhook_banner
from apps.webhooks.models import Signal, WebhookRoute
from tests.webhooks.conftest import deliver

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(settings, tmp_path, monkeypatch):
    monkeypatch.delenv("DEMO_TRADER_PASSWORD", raising=False)
    monkeypatch.delenv("DEMO_OPERATOR_PASSWORD", raising=False)
    settings.LOCAL_ENV_FILE = tmp_path / ".env"
    call_command("seed_demo")
    call_command("seed_demo")  # idempotent


def test_seed_demo_gives_the_demo_trader_one_open_route_on_the_paper_account(seeded):
    route = WebhookRoute.objects.get()
    account = ExchangeAccount.objects.get(owner__username="demo")
    assert (route.owner.username, route.account, route.is_active) == ("demo", account, True)
    assert route.secret == "" and route.ip_allowlist == ""  # curl on loopback just works
    assert route.strategy == Strategy.objects.get(owner=route.owner)
    assert not WebhookRoute.objects.filter(owner__username="operator").exists()


def test_rundesk_prints_the_url_and_a_curl_that_opens_a_paper_position(
    seeded, client, django_capture_on_commit_callbacks
):
    route = WebhookRoute.objects.get()
    # What rundesk prints: the banners the apps registered at start-up (webhooks offers this one).
    banner = "\n".join(banners("127.0.0.1", 8000))
    url = f"http://127.0.0.1:8000/webhooks/tv/{route.token}/"
    assert url in banner

    command = shlex.split(re.search(r"Send a signal:\s+(curl .+)$", banner, re.M).group(1))
    assert command[:4] == ["curl", "-X", "POST", url]
    headers = command[command.index("-H") + 1]
    body = command[command.index("-d") + 1]
    assert headers == "Content-Type: application/json"

    # What the embedded desk's loops have done by the time a newcomer pastes it.
    set_price(symbol="BTC/USDT", price=Decimal("65000.00"))
    refresh_markets(account=route.account, now=timezone.now())
    refresh_balances(account=route.account, now=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        answer = deliver(
            url.removeprefix("http://127.0.0.1:8000"),
            body,
            content_type="application/json",
            REMOTE_ADDR="127.0.0.1",
        )

    assert answer.json()["status"] == "accepted"
    signal = Signal.objects.get()
    assert signal.status == Signal.Status.EXECUTED, signal.reason
    group = PositionGroup.objects.get(account=route.account)
    assert (group.symbol, group.timeframe, group.status) == ("BTC/USDT", "15", "open")


def test_without_a_demo_route_rundesk_prints_no_webhook_lines(db):
    assert demo_webhook_banner("127.0.0.1", 8000) == ""
    assert banners("127.0.0.1", 8000) == []


def test_a_desk_listening_on_every_interface_prints_a_loopback_url(seeded):
    assert "http://127.0.0.1:9000/webhooks/tv/" in demo_webhook_banner("0.0.0.0", 9000)  # noqa: S104
