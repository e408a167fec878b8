"""The indicator cache: candle sources (close, EMA, SMA, RSI) on each timeframe's last closed
candle, computed from the exchange's candles and stored in CandleValue.

The market-data loop keeps the values of running trades fresh (one candle fetch per account,
symbol and timeframe when a candle closes); activation warms them synchronously; the rules loop
reads them all in one query.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.db.models import Q

from apps.core.loops import each_isolated
from apps.exchanges.errors import ExchangeError
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.services import market_data
from apps.positions.models import PositionGroup
from apps.strategies.domain import indicators
from apps.strategies.domain.catalog import CANDLE_SOURCES, Operand
from apps.strategies.domain.evaluation import CandleKey
from apps.tickets.models import CandleValue, Trade

logger = logging.getLogger(__name__)

LOOP = "trades.market_data"

# One series: (account id, symbol, timeframe) -> the (source, period) pairs wanted on it.
Series = tuple[int, str, str]


class CandlesUnavailable(Exception):
    """The exchange could not give enough candles for a source."""


def candle_operands(rules: Iterable) -> set[Operand]:
    """The candle sources a set of rules reads."""
    return {
        operand
        for rule in rules
        if rule is not None
        for operand in rule.operands
        if operand.source in CANDLE_SOURCES
    }


def refresh_series(
    *, account: ExchangeAccount, symbol: str, timeframe: str, wanted: set[tuple[str, int]], now
) -> dict[CandleKey, Decimal]:
    """Fetch the series' closed candles once, compute every wanted source, store them.

    Raises CandlesUnavailable (with the trader-facing reason) when the exchange fails or has too
    few candles for a source.
    """
    count = max(_needed(source, period) for source, period in wanted)
    try:
        candles = market_data.closed_candles(
            account=account, symbol=symbol, timeframe=timeframe, count=count, now=now
        )
    except ExchangeError as exc:
        raise CandlesUnavailable(f"{symbol} {timeframe} candles unavailable: {exc}") from exc
    closes = [candle.close for candle in candles]
    values: dict[CandleKey, Decimal] = {}
    short: list[str] = []
    for source, period in sorted(wanted):
        value = closes[-1] if source == "close" and closes else None
        if source != "close":
            value = indicators.latest(source, closes, period)
        label = Operand(source, period or None, timeframe).label
        if value is None:
            short.append(f"{label} needs {period + 1} candles, the exchange gave {len(closes)}")
            continue
        values[(source, period or None, timeframe)] = value
    if candles:
        _store(account, symbol, timeframe, candles[-1].opened_at, values, now)
    if short:
        raise CandlesUnavailable("; ".join(short) + ".")
    return values


def _needed(source: str, period: int) -> int:
    return 2 if source == "close" else indicators.warmup_candles(source, period)


def _store(account, symbol, timeframe, candle_at, values, now) -> None:
    for (source, period, _), value in values.items():
        CandleValue.objects.update_or_create(
            account=account,
            symbol=symbol,
            source=source,
            period=period or 0,
            timeframe=timeframe,
            defaults={"candle_at": candle_at, "value": value, "refreshed_at": now},
        )


def warm(
    *, account: ExchangeAccount, symbol: str, operands: set[Operand], now: datetime
) -> dict[CandleKey, Decimal]:
    """Compute the operands' current values now (activation). Raises CandlesUnavailable."""
    by_timeframe: dict[str, set[tuple[str, int]]] = defaultdict(set)
    for operand in operands:
        by_timeframe[operand.timeframe or ""].add((operand.source, operand.period or 0))
    values: dict[CandleKey, Decimal] = {}
    for timeframe, wanted in sorted(by_timeframe.items()):
        values |= refresh_series(
            account=account, symbol=symbol, timeframe=timeframe, wanted=wanted, now=now
        )
    return values


def read_values(trades: Iterable[Trade]) -> dict[tuple[int, str], dict[CandleKey, Decimal]]:
    """The cached values for these trades' accounts and symbols, in one query.

    Returns (account id, symbol) -> {(source, period, timeframe): value}.
    """
    pairs = {(trade.account_id, trade.symbol) for trade in trades}
    if not pairs:
        return {}
    match = Q()
    for account_id, symbol in pairs:
        match |= Q(account_id=account_id, symbol=symbol)
    cached: dict[tuple[int, str], dict[CandleKey, Decimal]] = defaultdict(dict)
    for row in CandleValue.objects.filter(match).only(
        "account_id", "symbol", "source", "period", "timeframe", "value"
    ):
        key = (row.source, row.period or None, row.timeframe)
        cached[(row.account_id, row.symbol)][key] = row.value
    return cached


def refresh_due(*, now: datetime, batch: int = 50) -> int:
    """One tick of the market-data loop: refresh series whose last closed candle is newer than
    what the cache holds. Returns how many series were fetched."""
    wanted = _wanted_series()
    if not wanted:
        return 0
    stored: dict[Series, datetime] = {}
    for row in CandleValue.objects.filter(account_id__in={key[0] for key in wanted}).only(
        "account_id", "symbol", "timeframe", "candle_at"
    ):
        key = (row.account_id, row.symbol, row.timeframe)
        stored[key] = min(stored.get(key, row.candle_at), row.candle_at)
    due = [
        key
        for key in wanted
        if stored.get(key) is None
        or stored[key] < market_data.last_closed_candle_at(timeframe=key[2], now=now)
    ]
    accounts = ExchangeAccount.objects.select_related("owner").in_bulk(
        {key[0] for key in due[:batch]}
    )

    def refresh(series: Series) -> None:
        account_id, symbol, timeframe = series
        try:
            refresh_series(
                account=accounts[account_id],
                symbol=symbol,
                timeframe=timeframe,
                wanted=wanted[series],
                now=now,
            )
        except CandlesUnavailable as exc:
            logger.warning("Indicator cache for %s not refreshed: %s", symbol, exc)

    # One series whose account fails unexpectedly is recorded and skipped; the others refresh.
    each_isolated(LOOP, due[:batch], refresh, account_of=lambda series: accounts[series[0]])
    return len(due[:batch])


def _wanted_series() -> dict[Series, set[tuple[str, int]]]:
    """The candle series the rules loop reads: tickets waiting for their entry, and open
    positions' exit rules."""
    wanted: dict[Series, set[tuple[str, int]]] = defaultdict(set)
    tickets = Trade.objects.filter(status=Trade.Status.PENDING).select_related("revision")
    positions = PositionGroup.objects.filter(status=PositionGroup.Status.OPEN).exclude(
        exit_rules={}
    )

    def want(item: Trade | PositionGroup) -> None:
        if isinstance(item, Trade):
            if item.revision is None:
                return
            rules = item.revision.parsed_rules(item.side)
        else:
            rules = item.parsed_exit_rules()
        for operand in candle_operands(rules.values()):
            key = (item.account_id, item.symbol, operand.timeframe or "")
            wanted[key].add((operand.source, operand.period or 0))

    # A row whose stored rules the catalog refuses is recorded and skipped (the rules loop
    # reports it too); the others' series are refreshed.
    each_isolated(
        LOOP,
        [
            *tickets.only("account_id", "symbol", "side", "revision__rules"),
            *positions.only("account_id", "symbol", "side", "exit_rules"),
        ],
        want,
        account_of=lambda item: item.account,  # a query, on failure only
    )
    return wanted
