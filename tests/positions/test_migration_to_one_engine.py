"""Migrations trades 0004-0007 and positions 0001-0002 (one position engine): the data of
today's schema carries over.

The database is migrated back to trades 0003 (every other app at its latest migration that
needs no more of trades; the positions app, which did not exist, at none), rows are written
with the historical models of that state (tickets holding their own position fields and
orders, a signal position with its pyramid, leg and orders, events about the tickets), then
it is migrated forward to the latest migrations and the rows are read back with the historical
models of the latest state: every ticket that sent an order now has one position holding what
the ticket held, every order belongs to a position, events about a position name its new app,
and nothing else moved. The database is left at the latest migrations
whatever happens, for the tests that follow on it.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

D = Decimal
ZERO = D(0)
BEFORE = ("trades", "0003_order_purpose_risk")
MOVED_TO = "positions.positiongroup"
EXIT_KINDS = ("initial_stop", "trailing_stop", "take_profit")
BTC = "BTC/USDT"
ETH = "ETH/USDT"

# Stored rules (`Rule.to_dict()` by kind), as revisions of today hold them.
ENTRY_NOW = {"primary": {"source": "immediately"}, "condition": "at_market"}
ENTRY_LIMIT = {
    "primary": {"source": "last"},
    "condition": "at_or_below",
    "secondary": {"source": "fixed"},
    "value": "60000",
    "unit": "number",
}
STOP_2_PCT = {
    "primary": {"source": "last"},
    "condition": "at_or_below",
    "secondary": {"source": "entry_price"},
    "value": "-2",
    "unit": "percent",
}
STOP_BELOW_EMA = {  # a crossing: the rules loop keeps its memory between ticks
    "primary": {"source": "last"},
    "condition": "crosses_below",
    "secondary": {"source": "ema", "period": 21, "timeframe": "15m"},
    "value": "0",
    "unit": "percent",
}
TRAIL_1_5_PCT = {
    "primary": {"source": "last"},
    "condition": "retraces_from",
    "secondary": {"source": "highest"},
    "value": "1.5",
    "unit": "percent",
}
TAKE_3_PCT = {
    "primary": {"source": "pnl_pct"},
    "condition": "at_or_above",
    "secondary": {"source": "fixed"},
    "value": "3",
    "unit": "number",
}

# What each ticket with orders must become: (position status, trade status, leg 0 status,
# position quantity, open cost). Written out, not derived from the migration's code.
EXPECTED = {
    "closed": ("closed", "closed", "closed", D("0"), D("0")),
    "open": ("open", "open", "filled", D("0.01998"), D("1280")),
    "closing": ("closing", "open", "filled", D("0.01"), D("650.65")),
    "refused_sell": ("error", "error", "filled", D("0.006"), D("396.396")),
    "rejected_entry": ("closed", "error", "rejected", D("0"), D("0")),
    "entry_in_flight": ("open", "open", "working", D("0"), D("0")),
}
WITHOUT_ORDERS = {"draft": "draft", "cancelled": "cancelled", "waiting": "pending"}


def _latest(executor: MigrationExecutor) -> list[tuple[str, str]]:
    return executor.loader.graph.leaf_nodes()


def _before(executor: MigrationExecutor) -> list[tuple[str, str | None]]:
    """trades at 0003, every other app at its latest migration that needs no more of trades
    than 0003 (the positions app, which took the position models out of trades after 0006,
    at none)."""
    graph = executor.loader.graph
    allowed = set(graph.forwards_plan(BEFORE))
    targets: list[tuple[str, str | None]] = [BEFORE]
    for app, name in _latest(executor):
        if app == "trades":
            continue
        node = (app, name)
        while (
            node is not None
            and not {n for n in graph.forwards_plan(node) if n[0] == "trades"} <= allowed
        ):
            parents = [p for p in graph.node_map[node].parents if p.key[0] == app]
            node = parents[0].key if parents else None
        targets.append(node if node is not None else (app, None))
    assert (("positions", None)) in targets  # the app did not exist at today's schema
    return targets


def _migrate(targets: list[tuple[str, str | None]]):
    """Migrate the test database to `targets`; the historical apps of that state."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()  # re-read what is applied now
    return executor.loader.project_state([t for t in targets if t[1] is not None]).apps


def _columns(table: str) -> dict[str, bool]:
    """Column name -> nullable."""
    with connection.cursor() as cursor:
        description = connection.introspection.get_table_description(cursor, table)
    return {column.name: column.null_ok for column in description}


class Today:
    """Rows written with the historical models of trades 0003."""

    def __init__(self, apps) -> None:
        self.apps = apps
        self.Trade = apps.get_model("trades", "Trade")
        self.TradeRevision = apps.get_model("trades", "TradeRevision")
        self.Order = apps.get_model("trades", "Order")
        self.PositionGroup = apps.get_model("trades", "PositionGroup")
        self.Pyramid = apps.get_model("trades", "Pyramid")
        self.DcaLeg = apps.get_model("trades", "DcaLeg")
        self.Event = apps.get_model("core", "Event")
        self.now = timezone.now().replace(microsecond=0)
        self.owner = apps.get_model("accounts", "User").objects.create(
            username="migrating", password="!"
        )
        self.account = apps.get_model("exchanges", "ExchangeAccount").objects.create(
            owner=self.owner, label="Paper", kind="paper", quote_currency="USDT"
        )
        self.strategy = apps.get_model("strategies", "Strategy").objects.create(
            owner=self.owner, name="Breakout", sizing_kind="quote", sizing_value=D("1000")
        )
        self.sequence = 0

    def at(self, minutes: int):
        return self.now - timedelta(days=1) + timedelta(minutes=minutes)

    def ticket(self, status: str, rules: dict, **fields):
        trade = self.Trade.objects.create(
            owner=self.owner, account=self.account, symbol=BTC, side="long", status=status, **fields
        )
        revision = self.TradeRevision.objects.create(
            trade=trade,
            number=1,
            sizing_kind="quote",
            sizing_value=D("1000"),
            rules=rules,
            activated_at=None if status == "draft" else trade.activated_at,
        )
        trade.revision = revision
        trade.save(update_fields=["revision"])
        self.Event.objects.create(
            kind="trade.saved",
            subject_type="trades.trade",
            subject_id=str(trade.pk),
            user=self.owner,
            account=self.account,
            message=f"Ticket #{trade.pk} saved.",
            data={"rules": rules},
        )
        return trade

    def order(self, *, purpose: str, side: str, amount: str, **fields):
        self.sequence += 1
        fields.setdefault("type", "market")
        return self.Order.objects.create(
            account=self.account,
            purpose=purpose,
            symbol=fields.pop("symbol", BTC),
            side=side,
            amount=D(amount),
            client_order_id=f"td-migr-{self.sequence:04d}",
            **fields,
        )

    def event(self, trade, kind: str, message: str, **data) -> None:
        self.Event.objects.create(
            kind=kind,
            level="info",
            subject_type="trades.trade",
            subject_id=str(trade.pk),
            user=self.owner,
            account=self.account,
            message=message,
            data=data,
        )


def _write_today(today: Today) -> dict[str, int]:
    """Tickets in every state today's engine leaves them in, a signal position, events."""
    ids: dict[str, int] = {}
    fired = {"outcome": "fired", "fired_at": today.at(1).isoformat()}

    # Closed: bought 0.015 at 65000 (fee 0.975 USDT), take profit sold it at 67000 (fee 1.005).
    closed = today.ticket(
        "closed",
        {"entry": ENTRY_NOW, "initial_stop": STOP_2_PCT, "take_profit": TAKE_3_PCT},
        strategy=today.strategy,
        activated_at=today.at(0),
        opened_at=today.at(1),
        closed_at=today.at(120),
        quantity=D("0.015"),
        entry_price=D("65000"),
        entry_cost=D("975.975"),
        exit_quantity=D("0.015"),
        exit_proceeds=D("1003.995"),
        realised_pnl=D("28.02"),
        highest=D("67100"),
        lowest=D("64800"),
        last_price=D("67000"),
        exit_reason="take_profit",
        rule_state={
            "entry": fired,
            "initial_stop": {"outcome": "not met"},
            "take_profit": {"outcome": "fired", "fired_at": today.at(119).isoformat()},
        },
    )
    for purpose, side, average, fee in (
        ("entry", "buy", "65000", "0.975"),
        ("take_profit", "sell", "67000", "1.005"),
    ):
        today.order(
            trade=closed,
            purpose=purpose,
            side=side,
            amount="0.015",
            status="filled",
            filled=D("0.015"),
            average=D(average),
            fee_cost=D(fee),
            fee_currency="USDT",
            exchange_order_id=f"P-{purpose}",
            attempts=1,
            sent_at=today.at(1),
        )
    today.event(closed, "trade.entry_filled", "Entry filled: 0.015 BTC at 65000.")
    today.event(closed, "trade.closed", "Closed by take profit: +28.02 USDT.", pnl="28.02")
    ids["closed"] = closed.pk

    # Open, holding 0.01998 (bought 0.02 at 64000, fee 0.00002 BTC): an initial stop with a
    # crossing's memory and a trailing stop, watched by the rules loop.
    holding = today.ticket(
        "open",
        {"entry": ENTRY_NOW, "initial_stop": STOP_BELOW_EMA, "trailing_stop": TRAIL_1_5_PCT},
        activated_at=today.at(10),
        opened_at=today.at(11),
        quantity=D("0.01998"),
        entry_price=D("64000"),
        entry_cost=D("1280"),
        highest=D("66000"),
        lowest=D("63900"),
        last_price=D("65500"),
        rule_state={
            "entry": fired,
            "initial_stop": {
                "outcome": "not met",
                "memory": {"primary": "65500", "threshold": "64950.25"},
            },
            "trailing_stop": {"outcome": "not met"},
        },
    )
    today.order(
        trade=holding,
        purpose="entry",
        side="buy",
        amount="0.02",
        status="filled",
        filled=D("0.02"),
        average=D("64000"),
        fee_cost=D("0.00002"),
        fee_currency="BTC",
        attempts=1,
        sent_at=today.at(11),
    )
    today.event(holding, "trade.entry_filled", "Entry filled: 0.02 BTC at 64000.")
    ids["open"] = holding.pk

    # Open, its initial stop's market sell in flight: closing.
    closing = today.ticket(
        "open",
        {"entry": ENTRY_NOW, "initial_stop": STOP_2_PCT},
        activated_at=today.at(20),
        opened_at=today.at(21),
        quantity=D("0.01"),
        entry_price=D("65000"),
        entry_cost=D("650.65"),
        highest=D("65200"),
        lowest=D("63600"),
        last_price=D("63650"),
        exit_reason="initial_stop",
        rule_state={
            "entry": fired,
            "initial_stop": {"outcome": "fired", "fired_at": today.at(60).isoformat()},
        },
    )
    today.order(
        trade=closing,
        purpose="entry",
        side="buy",
        amount="0.01",
        status="filled",
        filled=D("0.01"),
        average=D("65000"),
        fee_cost=D("0.65"),
        fee_currency="USDT",
        attempts=1,
    )
    stop_sell = today.order(
        trade=closing,
        purpose="initial_stop",
        side="sell",
        amount="0.01",
        status="unknown",
        attempts=1,
        sent_at=today.at(60),
    )
    closing.working_order = stop_sell
    closing.save(update_fields=["working_order"])
    ids["closing"] = closing.pk

    # Error after a refused sell: the trailing stop sold 0.004 of 0.01, the rest was refused;
    # 0.006 is still held.
    refused = today.ticket(
        "error",
        {"entry": ENTRY_NOW, "trailing_stop": TRAIL_1_5_PCT},
        activated_at=today.at(30),
        opened_at=today.at(31),
        quantity=D("0.01"),
        entry_price=D("66000"),
        entry_cost=D("660.66"),
        exit_quantity=D("0.004"),
        exit_proceeds=D("259.74"),
        highest=D("66100"),
        lowest=D("64900"),
        last_price=D("64950"),
        exit_reason="trailing_stop",
        rule_state={
            "entry": fired,
            "trailing_stop": {"outcome": "fired", "fired_at": today.at(90).isoformat()},
        },
    )
    today.order(
        trade=refused,
        purpose="entry",
        side="buy",
        amount="0.01",
        status="filled",
        filled=D("0.01"),
        average=D("66000"),
        fee_cost=D("0.66"),
        fee_currency="USDT",
    )
    today.order(
        trade=refused,
        purpose="trailing_stop",
        side="sell",
        amount="0.01",
        status="cancelled",
        filled=D("0.004"),
        average=D("65000"),
        fee_cost=D("0.26"),
        fee_currency="USDT",
    )
    today.order(
        trade=refused,
        purpose="trailing_stop",
        side="sell",
        amount="0.006",
        status="rejected",
        error="InsufficientFunds: BTC balance 0.005",
    )
    today.event(refused, "exchange.error", "Trailing stop order refused: InsufficientFunds.")
    ids["refused_sell"] = refused.pk

    # Error: its limit entry at 60000 was rejected, nothing filled.
    rejected = today.ticket(
        "error",
        {"entry": ENTRY_LIMIT, "initial_stop": STOP_2_PCT},
        activated_at=today.at(40),
        rule_state={"entry": fired},
    )
    today.order(
        trade=rejected,
        purpose="entry",
        side="buy",
        type="limit",
        amount="0.01",
        price=D("60000"),
        status="rejected",
        error="InvalidOrder: price filter",
    )
    today.event(rejected, "exchange.error", "Entry order refused: InvalidOrder.")
    ids["rejected_entry"] = rejected.pk

    # Pending: its market entry was sent, outcome unknown (the working order).
    in_flight = today.ticket(
        "pending",
        {"entry": ENTRY_NOW, "initial_stop": STOP_2_PCT, "take_profit": TAKE_3_PCT},
        activated_at=today.at(50),
        rule_state={"entry": fired},
    )
    entry = today.order(
        trade=in_flight,
        purpose="entry",
        side="buy",
        amount="0.015",
        status="unknown",
        attempts=1,
        sent_at=today.at(51),
        error="RequestTimeout: no answer",
    )
    in_flight.working_order = entry
    in_flight.save(update_fields=["working_order"])
    ids["entry_in_flight"] = in_flight.pk

    # Without orders: a draft, a cancelled ticket, and a ticket waiting for its entry.
    ids["draft"] = today.ticket("draft", {"entry": ENTRY_LIMIT}).pk
    ids["cancelled"] = today.ticket(
        "cancelled", {"entry": ENTRY_LIMIT}, activated_at=today.at(5)
    ).pk
    waiting = today.ticket(
        "pending",
        {"entry": ENTRY_LIMIT, "take_profit": TAKE_3_PCT},
        activated_at=today.at(6),
        rule_state={"entry": {"outcome": "not met"}},
    )
    ids["waiting"] = waiting.pk

    # A signal position: one pyramid, two legs (one filled, one resting), their orders.
    group = today.PositionGroup.objects.create(
        owner=today.owner,
        account=today.account,
        symbol=ETH,
        timeframe="15",
        side="long",
        status="open",
        strategy=today.strategy,
        tp_mode="aggregate",
        group_tp_pct=D("2"),
        pyramid_limit=3,
        grid=[
            {"gap_pct": "0", "weight_pct": "50", "tp_pct": "0"},
            {"gap_pct": "2", "weight_pct": "50", "tp_pct": "0"},
        ],
        quantity=D("0.5"),
        average_entry=D("3000"),
        entry_cost=D("1501.5"),
        open_cost=D("1501.5"),
        last_price=D("3010"),
        opened_at=today.at(70),
    )
    pyramid = today.Pyramid.objects.create(
        group=group, index=0, entry_price=D("3000"), capital=D("3000"), created_at=today.at(70)
    )
    legs = [
        today.DcaLeg.objects.create(
            group=group,
            pyramid=pyramid,
            index=0,
            gap_pct=D("0"),
            weight_pct=D("50"),
            tp_pct=D("0"),
            price=D("3000"),
            amount=D("0.5"),
            status="filled",
            filled=D("0.5"),
            quantity=D("0.5"),
            fill_price=D("3000"),
            cost=D("1501.5"),
        ),
        today.DcaLeg.objects.create(
            group=group,
            pyramid=pyramid,
            index=1,
            gap_pct=D("2"),
            weight_pct=D("50"),
            tp_pct=D("0"),
            price=D("2940"),
            amount=D("0.51"),
        ),
    ]
    today.order(
        group=group,
        leg=legs[0],
        symbol=ETH,
        purpose="dca_leg",
        side="buy",
        amount="0.5",
        status="filled",
        filled=D("0.5"),
        average=D("3000"),
        fee_cost=D("1.5"),
        fee_currency="USDT",
    )
    today.order(
        group=group,
        leg=legs[1],
        symbol=ETH,
        purpose="dca_leg",
        side="buy",
        type="limit",
        price=D("2940"),
        amount="0.51",
        status="open",
    )
    today.Event.objects.create(
        kind="position.opened",
        subject_type="trades.positiongroup",
        subject_id=str(group.pk),
        user=today.owner,
        account=today.account,
        message="ETH/USDT 15 long opened.",
    )
    ids["signal_group"] = group.pk
    return ids


def _rows(rows, *fields: str) -> dict[int, dict]:
    """By id, the `fields` of a model's rows (or of a queryset's)."""
    rows = getattr(rows, "objects", rows)
    return {row.pop("id"): row for row in rows.values("id", *fields)}


ORDER_FIELDS = (
    "client_order_id",
    "exchange_order_id",
    "account_id",
    "purpose",
    "symbol",
    "side",
    "type",
    "amount",
    "price",
    "status",
    "filled",
    "average",
    "fee_cost",
    "fee_currency",
    "error",
    "attempts",
    "sent_at",
    "created_at",
    "signal_id",
)
GROUP_FIELDS = (
    "owner_id",
    "account_id",
    "symbol",
    "timeframe",
    "side",
    "status",
    "strategy_id",
    "tp_mode",
    "group_tp_pct",
    "pyramid_limit",
    "grid",
    "quantity",
    "average_entry",
    "entry_cost",
    "open_cost",
    "exit_quantity",
    "exit_proceeds",
    "realised_pnl",
    "last_price",
    "exit_reason",
    "opened_at",
    "closed_at",
    "updated_at",
)
LEG_FIELDS = (
    "group_id",
    "pyramid_id",
    "index",
    "gap_pct",
    "weight_pct",
    "tp_pct",
    "price",
    "amount",
    "status",
    "problem",
    "filled",
    "quantity",
    "closed_quantity",
    "fill_price",
    "cost",
)
PYRAMID_FIELDS = ("group_id", "index", "entry_price", "capital", "created_at", "signal_id")
TRADE_KEPT = (
    "owner_id",
    "account_id",
    "symbol",
    "side",
    "portfolio",
    "strategy_id",
    "revision_id",
    "next_revision_id",
    "rule_state",
    "errors",
    "last_price",
    "created_at",
    "activated_at",
    "closed_at",
)
TRADE_MOVED = (
    "status",
    "quantity",
    "entry_price",
    "entry_cost",
    "exit_quantity",
    "exit_proceeds",
    "realised_pnl",
    "highest",
    "lowest",
    "exit_reason",
    "working_order_id",
)
EVENT_FIELDS = (
    "kind",
    "level",
    "subject_type",
    "subject_id",
    "message",
    "data",
    "user_id",
    "account_id",
    "created_at",
)


@pytest.mark.django_db(transaction=True)
def test_tickets_become_positions_and_nothing_is_lost() -> None:
    executor = MigrationExecutor(connection)
    latest = _latest(executor)
    before = _before(executor)
    try:
        today = Today(_migrate(before))
        assert "trade_id" in _columns("trades_order")  # today's schema, really
        ids = _write_today(today)
        revisions = _rows(today.TradeRevision, "trade_id", "number", "sizing_value", "rules")
        trades = _rows(today.Trade, *TRADE_KEPT, *TRADE_MOVED, "opened_at", "updated_at")
        orders = _rows(today.Order, *ORDER_FIELDS, "trade_id", "group_id", "leg_id")
        events = _rows(today.Event, *EVENT_FIELDS)
        groups = _rows(today.PositionGroup, *GROUP_FIELDS)
        pyramids = _rows(today.Pyramid, *PYRAMID_FIELDS)
        legs = _rows(today.DcaLeg, *LEG_FIELDS)
        assert set(groups) == {ids["signal_group"]}

        new = _migrate(latest)
        _check_schema()
        _check_carried_over(new, ids, trades, revisions, orders, events, groups, pyramids, legs)
        _check_real_models_read(ids)
    finally:
        _back_to_latest(latest)
    assert MigrationExecutor(connection).migration_plan(latest) == []


def _back_to_latest(latest: list[tuple[str, str]]) -> None:
    """Leave the database at the latest migrations. Should a migration fail on this test's
    rows, it fails again here: empty the tables, then migrate (the test's failure stands)."""
    try:
        MigrationExecutor(connection).migrate(latest)
    except Exception:
        with connection.cursor() as cursor:
            tables = ", ".join(
                connection.ops.quote_name(t)
                for t in connection.introspection.table_names(cursor)
                if t != "django_migrations"
            )
            cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
        MigrationExecutor(connection).migrate(latest)


def _check_schema() -> None:
    order, trade = _columns("trades_order"), _columns("trades_trade")
    assert "trade_id" not in order
    assert order["group_id"] is False  # NOT NULL: every order belongs to a position
    assert not {"quantity", "entry_cost", "working_order_id", "exit_reason"} & set(trade)
    assert "waiting_reason" in trade
    assert {"trade_id", "exit_rules", "rule_state", "highest", "lowest"} <= set(
        _columns("trades_positiongroup")
    )


def _check_carried_over(new, ids, trades, revisions, orders, events, groups, pyramids, legs):
    Trade = new.get_model("trades", "Trade")
    TradeRevision = new.get_model("trades", "TradeRevision")
    Order = new.get_model("positions", "Order")
    PositionGroup = new.get_model("positions", "PositionGroup")
    Pyramid = new.get_model("positions", "Pyramid")
    DcaLeg = new.get_model("positions", "DcaLeg")
    Event = new.get_model("core", "Event")

    # Nothing lost: the same rows, by id; what did not move is unchanged.
    assert _rows(TradeRevision, "trade_id", "number", "sizing_value", "rules") == revisions
    # Events about a position follow its model into the positions app (its timeline reads them).
    relabelled = {
        pk: {**e, "subject_type": e["subject_type"].replace("trades.positiongroup", MOVED_TO)}
        for pk, e in events.items()
    }
    assert _rows(Event, *EVENT_FIELDS) == relabelled
    assert Event.objects.filter(subject_type=MOVED_TO).count() == 1
    after_trades = _rows(Trade, *TRADE_KEPT, "status", "waiting_reason", "opened_at")
    assert set(after_trades) == set(trades)
    for pk, trade in after_trades.items():
        assert {f: trade[f] for f in TRADE_KEPT} == {f: trades[pk][f] for f in TRADE_KEPT}
        assert trade["waiting_reason"] == ""
        # Kept; a ticket with a position and no opening time (its entry was in flight) has
        # its position's.
        position = PositionGroup.objects.filter(trade_id=pk).first()
        opened = trades[pk]["opened_at"] or (position.opened_at if position else None)
        assert trade["opened_at"] == opened
    after_orders = _rows(Order, *ORDER_FIELDS, "group_id", "leg_id")
    assert set(after_orders) == set(orders)
    for pk, order in after_orders.items():
        assert {f: order[f] for f in ORDER_FIELDS} == {f: orders[pk][f] for f in ORDER_FIELDS}
        assert order["group_id"] is not None

    # The signal position, its pyramid, legs and orders: untouched.
    signal_group = ids["signal_group"]
    assert _rows(PositionGroup.objects.filter(pk=signal_group), *GROUP_FIELDS) == groups
    assert (
        PositionGroup.objects.filter(pk=signal_group)
        .values_list("trade_id", "exit_rules", "rule_state", "highest", "lowest")
        .get()
    ) == (None, {}, {}, None, None)
    assert _rows(Pyramid.objects.filter(group_id=signal_group), *PYRAMID_FIELDS) == pyramids
    assert _rows(DcaLeg.objects.filter(group_id=signal_group), *LEG_FIELDS) == legs
    for pk, order in orders.items():
        if order["group_id"] == signal_group:
            assert after_orders[pk]["group_id"] == signal_group
            assert after_orders[pk]["leg_id"] == order["leg_id"]

    # Tickets without orders: no position, same status.
    for name, status in WITHOUT_ORDERS.items():
        assert not PositionGroup.objects.filter(trade_id=ids[name]).exists(), name
        assert after_trades[ids[name]]["status"] == status, name
    assert PositionGroup.objects.count() == 1 + len(EXPECTED)

    # Tickets with orders: one position each, holding what the ticket held.
    for name, (position_status, trade_status, leg_status, quantity, open_cost) in EXPECTED.items():
        pk = ids[name]
        old = trades[pk]
        rules = revisions[old["revision_id"]]["rules"]
        position = PositionGroup.objects.get(trade_id=pk)
        held = old["quantity"] - old["exit_quantity"]
        assert position.quantity == max(held, ZERO) == quantity, name
        assert position.open_cost == open_cost, name
        assert (position.status, after_trades[pk]["status"]) == (position_status, trade_status)
        got = {
            "entry_cost": position.entry_cost,
            "exit_quantity": position.exit_quantity,
            "exit_proceeds": position.exit_proceeds,
            "realised_pnl": position.realised_pnl,
            "average_entry": position.average_entry,
            "highest": position.highest,
            "lowest": position.lowest,
            "last_price": position.last_price,
            "exit_reason": position.exit_reason,
        }
        wanted = {f: old[f] for f in got if f != "average_entry"}
        assert got == {**wanted, "average_entry": old["entry_price"]}, name
        assert position.exit_rules == {k: rules[k] for k in EXIT_KINDS if k in rules}, name
        assert "entry" not in position.exit_rules, name
        assert "entry" not in position.rule_state, name
        assert position.rule_state == {
            k: v for k, v in old["rule_state"].items() if k in EXIT_KINDS
        }, name
        assert (position.owner_id, position.account_id, position.strategy_id) == (
            old["owner_id"],
            old["account_id"],
            old["strategy_id"],
        )
        assert (position.symbol, position.side, position.timeframe) == (BTC, "long", "")
        assert (position.tp_mode, position.pyramid_limit) == ("rules", 1)
        assert position.grid == [{"gap_pct": "0", "weight_pct": "100", "tp_pct": "0"}]
        assert position.opened_at == (old["opened_at"] or old["activated_at"]), name
        if position_status == "closed":  # when the ticket ended, else when it was last written
            assert position.closed_at == (old["closed_at"] or old["updated_at"]), name
        else:
            assert position.closed_at is None, name

        # One pyramid, one leg: the entry.
        pyramid = Pyramid.objects.get(group=position)
        leg = DcaLeg.objects.get(group=position)
        assert (pyramid.index, leg.index, leg.pyramid_id) == (0, 0, pyramid.pk)
        assert pyramid.capital == old["entry_cost"]
        entries = [o for o in orders.values() if o["trade_id"] == pk and o["purpose"] == "entry"]
        assert len(entries) == 1
        assert leg.status == leg_status, name
        assert leg.filled == entries[0]["filled"], name
        assert leg.amount == entries[0]["amount"], name
        assert leg.quantity == old["quantity"], name
        # A closed position's leg is closed with it, dust included, as the engine closes one.
        closed = old["quantity"] if position_status == "closed" else old["exit_quantity"]
        assert leg.closed_quantity == min(closed, old["quantity"]), name
        assert leg.cost == old["entry_cost"], name
        assert leg.fill_price == old["entry_price"], name
        # A market entry still in flight has no fill price yet: the price it was sent at.
        reference = old["entry_price"] or entries[0]["price"] or old["last_price"] or ZERO
        assert pyramid.entry_price == leg.price == reference, name

        # Its orders, the same ones, now the position's (the entry also its leg's).
        for order_pk, order in orders.items():
            if order["trade_id"] != pk:
                continue
            assert after_orders[order_pk]["group_id"] == position.pk, name
            wanted_leg = leg.pk if order["purpose"] == "entry" else None
            assert after_orders[order_pk]["leg_id"] == wanted_leg, name
        assert Order.objects.filter(group=position).count() == len(
            [o for o in orders.values() if o["trade_id"] == pk]
        )

    # Spot checks, in figures a trader would read.
    rejected = PositionGroup.objects.get(trade_id=ids["rejected_entry"])
    assert (rejected.average_entry, rejected.entry_cost) == (None, ZERO)
    assert DcaLeg.objects.get(group=rejected).price == D("60000")
    in_flight = PositionGroup.objects.get(trade_id=ids["entry_in_flight"])
    assert in_flight.exit_rules == {"initial_stop": STOP_2_PCT, "take_profit": TAKE_3_PCT}
    assert in_flight.rule_state == {}
    holding = PositionGroup.objects.get(trade_id=ids["open"])
    assert holding.rule_state["initial_stop"]["memory"] == {
        "primary": "65500",
        "threshold": "64950.25",
    }
    assert (holding.highest, holding.lowest) == (D("66000"), D("63900"))
    refused = PositionGroup.objects.get(trade_id=ids["refused_sell"])
    assert (refused.exit_quantity, refused.exit_proceeds) == (D("0.004"), D("259.74"))
    closed = PositionGroup.objects.get(trade_id=ids["closed"])
    assert (closed.realised_pnl, closed.exit_proceeds) == (D("28.02"), D("1003.995"))


def _check_real_models_read(ids: dict[str, int]) -> None:
    """Today's code reads a migrated position: its PnL, its rules, the ticket's link."""
    from apps.positions.models import PositionGroup
    from apps.strategies.domain.catalog import RuleKind
    from apps.tickets.models import Trade

    holding = PositionGroup.objects.get(trade_id=ids["open"])
    assert holding.unrealised_pnl == D("0.01998") * (D("65500") - D("64000")) == D("29.97")
    assert holding.origin == "ticket"
    rules = holding.parsed_exit_rules()
    assert rules[RuleKind.INITIAL_STOP] is not None
    assert rules[RuleKind.TRAILING_STOP] is not None
    assert rules[RuleKind.TAKE_PROFIT] is None
    assert Trade.objects.get(pk=ids["open"]).position.pk == holding.pk
    assert PositionGroup.objects.get(trade_id=ids["closed"]).unrealised_pnl is None
    without = set(Trade.objects.filter(position__isnull=True).values_list("pk", flat=True))
    assert without == {ids[name] for name in WITHOUT_ORDERS}
