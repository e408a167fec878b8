"""Many running trades at once, written in bulk (query-count tests and the rules benchmark)."""

from __future__ import annotations

from decimal import Decimal

from apps.exchanges.models import ExchangeAccount
from apps.trades.domain.catalog import RuleKind, Side, parse_rule
from apps.trades.models import Trade, TradeRevision

# Rules that are evaluated every tick but do not fire at the prices the tests use.
WAITING_ENTRY = {
    "primary": "last",
    "condition": "crosses_above",
    "secondary": "fixed",
    "value": "99000",
}
OPEN_EXITS = {
    "initial_stop": {
        "primary": "last",
        "condition": "at_or_below",
        "secondary": "entry_price",
        "value": "-20",
        "unit": "percent",
    },
    "trailing_stop": {
        "primary": "last",
        "condition": "retraces_from",
        "secondary": "highest",
        "value": "30",
        "unit": "percent",
    },
    "take_profit": {
        "primary": "pnl_pct",
        "condition": "at_or_above",
        "secondary": "fixed",
        "value": "50",
    },
}


def _stored(rules: dict) -> dict:
    return {
        kind: parse_rule(RuleKind(kind), Side.LONG, data).to_dict() for kind, data in rules.items()
    }


def running_trades(
    account: ExchangeAccount,
    count: int,
    *,
    symbol: str = "BTC/USDT",
    price: Decimal = Decimal("65000"),
) -> None:
    """`count` running trades on `account`: half waiting for their entry, half open at `price`."""
    trades = Trade.objects.bulk_create(
        [
            Trade(
                owner_id=account.owner_id,
                account=account,
                symbol=symbol,
                status=Trade.Status.PENDING if i % 2 == 0 else Trade.Status.OPEN,
                quantity=Decimal("0.01"),
                entry_price=price,
                entry_cost=price / 100,
                highest=price,
                lowest=price,
            )
            for i in range(count)
        ]
    )
    revisions = TradeRevision.objects.bulk_create(
        [
            TradeRevision(
                trade=trade,
                number=1,
                sizing_kind="quote",
                sizing_value=Decimal(100),
                rules=_stored(
                    {"entry": WAITING_ENTRY, **OPEN_EXITS}
                    if trade.status == Trade.Status.OPEN
                    else {"entry": WAITING_ENTRY}
                ),
            )
            for trade in trades
        ]
    )
    for trade, revision in zip(trades, revisions, strict=True):
        trade.revision = revision
    Trade.objects.bulk_update(trades, ["revision"])
