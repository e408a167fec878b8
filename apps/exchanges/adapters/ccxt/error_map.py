"""ccxt exceptions -> `apps.exchanges.errors`, with messages safe to show a trader.

ccxt's class alone is not enough: the exchange's own error code (per-exchange tables below)
can say more, e.g. a duplicate client id arrives as a plain InvalidOrder. Messages quote the
exchange's error body, never ccxt's message when it may carry the signed URL, and never a
credential.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import ccxt

from apps.exchanges import errors

# Exchange error codes (or exact messages) whose meaning ccxt's class does not carry: ccxt
# raises InvalidOrder for a duplicate client id and BadRequest for binance's NOTIONAL filter.
_MEANINGS: dict[str, dict[str, type[errors.ExchangeError]]] = {
    "binance": {
        "Duplicate order sent.": errors.DuplicateClientOrderId,
        "Filter failure: NOTIONAL": errors.BelowMinNotional,  # code -1013
        "Filter failure: MIN_NOTIONAL": errors.BelowMinNotional,  # its older name
        # -2010, a stop whose trigger the price has crossed. ccxt raises OrderImmediatelyFillable
        # for these and for a post-only order that would take, so the message decides.
        "Order would trigger immediately.": errors.WouldTriggerImmediately,
        "Stop price would trigger immediately.": errors.WouldTriggerImmediately,
    },
    "bybit": {
        "170141": errors.DuplicateClientOrderId,  # Duplicate clientOrderId
        "110072": errors.DuplicateClientOrderId,  # OrderLinkedID is duplicate
        "170140": errors.BelowMinNotional,  # Transaction amount lower than the minimum
        "110094": errors.BelowMinNotional,  # Order notional value below the lower limit
        # Derivatives only ("expect Rising/Falling, but trigger_price <= / >= current"): spot
        # conditional orders carry no direction, bybit answers no such refusal there, so the
        # adapter checks the last price itself before placing a spot stop.
        "110092": errors.WouldTriggerImmediately,
        "110093": errors.WouldTriggerImmediately,
    },
    "okx": {
        "51016": errors.DuplicateClientOrderId,  # Duplicated client order ID
        # A buy stop must trigger above the last price, a sell stop below it.
        "51278": errors.WouldTriggerImmediately,  # SL trigger price can not be lower than last
        "51280": errors.WouldTriggerImmediately,  # SL trigger price can not be higher than last
    },
    "kraken": {
        "EOrder:Cost minimum not met": errors.BelowMinNotional,
    },
}

# ccxt class -> ours, most specific first (e.g. OnMaintenance < ExchangeNotAvailable).
_ERROR_MAP: list[tuple[type[Exception], type[errors.ExchangeError]]] = [
    (ccxt.DDoSProtection, errors.RateLimited),
    (ccxt.RateLimitExceeded, errors.RateLimited),
    (ccxt.RequestTimeout, errors.RequestTimedOut),
    (ccxt.ExchangeNotAvailable, errors.ExchangeUnavailable),
    (ccxt.OperationFailed, errors.NetworkFailure),  # other NetworkError, InvalidNonce, BadResponse
    (ccxt.InsufficientFunds, errors.InsufficientFunds),
    (ccxt.OrderNotFound, errors.OrderNotFound),
    (ccxt.BadSymbol, errors.UnknownSymbol),
    (ccxt.DuplicateOrderId, errors.DuplicateClientOrderId),
    (ccxt.InvalidOrder, errors.InvalidOrder),
    (ccxt.PermissionDenied, errors.PermissionDenied),
    (ccxt.AccountSuspended, errors.PermissionDenied),
    (ccxt.AuthenticationError, errors.AuthenticationFailed),
]
# For failures without an exchange answer to quote (ccxt's message then holds the signed URL).
_GENERIC_TEXT: dict[type[errors.ExchangeError], str] = {
    errors.RateLimited: "rate limited",
    errors.RequestTimedOut: "no answer in time",
    errors.ExchangeUnavailable: "exchange unavailable",
    errors.NetworkFailure: "could not reach the exchange",
}


def translate(
    exc: ccxt.BaseError,
    *,
    exchange_id: str,
    last_http_response: str | None,
    secrets: Sequence[str],
) -> errors.ExchangeError:
    """Our error for a ccxt one, with a message free of URLs and credentials."""
    # Timeouts and connection failures have no answer; a body then is an earlier request's.
    answered = not isinstance(exc, ccxt.RequestTimeout) and type(exc) is not ccxt.NetworkError
    body = _json(last_http_response) if answered else None
    meanings = _MEANINGS.get(exchange_id, {})
    ours = next((meanings[code] for code in _error_codes(body) if code in meanings), None)
    if ours is None:
        ours = next((o for c, o in _ERROR_MAP if isinstance(exc, c)), errors.BadRequest)
    text = (
        _error_text(body)
        or _plain_text(exc, exchange_id)
        or _GENERIC_TEXT.get(ours, "refused by the exchange")
    )
    message = f"{exchange_id}: {text} ({type(exc).__name__})"
    for secret in secrets:
        message = message.replace(secret, "***")
    return ours(message)


def _json(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:  # an html error page, say
        return None


def _error_codes(body: Any) -> list[str]:
    """The exchange's own error codes and messages in an error body (all envelopes we use)."""
    if not isinstance(body, dict):
        return []
    codes = [str(body[key]) for key in ("code", "retCode", "msg") if key in body]
    for item in body.get("data") or []:  # okx batch answers carry a per-order sCode
        if isinstance(item, dict) and item.get("sCode") not in (None, "0"):
            codes.append(str(item["sCode"]))
    if isinstance(body.get("error"), list):  # kraken: ["EOrder:Insufficient funds"]
        codes.extend(str(error) for error in body["error"])
    return codes


def _error_text(body: Any) -> str:
    """`code message` from an exchange error body, short enough for a trader to read."""
    if not isinstance(body, dict):
        return ""
    for item in body.get("data") or []:
        if isinstance(item, dict) and item.get("sCode") not in (None, "0"):
            return f"{item['sCode']} {item.get('sMsg', '')}".strip()[:200]
    if isinstance(body.get("error"), list):
        return "; ".join(str(error) for error in body["error"])[:200]
    code = body.get("code", body.get("retCode", ""))
    text = body.get("msg") or body.get("retMsg") or ""
    return f"{code} {text}".strip()[:200]


def _plain_text(exc: ccxt.BaseError, exchange_id: str) -> str:
    """ccxt's own wording when it is safe to show: network errors embed the signed URL."""
    message = str(exc).removeprefix(exchange_id).strip()
    if isinstance(exc, ccxt.OperationFailed) or "://" in message:
        return ""
    return message[:200]
