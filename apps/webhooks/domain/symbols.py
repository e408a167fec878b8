"""Which of the account's markets a signal's symbol means. Pure.

TradingView writes `BINANCE:BTCUSDT`, `BTCUSDT` or `BTCUSDT.P` (a perpetual), ccxt writes
`BTC/USDT` (`BTC/USDT:USDT` for a perpetual), 3Commas writes `USDT_BTC` (QUOTE_BASE), and
exchanges have their own ids (`BTCUSDT`, `BTC-USDT`). A symbol matches a market by its unified
symbol first, then by the exchange's id, then by base and quote written together.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class MarketRef:
    symbol: str  # unified, e.g. "BTC/USDT"
    exchange_symbol: str  # the exchange's id, e.g. "BTCUSDT"
    base: str
    quote: str
    active: bool = True

    @property
    def is_perpetual(self) -> bool:
        return ":" in self.symbol


@dataclass(frozen=True)
class SymbolQuery:
    given: str
    cleaned: str  # upper case, without the exchange prefix and the perpetual suffix
    perpetual: bool
    symbols: tuple[str, ...]  # unified symbols it may mean, most likely first
    exchange_symbols: tuple[str, ...]
    joined: str  # letters and digits only: base and quote written together


def symbol_query(given: str) -> SymbolQuery:
    text = given.strip().upper()
    if "/" not in text and ":" in text:
        text = text.split(":", 1)[1]  # BINANCE:BTCUSDT; a unified BTC/USDT:USDT keeps its colon
    perpetual = ":" in text
    if text.endswith(".P"):
        text, perpetual = text[:-2], True
    symbols: list[str] = []
    if "/" in text:
        symbols.append(text)
    else:
        for separator in ("_", "-"):
            if separator in text:
                first, _, second = text.partition(separator)
                # 3Commas writes QUOTE_BASE; exchanges' own ids write BASE_QUOTE / BASE-QUOTE.
                pairs = (
                    [(second, first), (first, second)] if separator == "_" else [(first, second)]
                )
                symbols += [f"{base}/{quote}" for base, quote in pairs]
                break
    if perpetual:
        symbols = [s if ":" in s else f"{s}:{s.split('/')[1]}" for s in symbols] + symbols
    return SymbolQuery(
        given=given,
        cleaned=text,
        perpetual=perpetual,
        symbols=tuple(dict.fromkeys(symbols)),
        exchange_symbols=(text,),
        joined=re.sub(r"[^A-Z0-9]", "", text.split(":")[0]),
    )


class MarketIndex:
    """An account's markets indexed by the three ways a symbol can name one, so a signal's
    symbol is matched without scanning them all."""

    def __init__(self, markets: Iterable[MarketRef]) -> None:
        self._by: dict[str, list[MarketRef]] = {}
        for market in markets:
            for name in {
                market.symbol.upper(),
                market.exchange_symbol.upper(),
                (market.base + market.quote).upper(),
            }:
                self._by.setdefault(name, []).append(market)

    def find(self, query: SymbolQuery) -> MarketRef | None:
        names = (*query.symbols, *query.exchange_symbols, query.joined)
        candidates = {market for name in names for market in self._by.get(name, ())}
        return pick_market(query, candidates)


def pick_market(query: SymbolQuery, markets: Iterable[MarketRef]) -> MarketRef | None:
    """The best match among `markets`, or None. A perpetual signal prefers a perpetual market
    and a spot signal a spot one, but takes the other kind when the account has only that."""
    best: tuple | None = None
    chosen: MarketRef | None = None
    for market in markets:
        symbol = market.symbol.upper()
        if symbol in query.symbols:
            tier = query.symbols.index(symbol)
        elif market.exchange_symbol.upper() in query.exchange_symbols:
            tier = len(query.symbols)
        elif (market.base + market.quote).upper() == query.joined:
            tier = len(query.symbols) + 1
        else:
            continue
        rank = (market.is_perpetual != query.perpetual, tier, not market.active, symbol)
        if best is None or rank < best:
            best, chosen = rank, market
    return chosen
