from datetime import timedelta
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.utils import timezone

from apps.core.broadcast import join_live
from apps.core.models import Event
from apps.exchanges import services
from apps.exchanges.models import BalanceSnapshot, ExchangeAccount, Market
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account():
    return services.create_account(owner=UserFactory(), label="Paper", kind="paper")


def test_refreshing_markets_stores_the_rules_and_records_the_first_load(account):
    now = timezone.now()
    count = services.refresh_markets(account=account, now=now)
    btc = Market.objects.get(account=account, symbol="BTC/USDT")
    assert count == Market.objects.filter(account=account).count() >= 5
    assert (btc.base, btc.quote, btc.active) == ("BTC", "USDT", True)
    assert btc.tick_size > 0 and btc.step_size > 0
    account.refresh_from_db()
    assert account.markets_refreshed_at == now
    assert Event.objects.filter(account=account, kind="markets.loaded").count() == 1


def test_a_changed_rule_is_recorded_and_a_vanished_symbol_deactivated(account):
    services.refresh_markets(account=account, now=timezone.now())
    Market.objects.filter(account=account, symbol="BTC/USDT").update(tick_size=Decimal("5"))
    Market.objects.create(
        account=account,
        symbol="OLD/USDT",
        base="OLD",
        quote="USDT",
        tick_size=1,
        step_size=1,
        refreshed_at=timezone.now(),
    )
    services.refresh_markets(account=account, now=timezone.now())
    changed = Event.objects.get(account=account, kind="markets.changed")
    assert changed.data["changed"] == ["BTC/USDT"]
    assert Market.objects.get(account=account, symbol="BTC/USDT").tick_size != Decimal("5")
    assert Market.objects.get(account=account, symbol="OLD/USDT").active is False


def test_the_market_loop_refreshes_only_accounts_that_are_due(account):
    fresh = services.create_account(owner=account.owner, label="Fresh", kind="paper")
    now = timezone.now()
    ExchangeAccount.objects.filter(pk=fresh.pk).update(markets_refreshed_at=now)
    services.refresh_due_markets(now=now)
    assert Market.objects.filter(account=account).exists()
    assert not Market.objects.filter(account=fresh).exists()


def test_stale_markets_refuse_new_orders_with_their_age(account, settings):
    now = timezone.now()
    with pytest.raises(services.MarketsStale, match="not been loaded yet"):
        services.ensure_markets_fresh(account=account, now=now)
    account.markets_refreshed_at = now - timedelta(minutes=settings.MARKETS_MAX_AGE_MINUTES + 5)
    with pytest.raises(services.MarketsStale, match=r"refreshed \d+ min ago"):
        services.ensure_markets_fresh(account=account, now=now)
    account.markets_refreshed_at = now - timedelta(minutes=1)
    services.ensure_markets_fresh(account=account, now=now)  # no exception


@pytest.mark.django_db(transaction=True)
def test_refreshed_balances_are_cached_and_pushed_to_the_owners_portfolio(account):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(join_live)(layer, user_id=account.owner_id, channel_name=channel)
    BalanceSnapshot.objects.create(
        account=account, asset="GONE", free=1, used=0, total=1, fetched_at=timezone.now()
    )

    services.refresh_balances(account=account, now=timezone.now())

    assert list(
        BalanceSnapshot.objects.filter(account=account).values_list("asset", flat=True)
    ) == ["USDT"]
    message = async_to_sync(layer.receive)(channel)
    assert f'id="portfolio-{account.pk}"' in message["html"]
    assert "Buying power" in message["html"]


def test_a_paper_fill_pushes_the_new_balances_without_waiting_for_the_balance_loop(account):
    from apps.exchanges.adapters.paper import PaperExchange
    from apps.exchanges.domain.types import OrderSide, OrderType
    from apps.exchanges.models import PaperPrice
    from apps.exchanges.paper import walk
    from apps.exchanges.paper.catalog import catalog_market
    from apps.exchanges.paper.services import WALK_SEED, advance_simulated_prices
    from apps.exchanges.services.loops import move_paper_prices

    btc = catalog_market("BTC/USDT")

    def next_price() -> tuple[Decimal, Decimal]:
        row = PaperPrice.objects.get(symbol="BTC/USDT")
        return row.last, walk.next_price(
            symbol="BTC/USDT",
            seed=WALK_SEED,
            step=row.steps + 1,
            previous=row.last,
            volatility=btc.volatility,
            tick=btc.rules.tick_size,
            anchor=btc.start_price,
        )

    advance_simulated_prices(now=timezone.now())
    last, upcoming = next_price()
    while upcoming >= last:  # the seeded walk is deterministic: find a step that goes down
        advance_simulated_prices(now=timezone.now())
        last, upcoming = next_price()
    services.refresh_balances(account=account, now=timezone.now())
    # A buy resting exactly where the next step lands: it fills in that step, not before.
    PaperExchange(account).create_order(
        symbol="BTC/USDT",
        side=OrderSide.BUY,
        type=OrderType.LIMIT,
        amount=Decimal("0.01"),
        price=upcoming,
        client_order_id="fill-push-1",
    )
    assert not BalanceSnapshot.objects.filter(account=account, asset="BTC").exists()

    move_paper_prices(now=timezone.now())

    btc_balance = BalanceSnapshot.objects.get(account=account, asset="BTC")
    assert btc_balance.total == Decimal("0.01") - Decimal("0.01") * Decimal("0.001")  # maker fee


def test_a_paused_accounts_balances_keep_refreshing(account, settings):
    """The kill switch pauses the account and sells at market: the Desk must show the sale."""
    from apps.exchanges.services.balances import refresh_due_balances

    now = timezone.now()
    long_ago = now - timedelta(seconds=settings.BALANCES_REFRESH_SECONDS + 60)
    ExchangeAccount.objects.filter(pk=account.pk).update(
        is_active=False, balances_refreshed_at=long_ago
    )

    refresh_due_balances(now=now)

    account.refresh_from_db()
    assert account.balances_refreshed_at == now
    assert BalanceSnapshot.objects.filter(account=account, asset="USDT").exists()
