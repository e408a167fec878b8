from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from apps.core.fields import EncryptedTextField, MoneyField
from apps.core.numbers import Bounds, NumberError, parse_decimal
from apps.exchanges.paper.faults import INJECTABLE

PAPER = "paper"
MAX_POOL_SIZE = 100
# Paper fault injection sleeps this long before a call, on the caller's thread.
MAX_LATENCY_MS = 10_000
FRACTION = Bounds(minimum=Decimal(0), maximum=Decimal(1))


def _between(minimum, maximum) -> list:
    return [MinValueValidator(minimum), MaxValueValidator(maximum)]


def _fraction() -> list:
    return _between(FRACTION.minimum, FRACTION.maximum)


def validate_error_rates(value) -> None:
    """The admin's `error_rates`: known error names, each a plain rate from 0 to 1."""
    if not isinstance(value, dict):
        raise ValidationError('Error rates are an object, e.g. {"RateLimited": "0.1"}.')
    for name, rate in value.items():
        if name not in INJECTABLE:
            raise ValidationError(
                f"Unknown error {str(name)[:40]!r}; use one of {', '.join(sorted(INJECTABLE))}."
            )
        try:
            parse_decimal(rate if isinstance(rate, str) else str(rate), field=name, bounds=FRACTION)
        except NumberError as error:
            raise ValidationError(str(error)) from None


class ExchangeAccount(models.Model):
    """One set of exchange credentials (or a paper account) owned by one user.

    Everything trading-related hangs off an account. Credentials are encrypted at rest and are
    never rendered back: forms show a mask, the admin leaves them out, events never carry them.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="exchange_accounts"
    )
    label = models.CharField(max_length=60, help_text="Your name for it, e.g. Binance main.")
    kind = models.CharField(
        max_length=32,
        help_text="paper, or a ccxt exchange id from SUPPORTED_EXCHANGES.",
    )
    sandbox = models.BooleanField(
        default=False, help_text="Use the exchange's testnet / demo environment (ccxt sandbox)."
    )
    quote_currency = models.CharField(max_length=12, default="USDT")
    api_key = EncryptedTextField(blank=True)
    api_secret = EncryptedTextField(blank=True)
    api_passphrase = EncryptedTextField(blank=True, help_text="OKX and a few others need one.")
    is_active = models.BooleanField(default=True)
    # The execution pool until the queue lands: signals never hold more open position groups
    # on this account than this (pyramid adds to an open group are exempt).
    max_open_groups = models.PositiveSmallIntegerField(
        default=10,
        validators=_between(1, MAX_POOL_SIZE),
        help_text="Most position groups signals may hold open at once.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    markets_refreshed_at = models.DateTimeField(null=True, blank=True)
    balances_refreshed_at = models.DateTimeField(null=True, blank=True)
    # The last reconciliation of the desk's orders with the exchange's
    # (apps.positions.services.reconcile): when, and {"checked", "error", "findings"}.
    reconciled_at = models.DateTimeField(null=True, blank=True)
    reconciliation = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["label", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "label"], name="exchange_account_label_unique")
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.kind_label})"

    @property
    def is_paper(self) -> bool:
        return self.kind == PAPER

    @property
    def kind_label(self) -> str:
        if self.is_paper:
            return "paper"
        return f"{self.kind} testnet" if self.sandbox else self.kind

    @property
    def has_credentials(self) -> bool:
        return bool(self.api_key and self.api_secret)


class PaperSettings(models.Model):
    """How a paper account simulates its exchange: prices, fees, fills and injected faults."""

    class PriceSource(models.TextChoices):
        SIMULATED = "simulated", "Simulated (offline random walk)"
        LIVE = "live", "Live public prices of a real exchange"

    account = models.OneToOneField(
        ExchangeAccount, on_delete=models.CASCADE, related_name="paper_settings"
    )
    price_source = models.CharField(
        max_length=16, choices=PriceSource.choices, default=PriceSource.SIMULATED
    )
    live_exchange = models.CharField(
        max_length=32, blank=True, help_text="With live prices: the ccxt id whose markets to use."
    )
    # Rates and fractions are from 0 to 1 (0.001 is 0.1 %).
    maker_fee_rate = MoneyField(default=Decimal("0.001"), validators=_fraction())
    taker_fee_rate = MoneyField(default=Decimal("0.001"), validators=_fraction())
    slippage_rate = MoneyField(
        default=Decimal("0.0005"),
        validators=_fraction(),
        help_text="Market orders fill at last price ± this fraction.",
    )
    max_fill_fraction = MoneyField(
        default=Decimal(1),
        validators=_fraction(),
        help_text="Largest part of a resting order filled per price update (1 = all at once).",
    )
    # Fault injection for tests and drills.
    latency_ms = models.PositiveIntegerField(default=0, validators=_between(0, MAX_LATENCY_MS))
    error_rates = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_error_rates],
        help_text='Per error class, e.g. {"RateLimited": "0.1"}.',
    )
    timeout_after_placing_rate = MoneyField(
        default=Decimal(0),
        validators=_fraction(),
        help_text="Fraction of orders placed whose caller gets a timeout.",
    )
    seed = models.PositiveIntegerField(default=1)
    fault_draws = models.PositiveBigIntegerField(
        default=0,
        help_text="Calls that drew faults so far: where the seeded fault sequence stands "
        "(set it back to 0 to replay a drill).",
    )

    def __str__(self) -> str:
        return f"Paper settings of {self.account}"


class Market(models.Model):
    """One symbol's rules on one account's exchange; refreshed by the market loop."""

    account = models.ForeignKey(ExchangeAccount, on_delete=models.CASCADE, related_name="markets")
    symbol = models.CharField(max_length=40)
    exchange_symbol = models.CharField(max_length=40, blank=True)
    base = models.CharField(max_length=20)
    quote = models.CharField(max_length=20)
    tick_size = MoneyField()
    step_size = MoneyField()
    min_amount = MoneyField(null=True, blank=True)
    max_amount = MoneyField(null=True, blank=True)
    min_notional = MoneyField(null=True, blank=True)
    active = models.BooleanField(default=True)
    # The order types a stop can turn into here ("market,limit"; "" when the market takes no
    # stop order): `MarketRules.stop_types`.
    stop_types = models.CharField(max_length=20, blank=True)
    refreshed_at = models.DateTimeField()

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "symbol"], name="market_account_symbol_unique"
            )
        ]

    def __str__(self) -> str:
        return self.symbol


class BalanceSnapshot(models.Model):
    """The desk's cached copy of one asset's balance on one account (from the last fetch)."""

    account = models.ForeignKey(ExchangeAccount, on_delete=models.CASCADE, related_name="balances")
    asset = models.CharField(max_length=20)
    free = MoneyField()
    used = MoneyField()
    total = MoneyField()
    fetched_at = models.DateTimeField()

    class Meta:
        ordering = ["asset"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "asset"], name="balance_account_asset_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.asset} {self.total}"


# --- The paper exchange's own books (what a real exchange would keep on its side) -----------


class PaperBalance(models.Model):
    """A paper account's holding of one asset; changed only by fills (and the initial deposit)."""

    account = models.ForeignKey(
        ExchangeAccount, on_delete=models.CASCADE, related_name="paper_balances"
    )
    asset = models.CharField(max_length=20)
    free = MoneyField(default=Decimal(0))
    used = MoneyField(default=Decimal(0), help_text="Held by resting orders.")

    class Meta:
        ordering = ["asset"]
        constraints = [
            models.UniqueConstraint(fields=["account", "asset"], name="paper_balance_unique"),
            models.CheckConstraint(
                condition=Q(free__gte=0) & Q(used__gte=0), name="paper_balance_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.asset} {self.free}+{self.used}"


# The two sets of PaperOrder that matching polls (and their partial indexes cover): open
# orders that match on their limit price (plain orders and stops that have triggered), and
# stops still waiting for their trigger.
PAPER_ORDER_RESTING = Q(status="open") & (
    Q(trigger_price__isnull=True) | Q(triggered_at__isnull=False)
)
PAPER_ORDER_UNTRIGGERED = Q(status="open", trigger_price__isnull=False, triggered_at__isnull=True)


class PaperOrder(models.Model):
    """An order on the paper exchange: a plain market or limit order, or a stop.

    A stop (`trigger_price` set) is OPEN and unfilled until the last price reaches its
    trigger; `triggered_at` then records the moment it became its `type` (a market order that
    fills at once, or a limit order resting at `price`).
    """

    class Status(models.TextChoices):
        OPEN = "open"
        CLOSED = "closed"
        CANCELED = "canceled"
        # A triggered buy stop-market whose fill, after a gap above its trigger, cost more
        # than its hold and the free balance together: the exchange drops it unfilled.
        EXPIRED = "expired"

    account = models.ForeignKey(
        ExchangeAccount, on_delete=models.CASCADE, related_name="paper_orders"
    )
    exchange_order_id = models.CharField(max_length=40, unique=True)
    client_order_id = models.CharField(max_length=64)
    symbol = models.CharField(max_length=40)
    side = models.CharField(max_length=4)
    type = models.CharField(max_length=8)
    price = MoneyField(null=True, blank=True)
    amount = MoneyField()
    filled = MoneyField(default=Decimal(0))
    cost = MoneyField(default=Decimal(0), help_text="Sum of fill amount × fill price.")
    fee_cost = MoneyField(default=Decimal(0))
    fee_currency = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    trigger_price = MoneyField(null=True, blank=True, help_text="A stop's trigger.")
    triggered_at = models.DateTimeField(null=True, blank=True)
    hold_price = MoneyField(
        null=True,
        blank=True,
        help_text="Quote set aside per base by a buy stop-market: its trigger plus slippage, "
        "on the tick, as at placement (a limit order holds at its price).",
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            # A client order id is accepted once per account, as on a real exchange.
            models.UniqueConstraint(
                fields=["account", "client_order_id"], name="paper_order_client_id_unique"
            ),
            models.CheckConstraint(
                condition=Q(trigger_price__isnull=False)
                | (Q(triggered_at__isnull=True) & Q(hold_price__isnull=True)),
                name="paper_order_trigger_fields_only_on_stops",
            ),
        ]
        indexes = [
            # match_resting_orders (every price update): resting limit orders of a symbol.
            models.Index(
                fields=["symbol"],
                condition=PAPER_ORDER_RESTING,
                name="paper_order_resting_idx",
            ),
            # match_resting_orders (every price update): untriggered stops of a symbol, by the
            # side and trigger range the new price crosses.
            models.Index(
                fields=["symbol", "side", "trigger_price"],
                condition=PAPER_ORDER_UNTRIGGERED,
                name="paper_order_untriggered_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.side} {self.amount} {self.symbol} ({self.status})"


class PaperPrice(models.Model):
    """The current simulated price of a symbol (shared by all paper accounts on one desk)."""

    symbol = models.CharField(max_length=40, primary_key=True)
    last = MoneyField()
    updated_at = models.DateTimeField()
    steps = models.PositiveBigIntegerField(default=0, help_text="Random-walk steps taken so far.")

    def __str__(self) -> str:
        return f"{self.symbol} {self.last}"


class PaperCandle(models.Model):
    """One minute of a simulated symbol's price walk, written with each step: the history that
    paper candles (and so every paper indicator) are built from. Kept for a few days."""

    symbol = models.CharField(max_length=40)
    minute = models.BigIntegerField(help_text="Start of the minute, in minutes since the epoch.")
    open = MoneyField()
    high = MoneyField()
    low = MoneyField()
    close = MoneyField()

    class Meta:
        constraints = [
            # Also the index the price step (one bar per minute) and the candles read by.
            models.UniqueConstraint(fields=["symbol", "minute"], name="paper_candle_one_per_minute")
        ]

    def __str__(self) -> str:
        return f"{self.symbol} minute {self.minute}: {self.close}"
