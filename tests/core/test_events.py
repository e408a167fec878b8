"""The audit trail: events are stored as given, append-only, pushed live; and every event the
engine, risk, the queue and the webhooks record links to its page with an absolute address (it
goes into emails and Discord embeds as is) and carries the facts a notification shows first."""

from __future__ import annotations

import ast
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from apps.core.broadcast import join_live
from apps.core.events import Facts, record_event
from apps.core.models import AppendOnlyError, Event
from apps.positions.services.events import group_event
from apps.risk.services.events import risk_event
from apps.tickets.services.events import trade_event
from apps.trade_queue.models import QueuedSignal
from apps.trade_queue.services.queueing import queue_event
from apps.webhooks.models import Signal
from apps.webhooks.services import create_route
from apps.webhooks.services.decisions import decide_queued
from apps.webhooks.services.events import signal_event
from tests.accounts.factories import UserFactory
from tests.exchanges.factories import ExchangeAccountFactory
from tests.tickets.factories import StrategyFactory, TradeFactory, ticket_position

pytestmark = pytest.mark.django_db


def test_record_event_stores_who_what_and_about_which_object():
    trader = UserFactory()
    event = record_event(
        kind="account.tested",
        message="Connection test passed.",
        user=trader,
        subject=trader,
        data={"latency_ms": 12},
    )
    stored = Event.objects.get(pk=event.pk)
    assert (stored.user, stored.kind, stored.message) == (trader, "account.tested", event.message)
    assert (stored.subject_type, stored.subject_id) == ("accounts.user", str(trader.pk))
    assert stored.data == {"latency_ms": 12}
    assert stored.level == Event.Level.INFO


def test_decimal_inputs_are_kept_exactly_as_strings():
    event = record_event(kind="order.priced", message="Priced.", data={"price": Decimal("0.1")})
    assert Event.objects.get(pk=event.pk).data == {"price": "0.1"}


def test_events_cannot_be_updated_or_deleted():
    event = record_event(kind="desk.note", message="Original.")
    event.message = "Rewritten."
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(AppendOnlyError):
        Event.objects.filter(pk=event.pk).update(message="Rewritten.")
    with pytest.raises(AppendOnlyError):
        Event.objects.filter(pk=event.pk).delete()
    assert Event.objects.get(pk=event.pk).message == "Original."


def test_an_event_rolled_back_with_its_transaction_leaves_no_trace():
    with pytest.raises(RuntimeError), transaction.atomic():
        record_event(kind="trade.activated", message="Activated.")
        raise RuntimeError("the service failed after recording")
    assert not Event.objects.filter(kind="trade.activated").exists()


@pytest.mark.django_db(transaction=True)
def test_a_users_event_is_pushed_to_that_users_group_as_a_log_row():
    trader = UserFactory()
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(join_live)(layer, user_id=trader.pk, channel_name=channel)

    event = record_event(kind="signal.rejected", message="Stale signal.", user=trader)

    message = async_to_sync(layer.receive)(channel)
    assert message["type"] == "desk.fragment"
    assert 'hx-swap-oob="afterbegin:#event-rows"' in message["html"]
    assert f'id="event-{event.pk}"' in message["html"]
    assert "Stale signal." in message["html"]


# --- The facts and the link every event carries -------------------------------------------------

SITE = "https://desk.example.com"


def test_facts_are_written_as_strings_and_the_empty_ones_left_out(settings):
    settings.SITE_URL = SITE
    event = record_event(
        kind="position.closed",
        message="Closed.",
        facts=Facts(
            account="Binance main",
            symbol="BTC/USDT",
            quantity=Decimal("0.0100"),
            pnl=Decimal("-1.5"),
            url="/positions/7/",
        ),
        # The caller's own inputs: an empty fact is dropped, any other key kept as given.
        data={"price": "", "reason": None, "leg": 0, "note": ""},
    )
    assert Event.objects.get(pk=event.pk).data == {
        "account": "Binance main",
        "symbol": "BTC/USDT",
        "quantity": "0.0100",
        "pnl": "-1.5",
        "url": f"{SITE}/positions/7/",
        "leg": 0,
        "note": "",
    }


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("/trades/12/", f"{SITE}/trades/12/"),
        ("trades/12/", f"{SITE}/trades/12/"),
        ("/risk/?account=3", f"{SITE}/risk/?account=3"),
        ("https://elsewhere.example.org/x", "https://elsewhere.example.org/x"),
    ],
)
def test_a_link_leaves_absolute_whether_given_as_a_fact_or_in_data(settings, given, stored):
    settings.SITE_URL = SITE + "/"  # a trailing slash in the setting makes no double slash
    as_fact = record_event(kind="desk.note", message="x", facts=Facts(url=given))
    in_data = record_event(kind="desk.note", message="x", data={"url": given})
    assert Event.objects.get(pk=as_fact.pk).data == {"url": stored}
    assert Event.objects.get(pk=in_data.pk).data == {"url": stored}


def test_a_key_of_data_wins_over_the_same_fact():
    event = record_event(
        kind="desk.note", message="x", facts=Facts(symbol="BTC/USDT"), data={"symbol": "ETH/USDT"}
    )
    assert Event.objects.get(pk=event.pk).data == {"symbol": "ETH/USDT"}


# --- Every wrapper's events ----------------------------------------------------------------------

APPS = Path(__file__).resolve().parents[2] / "apps"
WRAPPERS = ("trade_event", "group_event", "risk_event", "queue_event")


def kinds_recorded_by(wrapper: str) -> list[str]:
    """The literal kinds the application's code passes to `wrapper` (its second argument),
    both of `"a" if ... else "b"`; a kind built at run time (an f-string) is not seen."""
    kinds: set[str] = set()
    for path in APPS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == wrapper:
                kind = node.args[1] if len(node.args) > 1 else None
                kind = next((k.value for k in node.keywords if k.arg == "kind"), kind)
                kinds |= _literals(kind)
    return sorted(kinds)


def _literals(node: ast.expr | None) -> set[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _literals(node.body) | _literals(node.orelse)
    return set()


KINDS = {wrapper: kinds_recorded_by(wrapper) for wrapper in WRAPPERS}


def test_the_scan_finds_the_kinds_that_reach_notifications():
    # Guards the scan itself: were it to find nothing, the tests below would prove nothing.
    assert {"trade.activated", "trade.rejected"} <= set(KINDS["trade_event"])
    assert {"trade.entry_filled", "position.closed"} <= set(KINDS["group_event"])
    assert {"risk.action", "guard.breached", "account.kill_switch"} <= set(KINDS["risk_event"])
    assert KINDS["queue_event"]


@pytest.fixture
def site(settings):
    settings.SITE_URL = SITE


@pytest.fixture
def account():
    return ExchangeAccountFactory(label="Binance main")


@pytest.fixture
def trade(account):
    return TradeFactory(owner=account.owner, account=account, symbol="BTC/USDT")


@pytest.fixture
def signal(account):
    route = create_route(
        owner=account.owner,
        label="TV main",
        account=account,
        strategy=StrategyFactory(owner=account.owner),
        ip_allowlist="",
    )
    return Signal.objects.create(
        route=route,
        account=account,
        received_at=timezone.now(),
        body=b"buy",
        key="k1",
        action="entry",
        symbol="BTC/USDT",
        status=Signal.Status.QUEUED,
        reason="The pool is full.",
    )


@pytest.fixture
def queued(account, signal):
    now = timezone.now()
    return QueuedSignal.objects.create(
        owner=account.owner,
        account=account,
        symbol="BTC/USDT",
        timeframe="15",
        side="long",
        signal=signal,
        queued_at=now,
        expires_at=now + timedelta(hours=1),
    )


def last_data(kind: str) -> dict:
    return Event.objects.filter(kind=kind).latest("pk").data


@pytest.mark.parametrize("kind", KINDS["trade_event"])
def test_every_trade_event_links_to_the_trades_page_absolutely(kind, trade, site):
    trade_event(trade, kind, "Something happened.", data={"reason": "because"})
    data = last_data(kind)
    assert data["url"] == f"{SITE}/trades/{trade.pk}/"
    assert (data["account"], data["symbol"], data["side"]) == ("Binance main", "BTC/USDT", "long")
    assert data["reason"] == "because"


@pytest.mark.parametrize("kind", KINDS["group_event"])
def test_every_group_event_links_to_the_positions_page_absolutely(kind, trade, site):
    group = ticket_position(trade, quantity="0.01", price="65000")
    group_event(group, kind, "Something happened.", data={"pnl": "1.25", "price": ""})
    data = last_data(kind)
    assert data["url"] == f"{SITE}/positions/{group.pk}/"
    assert (data["account"], data["symbol"], data["pnl"]) == ("Binance main", "BTC/USDT", "1.25")
    assert "price" not in data  # an empty fact is not written


@pytest.mark.parametrize("kind", KINDS["risk_event"])
def test_every_risk_event_links_to_the_accounts_risk_page_absolutely(kind, account, site):
    risk_event(account, kind, "Something happened.")
    data = last_data(kind)
    assert data["url"] == f"{SITE}/risk/?account={account.pk}"
    assert data["account"] == "Binance main"


@pytest.mark.parametrize("kind", KINDS["queue_event"] + ["queue.expired", "queue.cancelled"])
def test_every_queue_event_links_to_the_queue_absolutely(kind, queued, site):
    queue_event(queued, kind, "Something happened.")
    data = last_data(kind)
    assert data["url"] == f"{SITE}/queue/"
    assert (data["account"], data["symbol"], data["side"]) == ("Binance main", "BTC/USDT", "long")
    assert data["queued"] == queued.pk


@pytest.mark.parametrize(
    "status",
    [
        Signal.Status.EXECUTED,
        Signal.Status.QUEUED,
        Signal.Status.DUPLICATE,
        Signal.Status.STALE,
        Signal.Status.REJECTED,
    ],
)
def test_every_signal_decision_links_to_the_signals_page_absolutely(status, signal, site):
    signal.status = status
    event = signal_event(signal)
    data = Event.objects.get(pk=event.pk).data
    assert data["url"] == f"{SITE}/signals/{signal.pk}/"
    assert (data["account"], data["symbol"], data["reason"]) == (
        "Binance main",
        "BTC/USDT",
        "The pool is full.",
    )


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (Signal.Status.EXECUTED, "signal.promoted"),
        (Signal.Status.REJECTED, "signal.rejected"),
        (Signal.Status.EXPIRED, "signal.expired"),
        (Signal.Status.CANCELLED, "signal.cancelled"),
        (Signal.Status.REPLACED, "signal.replaced"),
    ],
)
def test_every_later_decision_of_a_queued_signal_links_absolutely(status, kind, signal, site):
    assert decide_queued(signal_id=signal.pk, status=status, reason="Moved.", now=timezone.now())
    data = last_data(kind)
    assert data["url"] == f"{SITE}/signals/{signal.pk}/"
    assert (data["account"], data["symbol"], data["reason"]) == (
        "Binance main",
        "BTC/USDT",
        "Moved.",
    )
