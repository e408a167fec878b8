import factory
from factory.django import DjangoModelFactory

from apps.exchanges.models import ExchangeAccount
from tests.accounts.factories import UserFactory


class ExchangeAccountFactory(DjangoModelFactory):
    class Meta:
        model = ExchangeAccount

    owner = factory.SubFactory(UserFactory)
    label = factory.Sequence(lambda n: f"Account {n}")
    kind = "paper"
    quote_currency = "USDT"
