"""The trade ticket form: account, symbol, side, sizing and the four rule rows.

The rule catalog alone decides what is legal: `TicketForm.clean` parses every row with
`parse_rule` and puts each of its messages on the field it concerns; failed activation checks
(`Trade.errors`) are shown the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django import forms
from django.urls import reverse

from apps.core.forms import MONEY_MAX, PlainDecimalField, object_id
from apps.core.templatetags.money import plain
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.selectors import accounts_for, markets_of
from apps.strategies.domain.catalog import InvalidRule, Rule, RuleKind, Side, parse_rule
from apps.strategies.domain.sizing import Sizing, SizingKind, sizing_problem
from apps.strategies.models import REST_TAKE_PROFIT_HELP, REST_TAKE_PROFIT_LABEL, Strategy
from apps.strategies.selectors import strategies_for
from apps.tickets.forms.rows import ROW_FIELDS, RuleRow, field_name, narrow, rule_fields
from apps.tickets.models import Trade, TradeRevision
from apps.tickets.services import Ticket

# A new ticket buys at once, at market: the simplest entry there is.
NEW_ENTRY = {"primary": "immediately", "condition": "at_market"}
# Only longs for now; the models and the catalog already know shorts.
SIDE_CHOICES = [(Side.LONG.value, "Long")]
# Activation problems are keyed by ticket field; these keys name a form field differently.
PROBLEM_FIELDS = {"sizing": "sizing_value"}
# Fields the ticket shows with their messages beside them; a rule row shows its cells' own.
SHOWN_FIELDS = frozenset(
    (
        "account",
        "symbol",
        "side",
        "sizing_kind",
        "sizing_value",
        "portfolio",
        "rest_take_profit",
        "strategy_name",
    )
)


# --- Initial values ------------------------------------------------------------------------


def sizing_and_rules(sizing_kind: str, sizing_value: Decimal, rules: Mapping) -> dict[str, Any]:
    """Initial values for the sizing and every rule field (a rule left out clears its row)."""
    initial: dict[str, Any] = {"sizing_kind": sizing_kind, "sizing_value": plain(sizing_value)}
    for kind in RuleKind:
        for field, value in rule_fields(rules.get(kind.value)).items():
            initial[field_name(kind, field)] = value
    return initial


def new_ticket_initial(user, *, account: ExchangeAccount | None = None) -> dict[str, Any]:
    """A fresh ticket: the first account, a long, sized in quote, entering immediately."""
    account = account or accounts_for(user).first()
    initial: dict[str, Any] = {
        "account": account.pk if account else None,
        "side": Side.LONG.value,
        "sizing_kind": SizingKind.QUOTE.value,
    }
    for field, value in NEW_ENTRY.items():
        initial[field_name(RuleKind.ENTRY, field)] = value
    return initial


def trade_initial(trade: Trade, revision: TradeRevision) -> dict[str, Any]:
    """The ticket as `revision` of `trade` left it."""
    return {
        "account": trade.account_id,
        "symbol": trade.symbol,
        "side": trade.side,
        "portfolio": trade.portfolio,
        "rest_take_profit": trade.rest_take_profit,
        "strategy": trade.strategy_id,
        **sizing_and_rules(revision.sizing_kind, revision.sizing_value, revision.rules),
    }


def strategy_initial(strategy: Strategy) -> dict[str, Any]:
    """What loading a strategy puts into the ticket: side, sizing, the four rules and where
    the take profit rests."""
    return {
        "side": strategy.side,
        "strategy": strategy.pk,
        "rest_take_profit": strategy.rest_take_profit,
        **sizing_and_rules(strategy.sizing_kind, strategy.sizing_value, strategy.rules),
    }


# --- The form ------------------------------------------------------------------------------


class TicketForm(forms.Form):
    account = forms.ModelChoiceField(queryset=ExchangeAccount.objects.none(), empty_label=None)
    symbol = forms.CharField(
        max_length=40,
        widget=forms.TextInput(
            attrs={
                "list": "symbol-options",
                "autocomplete": "off",
                "spellcheck": "false",
                "placeholder": "BTC/USDT",
            }
        ),
    )
    side = forms.ChoiceField(choices=SIDE_CHOICES, initial=Side.LONG.value)
    sizing_kind = forms.ChoiceField(
        label="Sizing",
        choices=[(kind.value, kind.label) for kind in SizingKind],
        initial=SizingKind.QUOTE.value,
    )
    sizing_value = PlainDecimalField(label="Size", min_value=0, max_value=MONEY_MAX)
    portfolio = forms.BooleanField(
        label="Portfolio filters",
        required=False,
        help_text="On Activate, also check buying power for the entry and its fee.",
    )
    rest_take_profit = forms.BooleanField(
        label=REST_TAKE_PROFIT_LABEL, required=False, help_text=REST_TAKE_PROFIT_HELP
    )
    strategy = forms.ModelChoiceField(
        queryset=Strategy.objects.none(), required=False, empty_label="— none —"
    )
    strategy_name = forms.CharField(label="Save as strategy", max_length=80, required=False)

    def __init__(
        self,
        data=None,
        *,
        user,
        trade: Trade | None = None,
        problems: Mapping[str, str] | None = None,
        initial: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(data, initial=initial, label_suffix="")
        self.fields["account"].queryset = accounts_for(user)
        self.fields["account"].widget.attrs.update(
            {
                "hx-get": reverse("tickets:symbols"),
                "hx-target": "#symbol-options",
                "hx-swap": "outerHTML",
            }
        )
        self.fields["strategy"].queryset = strategies_for(user)
        for kind in RuleKind:
            for field in ROW_FIELDS:
                self.fields[field_name(kind, field)] = forms.CharField(
                    required=False, max_length=40
                )
        # A running trade keeps its account, symbol and side: Modify changes sizing and rules.
        self.locked = trade is not None and not trade.is_editable
        if self.locked:
            for name in ("account", "symbol", "side"):
                self.fields[name].disabled = True
        # Activation checks that failed, by ticket field ("symbol", "sizing", "entry", ...).
        self.problems = dict(problems or {})
        self.rules: dict[RuleKind, Rule | None] = {}

    # Validation

    def clean_symbol(self) -> str:
        return self.cleaned_data["symbol"].strip().upper()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        self._check_symbol(data.get("account"), data.get("symbol"))
        if data.get("sizing_kind") and data.get("sizing_value") is not None:
            problem = sizing_problem(Sizing(SizingKind(data["sizing_kind"]), data["sizing_value"]))
            if problem:
                self.add_error("sizing_value", problem)
        side = Side(data.get("side") or Side.LONG)
        for kind in RuleKind:
            row = {field: data.get(field_name(kind, field)) or "" for field in ROW_FIELDS}
            try:
                self.rules[kind] = parse_rule(kind, side, row)
            except InvalidRule as invalid:
                for field, message in invalid.errors.items():
                    self.add_error(field_name(kind, field), message)
        return data

    def _check_symbol(self, account: ExchangeAccount | None, symbol: str | None) -> None:
        if account is None or not symbol:
            return
        markets = markets_of(account=account)
        if not markets.exists():
            self.add_error(
                "symbol",
                f"The markets of {account.label} are not loaded yet; try again in a moment.",
            )
        elif not markets.filter(symbol=symbol).exists():
            self.add_error("symbol", f"{account.label} has no market {symbol}.")

    def ticket(self) -> Ticket:
        """The validated ticket, for the services."""
        data = self.cleaned_data
        return Ticket(
            account=data["account"],
            symbol=data["symbol"],
            side=Side(data["side"]),
            sizing=Sizing(SizingKind(data["sizing_kind"]), data["sizing_value"]),
            rules=dict(self.rules),
            portfolio=data["portfolio"],
            strategy=data.get("strategy"),
            rest_take_profit=data["rest_take_profit"],
        )

    # What the page shows

    def picked(self, name: str) -> str:
        value = self[name].value()
        return "" if value is None else str(value)

    @property
    def side_value(self) -> Side:
        try:
            return Side(self.picked("side") or Side.LONG)
        except ValueError:
            return Side.LONG

    def current_account(self) -> ExchangeAccount | None:
        """The account the ticket is on (for its symbol list and the Portfolio panel)."""
        accounts = self.fields["account"].queryset
        chosen = self.picked("account")
        pk = object_id(chosen)
        account = accounts.filter(pk=pk).first() if pk else None
        return account or accounts.first()

    @property
    def field_messages(self) -> dict[str, list[str]]:
        """Every message by field: the form's own errors and the failed activation checks."""
        messages: dict[str, list[str]] = {
            name: list(errors) for name, errors in self.errors.items()
        }
        kinds = {kind.value for kind in RuleKind}
        for key, message in self.problems.items():
            if key in kinds:
                continue  # shown on its rule row
            name = _problem_field(key)
            if name not in self.fields:
                name = "__all__"
            messages.setdefault(name, []).append(message)
        return messages

    @property
    def general_messages(self) -> list[str]:
        """Messages that concern the whole ticket rather than one field, and those of a field
        with no place of its own on the page (the hidden strategy, a rule field its row no
        longer shows), named: a refusal always says why."""
        messages = self.field_messages
        shown = SHOWN_FIELDS | {cell.name for row in self.rows() for cell in row.cells}
        general = list(messages.get("__all__", []))
        for name, field_messages in messages.items():
            if name != "__all__" and name not in shown:
                general.extend(f"{self._label(name)}: {message}" for message in field_messages)
        return general

    def _label(self, name: str) -> str:
        kind, _, field = name.partition("-")
        if field:
            return f"{RuleKind(kind).label} {field.replace('_', ' ')}"
        return str(self.fields[name].label or name.replace("_", " ").capitalize())

    def rows(self) -> list[RuleRow]:
        side = self.side_value
        messages = self.field_messages
        rows = []
        for kind in RuleKind:
            picked = {field: self.picked(field_name(kind, field)) for field in ROW_FIELDS}
            # Re-showing what the trader posted: drop illegal picks, but choose nothing for them.
            values, options = narrow(kind, side, picked, fill=not self.is_bound)
            errors = {field: messages.get(field_name(kind, field), []) for field in ROW_FIELDS}
            rows.append(
                RuleRow(kind, side, values, options, errors, self.problems.get(kind.value, ""))
            )
        return rows


def _problem_field(key: str) -> str:
    """The form field an activation problem concerns: "sizing" → sizing_value,
    "entry.value" → entry-value."""
    if "." in key:
        kind, field = key.split(".", 1)
        return f"{kind}-{field}"
    return PROBLEM_FIELDS.get(key, key)
