"""What the Performance page reads: the closed positions behind a view, their figures and
breakdowns, and the daily equity curve. The database does the adding up, in a constant number
of queries whatever the ledger holds: one for the ledger's totals (`totals`), one for the
breakdowns and the daily PnL (`grouped`), one for the curve, one for the open positions. No
closed position is loaded into Python, except by the CSV (streamed)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Context, Decimal

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    Func,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Abs, Coalesce, Left, NullIf, StrIndex, TruncDate
from django.utils import timezone
from django.utils.text import capfirst

from apps.core.numbers import BIGINT_MAX, ZERO, plain
from apps.core.timeframes import timeframe_words
from apps.exchanges.models import ExchangeAccount
from apps.performance.domain.figures import (
    PRICE_SOURCES,
    EquityPoint,
    Figures,
    PositionPnl,
    Totals,
    drawdown_series,
    figures_of,
)
from apps.performance.domain.period import Period
from apps.performance.models import EquitySnapshot
from apps.positions.models import Order, PositionGroup

# Breakdown name -> (heading, the expression grouped by).
BREAKDOWNS = {
    "symbol": ("Symbol", F("symbol")),
    "timeframe": ("Timeframe", F("timeframe")),
    "strategy": ("Strategy", Coalesce(F("strategy__name"), Value(""), output_field=CharField())),
    "origin": (
        "Origin",
        Case(When(trade__isnull=True, then=Value("signal")), default=Value("ticket")),
    ),
    "exit_reason": ("Exit reason", F("exit_reason")),
}
# Every field of a closed position, for the CSV (in this order).
CSV_FIELDS = [
    "id", "account_id", "account__label", "account__quote_currency", "symbol", "timeframe",
    "side", "status", "strategy_id", "strategy__name", "trade_id", "tp_mode", "group_tp_pct",
    "pyramid_limit", "quantity", "average_entry", "entry_cost", "open_cost", "exit_quantity",
    "exit_proceeds", "realised_pnl", "last_price", "highest", "lowest", "exit_reason",
    "opened_at", "closed_at", "updated_at",
]  # fmt: skip


@dataclass(frozen=True)
class Scope:
    """Whose positions and snapshots a view reads: the trader's accounts of one quote currency
    (figures never add USDT to EUR), over a period."""

    user_id: int
    accounts: tuple[int, ...]
    quote: str
    period: Period
    left_out: tuple[str, ...] = ()  # labels of accounts in another quote currency

    @property
    def since(self) -> datetime | None:
        return _start_of(self.period.since)

    @property
    def until(self) -> datetime | None:  # exclusive: the day after the last day
        return _start_of(self.period.until + timedelta(days=1)) if self.period.until else None


def _start_of(day: date | None) -> datetime | None:
    return datetime.combine(day, time.min, tzinfo=UTC) if day else None


def scope_for(*, user, account: ExchangeAccount | None, period: Period) -> Scope:
    """The accounts a view covers: the one chosen, or every account of the trader's in the
    quote currency of their first account (the others are named, to be chosen one by one)."""
    mine = list(
        ExchangeAccount.objects.filter(owner=user)
        .order_by("pk")
        .values_list("pk", "label", "quote_currency")
    )
    if account is not None:
        mine = [row for row in mine if row[0] == account.pk]
    quote = mine[0][2] if mine else ""
    return Scope(
        user_id=user.pk,
        accounts=tuple(pk for pk, _, q in mine if q == quote),
        quote=quote,
        period=period,
        left_out=tuple(label for _, label, q in mine if q != quote),
    )


def closed_positions(scope: Scope) -> QuerySet[PositionGroup]:
    """The closed positions behind the view (closed within the period), the trader's only."""
    rows = PositionGroup.objects.filter(
        owner_id=scope.user_id, account_id__in=scope.accounts, status=PositionGroup.Status.CLOSED
    )
    if scope.since:
        rows = rows.filter(closed_at__gte=scope.since)
    if scope.until:
        rows = rows.filter(closed_at__lt=scope.until)
    return rows


# Enough digits to add sums of MoneyFields (36 digits, 18 places) without rounding.
_EXACT = Context(prec=100)


def _exact_sum(*values: Decimal) -> Decimal:
    total = ZERO
    for value in values:
        total = _EXACT.add(total, value)
    return total


# Where a position keeps its initial stop, and what a usable stop level is: a decimal number as
# the rule catalog stores it (`-5`, `-2.5`). Anything else gives no R, as in `risk_at_stop`;
# the test compares the two on every kind of stop.
_STOP = "exit_rules__initial_stop__"
_LEVEL = r"^\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]{1,2})?\s*$"


def r_multiple():
    """A position's R multiple, computed by the database as `figures` does with `risk_at_stop`:
    PnL / (cost × |level| / 100) for a stop on the position's own PnL % or a price stop
    relative to the entry in percent (`stop_level_pct`), written PnL × 100 /
    (cost × |level|) (one division); NULL (no R) without such a stop, with a level that is not
    a number or is 0, or without cost."""
    known = Q(**{f"{_STOP}primary__source": "pnl_pct"}) | Q(
        **{
            f"{_STOP}primary__source__in": PRICE_SOURCES,
            f"{_STOP}secondary__source": "entry_price",
            f"{_STOP}unit": "percent",
        }
    )
    level = Case(
        When(
            known & Q(**{f"{_STOP}value__regex": _LEVEL}),
            # CASE casts only a value the pattern let through.
            then=Func(KT(f"{_STOP}value"), template="CAST(%(expressions)s AS NUMERIC)"),
        ),
        output_field=DecimalField(),
    )
    risk_pct = F("entry_cost") * NullIf(Abs(level), Value(0))
    return Case(
        When(entry_cost__gt=0, then=F("realised_pnl") * Value(100) / risk_pct),
        output_field=DecimalField(),
    )


def totals(scope: Scope) -> Totals:
    """The counts and sums of the view's closed positions, in one query: an aggregate over the
    rows, each carrying its R multiple and the ids of the best and the worst position (highest
    and lowest PnL, the lower id between equals: ordered subqueries, run once, that walk
    `position_closed_pnl_idx` from either end)."""
    won, lost = Q(realised_pnl__gt=0), Q(realised_pnl__lt=0)
    held = ExpressionWrapper(
        Coalesce("closed_at", "opened_at") - F("opened_at"), output_field=DurationField()
    )
    ledger = closed_positions(scope)
    rows = ledger.annotate(
        r=r_multiple(),
        best=Subquery(ledger.order_by("-realised_pnl", "id").values("id")[:1]),
        worst=Subquery(ledger.order_by("realised_pnl", "id").values("id")[:1]),
    )
    # A LIMIT no ledger reaches keeps the rows a subquery of their own: PostgreSQL would
    # otherwise pull them up into the aggregate and parse each stop twice, once for Sum("r")
    # and once for Count("r") (a third slower at 10 000 positions).
    row = rows.order_by()[:BIGINT_MAX].aggregate(
        count=Count("id"),
        wins=Count("id", filter=won),
        losses=Count("id", filter=lost),
        gross_profit=Coalesce(Sum("realised_pnl", filter=won), ZERO),
        gross_loss=Coalesce(Sum("realised_pnl", filter=lost), ZERO),
        holding=Sum(held),
        r_sum=Coalesce(Sum("r"), ZERO),
        with_stop=Count("r"),
        best_id=Max("best"),  # the same on every row: the subquery runs once
        best_pnl=Max("realised_pnl"),
        worst_id=Max("worst"),
        worst_pnl=Min("realised_pnl"),
    )
    if not row["count"]:
        return Totals(0, 0, 0, ZERO, ZERO, ZERO, timedelta(), ZERO, 0, None, None)
    return Totals(
        count=row["count"],
        wins=row["wins"],
        losses=row["losses"],
        pnl=_exact_sum(row["gross_profit"], row["gross_loss"]),  # a break-even PnL adds 0
        gross_profit=row["gross_profit"],
        gross_loss=row["gross_loss"],
        holding=row["holding"],
        r_sum=row["r_sum"],
        with_stop=row["with_stop"],
        best=PositionPnl(row["best_id"], row["best_pnl"]),
        worst=PositionPnl(row["worst_id"], row["worst_pnl"]),
    )


def equity_curve(scope: Scope, *, now: datetime | None = None) -> list[EquityPoint]:
    """Each UTC day's opening equity, summed over the view's accounts, oldest first; then,
    when the period runs to today, the equity now (each account's latest snapshot), so the
    curve ends where the account is rather than at this morning's open."""
    opens = EquitySnapshot.objects.filter(account_id__in=scope.accounts, day_open=True)
    if scope.period.since:
        opens = opens.filter(day__gte=scope.period.since)
    if scope.period.until:
        opens = opens.filter(day__lte=scope.period.until)
    rows = opens.values("day").annotate(total=Sum("equity")).order_by("day")
    curve = [EquityPoint(row["day"], row["total"]) for row in rows]
    now = now or timezone.now()
    if curve and (scope.period.until is None or scope.period.until >= now.date()):
        latest = _equity_now(scope)
        last_open = _start_of(curve[-1].day)
        if latest is not None and latest.at is not None and latest.at > last_open:
            curve.append(latest)
    return curve


def _equity_now(scope: Scope) -> EquityPoint | None:
    """The sum of each account's latest snapshot, at the latest of their moments: one query,
    a one-row walk of `equity_snapshot_account_at_idx` per account."""
    newest = EquitySnapshot.objects.filter(account_id=OuterRef("pk")).order_by("-at")
    rows = (
        ExchangeAccount.objects.filter(pk__in=scope.accounts)
        .annotate(
            equity=Subquery(newest.values("equity")[:1]), at=Subquery(newest.values("at")[:1])
        )
        .filter(at__isnull=False)
        .values_list("equity", "at")
    )
    found = list(rows)
    if not found:
        return None
    at = max(moment for _, moment in found)
    return EquityPoint(at.astimezone(UTC).date(), sum((equity for equity, _ in found), ZERO), at)


@dataclass(frozen=True)
class BreakdownRow:
    key: str
    label: str
    count: int
    wins: int
    pnl: Decimal
    gross_profit: Decimal
    gross_loss: Decimal
    cost: Decimal

    @property
    def win_rate(self) -> Decimal:
        return Decimal(self.wins) / self.count * 100

    @property
    def profit_factor(self) -> Decimal | None:
        return self.gross_profit / -self.gross_loss if self.gross_loss else None

    @property
    def pnl_pct(self) -> Decimal | None:
        """PnL as a % of what was spent entering these positions."""
        return self.pnl / self.cost * 100 if self.cost else None


def _label(name: str, key: str) -> str:
    if name == "exit_reason":
        return capfirst(Order.exit_words(key)) if key else "not recorded"
    if name == "strategy":
        return key or "none (a ticket's own rules)"
    if name == "timeframe":
        return timeframe_words(key) if key else "none (a ticket)"
    if name == "origin":
        return "Ticket" if key == "ticket" else "Signal"
    return key or "–"


def breakdown(scope: Scope, name: str) -> list[BreakdownRow]:
    """One GROUP BY over the view's closed positions, best PnL first."""
    won, lost = Q(realised_pnl__gt=0), Q(realised_pnl__lt=0)
    rows = (
        closed_positions(scope)
        .values(key=BREAKDOWNS[name][1])
        .annotate(
            count=Count("id"),
            wins=Count("id", filter=won),
            pnl=Sum("realised_pnl"),
            gross_profit=Coalesce(Sum("realised_pnl", filter=won), ZERO),
            gross_loss=Coalesce(Sum("realised_pnl", filter=lost), ZERO),
            cost=Sum("entry_cost"),
        )
        .order_by("-pnl", "key")
    )
    return [BreakdownRow(label=_label(name, row["key"]), **row) for row in rows]


def daily_pnl(scope: Scope) -> list[tuple[date, Decimal]]:
    """Realised PnL per UTC day of closing."""
    rows = (
        closed_positions(scope)
        .annotate(day=TruncDate("closed_at", tzinfo=UTC))
        .values("day")
        .annotate(pnl=Sum("realised_pnl"))
        .order_by("day")
    )
    return [(row["day"], row["pnl"]) for row in rows]


# What the breakdowns and the daily PnL group by, in the one query that reads them all.
_GROUPS = {
    **{name: expression for name, (_, expression) in BREAKDOWNS.items()},
    "day": TruncDate("closed_at", tzinfo=UTC),
}


def grouped(scope: Scope) -> tuple[dict[str, list[BreakdownRow]], list[tuple[date, Decimal]]]:
    """Every breakdown (best PnL first) and the daily PnL (oldest day first).

    On PostgreSQL, one pass over the view's closed positions: `GROUP BY GROUPING SETS`, one set
    per breakdown and one for the days, over the rows the ORM selects (less than half the time
    of six GROUP BYs at 10 000 positions). SQLite (the embedded desk) has no grouping sets:
    there, one GROUP BY each (`breakdown`, `daily_pnl`), which the tests hold this one to.
    """
    if not scope.accounts:  # a trader without an account: nothing to group (nor any SQL)
        return {name: [] for name in BREAKDOWNS}, []
    if connection.vendor != "postgresql":
        return {name: breakdown(scope, name) for name in BREAKDOWNS}, daily_pnl(scope)
    quote = connection.ops.quote_name
    names = list(_GROUPS)
    keys = [quote(f"key_{name}") for name in names]
    rows = (
        closed_positions(scope)
        .order_by()
        .values(
            pnl=F("realised_pnl"),
            cost=F("entry_cost"),
            **{f"key_{name}": expression for name, expression in _GROUPS.items()},
        )
    )
    ledger, params = rows.query.sql_with_params()
    listed, sets = ", ".join(keys), ", ".join(f"({key})" for key in keys)
    # PnL is the wins' sum plus the losses' (a break-even position adds 0): one sum fewer for
    # the database to add up in every set, a quarter of the query's time.
    query = f"""
        SELECT GROUPING({listed}), {listed}, COUNT(*), COUNT(*) FILTER (WHERE pnl > 0),
               COALESCE(SUM(pnl) FILTER (WHERE pnl > 0), 0),
               COALESCE(SUM(pnl) FILTER (WHERE pnl < 0), 0), SUM(cost)
        FROM ({ledger}) AS ledger GROUP BY GROUPING SETS ({sets})
    """  # noqa: S608 (names and SQL from the ORM; values travel as parameters)
    breakdowns: dict[str, list[BreakdownRow]] = {name: [] for name in BREAKDOWNS}
    daily = []
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        for mask, *values in cursor.fetchall():
            # GROUPING() sets a bit for each key *not* grouped by, the first key highest.
            index = next(i for i in range(len(names)) if not mask >> (len(names) - 1 - i) & 1)
            name, key = names[index], values[index]
            count, wins, gross_profit, gross_loss, cost = values[len(names) :]
            pnl = _exact_sum(gross_profit, gross_loss)
            if name == "day":
                daily.append((key, pnl))
                continue
            breakdowns[name].append(
                BreakdownRow(
                    key, _label(name, key), count, wins, pnl, gross_profit, gross_loss, cost
                )
            )
    for found in breakdowns.values():
        found.sort(key=lambda row: (-row.pnl, row.key))
    return breakdowns, sorted(daily)


def open_pnl(scope: Scope) -> Decimal:
    """Unrealised PnL of the view's open positions now, at their last seen prices."""
    held = PositionGroup.objects.filter(
        owner_id=scope.user_id,
        account_id__in=scope.accounts,
        status__in=[*PositionGroup.POOL, PositionGroup.Status.CLOSING],
    ).only("status", "side", "quantity", "average_entry", "last_price")
    return sum((group.unrealised_pnl or ZERO for group in held), ZERO)


@dataclass(frozen=True)
class Performance:
    scope: Scope
    figures: Figures
    open_pnl: Decimal
    curve: list[EquityPoint]
    drawdowns: list[Decimal]
    daily: list[tuple[date, Decimal]]
    breakdowns: list[tuple[str, str, list[BreakdownRow]]] = field(default_factory=list)

    @property
    def open_pnl_pct(self) -> Decimal | None:
        start = self.figures.starting_equity
        return self.open_pnl / start * 100 if start else None

    @property
    def empty(self) -> bool:
        return self.figures.count == 0


def performance(scope: Scope) -> Performance:
    """Everything the page shows for `scope`."""
    curve = equity_curve(scope)
    breakdowns, daily = grouped(scope)
    return Performance(
        scope=scope,
        figures=figures_of(totals(scope), curve),
        open_pnl=open_pnl(scope),
        curve=curve,
        drawdowns=drawdown_series(curve),
        daily=daily,
        breakdowns=[(name, heading, breakdowns[name]) for name, (heading, _) in BREAKDOWNS.items()],
    )


def _fees(currency):
    """The sum of a position's order fees paid in `currency` (an expression on the position's
    row): a correlated subquery on `orders.group`."""
    paid = Order.objects.filter(group=OuterRef("pk"), fee_currency=currency).exclude(fee_cost=0)
    return Coalesce(
        Subquery(paid.values("group").annotate(total=Sum("fee_cost")).values("total")[:1]),
        ZERO,
        output_field=DecimalField(),
    )


_BASE = Left(OuterRef("symbol"), StrIndex(OuterRef("symbol"), Value("/")) - 1)
# Columns computed for the CSV beside the position's own fields: what the position sold at on
# average (proceeds net of fees / quantity sold), and the fees its orders paid in the quote and
# in the base currency (a fee in a third currency, an exchange's token, is in neither: the
# position's orders show it).
CSV_COMPUTED = {
    "average_exit": Case(
        When(exit_quantity__gt=0, then=F("exit_proceeds") / F("exit_quantity")),
        output_field=DecimalField(),
    ),
    "fees_quote": _fees(OuterRef("account__quote_currency")),
    "fees_base": _fees(_BASE),
}
CSV_HEADER = [*CSV_FIELDS, *CSV_COMPUTED]


def csv_rows(scope: Scope) -> Iterable[tuple]:
    """Every field of every closed position behind the view (then `CSV_COMPUTED`), oldest
    close first, streamed from a server-side cursor so the download starts at once."""
    rows = (
        closed_positions(scope)
        .annotate(**CSV_COMPUTED)
        .order_by("closed_at", "pk")
        .values_list(*CSV_HEADER)
    )
    return rows.iterator(chunk_size=2000)


def chart_series(view: Performance) -> dict[str, list[dict[str, str]]]:
    """The charts' data for the page's data- attributes. Values travel as exact decimal strings;
    static/js/performance.js turns them into numbers only to draw them."""
    return {
        "equity": [{"time": _seconds(p), "value": plain(p.equity)} for p in view.curve],
        "drawdown": [
            {"time": _seconds(p), "value": plain(dd.quantize(Decimal("0.0001")))}
            for p, dd in zip(view.curve, view.drawdowns, strict=True)
        ],
        "daily": [{"time": day.isoformat(), "value": plain(pnl)} for day, pnl in view.daily],
    }


def _seconds(point: EquityPoint) -> int:
    """The chart's time of a point (UTC seconds): a day's open at 00:00, the equity now at its
    moment, so both fit on one time axis."""
    return int((point.at or _start_of(point.day)).timestamp())
