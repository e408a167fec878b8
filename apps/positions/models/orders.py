"""Orders: every exchange order belongs to one position."""

from __future__ import annotations

import re

from django.db import models
from django.db.models import Q

from apps.core.fields import MoneyField
from apps.core.market_formats import FormatSlot
from apps.core.numbers import ZERO
from apps.strategies.domain.catalog import RuleKind

# A position's exit reason (the purpose of the order that closed it) in plain words.
EXIT_REASON_WORDS = {
    RuleKind.INITIAL_STOP.value: "initial stop",
    RuleKind.TRAILING_STOP.value: "trailing stop",
    RuleKind.TAKE_PROFIT.value: "take profit",
    "leg_tp": "per-leg take profit",
    "group_tp": "group take profit",
    "exit_signal": "exit signal",
    "close": "closed by the trader",
    "risk": "risk engine",
    "kill_switch": "kill switch",
}


# What a sell's client order id ends in (before its count): `td7kq2g42x1` is position #42's first
# exit-signal sell. Letters only, and never `p` or `l`, which a leg's id uses (`…g42p2l3`:
# pyramid 2, leg 3). The ticket's take-profit rule once used `p`; ids already stored keep it
# (client order ids are unique and never rewritten), new ones end in `e`.
SELL_CODES = {
    RuleKind.INITIAL_STOP.value: ("s", "the stop"),
    RuleKind.TRAILING_STOP.value: ("w", "the trailing stop"),
    RuleKind.TAKE_PROFIT.value: ("e", "the take-profit rule"),
    "leg_tp": ("t", "a leg's own take profit"),
    "group_tp": ("a", "the group (aggregate) take profit"),
    "exit_signal": ("x", "an exit signal"),
    "close": ("c", "your close"),
    "risk": ("r", "the risk engine"),
    "kill_switch": ("k", "the kill switch"),
}


class Order(models.Model):
    """One exchange order. Written (with its client order id) before it is sent."""

    class Purpose(models.TextChoices):
        ENTRY = RuleKind.ENTRY.value, "Entry"
        INITIAL_STOP = RuleKind.INITIAL_STOP.value, "Initial stop"
        TRAILING_STOP = RuleKind.TRAILING_STOP.value, "Trailing stop"
        TAKE_PROFIT = RuleKind.TAKE_PROFIT.value, "Take profit"
        CLOSE = "close", "Close at market"
        # Position groups.
        DCA_LEG = "dca_leg", "DCA leg"
        LEG_TAKE_PROFIT = "leg_tp", "Leg take profit"
        GROUP_TAKE_PROFIT = "group_tp", "Group take profit"
        EXIT_SIGNAL = "exit_signal", "Exit signal"
        # The risk engine: a winner's partial close, a loser's close.
        RISK = "risk", "Risk engine"
        KILL_SWITCH = "kill_switch", "Kill switch"

    class Status(models.TextChoices):
        PENDING = "pending", "Not sent yet"
        UNKNOWN = "unknown", "Sent, outcome unknown"
        OPEN = "open", "Open"
        FILLED = "filled", "Filled"
        CANCELLED = "cancelled", "Cancelled"
        REJECTED = "rejected", "Rejected"

    LIVE = (Status.PENDING, Status.UNKNOWN, Status.OPEN)

    # Every order belongs to one position (a ticket's entry opens its position first).
    group = models.ForeignKey("PositionGroup", on_delete=models.CASCADE, related_name="orders")
    leg = models.ForeignKey(
        "DcaLeg", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    # The webhook signal whose action wrote this order (a group's entry, add or exit).
    signal = models.ForeignKey(
        "webhooks.Signal", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    account = models.ForeignKey(
        "exchanges.ExchangeAccount", on_delete=models.PROTECT, related_name="orders"
    )
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    symbol = models.CharField(max_length=40)
    fmt = FormatSlot()  # the market's tick, step and units for its figures
    side = models.CharField(max_length=4)  # buy / sell
    type = models.CharField(max_length=8)  # market / limit
    amount = MoneyField()
    price = MoneyField(null=True, blank=True)
    # A stop order's trigger: it rests on the exchange and sells (at market, or as a limit at
    # `price`) once the last price reaches it. None for every other order.
    trigger_price = MoneyField(null=True, blank=True)
    # It rests on the exchange to protect the position (`apps.positions.services.protection`):
    # replaced as the position changes, cancelled before any other sell, and not a sell in
    # flight (the desk's own rules keep watching the position: the second line).
    protective = models.BooleanField(default=False)
    client_order_id = models.CharField(max_length=32, unique=True)
    exchange_order_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    filled = MoneyField(default=ZERO)
    average = MoneyField(null=True, blank=True)
    fee_cost = MoneyField(default=ZERO)
    fee_currency = models.CharField(max_length=20, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    # Set when the desk decided to cancel it; the order-sync loop retries the cancel until the
    # exchange reports the order done.
    cancel_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "trades_order"  # the table it had in the trades app
        ordering = ["created_at", "pk"]
        indexes = [
            # The order-sync loop polls live orders.
            models.Index(
                fields=["updated_at"],
                name="order_sync_loop_idx",
                condition=Q(status__in=["pending", "unknown", "open"]),
            ),
            # The take-profit loop skips groups with a sell in flight, and an exit looks up the
            # group's resting legs: live orders by group.
            models.Index(
                fields=["group", "side"],
                name="order_group_live_idx",
                condition=Q(status__in=["pending", "unknown", "open"]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.client_order_id} {self.side} {self.amount} {self.symbol}"

    @property
    def dom_id(self) -> str:
        return f"order-{self.pk}"

    @property
    def client_id_meaning(self) -> str:
        """What its client order id says, for the order's row: `td7kq2g42p2l3` is position #42's
        pyramid 2 · leg 3; `td7kq2g42x1` its sell 1 by an exit signal (read the leg with
        `select_related("leg__pyramid")`)."""
        where = f"Position #{self.group_id}"
        if self.leg_id is not None:
            where += f", {self.leg.label}"
        if self.side != "sell":
            return where if self.leg_id is not None else f"{where}: {self.purpose_words} order"
        count = re.search(r"\d+$", self.client_order_id)
        why = SELL_CODES.get(self.purpose, ("", self.purpose_words))[1]
        return f"{where}: sell{f' {count.group()}' if count else ''} by {why}"

    @property
    def is_stop(self) -> bool:
        """A stop order (it has a trigger): exchanges such as okx keep these apart, so its
        lookups and cancels say so (`conditional`)."""
        return self.trigger_price is not None

    @property
    def purpose_words(self) -> str:
        return self.get_purpose_display().lower()

    @classmethod
    def sell_codes(cls) -> list[tuple[str, str]]:
        """(code, what it means) of every sell, for the orders table's legend."""
        return list(SELL_CODES.values())

    @classmethod
    def exit_words(cls, purpose: str) -> str:
        """Why a position closed, in plain words (`exit signal`), from the purpose of the
        order that closed it; one wording for pages, events and the Performance breakdown."""
        return EXIT_REASON_WORDS.get(purpose, purpose.replace("_", " "))
