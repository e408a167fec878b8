"""Many running tickets at once, written in bulk (query-count tests and the rules benchmark):
half waiting for their entry, half open, each open one holding its position as the code
writes it when a ticket's entry fills (one pyramid, one filled leg, the ticket's exits)."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from apps.exchanges.models import ExchangeAccount
from apps.positions.models import DcaLeg, PositionGroup, Pyramid
from apps.positions.services.opening import EXIT_RULES_OF_TICKET, exit_rules
from apps.strategies.domain import dca
from apps.strategies.domain.catalog import RuleKind, Side, parse_rule
from apps.tickets.models import Trade, TradeRevision
from tests.tickets.factories import SINGLE_LEG, filled_entry_leg

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
QUANTITY = Decimal("0.01")


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
    """`count` running tickets on `account`, alternately (oldest first) one waiting for its
    entry and one open: its position holds 0.01 bought at `price`, with a stop, a trailing stop
    and a take profit that do not fire near `price`."""
    now = timezone.now()
    trades = Trade.objects.bulk_create(
        [
            Trade(
                owner_id=account.owner_id,
                account=account,
                symbol=symbol,
                status=Trade.Status.PENDING if i % 2 == 0 else Trade.Status.OPEN,
                opened_at=None if i % 2 == 0 else now,
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

    opened = [trade for trade in trades if trade.status == Trade.Status.OPEN]
    cost = QUANTITY * price
    positions = PositionGroup.objects.bulk_create(
        [
            PositionGroup(
                owner_id=account.owner_id,
                account=account,
                symbol=symbol,
                timeframe="",
                side=Side.LONG.value,
                tp_mode=dca.TpMode.RULES,
                group_tp_pct=Decimal(0),
                pyramid_limit=1,
                grid=[SINGLE_LEG.to_dict()],
                trade=trade,
                exit_rules=exit_rules(trade.revision.rules, EXIT_RULES_OF_TICKET),
                quantity=QUANTITY,
                average_entry=price,
                entry_cost=cost,
                open_cost=cost,
                highest=price,
                lowest=price,
                opened_at=now,
            )
            for trade in opened
        ]
    )
    pyramids = Pyramid.objects.bulk_create(
        [
            Pyramid(group=position, index=0, entry_price=price, capital=cost, created_at=now)
            for position in positions
        ]
    )
    DcaLeg.objects.bulk_create(
        [
            filled_entry_leg(pyramid, price=price, quantity=QUANTITY, cost=cost)
            for pyramid in pyramids
        ]
    )


def delete_running(**owned) -> None:
    """Delete tickets and the positions they opened (a position protects its ticket)."""
    PositionGroup.objects.filter(**owned).delete()
    Trade.objects.filter(**owned).delete()
