"""Every body of ../shared/fixtures/tradingview/alerts.json, posted as TradingView would, through
to the position groups and the paper exchange."""

from __future__ import annotations

import json

import pytest

from apps.positions.models import Order, PositionGroup
from apps.webhooks.models import Signal
from apps.webhooks.services import create_route
from tests.webhooks.conftest import alerts, post

pytestmark = pytest.mark.django_db

# Fixture id -> what the desk must read from its rendered body.
EXPECTED = {
    "strategy_entry_long": {
        "format": "tradingview",
        "action": "entry",
        "symbol": "BTC/USDT",
        "symbol_given": "BINANCE:BTCUSDT",
        "timeframe": "15",
        "side": "long",
        "price": "64250.5",
        "quantity": "0.0156",
        "fired_at": "2024-06-12T14:45:01+00:00",
        "note": "opens a long: flat 0 → long 0.0156",
    },
    "strategy_exit": {
        "format": "tradingview",
        "action": "exit",
        "symbol": "BTC/USDT",
        "symbol_given": "BINANCE:BTCUSDT",
        "timeframe": "15",
        "side": "long",
        "note": "intent close",
    },
    "strategy_pyramid_add": {
        "format": "tradingview",
        "action": "entry",
        "symbol": "BTC/USDT",
        "symbol_given": "BINANCE:BTCUSDT",
        "timeframe": "15",
        "side": "long",
        "price": "63412.0",
        "quantity": "0.0172",
        "fired_at": "2024-06-12T16:15:00+00:00",
        "note": "pyramid add: long 0.0156 → long 0.0328",
    },
    "indicator_plain_text": {
        "format": "text",
        "action": "entry",
        "symbol": "BTC/USDT",
        "symbol_given": "BINANCE:BTCUSDT",
        "timeframe": "15",
        "side": "long",
        "price": "64250.5",
        "fired_at": "2024-06-12T14:45:00+00:00",
        "note": "command long",
    },
    "three_commas_dca_start": {
        "format": "3commas",
        "action": "entry",
        "symbol": "BTC/USDT",
        "symbol_given": "USDT_BTC",
        "timeframe": "any",
        "side": "long",
        "note": "3Commas deal start",
    },
}


@pytest.fixture
def payloads() -> dict[str, dict]:
    return {payload["id"]: payload for payload in alerts()["payloads"]}


@pytest.fixture
def tv_route(route):
    """The fixtures' route: their secret, and no freshness check (their times are from 2024)."""
    route.secret = "tdk_whsec_EXAMPLE_4f9c2a71"
    route.max_lag_seconds = 0
    route.save()
    return route


@pytest.fixture
def send(client, django_capture_on_commit_callbacks):
    def run(route, payload: dict, body=None) -> Signal:
        body = payload["rendered_body"] if body is None else body
        content_type = payload["expected_content_type"]
        # TradingView posts the rendered message as it is: JSON text, or plain text.
        data = json.dumps(body, indent=2) if isinstance(body, dict) else body
        with django_capture_on_commit_callbacks(execute=True):
            answer = post(route, data, content_type=content_type)
        assert answer.status_code == 200, answer.content
        return Signal.objects.get(pk=answer.json()["signal_id"])

    return run


def test_the_fixture_file_holds_the_bodies_these_tests_expect(payloads):
    assert set(payloads) == set(EXPECTED)


@pytest.mark.parametrize("fixture_id", sorted(EXPECTED))
def test_each_rendered_body_is_read_as_its_interpretation_says(
    fixture_id, payloads, tv_route, send
):
    if fixture_id in ("indicator_plain_text", "three_commas_dca_start"):
        tv_route.secret = ""  # plain text cannot carry one; 3Commas messages carry none
        tv_route.save()
    signal = send(tv_route, payloads[fixture_id])

    assert signal.parsed == EXPECTED[fixture_id]
    assert signal.content_type == payloads[fixture_id]["expected_content_type"]
    assert signal.status in (Signal.Status.EXECUTED, Signal.Status.REJECTED)


def test_a_strategy_alerts_entry_pyramid_add_and_exit_run_one_group_on_paper(
    payloads, tv_route, send
):
    entry = send(tv_route, payloads["strategy_entry_long"])
    group = PositionGroup.objects.get()
    assert (entry.status, entry.group_id) == (Signal.Status.EXECUTED, group.pk)
    assert (group.symbol, group.timeframe, group.side) == ("BTC/USDT", "15", "long")

    add = send(tv_route, payloads["strategy_pyramid_add"])
    assert (add.status, add.group_id) == (Signal.Status.EXECUTED, group.pk)
    assert PositionGroup.objects.count() == 1
    assert list(group.pyramids.order_by("index").values_list("signal_id", flat=True)) == [
        entry.pk,
        add.pk,
    ]
    bought = Order.objects.filter(group=group, side="buy")
    assert set(bought.values_list("signal_id", flat=True)) == {entry.pk, add.pk}

    exit_ = send(tv_route, payloads["strategy_exit"])
    group.refresh_from_db()
    assert (exit_.status, exit_.group_id) == (Signal.Status.EXECUTED, group.pk)
    assert group.status == PositionGroup.Status.CLOSED
    sold = Order.objects.get(group=group, side="sell")
    assert sold.signal_id == exit_.pk
    assert sold.pk in exit_.order_ids


def test_the_generic_strategy_template_rendering_of_the_exit_closes_too(payloads, tv_route, send):
    send(tv_route, payloads["strategy_entry_long"])
    generic = dict(payloads["strategy_exit"]["equivalent_generic_template_rendering"])
    generic.pop("note")
    generic |= {
        "secret": "tdk_whsec_EXAMPLE_4f9c2a71",
        "exchange": "BINANCE",
        "ticker": "BTCUSDT",
        "interval": "15",
    }
    exit_ = send(tv_route, payloads["strategy_exit"], body=generic)

    assert exit_.parsed["note"] == "closes the long: long 0.0156 → flat 0"
    assert exit_.status == Signal.Status.EXECUTED
    assert PositionGroup.objects.get().status == PositionGroup.Status.CLOSED


def test_the_plain_text_indicator_alert_sizes_by_the_routes_strategy(payloads, route, send):
    route.max_lag_seconds = 0
    route.save()
    signal = send(route, payloads["indicator_plain_text"])

    group = PositionGroup.objects.get()
    assert (signal.status, signal.group_id) == (Signal.Status.EXECUTED, group.pk)
    assert "quantity" not in signal.parsed  # the text never sizes: the strategy does (500 USDT)
    assert "with 500.00 USDT" in signal.reason


def test_three_commas_deal_start_and_close_at_market_price(payloads, route, send):
    start = send(route, payloads["three_commas_dca_start"])
    close = send(
        route,
        payloads["three_commas_dca_start"],
        body=payloads["three_commas_dca_start"]["variants"]["close_deal"],
    )

    group = PositionGroup.objects.get()
    assert (start.status, close.status) == (Signal.Status.EXECUTED, Signal.Status.EXECUTED)
    assert (group.timeframe, group.status) == ("any", PositionGroup.Status.CLOSED)
    assert start.group_id == close.group_id == group.pk


def test_the_fixtures_secret_is_required_on_a_route_that_has_it(payloads, tv_route, client):
    body = dict(payloads["strategy_entry_long"]["rendered_body"])
    body["secret"] = "tdk_whsec_EXAMPLE_wrong"
    assert post(tv_route, body).status_code == 401
    assert not Signal.objects.exists()


def test_a_second_route_on_the_same_account_shares_the_lane(payloads, tv_route, send):
    other = create_route(
        owner=tv_route.owner,
        label="Other",
        account=tv_route.account,
        strategy=tv_route.strategy,
        ip_allowlist="",
        max_lag_seconds=0,
        secret="tdk_whsec_EXAMPLE_4f9c2a71",
    )
    send(tv_route, payloads["strategy_entry_long"])
    exit_ = send(other, payloads["strategy_exit"])
    assert exit_.status == Signal.Status.EXECUTED
    assert PositionGroup.objects.get().status == PositionGroup.Status.CLOSED
