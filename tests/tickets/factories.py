"""Trades and strategies as the ticket services would leave them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from apps.positions.models import DcaLeg, Order, PositionGroup, Pyramid
from apps.positions.services import intents, opening
from apps.positions.services.opening import EXIT_RULES_OF_TICKET, exit_rules
from apps.strategies.domain import dca
from apps.strategies.domain.catalog import RuleKind, Side, parse_rule
from apps.strategies.models import Strategy
from apps.tickets.models import Trade, TradeRevision
from tests.accounts.factories import UserFactory
from tests.exchanges.factories import ExchangeAccountFactory

IMMEDIATELY = {"primary": "immediately", "condition": "at_market"}


def stored_rules(rules: dict[str, dict], side: str = Side.LONG) -> dict[str, dict]:
    """Rules in their flat form shape, validated and stored as the services store them."""
    return {
        kind: parse_rule(RuleKind(kind), Side(side), data).to_dict()
        for kind, data in rules.items()
        if data
    }


class TradeFactory(DjangoModelFactory):
    """A Saved trade with revision 1 (an immediate entry, 1000 quote) unless told otherwise:
    `TradeFactory(rules={"entry": ..., "initial_stop": ...}, rules__sizing=("base", "0.01"))`."""

    class Meta:
        model = Trade
        skip_postgeneration_save = True

    owner = factory.SubFactory(UserFactory)
    account = factory.SubFactory(ExchangeAccountFactory, owner=factory.SelfAttribute("..owner"))
    symbol = "BTC/USDT"
    side = Side.LONG.value
    status = Trade.Status.SAVED

    @factory.post_generation
    def rules(trade, create, extracted, **kwargs):
        if not create:
            return
        sizing_kind, sizing_value = kwargs.get("sizing", ("quote", "1000"))
        revision = TradeRevision.objects.create(
            trade=trade,
            number=1,
            sizing_kind=sizing_kind,
            sizing_value=Decimal(sizing_value),
            rules=stored_rules(extracted or {"entry": IMMEDIATELY}, trade.side),
        )
        trade.revision = revision
        trade.save(update_fields=["revision"])


# A ticket without a strategy grid buys all of its sizing as one leg at market.
SINGLE_LEG = dca.LegSpec(gap_pct=Decimal(0), weight_pct=Decimal(100), tp_pct=Decimal(0))


def ticket_position(
    trade: Trade,
    *,
    quantity: Decimal | str,
    price: Decimal | str,
    status: str = PositionGroup.Status.OPEN,
    last_price: Decimal | str | None = None,
    rules: dict | None = None,
    opened_at: datetime | None = None,
) -> PositionGroup:
    """The position a ticket's filled entry leaves, as `entries.open_for_ticket` and the fill
    recorder write it: one pyramid with one leg at market that bought `quantity` at `price`
    (no fee), the ticket's exit rules (`rules`: stored rules by kind, the revision's by
    default), and the trade Open since then unless it already has another running status."""
    quantity, price = Decimal(quantity), Decimal(price)
    opened_at = opened_at or timezone.now()
    cost = quantity * price
    position = PositionGroup.objects.create(
        owner_id=trade.owner_id,
        account_id=trade.account_id,
        symbol=trade.symbol,
        timeframe="",
        side=trade.side,
        strategy=trade.strategy,
        tp_mode=dca.TpMode.RULES,
        group_tp_pct=Decimal(0),
        pyramid_limit=1,
        grid=[SINGLE_LEG.to_dict()],
        trade=trade,
        exit_rules=exit_rules(
            trade.revision.rules if rules is None else rules, EXIT_RULES_OF_TICKET
        ),
        status=status,
        quantity=quantity,
        average_entry=price,
        entry_cost=cost,
        open_cost=cost,
        last_price=None if last_price is None else Decimal(last_price),
        opened_at=opened_at,
    )
    pyramid = Pyramid.objects.create(
        group=position, index=0, entry_price=price, capital=cost, created_at=opened_at
    )
    filled_entry_leg(pyramid, price=price, quantity=quantity, cost=cost).save()
    if trade.status not in (Trade.Status.OPEN, Trade.Status.ERROR):
        trade.status = Trade.Status.OPEN
    trade.opened_at = trade.opened_at or opened_at
    trade.save(update_fields=["status", "opened_at", "updated_at"])
    return position


def ticket_entry(trade: Trade, *, amount: Decimal | str, price: Decimal | str = "65000") -> Order:
    """A ticket's entry as `entries.open_for_ticket` writes it when the entry rule fires, not
    sent yet: its position (nothing bought), pyramid 0 with one leg at market and the leg's
    order (purpose entry, client id `<prefix>g{position}p1l1`); the trade Open."""
    amount, price = Decimal(amount), Decimal(price)
    now = timezone.now()
    position = opening.create_position(
        account=trade.account,
        symbol=trade.symbol,
        timeframe="",
        side=trade.side,
        strategy=None,
        grid=(SINGLE_LEG,),
        tp_mode=dca.TpMode.RULES,
        group_tp_pct=Decimal(0),
        pyramid_limit=1,
        rules=exit_rules(trade.revision.rules, EXIT_RULES_OF_TICKET),
        trade_id=trade.pk,
        now=now,
    )
    trade.status = Trade.Status.OPEN
    trade.opened_at = now
    trade.save(update_fields=["status", "opened_at", "updated_at"])
    _, (order,) = intents.lay_pyramid(
        position,
        index=0,
        entry_price=price,
        capital=amount * price,
        planned=[dca.PlannedLeg(0, SINGLE_LEG, price, amount)],
        signal_id=None,
        now=now,
        first_purpose=Order.Purpose.ENTRY,
    )
    return order


class StrategyFactory(DjangoModelFactory):
    class Meta:
        model = Strategy

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Strategy {n}")
    side = Side.LONG.value
    sizing_kind = "quote"
    sizing_value = Decimal("500")
    rules = factory.LazyFunction(lambda: stored_rules({"entry": IMMEDIATELY}))


def filled_entry_leg(pyramid: Pyramid, *, price: Decimal, quantity: Decimal, cost: Decimal):
    """A ticket position's leg 0, filled at `price` (unsaved: for `save` or `bulk_create`)."""
    return DcaLeg(
        group=pyramid.group,
        pyramid=pyramid,
        index=0,
        gap_pct=SINGLE_LEG.gap_pct,
        weight_pct=SINGLE_LEG.weight_pct,
        tp_pct=SINGLE_LEG.tp_pct,
        price=price,
        amount=quantity,
        status=DcaLeg.Status.FILLED,
        filled=quantity,
        quantity=quantity,
        fill_price=price,
        cost=cost,
    )
