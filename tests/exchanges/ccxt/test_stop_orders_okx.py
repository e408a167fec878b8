"""Stop orders through CcxtAdapter on okx spot: algo orders of ordType `conditional`.

okx keeps stops apart from plain orders: placed on /api/v5/trade/order-algo, read from
/api/v5/trade/order-algo and /orders-algo-pending, cancelled on /cancel-algos, with our client
id as algoClOrdId. Once triggered, the algo order names the order it placed (ordIdList), and
that order carries the fill.
"""

from __future__ import annotations

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

REQUESTS = load_fixture("okx", "requests")
SKIP = REQUESTS["skipKeys"]  # clOrdId, tag: ccxt generates them when no id is given

ALGO_ID = "2017146754403004416"  # the recorded conditional (stop-market) order
ALGO_CLIENT_ID = "e847386590ce4dBC510e616e0438b78a"
FILLED_ORDER_ID = "1339107111507525632"  # the recorded, filled market buy of 0.1 LTC


def _stop(r, **overrides):
    order = {
        "symbol": "LTC/USDT",
        "side": OrderSide.SELL,
        "type": OrderType.MARKET,
        "amount": Decimal("0.1"),
        "price": None,
        "client_order_id": "tdstop0001",
        "trigger_price": Decimal("90"),
    }
    return r.adapter.create_order(**{**order, **overrides})


def test_spot_markets_take_stop_market_and_stop_limit():
    r = replay("okx")

    markets = {m.symbol: m for m in r.adapter.load_markets()}

    assert markets["LTC/USDT"].stop_types == (OrderType.MARKET, OrderType.LIMIT)


def test_stop_market_sell_is_the_recorded_conditional_algo_order_with_our_algo_client_id():
    case = request_case("okx", "spot stopLossPrice sell order")
    path, _, body = case_request(case, REQUESTS["outputType"])
    r = replay("okx")

    with pytest.raises(errors.NetworkFailure):
        _stop(r)

    sent = r.transport.last("POST", path).json()
    assert path == "/api/v5/trade/order-algo"
    assert without(sent, [*SKIP, "algoClOrdId"]) == without(body, SKIP)
    assert (sent["algoClOrdId"], sent["clOrdId"]) == ("tdstop0001", "tdstop0001")
    assert "tag" not in sent  # no broker id: it only comes with a ccxt-generated id
    # ccxt sends tdMode "cross" for spot algo orders (its comment: "cash" was refused).
    assert sent["tdMode"] == "cross"


def test_stop_limit_sell_sends_the_limit_as_sl_ord_px():
    # Recorded on LTC-USDT-SWAP only; replayed here on spot LTC-USDT (no posSide on spot).
    case = request_case("okx", "Swap limit sell with stopLossPrice and posSide = long.")
    _, _, body = case_request(case, REQUESTS["outputType"])
    expected = {**without(body, [*SKIP, "posSide"]), "instId": "LTC-USDT"}
    r = replay("okx")

    with pytest.raises(errors.NetworkFailure):
        _stop(
            r,
            type=OrderType.LIMIT,
            amount=Decimal("1"),
            price=Decimal("49"),
            trigger_price=Decimal("50"),
        )

    sent = r.transport.last("POST", "/api/v5/trade/order-algo").json()
    assert without(sent, [*SKIP, "algoClOrdId"]) == expected
    assert (sent["slTriggerPx"], sent["slOrdPx"]) == ("50", "49")


def test_acknowledged_stop_is_read_back_from_the_algo_endpoint():
    r = replay("okx")
    r.transport.add("POST", "/api/v5/trade/order-algo", recorded("okx", "order_algo_ack"))
    r.transport.add(
        "GET",
        "/api/v5/trade/order-algo",
        recorded("okx", "algo_pending_conditional_spot"),
        query={"algoId": ALGO_ID},
    )

    order = _stop(r, side=OrderSide.BUY, amount=Decimal("1"), trigger_price=Decimal("100"))

    assert r.transport.last("GET", "/api/v5/trade/order-algo").query == {
        "instId": "LTC-USDT",
        "algoId": ALGO_ID,
    }
    assert (order.exchange_order_id, order.client_order_id) == (ALGO_ID, ALGO_CLIENT_ID)
    assert (order.side, order.type, order.status) == (
        OrderSide.BUY,
        OrderType.MARKET,  # slOrdPx -1
        OrderStatus.OPEN,
    )
    assert (order.amount, order.filled, order.price, order.trigger_price) == (
        Decimal("1"),
        Decimal("0"),
        None,
        Decimal("100"),
    )


def test_stop_is_fetched_by_client_id_as_algo_cl_ord_id():
    # Shape of the recorded "Fetch stop order" case (GET order-algo?instId&algoId), by our id.
    r = replay("okx")
    r.transport.add(
        "GET", "/api/v5/trade/order-algo", recorded("okx", "algo_pending_conditional_spot")
    )

    order = r.adapter.fetch_order(
        symbol="LTC/USDT", client_order_id=ALGO_CLIENT_ID, conditional=True
    )

    assert r.transport.last("GET", "/api/v5/trade/order-algo").query == {
        "instId": "LTC-USDT",
        "algoClOrdId": ALGO_CLIENT_ID,
    }
    assert (order.exchange_order_id, order.trigger_price) == (ALGO_ID, Decimal("100"))


def test_recorded_fetch_stop_order_path_and_query():
    case = request_case("okx", "Fetch stop order")
    path, query, _ = case_request(case, REQUESTS["outputType"])
    r = replay("okx")

    with pytest.raises(errors.NetworkFailure):
        r.adapter.fetch_order(
            symbol="LTC/USDT", exchange_order_id=query["algoId"], conditional=True
        )

    sent = r.transport.last("GET", path)
    assert sent.query == {**query, "instId": "LTC-USDT"}  # recorded on LTC-USDT-SWAP


def test_triggered_stop_is_closed_with_the_fill_of_the_order_it_became():
    r = replay("okx")
    r.transport.add(
        "GET", "/api/v5/trade/order-algo", recorded("okx", "algo_conditional_spot_triggered")
    )
    r.transport.add(
        "GET",
        "/api/v5/trade/order",
        recorded("okx", "order_ltc_market_buy_filled"),
        query={"ordId": FILLED_ORDER_ID},
    )

    order = r.adapter.fetch_order(
        symbol="LTC/USDT", client_order_id=ALGO_CLIENT_ID, conditional=True
    )

    assert r.transport.paths()[-2:] == [
        "GET /api/v5/trade/order-algo",
        "GET /api/v5/trade/order",
    ]
    assert order.status == OrderStatus.CLOSED
    assert (order.exchange_order_id, order.trigger_price) == (ALGO_ID, Decimal("100"))
    assert (order.amount, order.filled, order.average) == (
        Decimal("0.1"),
        Decimal("0.1"),
        Decimal("101.58"),
    )
    assert (order.fee_cost, order.fee_currency) == (Decimal("0.0001"), "LTC")


def test_stop_is_cancelled_by_client_id_on_cancel_algos():
    case = request_case("okx", "cancel trigger orders by clientOrderId")
    _, _, body = case_request(case, REQUESTS["outputType"])
    r = replay("okx")
    r.transport.add("POST", "/api/v5/trade/cancel-algos", recorded("okx", "cancel_algos_ack"))
    cancelled = recorded("okx", "algo_pending_conditional_spot")
    cancelled["data"][0]["state"] = "canceled"
    r.transport.add("GET", "/api/v5/trade/order-algo", cancelled, query={"algoId": ALGO_ID})

    order = r.adapter.cancel_order(
        symbol="LTC/USDT", client_order_id=ALGO_CLIENT_ID, conditional=True
    )

    sent = r.transport.last("POST", "/api/v5/trade/cancel-algos").json()
    # The recorded case is on BTC-USDT-SWAP; the same one-element list, on spot LTC-USDT.
    assert sent == [{**body[0], "instId": "LTC-USDT", "algoClOrdId": ALGO_CLIENT_ID}]
    assert (order.status, order.exchange_order_id) == (OrderStatus.CANCELED, ALGO_ID)


def test_open_orders_are_the_plain_list_plus_the_pending_conditional_algo_orders():
    case = request_case("okx", "Fetch open stop orders")
    _, stop_query, _ = case_request(case, REQUESTS["outputType"])
    r = replay("okx")
    plain = recorded("okx", "order_ltc_market_buy_filled")  # its one order, as if still live
    plain["data"][0].update({"state": "live", "accFillSz": "0", "avgPx": ""})
    r.transport.add("GET", "/api/v5/trade/orders-pending", plain)
    r.transport.add(
        "GET", "/api/v5/trade/orders-algo-pending", recorded("okx", "algo_pending_conditional_spot")
    )

    orders = r.adapter.fetch_open_orders()

    assert r.transport.last("GET", "/api/v5/trade/orders-algo-pending").query == stop_query
    assert [(o.exchange_order_id, o.trigger_price) for o in orders] == [
        (FILLED_ORDER_ID, None),
        (ALGO_ID, Decimal("100")),
    ]


def test_swap_algo_orders_are_left_out_of_the_spot_open_orders():
    r = replay("okx")
    r.transport.add("GET", "/api/v5/trade/orders-pending", {"code": "0", "data": [], "msg": ""})
    r.transport.add(
        "GET", "/api/v5/trade/orders-algo-pending", recorded("okx", "algo_pending_conditional_swap")
    )

    assert r.adapter.fetch_open_orders() == []


@pytest.mark.parametrize(
    ("side", "code", "message"),
    [
        (OrderSide.SELL, "51280", "SL trigger price can not be higher than the last price"),
        (OrderSide.BUY, "51278", "SL trigger price can not be lower than the last price"),
    ],
)
def test_crossed_trigger_refusal_is_would_trigger_immediately(side, code, message):
    # okx's codes and texts as quoted in ccxt's okx exception map (not recorded traffic).
    r = replay("okx")
    refusal = {
        "code": "1",
        "data": [{"algoClOrdId": "tdstop0001", "algoId": "", "sCode": code, "sMsg": message}],
        "msg": "",
    }
    r.transport.add("POST", "/api/v5/trade/order-algo", refusal)

    with pytest.raises(errors.WouldTriggerImmediately, match=code):
        _stop(r, side=side)
