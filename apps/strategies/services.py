"""Strategies: save a ticket's sizing and rules under a name, to load into later tickets; what
signals do with positions (DCA grid, take profit, pyramid limit); a sizing as a pyramid's
capital on an account; and the strategy form's preview of the legs a grid would place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.core.events import record_event
from apps.exchanges.errors import ExchangeError
from apps.exchanges.models import BalanceSnapshot, ExchangeAccount, Market
from apps.exchanges.services import market_data
from apps.exchanges.services.markets import rules_of
from apps.strategies.domain import dca
from apps.strategies.domain.catalog import Rule, RuleKind, Side
from apps.strategies.domain.sizing import Sizing, SizingError, size_entry
from apps.strategies.models import Strategy


def save_strategy(
    *,
    user,
    name: str,
    side: Side,
    sizing: Sizing,
    rules: Mapping[RuleKind, Rule | None],
    rest_take_profit: bool = False,
) -> Strategy:
    """Save a ticket's side, sizing, rules and where its take profit rests as the strategy
    `name`.

    A strategy of that name is overwritten (a trader refines a strategy by saving it again);
    the account and symbol stay with the ticket, so one strategy serves any market.
    """
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"strategy_name": "Name the strategy."})
    values = {
        "side": side.value,
        "sizing_kind": sizing.kind.value,
        "sizing_value": sizing.value,
        "rules": {kind.value: rule.to_dict() for kind, rule in rules.items() if rule},
        "rest_take_profit": rest_take_profit,
    }
    with transaction.atomic():
        strategy, created = Strategy.objects.update_or_create(
            owner=user, name=name, defaults=values
        )
        labels = [rule.label for rule in rules.values() if rule is not None]
        record_event(
            kind="strategy.saved",
            message=(
                f"Strategy {name} {'saved' if created else 'overwritten'}: "
                f"{sizing.label}; {'; '.join(labels)}."
            ),
            user=user,
            subject=strategy,
            data={"created": created, **values, "sizing_value": str(sizing.value)},
        )
    return strategy


def update_strategy_grid(
    *,
    user,
    strategy: Strategy,
    dca_legs: list[dict[str, str]],
    tp_mode: str,
    group_tp_pct: Decimal,
    pyramid_limit: int,
    rest_take_profit: bool = False,
) -> Strategy:
    """Save what a signal does with position groups: the DCA grid, the take-profit mode (and
    whether it rests on the exchange) and the pyramid limit. Validated by the domain; a
    ValidationError names each problem (leg problems under "legs", keyed by leg index).
    Groups already open keep their own copy."""
    problems = dca.grid_problems(dca_legs)
    settings_problems = dca.tp_settings_problems(
        pyramid_limit=pyramid_limit, group_tp_pct=group_tp_pct
    )
    if tp_mode not in dca.TpMode.__members__.values():
        settings_problems["tp_mode"] = f"Unknown take-profit mode {tp_mode!r}."
    if problems or settings_problems:
        raise ValidationError(
            {**settings_problems, **({"legs": str(dca.GridError(problems))} if problems else {})}
        )
    legs = [leg.to_dict() for leg in dca.parse_grid(dca_legs)]
    with transaction.atomic():
        strategy = Strategy.objects.select_for_update().get(pk=strategy.pk, owner=user)
        strategy.dca_legs = legs
        strategy.tp_mode = tp_mode
        strategy.group_tp_pct = group_tp_pct
        strategy.pyramid_limit = pyramid_limit
        strategy.rest_take_profit = rest_take_profit
        strategy.save(
            update_fields=[
                "dca_legs",
                "tp_mode",
                "group_tp_pct",
                "pyramid_limit",
                "rest_take_profit",
                "updated_at",
            ]
        )
        grid = "; ".join(
            f"-{leg['gap_pct']} % × {leg['weight_pct']} % (TP {leg['tp_pct']} %)" for leg in legs
        )
        record_event(
            kind="strategy.saved",
            message=(
                f"Strategy {strategy.name}: {dca.TpMode(tp_mode).label.lower()} take profit "
                f"(group {group_tp_pct.normalize():f} %"
                f"{', resting on the exchange' if rest_take_profit else ''}), "
                f"up to {pyramid_limit} pyramids, grid {grid or 'one leg at market'}."
            ),
            user=user,
            subject=strategy,
            data={
                "dca_legs": legs,
                "tp_mode": tp_mode,
                "group_tp_pct": str(group_tp_pct),
                "pyramid_limit": pyramid_limit,
                "rest_take_profit": rest_take_profit,
            },
        )
    return strategy


def pyramid_capital(*, account: ExchangeAccount, sizing: Sizing, price: Decimal) -> Decimal:
    """A sizing as quote capital, as a ticket sizes its entry (the free quote balance, less
    the taker fee, for a % of buying power). Risk sizing needs a stop, which a grid does not
    have: SizingError says so."""
    quote = BalanceSnapshot.objects.filter(account=account, asset=account.quote_currency).first()
    buying_power = quote.free if quote else Decimal(0)
    size = size_entry(
        sizing,
        price=price,
        buying_power=buying_power / (1 + market_data.taker_fee_rate(account=account)),
        equity=Decimal(0),
        stop=None,
    )
    return size.quote_amount if size.quote_amount is not None else size.amount * price


@dataclass(frozen=True)
class GridPreview:
    legs: tuple[dca.PlannedLeg, ...] = ()
    price: Decimal | None = None
    capital: Decimal | None = None
    note: str = ""  # why there is no preview
    # Each leg's take-profit price (its rounded price + its TP %, on the tick), in leg order.
    tp_prices: tuple[Decimal, ...] = ()
    typed_price: bool = False  # the trader's price, not the market's
    # The group's take-profit price once the placed legs up to each have filled (their average
    # entry + the group TP %, on the tick), in leg order: what aggregate and hybrid arm.
    group_tp_prices: tuple[Decimal | None, ...] = ()
    tp_mode: str = dca.TpMode.HYBRID

    @property
    def leg_tps(self) -> bool:
        """Each leg takes its own profit (per leg, hybrid): the preview shows its price."""
        return self.tp_mode in (dca.TpMode.PER_LEG, dca.TpMode.HYBRID)

    @property
    def group_tps(self) -> bool:
        """The whole position takes profit at the group TP % (aggregate, hybrid)."""
        return self.tp_mode in (dca.TpMode.AGGREGATE, dca.TpMode.HYBRID)

    @property
    def rows(self) -> list[tuple[dca.PlannedLeg, Decimal, Decimal | None]]:
        """(leg, its own take-profit price, the group's once it has filled)."""
        return list(zip(self.legs, self.tp_prices, self.group_tp_prices, strict=True))

    @property
    def total_cost(self) -> Decimal:
        """Quote spent if every placeable leg fills (a leg below the minimums is not sent)."""
        return sum((leg.notional for leg in self.legs if leg.ok), Decimal(0))

    def leg(self, index: int) -> dca.PlannedLeg | None:
        return self.legs[index] if index < len(self.legs) else None

    @property
    def warnings(self) -> list[dca.PlannedLeg]:
        return [leg for leg in self.legs if not leg.ok]


def preview_grid(
    *,
    account: ExchangeAccount,
    symbol: str,
    legs: Sequence[dca.LegSpec],
    sizing: Sizing,
    group_tp_pct: Decimal,
    tp_mode: str = dca.TpMode.HYBRID,
    price: Decimal | None = None,
) -> GridPreview:
    """Lay the grid for a first pyramid at `price` (the trader's) or else the current ask,
    sized as a signal would size it. Reads only: nothing is saved or sent."""
    market = Market.objects.filter(account=account, symbol=symbol).first()
    if market is None:
        return GridPreview(note=f"{account.label} has no market {symbol}.")
    typed = price is not None
    if price is None:
        try:
            ticker = market_data.tickers(account=account, symbols=[symbol])[symbol]
        except (ExchangeError, KeyError) as exc:
            return GridPreview(note=f"No price for {symbol}: {exc}")
        price = ticker.ask or ticker.last
    try:
        capital = pyramid_capital(account=account, sizing=sizing, price=price)
    except SizingError as error:
        return GridPreview(price=price, note=f"No preview for this sizing: {error}")
    if capital <= 0:
        return GridPreview(price=price, note="The sizing gives no capital to lay a grid with.")
    rules = rules_of(market)
    planned = dca.lay_grid(
        dca.legs_or_single(legs, group_tp_pct=group_tp_pct),
        entry_price=price,
        capital=capital,
        rules=rules,
    )
    tp_prices = tuple(dca.leg_tp_price(leg, tick_size=rules.tick_size) for leg in planned)
    group_tps = dca.group_tp_prices(planned, group_tp_pct=group_tp_pct, tick_size=rules.tick_size)
    return GridPreview(
        legs=planned,
        price=price,
        capital=capital,
        tp_prices=tp_prices,
        typed_price=typed,
        group_tp_prices=group_tps,
        tp_mode=tp_mode,
    )
