"""Stop orders through CcxtAdapter on binance spot, against recorded binance traffic.

binance spot stops are plain orders (STOP_LOSS / STOP_LOSS_LIMIT on /api/v3/order), so they are
fetched, cancelled and listed like any other order; only the market's `orderTypes` decide
which stop kinds it takes.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from apps.exchanges import errors
from apps.exchanges.domain.types import OrderSide, OrderStatus, OrderType
from tests.exchanges.ccxt.replay import (
    case_request,
    load_fixture,
    recorded,
    replay,
    request_case,
    without,
)

REQUESTS = load_fixture("binance", "requests")
SKIP = REQUESTS["skipKeys"]


def _stop(r, **overrides):
    order = {
        "symbol": "LTC/USDT",
        "side": OrderSide.SELL,
        "type": OrderType.LIMIT,
        "amount": Decimal("0.2"),
        "price": Decimal("44"),
        "client_order_id": "tdstop0001",
        "trigger_price": Decimal("45"),
    }
    return r.adapter.create_order(**{**order, **overrides})


def _replay_with_stop_loss_markets():
    """binance with its recorded markets, plus STOP_LOSS in every symbol's orderTypes.

    The recorded exchangeInfo (markets/binance.json @4c47e712) lists STOP_LOSS_LIMIT but not
    STOP_LOSS; binance has since added STOP_LOSS to spot symbols. The edit is made here, in
    the open, rather than in the fixture.
    """
    r = replay("binance", markets=False)
    for response in load_fixture("binance", "markets")["responses"]:
        body = json.loads(json.dumps(response["body"]))
        for market in body["symbols"]:
            market["orderTypes"] = [*market["orderTypes"], "STOP_LOSS"]
        r.transport.add(response["method"], response["path"], body, query=response.get("query"))
    return r


def test_stop_types_come_from_the_recorded_order_types():
    r = replay("binance")

    markets = {m.symbol: m for m in r.adapter.load_markets()}

    # orderTypes: LIMIT, LIMIT_MAKER, MARKET, STOP_LOSS_LIMIT, TAKE_PROFIT_LIMIT
    assert markets["LTC/USDT"].stop_types == (OrderType.LIMIT,)
    assert markets["BTC/USDT"].stop_types == (OrderType.LIMIT,)


def test_stop_loss_in_the_order_types_adds_stop_market():
    r = _replay_with_stop_loss_markets()

    markets = {m.symbol: m for m in r.adapter.load_markets()}

    assert markets["LTC/USDT"].stop_types == (OrderType.MARKET, OrderType.LIMIT)


def test_recorded_stop_limit_is_sent_as_ccxt_recorded_it():
    case = request_case("binance", "Spot limit buy with triggerPrice")
    path, _, body = case_request(case, REQUESTS["outputType"])
    r = replay("binance")

    with pytest.raises(errors.NetworkFailure):  # unanswered: the request is only captured
        _stop(r, side=OrderSide.BUY, price=Decimal("50"), trigger_price=Decimal("100"))

    sent = r.transport.last("POST", path)
    assert without(sent.form(), SKIP) == without(body, SKIP)
    assert sent.form()["type"] == "STOP_LOSS_LIMIT"
    assert sent.form()["newClientOrderId"] == "tdstop0001"


def test_stop_limit_sell_sends_stop_price_limit_price_and_our_client_id():
    r = replay("binance")

    with pytest.raises(errors.NetworkFailure):
        _stop(r)

    assert without(r.transport.last("POST", "/api/v3/order").form(), SKIP[:3]) == {
        "symbol": "LTCUSDT",
        "side": "SELL",
        "newClientOrderId": "tdstop0001",
        "newOrderRespType": "FULL",
        "type": "STOP_LOSS_LIMIT",
        "quantity": "0.2",
        "price": "44",
        "timeInForce": "GTC",
        "stopPrice": "45",
    }


def test_stop_market_is_refused_where_the_market_lists_no_stop_loss():
    r = replay("binance")

    with pytest.raises(errors.InvalidOrder, match="takes no stop-market orders"):
        _stop(r, type=OrderType.MARKET, price=None)

    assert r.transport.paths() == ["GET /api/v3/exchangeInfo"]  # nothing was sent


def test_stop_market_sell_is_a_stop_loss_order():
    # No spot STOP_LOSS case is recorded upstream; the expected form is ccxt's own (binance's
    # "STOP_LOSS: quantity, stopPrice").
    r = _replay_with_stop_loss_markets()

    with pytest.raises(errors.NetworkFailure):
        _stop(r, type=OrderType.MARKET, price=None)

    assert without(r.transport.last("POST", "/api/v3/order").form(), SKIP[:3]) == {
        "symbol": "LTCUSDT",
        "side": "SELL",
        "newClientOrderId": "tdstop0001",
        "newOrderRespType": "FULL",
        "type": "STOP_LOSS",
        "quantity": "0.2",
        "stopPrice": "45",
    }


def test_open_orders_list_plain_and_stop_orders_with_the_trigger():
    r = replay("binance")
    r.transport.add(
        "GET", "/api/v3/openOrders", recorded("binance", "open_orders_ltc_limit_and_stop")
    )

    plain, stop = r.adapter.fetch_open_orders("LTC/USDT")

    assert (plain.type, plain.price, plain.trigger_price) == (
        OrderType.LIMIT,
        Decimal("50"),
        None,
    )
    assert (stop.side, stop.type, stop.status) == (
        OrderSide.SELL,
        OrderType.LIMIT,
        OrderStatus.OPEN,
    )
    assert (stop.amount, stop.filled, stop.price, stop.trigger_price) == (
        Decimal("0.2"),
        Decimal("0"),
        Decimal("44"),
        Decimal("45"),
    )
    assert stop.client_order_id == "tdstop0001"
    assert r.transport.paths()[-1:] == ["GET /api/v3/openOrders"]  # one list holds both


def test_stop_is_fetched_and_cancelled_by_client_id_as_a_plain_order():
    stop = recorded("binance", "open_orders_ltc_limit_and_stop")[1]
    r = replay("binance")
    r.transport.add("GET", "/api/v3/order", stop, query={"origClientOrderId": "tdstop0001"})
    r.transport.add(
        "DELETE",
        "/api/v3/order",
        {**stop, "status": "CANCELED"},
        query={"origClientOrderId": "tdstop0001"},
    )

    fetched = r.adapter.fetch_order(
        symbol="LTC/USDT", client_order_id="tdstop0001", conditional=True
    )
    cancelled = r.adapter.cancel_order(
        symbol="LTC/USDT", client_order_id="tdstop0001", conditional=True
    )

    assert (fetched.exchange_order_id, fetched.trigger_price) == ("3811057335", Decimal("45"))
    assert (cancelled.status, cancelled.trigger_price) == (OrderStatus.CANCELED, Decimal("45"))
    assert r.transport.last("DELETE", "/api/v3/order").query["origClientOrderId"] == ("tdstop0001")


@pytest.mark.parametrize(
    "message", ["Order would trigger immediately.", "Stop price would trigger immediately."]
)
def test_crossed_trigger_refusal_is_would_trigger_immediately(message):
    r = replay("binance")
    r.transport.add("POST", "/api/v3/order", {"code": -2010, "msg": message}, status=400)

    with pytest.raises(errors.WouldTriggerImmediately, match=message):
        _stop(r)


def test_post_only_refusal_is_not_mistaken_for_a_crossed_trigger():
    # ccxt raises the same OrderImmediatelyFillable for this message: the text decides.
    r = replay("binance")
    body = {"code": -2010, "msg": "Order would immediately match and take."}
    r.transport.add("POST", "/api/v3/order", body, status=400)

    with pytest.raises(errors.InvalidOrder) as raised:
        _stop(r)

    assert type(raised.value) is errors.InvalidOrder
