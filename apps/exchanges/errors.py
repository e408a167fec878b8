"""Our exchange errors. Everything above the adapters sees these, never ccxt's exceptions.

Two families decide what the caller does next:
* TransientExchangeError: the request may not have reached the exchange, or the exchange was
  briefly unable; retry with backoff. For a write, the outcome is UNKNOWN: look the order up by
  its client order id before sending it again.
* PermanentExchangeError: the exchange understood and refused; retrying the same request fails
  the same way. Record it and tell the trader.
"""

from __future__ import annotations


class ExchangeError(Exception):
    """Base class; `str()` is a message a trader can read (and never contains a secret)."""


class TransientExchangeError(ExchangeError):
    pass


class NetworkFailure(TransientExchangeError):
    """Connection refused, reset, DNS: the request may not have been sent."""


class RequestTimedOut(TransientExchangeError):
    """No answer in time. For an order, it may or may not have been placed."""


class OutcomeUnknown(TransientExchangeError):
    """The exchange answered, but not with the order (e.g. an empty body): it may exist."""


class RateLimited(TransientExchangeError):
    """Rate limit or DDoS protection (binance 429/418, bybit 10006, okx 50011): back off."""


class ExchangeUnavailable(TransientExchangeError):
    """Maintenance or 5xx."""


class PermanentExchangeError(ExchangeError):
    pass


class InvalidOrder(PermanentExchangeError):
    """Precision, limits or parameters refused (LOT_SIZE, PRICE_FILTER, below minimum amount)."""


class BelowMinNotional(InvalidOrder):
    """amount x price below the market's minimum (binance -1013 NOTIONAL arrives as BadRequest)."""


class DuplicateClientOrderId(InvalidOrder):
    """An order with this client order id exists already: fetch it, do not treat as a failure."""


class WouldTriggerImmediately(InvalidOrder):
    """A stop whose trigger the price has already crossed (binance -2010 "Order would trigger
    immediately."): nothing was placed; the desk exits at market instead."""


class InsufficientFunds(PermanentExchangeError):
    pass


class OrderNotFound(PermanentExchangeError):
    pass


class UnknownSymbol(PermanentExchangeError):
    pass


class BadRequest(PermanentExchangeError):
    pass


class AuthenticationFailed(PermanentExchangeError):
    """Wrong or revoked API key: the account must stop trading until the keys are fixed."""


class PermissionDenied(PermanentExchangeError):
    """The key lacks a permission (e.g. trading not enabled) or the address is not allowed."""
