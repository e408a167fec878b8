"""Trades and strategies as the ticket services would leave them."""

from __future__ import annotations

from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from apps.strategies.models import Strategy
from apps.trades.domain.catalog import RuleKind, Side, parse_rule
from apps.trades.models import Trade, TradeRevision
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


class StrategyFactory(DjangoModelFactory):
    class Meta:
        model = Strategy

    owner = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Strategy {n}")
    side = Side.LONG.value
    sizing_kind = "quote"
    sizing_value = Decimal("500")
    rules = factory.LazyFunction(lambda: stored_rules({"entry": IMMEDIATELY}))
