"""Reads for the risk engine and the Risk page: an account's open groups as the engine's facts,
prices, equity and exposure, settings with their defaults, and recent actions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import Coalesce

from apps.core.confirm import counted, entry_name
from apps.core.numbers import ZERO
from apps.core.scoping import owned
from apps.core.timeframes import timeframe_words
from apps.exchanges.adapters import get_adapter
from apps.exchanges.domain.types import Ticker
from apps.exchanges.models import ExchangeAccount, Market
from apps.exchanges.services import market_data
from apps.exchanges.services.markets import rules_of
from apps.positions.models import Order, PositionGroup
from apps.positions.services import intents
from apps.risk.domain import guards
from apps.risk.domain.selection import Eligibility, GroupFacts, duration_text
from apps.risk.models import AccountGuard, GroupRisk, RiskAction, RiskSettings
from apps.tickets.models import Trade
from apps.trade_queue.models import QueuedSignal

ACTIONS_SHOWN = 20
# The groups the Risk page lists: those the engine may act on, and those in Error (shown, never
# used: a refused sell needs the trader).
LISTED = (PositionGroup.Status.OPEN, PositionGroup.Status.ERROR)


def accounts_of(user) -> QuerySet[ExchangeAccount]:
    return owned(ExchangeAccount, user, owner_field="owner").order_by("label", "pk")


def settings_of(account: ExchangeAccount) -> RiskSettings:
    """The account's settings; unsaved defaults until the trader saves them."""
    found = RiskSettings.objects.filter(account=account).first()
    return found or RiskSettings(account=account)


def settings_problem(settings: RiskSettings) -> str:
    """Why `settings` as stored cannot be used ("" when they can): a value outside its field's
    bounds (saved before the bounds existed, or written around the form). Such a value could
    overflow a timer or fail a comparison; the engine and the guards refuse it instead."""
    try:
        settings.clean_fields(exclude=["account"])  # bounds only; no query
    except ValidationError as error:
        return "; ".join(
            f"{_label(settings, name)}: {' '.join(messages)}"
            for name, messages in error.message_dict.items()
        )
    return ""


def _label(settings: RiskSettings, name: str) -> str:
    try:
        return str(settings._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return name


def guard_of(account: ExchangeAccount) -> AccountGuard:
    found = AccountGuard.objects.filter(account=account).first()
    return found or AccountGuard(account=account)


def open_groups(account: ExchangeAccount) -> QuerySet[PositionGroup]:
    """The account's listed groups with what the engine needs, in one query."""
    dca = Q(orders__purpose=Order.Purpose.DCA_LEG)
    return (
        PositionGroup.objects.filter(account=account, status__in=LISTED)
        .select_related("account", "risk")
        .annotate(
            pyramid_count=Count("pyramids", distinct=True),
            last_pyramid_at=Max("pyramids__created_at"),
            dca_unsent=Count(
                "orders",
                filter=dca & Q(orders__sent_at__isnull=True, orders__status__in=Order.LIVE),
                distinct=True,
            ),
            dca_last_sent_at=Max("orders__sent_at", filter=dca),
            legs_working=Count("legs", filter=Q(legs__status="working"), distinct=True),
            dca_last_fill_at=Max("orders__updated_at", filter=dca & Q(orders__filled__gt=0)),
            sell_in_flight=intents.sell_in_flight(),
        )
        .order_by("opened_at", "pk")
    )


def label_of(group: PositionGroup) -> str:
    return f"{group.symbol} {timeframe_words(group.timeframe)} {group.side} #{group.pk}"


def facts_of(
    groups: Iterable[PositionGroup], *, account: ExchangeAccount, prices: Mapping[str, Decimal]
) -> list[GroupFacts]:
    """The engine's view of annotated groups (from `open_groups`) at `prices`."""
    groups = list(groups)
    rules = {
        m.symbol: rules_of(m)
        for m in Market.objects.filter(account=account, symbol__in={g.symbol for g in groups})
    }
    facts = []
    for group in groups:
        if group.symbol not in rules:
            continue  # delisted from the account's markets: nothing can be sold by rule
        control = _control(group)
        facts.append(
            GroupFacts(
                id=group.pk,
                label=label_of(group),
                rules=rules[group.symbol],
                quantity=group.quantity,
                average_entry=group.average_entry,
                price=prices.get(group.symbol),
                opened_at=group.opened_at,
                pyramids=group.pyramid_count,
                pyramid_limit=group.pyramid_limit,
                last_pyramid_at=group.last_pyramid_at,
                dca_submitted_at=group.dca_last_sent_at if not group.dca_unsent else None,
                dca_filled_at=(
                    (group.dca_last_fill_at or group.last_pyramid_at)
                    if not group.legs_working
                    else None
                ),
                timer_reset_at=control.timer_reset_at,
                skipped_at=control.skipped_at,
                blocked=control.blocked,
                skip_once=control.skip_once,
                sell_in_flight=group.sell_in_flight,
                is_open=group.status == PositionGroup.Status.OPEN,
            )
        )
    return facts


def _control(group: PositionGroup) -> GroupRisk:
    try:
        return group.risk
    except GroupRisk.DoesNotExist:
        return GroupRisk(group=group)


def stored_prices(groups: Iterable[PositionGroup]) -> dict[str, Decimal]:
    """The last prices the take-profit loop saw (for a page load: no exchange call)."""
    return {g.symbol: g.last_price for g in groups if g.last_price is not None}


def sell_price(ticker: Ticker) -> Decimal:
    """What a market sell gets now: the bid, else the last price."""
    return ticker.bid or ticker.last


def fetch_prices(*, account: ExchangeAccount, symbols: Iterable[str]) -> dict[str, Decimal]:
    """Current sell prices from the exchange (outside any transaction). Raises ExchangeError."""
    wanted = sorted(set(symbols))
    if not wanted:
        return {}
    found = market_data.tickers(account=account, symbols=wanted)
    return {symbol: sell_price(ticker) for symbol, ticker in found.items()}


def fetch_equity(*, account: ExchangeAccount) -> tuple[Decimal, tuple[str, ...]]:
    """The account's equity in its quote currency: every balance at its last price (one balance
    call and one ticker batch, outside any transaction). Raises ExchangeError."""
    adapter = get_adapter(account)
    try:
        balances = {b.asset: b.total for b in adapter.fetch_balance().values()}
        quote = account.quote_currency
        markets = dict(
            Market.objects.filter(account=account, quote=quote, base__in=list(balances))
            .exclude(base=quote)
            .values_list("base", "symbol")
        )
        held = [markets[a] for a, amount in balances.items() if a in markets and amount]
        tickers: dict[str, Ticker] = adapter.fetch_tickers(held) if held else {}
    finally:
        adapter.close()
    prices = {base: tickers[symbol].last for base, symbol in markets.items() if symbol in tickers}
    return guards.equity_of(balances=balances, prices=prices, quote=quote)


def exposure_by_symbol(account: ExchangeAccount) -> dict[str, Decimal]:
    """What the desk's positions on each symbol are worth at their last seen prices (a group
    no loop has priced yet at its average entry): open groups' quantity and open trades' open
    quantity."""
    exposure: dict[str, Decimal] = {}
    groups = (
        PositionGroup.objects.filter(
            account=account,
            status__in=[*LISTED, PositionGroup.Status.CLOSING],
            quantity__gt=0,
        )
        .annotate(price=Coalesce("last_price", "average_entry"))
        .filter(price__isnull=False)
        .values_list("symbol", "quantity", "price")
    )
    for symbol, quantity, price in groups:
        exposure[symbol] = exposure.get(symbol, ZERO) + quantity * price
    return exposure


@dataclass(frozen=True)
class GroupRow:
    """One row of the Risk page."""

    group: PositionGroup
    facts: GroupFacts
    eligibility: Eligibility
    role: str = ""  # in the plan shown: "loser", "winner", or ""

    @property
    def dom_id(self) -> str:
        return f"risk-group-{self.group.pk}"

    @property
    def timer(self) -> str:
        remaining = self.eligibility.timer_remaining
        if remaining is None:
            return "not started"
        return duration_text(remaining) + " left" if remaining else "elapsed"


def recent_actions(account: ExchangeAccount) -> QuerySet[RiskAction]:
    return RiskAction.objects.filter(account=account).select_related("loser")[:ACTIONS_SHOWN]


def kill_switch_plan(account: ExchangeAccount) -> list[str]:
    """What the kill switch would do to `account` now, one line each, as its confirmation
    lists it (read from the database: the exchange's own foreign orders are found only when it
    runs)."""
    groups = [
        f"{group.name} #{group.pk}"
        for group in PositionGroup.objects.filter(account=account, status__in=LISTED)
    ]
    waiting = Trade.objects.filter(
        account=account, status=Trade.Status.PENDING, position__isnull=True
    ).count()
    resting = Order.objects.filter(account=account, status__in=Order.LIVE).count()
    queued = [
        entry_name(row)
        for row in QueuedSignal.objects.filter(account=account, status__in=QueuedSignal.WAITING)
    ]
    return [
        f"Closes {counted(len(groups), 'position', 'positions')} at market"
        + (f", from tickets and signals: {', '.join(groups)}" if groups else "")
        + ".",
        f"Cancels {counted(waiting, 'ticket', 'tickets')} waiting for "
        f"{'its' if waiting == 1 else 'their'} entry.",
        f"Cancels every resting order: the desk's {resting} and any other open order on the "
        "exchange.",
        f"Removes {counted(len(queued), 'queued entry', 'queued entries')}"
        + (f": {', '.join(queued)}" if queued else "")
        + "; none is promoted when you resume.",
        f"Pauses {account.label} until you resume it.",
    ]
