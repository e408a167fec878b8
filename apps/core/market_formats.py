"""A market's tick, step and units for the pages that print its figures, looked up once per page.

Core cannot read `apps.exchanges.Market` (it sits above core), so it offers a hook that
apps.exchanges answers at start-up (its `AppConfig.ready`): given every (account id, symbol)
a page shows, one query returns their markets. `attach_formats` sets `fmt` (a
`formatting.MarketFormat`) on each object for the template filters (`{{ x|price:obj.fmt }}`);
a symbol with no known market still gets its units from the symbol, and the figures fall back
to at most 8 places.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from apps.core.formatting import MarketFormat
from apps.core.hooks import Hook

Pair = tuple[int, str]

# The listener takes `pairs` (a set of (account id, symbol)) and returns {pair: MarketFormat}.
market_formats = Hook("core.market_formats")


def formats_for(pairs: Iterable[Pair]) -> dict[Pair, MarketFormat]:
    """Every pair's format: the market's where it is known, else the symbol's units."""
    wanted = {(account_id, symbol) for account_id, symbol in pairs if symbol}
    known = (market_formats.ask(pairs=wanted) or {}) if wanted else {}
    return {pair: known.get(pair) or MarketFormat.of_symbol(pair[1]) for pair in wanted}


def attach_formats(
    objects: Iterable[Any],
    *,
    account_id: Callable[[Any], int] = lambda obj: obj.account_id,
    symbol: Callable[[Any], str] = lambda obj: obj.symbol,
) -> list[Any]:
    """Set `fmt` on each object (a position, an order, a ticket, a queued signal) from one
    lookup for them all; returns the objects as a list."""
    objects = [obj for obj in objects if obj is not None]
    formats = formats_for((account_id(obj), symbol(obj)) for obj in objects)
    for obj in objects:
        obj.fmt = formats.get((account_id(obj), symbol(obj))) or MarketFormat.of_symbol(
            symbol(obj) or ""
        )
    return objects


class FormatSlot:
    """A model's `fmt`: what `attach_formats` set on the instance, else the units its symbol
    names (no tick or step: the figures fall back to at most 8 places). Never a query, so a
    template given objects nobody attached formats to still renders, only less rounded."""

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        return obj.__dict__.get("_market_format") or MarketFormat.of_symbol(obj.symbol or "")

    def __set__(self, obj, value: MarketFormat) -> None:
        obj.__dict__["_market_format"] = value
