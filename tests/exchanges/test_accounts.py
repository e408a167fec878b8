from datetime import UTC, datetime

import pytest
from django.urls import reverse

from apps.core.models import Event
from apps.exchanges import services
from apps.exchanges.models import BalanceSnapshot, ExchangeAccount, Market, PaperBalance
from tests.accounts.factories import UserFactory

pytestmark = pytest.mark.django_db

NEW = reverse("exchanges:account-create")


@pytest.fixture
def trader(client):
    user = UserFactory()
    client.force_login(user)
    return user


def paper_account(owner, label="Paper"):
    return services.create_account(owner=owner, label=label, kind="paper")


def test_a_paper_account_is_created_funded_and_explained(client, trader, settings):
    response = client.post(NEW, {"label": "Paper", "kind": "paper", "quote_currency": "usdt"})
    account = ExchangeAccount.objects.get(owner=trader)
    assert response.status_code == 302
    assert response["Location"] == reverse("exchanges:account-detail", args=[account.pk])
    assert account.quote_currency == "USDT"
    usdt = PaperBalance.objects.get(account=account, asset="USDT")
    assert usdt.free == settings.PAPER_INITIAL_BALANCE
    assert Event.objects.filter(account=account, kind="account.created").exists()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"label": "Main", "kind": "binance"}, "needs an API key and secret"),
        ({"label": "Main", "kind": "ftx"}, "Select a valid choice"),
        ({"label": "", "kind": "paper"}, "This field is required"),
    ],
)
def test_bad_input_is_explained_and_creates_nothing(client, trader, data, error):
    response = client.post(NEW, {"quote_currency": "USDT", **data})
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not ExchangeAccount.objects.exists()
    assert not Event.objects.filter(kind="account.created").exists()


def test_a_label_is_unique_per_trader_only(client, trader):
    paper_account(trader, "Main")
    paper_account(UserFactory(), "Other")  # another trader's label does not count
    response = client.post(NEW, {"label": "Main", "kind": "paper", "quote_currency": "USDT"})
    assert "already have an account with this label" in response.content.decode()
    assert (
        client.post(NEW, {"label": "Other", "kind": "paper", "quote_currency": "USDT"}).status_code
        == 302
    )


def test_saving_with_blank_credentials_keeps_the_saved_ones(client, trader):
    account = services.create_account(
        owner=trader, label="Main", kind="binance", api_key="KEY-1", api_secret="SECRET-1"
    )
    url = reverse("exchanges:account-detail", args=[account.pk])
    client.post(url, {"label": "Renamed", "quote_currency": "USDT"})
    account.refresh_from_db()
    assert (account.label, account.api_key, account.api_secret) == ("Renamed", "KEY-1", "SECRET-1")

    client.post(url, {"label": "Renamed", "quote_currency": "USDT", "api_secret": "SECRET-2"})
    account.refresh_from_db()
    assert (account.api_key, account.api_secret) == ("KEY-1", "SECRET-2")
    replaced = Event.objects.filter(account=account, kind="account.updated").first()
    assert replaced.message.endswith("credentials replaced.")
    assert replaced.data == {"changed": [], "credentials_replaced": True}


def test_another_traders_account_pages_are_404(client, trader):
    account = paper_account(UserFactory())
    for name, method in [
        ("account-detail", client.get),
        ("account-test", client.post),
        ("account-preview", client.post),
    ]:
        assert method(reverse(f"exchanges:{name}", args=[account.pk])).status_code == 404
    response = client.get(reverse("exchanges:portfolio"), {"account": account.pk})
    assert "Portfolio · Paper" not in response.content.decode()


def test_test_connection_loads_markets_and_balances_and_says_so(client, trader):
    account = paper_account(trader)
    response = client.post(reverse("exchanges:account-test", args=[account.pk]))
    html = response.content.decode()
    assert 'id="connection-result"' in html
    assert "Connected:" in html
    assert Market.objects.filter(account=account, symbol="BTC/USDT").exists()
    assert BalanceSnapshot.objects.get(account=account, asset="USDT").free > 0
    assert Event.objects.filter(account=account, kind="account.connection_tested").exists()


def test_a_failed_connection_is_shown_and_recorded_as_an_error(client, trader):
    # binance with made-up keys, on a machine without network: a real NetworkFailure.
    account = services.create_account(
        owner=trader, label="Main", kind="binance", api_key="KEY", api_secret="SECRET"
    )
    response = client.post(reverse("exchanges:account-test", args=[account.pk]))
    assert "Connection failed:" in response.content.decode()
    event = Event.objects.get(account=account, kind="account.connection_failed")
    assert event.level == Event.Level.ERROR
    assert not Market.objects.filter(account=account).exists()


def test_the_order_preview_shows_what_would_be_sent(client, trader):
    account = paper_account(trader)
    client.post(reverse("exchanges:account-test", args=[account.pk]))  # loads markets, balances
    response = client.post(
        reverse("exchanges:account-preview", args=[account.pk]),
        {
            "symbol": "btc/usdt",
            "side": "buy",
            "type": "limit",
            "size": "0.0012345",
            "size_in": "base",
            "price": "30000.123",
        },
    )
    html = response.content.decode()
    # The amount on BTC/USDT's step, the price on its tick, both with their units.
    assert "Would send: limit buy 0.00123 BTC (BTC/USDT) at 30,000.12 USDT = 36.90 USDT." in html


def test_the_order_preview_refuses_before_markets_are_loaded(client, trader):
    account = paper_account(trader)
    ExchangeAccount.objects.filter(pk=account.pk).update(markets_refreshed_at=None)
    response = client.post(
        reverse("exchanges:account-preview", args=[account.pk]),
        {"symbol": "BTC/USDT", "side": "buy", "type": "market", "size": "10", "size_in": "quote"},
    )
    assert "have not been loaded yet; new orders are refused" in response.content.decode()


def test_a_limit_preview_without_a_price_is_a_form_error(client, trader):
    account = paper_account(trader)
    response = client.post(
        reverse("exchanges:account-preview", args=[account.pk]),
        {"symbol": "BTC/USDT", "side": "buy", "type": "limit", "size": "1", "size_in": "base"},
    )
    assert "A limit order needs a price." in response.content.decode()


def test_a_paper_accounts_settings_ask_for_no_keys_and_keep_working(client, trader):
    account = paper_account(trader)
    url = reverse("exchanges:account-detail", args=[account.pk])
    html = client.get(url).content.decode()
    assert 'name="api_key"' not in html and 'name="sandbox"' not in html
    assert client.post(url, {"label": "Demo paper", "quote_currency": "USDT"}).status_code == 302
    account.refresh_from_db()
    assert (account.label, account.sandbox) == ("Demo paper", False)


def test_a_real_accounts_saved_keys_show_only_a_mask(client, trader):
    account = services.create_account(
        owner=trader, label="Main", kind="binance", api_key="KEY-9", api_secret="SECRET-9"
    )
    html = client.get(reverse("exchanges:account-detail", args=[account.pk])).content.decode()
    assert html.count("saved — leave blank to keep") == 2  # key and secret; no passphrase set
    assert "KEY-9" not in html and "SECRET-9" not in html


def test_a_testnet_is_refused_on_an_exchange_that_has_none(client, trader):
    data = {
        "label": "Kraken",
        "kind": "kraken",
        "sandbox": "on",
        "quote_currency": "USDT",
        "api_key": "K",
        "api_secret": "S",
    }
    response = client.post(NEW, data)
    assert "kraken has no testnet; turn Testnet / demo off." in response.content.decode()
    assert not ExchangeAccount.objects.exists()

    account = services.create_account(
        owner=trader, label="Kraken", kind="kraken", api_key="K", api_secret="S"
    )
    url = reverse("exchanges:account-detail", args=[account.pk])
    response = client.post(url, {"label": "Kraken", "sandbox": "on", "quote_currency": "USDT"})
    assert response.status_code == 200
    assert "kraken has no testnet" in response.content.decode()
    account.refresh_from_db()
    assert account.sandbox is False
    assert (
        services.create_account(
            owner=trader,
            label="Binance test",
            kind="binance",
            sandbox=True,
            api_key="K",
            api_secret="S",
        ).sandbox
        is True
    )


def test_the_account_pages_write_refresh_times_as_every_other_page_does_in_utc(client, trader):
    account = services.create_account(
        owner=trader, label="Main", kind="binance", api_key="KEY-1", api_secret="SECRET-1"
    )
    refreshed = datetime(2026, 12, 4, 18, 25, 10, tzinfo=UTC)
    ExchangeAccount.objects.filter(pk=account.pk).update(
        markets_refreshed_at=refreshed, balances_refreshed_at=None
    )
    detail = client.get(reverse("exchanges:account-detail", args=[account.pk])).content.decode()
    assert "refreshed 2026-12-04 18:25:10 UTC" in detail
    assert "Dec. 4, 2026" not in detail and "p.m." not in detail
    listing = client.get(reverse("exchanges:account-list")).content.decode()
    assert "Markets refreshed (UTC)" in listing
    assert "<td>2026-12-04 18:25:10</td>" in listing
    assert "<td>never</td>" in listing  # no balances refresh yet
