"""Stop orders through CcxtAdapter on bybit spot: conditional orders (orderFilter=StopOrder).

bybit keeps spot conditional orders apart: every create, cancel and lookup carries
orderFilter=StopOrder, and the open orders need a second call with it. Spot conditional
orders carry no trigger direction (bybit reads it from the last price when the order
arrives), so the adapter checks the last price itself before placing a stop.
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
)

REQUESTS = load_fixture("bybit", "requests")

STOP_ID = "1609604284784580200"  # the (adapted) resting stop-limit sell of 123 XRP
STOP_LINK_ID = "tdstop0001"


def _ticker(symbol_id: str, last: str) -> dict:
    # Constructed, not recorded: the v5 tickers envelope with one spot row and its last price.
    return {
        "retCode": 0,
        "retMsg": "OK",
        "result": {"category": "spot", "list": [{"symbol": symbol_id, "lastPrice": last}]},
        "retExtInfo": {},
        "time": 1706615840224,
    }


def _stop(r, **overrides):
    order = {
        "symbol": "XRP/USDT",
        "side": OrderSide.SELL,
        "type": OrderType.LIMIT,
        "amount": Decimal("123"),
        "price": Decimal("0.5"),
        "client_order_id": STOP_LINK_ID,
        "trigger_price": Decimal("0.51"),
    }
    return r.adapter.create_order(**{**order, **overrides})


def test_spot_markets_take_stop_market_and_stop_limit():
    r = replay("bybit")

    markets = {m.symbol: m for m in r.adapter.load_markets()}

    assert markets["XRP/USDT"].stop_types == (OrderType.MARKET, OrderType.LIMIT)


def test_recorded_stop_limit_is_sent_as_ccxt_recorded_it_with_our_order_link_id():
    case = request_case("bybit", "spot limit buy with triggerPrice")
    path, _, body = case_request(case, REQUESTS["outputType"])
    r = replay("bybit")
    r.transport.add("GET", "/v5/market/tickers", _ticker("BTCUSDT", "35000"))

    with pytest.raises(errors.NetworkFailure):
        _stop(
            r,
            symbol="BTC/USDT",
            side=OrderSide.BUY,
            amount=Decimal("0.1"),
            price=Decimal("36000"),
            trigger_price=Decimal("36001"),
        )

    assert body["orderFilter"] == "StopOrder"
    assert r.transport.last("POST", path).json() == {**body, "orderLinkId": STOP_LINK_ID}


def test_stop_market_sell_is_a_conditional_market_order_in_base_units():
    # The recorded spot stop-market case is a buy priced in quote ("qty":"10" for 1 @ 10); a
    # sell goes in base units (marketUnit baseCoin, as the recorded UTA market cases show).
    stop_fields = request_case("bybit", "spot market order with stopPrice")
    recorded_body = case_request(stop_fields, REQUESTS["outputType"])[2]
    r = replay("bybit")
    r.transport.add("GET", "/v5/market/tickers", _ticker("XRPUSDT", "0.5351"))

    with pytest.raises(errors.NetworkFailure):
        _stop(r, type=OrderType.MARKET, price=None)

    sent = r.transport.last("POST", "/v5/order/create").json()
    assert sent == {
        "symbol": "XRPUSDT",
        "side": "Sell",
        "orderType": "Market",
        "orderFilter": recorded_body["orderFilter"],  # StopOrder
        "orderLinkId": STOP_LINK_ID,
        "category": "spot",
        "marketUnit": "baseCoin",
        "qty": "123",
        "triggerPrice": "0.51",
    }


def test_acknowledged_stop_is_read_back_with_the_stop_order_filter():
    r = replay("bybit")
    r.transport.add("GET", "/v5/market/tickers", _ticker("XRPUSDT", "0.5351"))
    r.transport.add("POST", "/v5/order/create", recorded("bybit", "stop_ack_xrp"))
    r.transport.add(
        "GET",
        "/v5/order/realtime",
        recorded("bybit", "stop_order_list_xrp_untriggered"),
        query={"orderFilter": "StopOrder"},
    )

    order = _stop(r)

    assert r.transport.last("GET", "/v5/order/realtime").query == {
        "symbol": "XRPUSDT",
        "orderId": STOP_ID,
        "orderFilter": "StopOrder",
        "category": "spot",
    }
    assert (order.exchange_order_id, order.client_order_id) == (STOP_ID, STOP_LINK_ID)
    assert (order.side, order.type, order.status) == (
        OrderSide.SELL,
        OrderType.LIMIT,
        OrderStatus.OPEN,  # Untriggered
    )
    assert (order.amount, order.filled, order.price, order.trigger_price) == (
        Decimal("123"),
        Decimal("0"),
        Decimal("0.5"),
        Decimal("0.51"),
    )


@pytest.mark.parametrize(
    ("side", "last"), [(OrderSide.SELL, "0.51"), (OrderSide.SELL, "0.4"), (OrderSide.BUY, "0.6")]
)
def test_a_trigger_the_price_has_crossed_is_refused_before_anything_is_placed(side, last):
    r = replay("bybit")
    r.transport.add("GET", "/v5/market/tickers", _ticker("XRPUSDT", last))

    with pytest.raises(errors.WouldTriggerImmediately, match=f"last price {last}"):
        _stop(r, side=side)

    assert "POST /v5/order/create" not in r.transport.paths()


def test_stop_is_fetched_by_client_id_among_the_conditional_orders():
    r = replay("bybit")
    r.transport.add(
        "GET",
        "/v5/order/realtime",
        recorded("bybit", "stop_order_list_xrp_untriggered"),
        query={"orderFilter": "StopOrder"},
    )

    order = r.adapter.fetch_order(symbol="XRP/USDT", client_order_id=STOP_LINK_ID, conditional=True)

    assert r.transport.last("GET", "/v5/order/realtime").query == {
        "symbol": "XRPUSDT",
        "orderLinkId": STOP_LINK_ID,
        "orderFilter": "StopOrder",
        "category": "spot",
    }
    assert (order.exchange_order_id, order.trigger_price) == (STOP_ID, Decimal("0.51"))


def test_stop_is_cancelled_by_client_id_with_the_stop_order_filter():
    case = request_case("bybit", "Spot cancel a stop order")
    _, _, recorded_cancel = case_request(case, REQUESTS["outputType"])
    r = replay("bybit")
    r.transport.add("POST", "/v5/order/cancel", recorded("bybit", "stop_ack_xrp"))
    r.transport.add(
        "GET",
        "/v5/order/realtime",
        recorded("bybit", "order_list_empty"),
    )
    r.transport.add(
        "GET",
        "/v5/order/history",
        recorded("bybit", "stop_order_list_xrp_cancelled"),
        query={"orderFilter": "StopOrder"},
    )

    order = r.adapter.cancel_order(
        symbol="XRP/USDT", client_order_id=STOP_LINK_ID, conditional=True
    )

    sent = r.transport.last("POST", "/v5/order/cancel").json()
    # The recorded case cancels by orderId on BTCUSDT; ours by orderLinkId, same filter.
    assert sent == {
        "symbol": "XRPUSDT",
        "orderFilter": recorded_cancel["orderFilter"],  # StopOrder
        "orderLinkId": STOP_LINK_ID,
        "category": "spot",
    }
    assert (order.status, order.exchange_order_id) == (OrderStatus.CANCELED, STOP_ID)


def test_open_orders_are_the_plain_list_plus_the_stop_order_list():
    case = request_case("bybit", "Spot fetch open trigger orders")
    _, stop_query, _ = case_request(case, REQUESTS["outputType"])
    r = replay("bybit")
    r.transport.add("GET", "/v5/order/realtime", recorded("bybit", "order_xrp_market_sell_filled"))
    r.transport.add(
        "GET",
        "/v5/order/realtime",
        recorded("bybit", "stop_order_list_xrp_untriggered"),
        query={"orderFilter": "StopOrder"},
    )

    orders = r.adapter.fetch_open_orders("XRP/USDT")

    # The recorded case lists BTCUSDT's stops; the same query, for XRPUSDT.
    assert stop_query["orderFilter"] == "StopOrder"
    assert r.transport.last("GET", "/v5/order/realtime").query == {
        **stop_query,
        "symbol": "XRPUSDT",
    }
    assert [(o.exchange_order_id, o.trigger_price) for o in orders] == [
        ("1609604284784580096", None),
        (STOP_ID, Decimal("0.51")),
    ]
