"""`CcxtAdapter`: the ExchangeAdapter protocol over real exchanges, through sync ccxt.

The only package that imports ccxt. It keeps ccxt's floats, dicts and exceptions on its side of
the line: numbers cross as `Decimal(str(x))`, orders as `ExchangeOrder`, failures as
`apps.exchanges.errors` whose messages are built from the exchange id, the ccxt error class and
the exchange's own error body (not from ccxt's message, which can carry the signed URL).

Per-exchange behaviour verified against recorded traffic (tests/exchanges/ccxt):
* client order id: ccxt's `clientOrderId` param becomes binance `newClientOrderId`, bybit
  `orderLinkId`, okx `clOrdId`, kraken `cl_ord_id`;
* bybit and okx (and kraken) answer create/cancel with an acknowledgement only, so the adapter
  fetches the order afterwards; bybit's lookups use its native `orderId`/`orderLinkId` filters;
* a reused client id comes back as ccxt InvalidOrder; it is recognised by the exchange's own code
  and resolved to the existing order;
* ccxt would silently re-round amounts and prices; the adapter refuses instead (they arrive
  rounded by apps.exchanges.domain.precision, so a change means stale market rules).

Stop orders (`trigger_price`), spot only:
* binance: STOP_LOSS (stop-market) / STOP_LOSS_LIMIT, plain orders; the market's exchangeInfo
  `orderTypes` decide which it takes (`MarketRules.stop_types`). Refusal -2010 "Order would
  trigger immediately." / "Stop price would trigger immediately." -> WouldTriggerImmediately;
* bybit: conditional orders (orderFilter=StopOrder, triggerPrice, orderLinkId), looked up and
  cancelled with the same filter, listed by a second open-orders call. Spot conditional
  orders carry no direction, so the adapter refuses a crossed trigger from the last price;
* okx: algo orders of ordType `conditional` (slTriggerPx, slOrdPx -1 or the limit) with our id
  as algoClOrdId, on the algo endpoints; a triggered one is read with the fill of the order
  it placed (`ordIdList`). 51278/51280 (SL trigger on the wrong side of the last price) ->
  WouldTriggerImmediately.

Modules: `adapter` (the class), `options` (per-exchange construction and client-id params),
`convert` (ccxt dicts -> our Decimal dataclasses), `error_map` (ccxt exceptions -> ours).
Every module imports the ccxt library absolutely (`import ccxt`), which is the top-level
library, not this package.
"""

from __future__ import annotations

from apps.exchanges.adapters.ccxt.adapter import CcxtAdapter
from apps.exchanges.adapters.ccxt.options import has_testnet

__all__ = ["CcxtAdapter", "has_testnet"]
