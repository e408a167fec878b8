"""Position groups: the unit the engine manages for signals. A group holds pyramids; each
pyramid lays a DCA grid of legs."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.fields import MoneyField
from apps.core.formatting import pct, status_words
from apps.core.market_formats import FormatSlot
from apps.core.numbers import ZERO
from apps.core.timeframes import timeframe_words
from apps.positions.models.orders import Order
from apps.positions.models.rules import parse_stored
from apps.strategies.domain import dca
from apps.strategies.domain.catalog import InvalidRule, Rule, RuleKind, Side

# The grid's take-profit modes that give each leg a take profit of its own.
OWN_LEG_TP = (dca.TpMode.PER_LEG, dca.TpMode.HYBRID)


def leg_label(pyramid: int, leg: int) -> str:
    """`pyramid 2 · leg 3` from 1-based numbers: pyramids and legs are counted from 1 wherever
    a trader reads them (pages, orders, events, client order ids `td7kq2g42p2l3`)."""
    return f"pyramid {pyramid} · leg {leg}"


class PositionGroup(models.Model):
    """A position: the one thing the engine manages, whoever opened it. One account, one
    symbol, one side; opened by an entry signal (one timeframe, added to by later entries of
    its key: pyramids) or by an activated ticket's entry (one pyramid, `trade` set). Closed by
    an exit signal, take profit, a stop, the risk engine or the trader."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSING = "closing", "Closing"  # exit or aggregate take profit under way
        CLOSED = "closed", "Closed"
        ERROR = "error", "Error"  # a sell was refused: the position needs attention

    # What the execution pool counts: groups holding a position the desk still manages or
    # the trader must deal with. A closing group is on its way out and is not counted; an
    # entry arriving meanwhile opens a new group (exit-then-entry executes in that order).
    POOL = (Status.OPEN, Status.ERROR)

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="position_groups"
    )
    account = models.ForeignKey(
        "exchanges.ExchangeAccount", on_delete=models.PROTECT, related_name="position_groups"
    )
    symbol = models.CharField(max_length=40)
    fmt = FormatSlot()  # the market's tick, step and units for its figures
    timeframe = models.CharField(max_length=10)
    side = models.CharField(
        max_length=5, choices=[(side.value, side.value.title()) for side in Side], default="long"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    strategy = models.ForeignKey(
        "strategies.Strategy",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="position_groups",
    )
    # The strategy's settings when the group opened: editing the strategy later changes new
    # groups, never one already running.
    tp_mode = models.CharField(
        max_length=10,
        choices=list(dca.POSITION_TP_MODE_LABELS.items()),
        default=dca.TpMode.AGGREGATE,
    )
    group_tp_pct = MoneyField(default=Decimal(2))
    pyramid_limit = models.PositiveSmallIntegerField(default=5)
    grid = models.JSONField(default=list, blank=True)  # the legs as `LegSpec.to_dict()`
    # The take profit rests on the exchange as limit sells and the stop stays on the desk's
    # rules loop (`apps.positions.services.protection`); from the ticket or the strategy.
    rest_take_profit = models.BooleanField(default=False)
    # The ticket whose entry opened this position (None: a signal did).
    trade = models.OneToOneField(
        "trades.Trade", null=True, blank=True, on_delete=models.PROTECT, related_name="position"
    )
    # The exit rules the rules loop evaluates on the position (initial stop, trailing stop,
    # take profit), kind -> `Rule.to_dict()`: the ticket's running revision, or the strategy's.
    exit_rules = models.JSONField(default=dict, blank=True)
    # Per rule kind: {"memory": {...}, "outcome": "..."}, as a ticket keeps for its entry.
    rule_state = models.JSONField(default=dict, blank=True)
    highest = MoneyField(null=True, blank=True)  # highest price the rules loop saw since opening
    lowest = MoneyField(null=True, blank=True)

    # The position. Quantities are base units held (net of fees paid in base).
    quantity = MoneyField(default=ZERO)
    average_entry = MoneyField(null=True, blank=True)  # of the legs still held
    entry_cost = MoneyField(default=ZERO)  # quote spent on every buy, fees included
    open_cost = MoneyField(default=ZERO)  # the part of entry_cost still held (cost basis)
    exit_quantity = MoneyField(default=ZERO)
    exit_proceeds = MoneyField(default=ZERO)  # quote received, net of fees
    realised_pnl = MoneyField(default=ZERO)
    last_price = MoneyField(null=True, blank=True)  # as last seen by the take-profit loop
    exit_reason = models.CharField(max_length=20, blank=True)  # an Order purpose, once closing

    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "trades_positiongroup"  # the table it had in the trades app
        ordering = ["-opened_at", "-pk"]
        constraints = [
            # One open signal position per key: a second entry for the key becomes its
            # pyramid. A ticket's position is its own (keyed by the ticket).
            models.UniqueConstraint(
                fields=["account", "symbol", "timeframe", "side"],
                condition=Q(status="open", trade__isnull=True),
                name="position_group_key_unique",
            ),
            models.CheckConstraint(condition=Q(quantity__gte=0), name="position_group_qty_gte_0"),
        ]
        indexes = [
            # The take-profit loop polls open groups; the pool counts them per account.
            models.Index(
                fields=["account"],
                name="group_take_profit_loop_idx",
                condition=Q(status="open"),
            ),
            # The rules loop polls open positions that carry exit rules.
            models.Index(
                fields=["account"],
                name="position_rules_loop_idx",
                condition=Q(status="open") & ~Q(exit_rules={}),
            ),
            # The Performance page (apps.performance.selectors.closed_positions) reads a
            # trader's closed positions on their accounts by closing time.
            models.Index(
                fields=["owner", "account", "closed_at"],
                name="position_closed_ledger_idx",
                condition=Q(status="closed"),
            ),
            # ... and its best and worst position: the first in PnL order that is in view.
            models.Index(
                fields=["owner", "realised_pnl"],
                name="position_closed_pnl_idx",
                condition=Q(status="closed"),
            ),
            # The Desk's header and the Performance page's open PnL read a trader's positions
            # still held (open, error, closing): a few rows among thousands closed.
            models.Index(
                fields=["owner", "account"],
                name="position_held_idx",
                condition=Q(status__in=["open", "error", "closing"]),
            ),
        ]

    def __str__(self) -> str:
        # A ticket's position has no timeframe: no double space where it would be.
        words = (self.symbol, timeframe_words(self.timeframe), self.side)
        return f"{' '.join(word for word in words if word)} position #{self.pk}"

    @property
    def dom_id(self) -> str:
        return f"group-{self.pk}"

    @property
    def ticket_row_id(self) -> str:
        """The Desk's row of the ticket that opened it (`trade-<id>`)."""
        return f"trade-{self.trade_id}"

    @property
    def origin(self) -> str:
        """Who opened it: "ticket" or "signal"."""
        return "ticket" if self.trade_id else "signal"

    @property
    def name(self) -> str:
        """How a trader names it: `BTC/USDT 15m long` for a signal's, `BTC/USDT long (ticket
        #12)` for a ticket's."""
        if self.trade_id:
            return f"{self.symbol} {self.side} (ticket #{self.trade_id})"
        return f"{self.symbol} {timeframe_words(self.timeframe)} {self.side}"

    def parsed_exit_rules(self) -> dict[RuleKind, Rule | None]:
        """The stored exit rules, read back through the catalog (validated when written)."""
        return parse_stored(self.side, self.exit_rules)

    def _rule_words(self) -> dict[RuleKind, str]:
        """Its exit rules in words, by kind (a rule the catalog no longer accepts says so)."""
        try:
            rules = self.parsed_exit_rules()
        except InvalidRule:
            return {RuleKind.INITIAL_STOP: "no longer valid: edit and save the ticket"}
        return {kind: rule.words for kind, rule in rules.items() if rule is not None}

    @property
    def stop_words(self) -> list[tuple[str, str]]:
        """(Initial stop / Trailing stop, the rule in words) of the rules it carries."""
        words = self._rule_words()
        return [
            (kind.label, words[kind])
            for kind in (RuleKind.INITIAL_STOP, RuleKind.TRAILING_STOP)
            if kind in words
        ]

    @property
    def take_profit_words(self) -> str:
        """Its take profit said once: the ticket's rule, or the grid's mode (with a rule the
        strategy adds beside it)."""
        rule = self._rule_words().get(RuleKind.TAKE_PROFIT, "")
        if self.tp_mode == dca.TpMode.RULES:
            return rule or "none: the ticket has no take-profit rule"
        over = "above" if self.side == Side.LONG else "below"
        whole = f"the whole position at {pct(self.group_tp_pct)} {over} its average entry"
        grid = {
            dca.TpMode.PER_LEG: "Per leg: each filled leg at its own TP % from its fill",
            dca.TpMode.AGGREGATE: f"Aggregate: {whole}",
            dca.TpMode.HYBRID: f"Hybrid: each leg at its own TP %, or {whole}, whichever first",
        }.get(self.tp_mode, self.get_tp_mode_display())
        return f"{grid}; and {rule}" if rule else grid

    @property
    def has_rules(self) -> bool:
        """It carries exit rules, which the desk's rules loop evaluates."""
        return bool(self.exit_rules)

    @property
    def leftover_words(self) -> str:
        """What a closed position still holds, and why it stays: the close sold all a market
        order could carry, rounded down to the market's step and within its minimums; the rest
        stays in the account, no longer managed. "" when nothing is left."""
        if not self.is_closed or self.quantity <= 0:
            return ""
        step = self.fmt.step
        if step and self.quantity < step:
            why = f"below the market's step of {step.normalize():f} {self.fmt.base}"
        else:
            why = "below the market's minimum order"
        return f"dust left {why}: no order can sell it; it stays in the account, unmanaged"

    @property
    def status_words(self) -> str:
        """Its status with why it closed, as a trader reads it: `Closed · exit signal`."""
        from_purpose = Order.exit_words(self.exit_reason) if self.exit_reason else ""
        return status_words(self.get_status_display(), from_purpose)

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED

    @property
    def unrealised_pnl(self) -> Decimal | None:
        if self.is_closed:
            return None
        return dca.unrealised_pnl(
            quantity=self.quantity,
            average=self.average_entry,
            last=self.last_price,
            side=Side(self.side),
        )

    @property
    def unrealised_pnl_pct(self) -> Decimal | None:
        if self.is_closed or self.quantity <= 0:
            return None
        return dca.unrealised_pnl_pct(
            average=self.average_entry, last=self.last_price, side=Side(self.side)
        )

    @property
    def realised_pnl_pct(self) -> Decimal | None:
        if not self.entry_cost:
            return None
        return self.realised_pnl / self.entry_cost * 100


class Pyramid(models.Model):
    """One entry into a group: the first, or a later add on the same key."""

    group = models.ForeignKey(PositionGroup, on_delete=models.CASCADE, related_name="pyramids")
    index = models.PositiveSmallIntegerField()
    entry_price = MoneyField()  # the grid's reference: the signal's price, else the ask
    capital = MoneyField()  # quote the grid spreads across its legs
    signal = models.ForeignKey(
        "webhooks.Signal",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pyramids",
    )
    created_at = models.DateTimeField()

    class Meta:
        db_table = "trades_pyramid"  # the table it had in the trades app
        ordering = ["group", "index"]
        constraints = [
            models.UniqueConstraint(fields=["group", "index"], name="pyramid_group_index_unique")
        ]

    def __str__(self) -> str:
        return f"{self.group} pyramid {self.number}"

    @property
    def dom_id(self) -> str:
        return f"pyramid-{self.pk}"

    @property
    def number(self) -> int:
        """Pyramids as a trader counts them: the first entry is pyramid 1."""
        return self.index + 1

    @property
    def label(self) -> str:
        return f"pyramid {self.number}"


class DcaLeg(models.Model):
    """One order of a pyramid's grid and what it bought."""

    class Status(models.TextChoices):
        SKIPPED = "skipped", "Below the minimum"  # reported, never sent
        WORKING = "working", "Working"  # its order is live (resting, or being sent)
        FILLED = "filled", "Filled"
        CANCELLED = "cancelled", "Cancelled"  # possibly after a partial fill
        REJECTED = "rejected", "Refused"
        CLOSED = "closed", "Closed"  # its quantity was sold (its own TP, or the group's close)

    group = models.ForeignKey(PositionGroup, on_delete=models.CASCADE, related_name="legs")
    pyramid = models.ForeignKey(Pyramid, on_delete=models.CASCADE, related_name="legs")
    index = models.PositiveSmallIntegerField()
    gap_pct = MoneyField()
    weight_pct = MoneyField()
    tp_pct = MoneyField()
    price = MoneyField()  # planned price on the tick (leg 0 at market: the reference price)
    amount = MoneyField()  # planned amount, truncated to the step
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.WORKING)
    problem = models.TextField(blank=True)  # why it was not sent, or could not be sold alone
    filled = MoneyField(default=ZERO)  # base bought (gross)
    quantity = MoneyField(default=ZERO)  # base held from it (net of fees paid in base)
    closed_quantity = MoneyField(default=ZERO)  # of `quantity`, sold
    fill_price = MoneyField(null=True, blank=True)  # average fill price
    cost = MoneyField(default=ZERO)  # quote spent, fees included

    class Meta:
        db_table = "trades_dcaleg"  # the table it had in the trades app
        ordering = ["group", "pyramid__index", "index"]
        constraints = [
            models.UniqueConstraint(
                fields=["pyramid", "index"], name="dca_leg_pyramid_index_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.group} {self.label}"

    @property
    def dom_id(self) -> str:
        return f"leg-{self.pk}"

    @property
    def number(self) -> int:
        """Legs as a trader counts them: a pyramid's first leg is leg 1 (`index` is 0-based)."""
        return self.index + 1

    @property
    def label(self) -> str:
        """`pyramid 2 · leg 3`: the one way pages, orders and events name a leg."""
        return leg_label(self.pyramid.number, self.number)

    @property
    def open_quantity(self) -> Decimal:
        return self.quantity - self.closed_quantity

    @property
    def has_own_tp(self) -> bool:
        """Its take profit is its own (per leg, hybrid); else the group's or the rule's."""
        return self.group.tp_mode in OWN_LEG_TP

    @property
    def tp_by(self) -> str:
        """Who takes its profit when it has no take profit of its own."""
        return "by the rule" if self.group.tp_mode == dca.TpMode.RULES else "with the group"

    @property
    def target_price(self) -> Decimal | None:
        if self.fill_price is None:
            return None
        return dca.target_price(self.fill_price, self.tp_pct, Side(self.group.side))
