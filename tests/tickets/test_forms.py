"""The ticket form: the catalog's messages land on the field they concern, and bad input
writes nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from apps.core.models import Event
from apps.exchanges.models import Market
from apps.strategies.domain.catalog import Condition, RuleKind
from apps.strategies.domain.sizing import SizingKind
from apps.tickets.forms import TicketForm
from apps.tickets.models import Trade, TradeRevision
from tests.accounts.factories import UserFactory
from tests.exchanges.factories import ExchangeAccountFactory
from tests.tickets.posts import (
    EMA_CROSS_ENTRY,
    STOP_BELOW_ENTRY,
    TAKE_PNL,
    TRAIL_FROM_HIGH,
    ticket_post,
)

pytestmark = pytest.mark.django_db


def form_for(account, **kwargs) -> TicketForm:
    return TicketForm(ticket_post(account, **kwargs), user=account.owner)


def cell(html: str, name: str) -> str:
    """The markup of the one field wrapper holding the input or select `name`."""
    for chunk in html.split('<div class="')[1:]:
        if f'name="{name}"' in chunk:
            return chunk.split("</div>")[0]
    raise AssertionError(f"no field {name} on the page")


def test_the_four_examples_parse_from_the_posted_fields(paper):
    form = form_for(
        paper,
        entry=EMA_CROSS_ENTRY,
        initial_stop=STOP_BELOW_ENTRY,
        trailing_stop=TRAIL_FROM_HIGH,
        take_profit=TAKE_PNL,
    )
    assert form.is_valid(), form.errors
    ticket = form.ticket()
    labels = {kind: rule.label for kind, rule in ticket.rules.items()}
    assert labels == {
        RuleKind.ENTRY: "Last price | crosses above | EMA(21, 15m) | +0.2 %",
        RuleKind.INITIAL_STOP: "Last price | is at or below | Entry price | -2 %",
        RuleKind.TRAILING_STOP: "Last price | retraces from | Highest since entry | 1.5 %",
        RuleKind.TAKE_PROFIT: "Unrealised PnL % | is at or above | Fixed value | 3",
    }
    assert (ticket.account, ticket.symbol) == (paper, "BTC/USDT")
    assert (ticket.sizing.kind, ticket.sizing.value) == (SizingKind.QUOTE, Decimal("1000"))


def test_a_new_ticket_enters_immediately_at_market_and_leaves_the_exits_empty(paper):
    form = form_for(paper)
    assert form.is_valid(), form.errors
    rules = form.ticket().rules
    assert rules[RuleKind.ENTRY].condition == Condition.AT_MARKET
    assert rules[RuleKind.ENTRY].label == "Immediately, at market"
    assert [rules[kind] for kind in RuleKind if kind != RuleKind.ENTRY] == [None, None, None]


ILLEGAL_PICKS = [
    pytest.param(
        "take_profit",
        {
            "primary": "rsi",
            "primary_period": "14",
            "primary_timeframe": "1h",
            "condition": "at_or_above",
            "secondary": "ema",
            "secondary_period": "21",
            "secondary_timeframe": "1h",
            "value": "70",
        },
        "take_profit-secondary",
        "RSI cannot be compared with EMA in the take profit rule; use Fixed value.",
        id="rsi-against-a-price",
    ),
    pytest.param(
        "entry",
        {"primary": "pnl_pct", "condition": "at_or_above", "secondary": "fixed", "value": "1"},
        "entry-primary",
        "Unrealised PnL % cannot be the primary source of the entry rule.",
        id="pnl-before-any-position",
    ),
    pytest.param(
        "initial_stop",
        {**STOP_BELOW_ENTRY, "condition": "crosses_above"},
        "initial_stop-condition",
        "'crosses above' does not apply here",
        id="a-stop-that-rises",
    ),
    pytest.param(
        "entry",
        {
            "primary": "ema",
            "primary_timeframe": "15m",
            "condition": "crosses_above",
            "secondary": "fixed",
            "value": "60000",
        },
        "entry-primary_period",
        "EMA needs a length from 2 to 500 candles.",
        id="ema-without-length",
    ),
    pytest.param(
        "entry",
        {**EMA_CROSS_ENTRY, "secondary_timeframe": "7m"},
        "entry-secondary_timeframe",
        "Pick a timeframe",
        id="unknown-timeframe",
    ),
    pytest.param(
        "trailing_stop",
        {**TRAIL_FROM_HIGH, "value": "0"},
        "trailing_stop-value",
        "A retracement must be greater than zero.",
        id="zero-retracement",
    ),
    pytest.param(
        "take_profit",
        {**TAKE_PNL, "value": "three"},
        "take_profit-value",
        "'three' is not a number.",
        id="value-not-a-number",
    ),
    pytest.param(
        "initial_stop",
        {**STOP_BELOW_ENTRY, "unit": "number"},
        "initial_stop-unit",
        "Use % or price here.",
        id="offset-as-a-plain-number",
    ),
    pytest.param(
        "entry",
        {"primary": "last", "condition": "crosses_above"},
        "entry-secondary",
        "Pick what to compare with",
        id="nothing-to-compare-with",
    ),
    pytest.param(
        "trailing_stop",
        {"condition": "retraces_from", "value": "1"},
        "trailing_stop-primary",
        "Pick a primary source, or clear the row.",
        id="half-filled-optional-row",
    ),
    pytest.param(
        "entry",
        {},
        "entry-primary",
        "The entry rule is required.",
        id="no-entry",
    ),
]


@pytest.mark.parametrize(("kind", "row", "field", "message"), ILLEGAL_PICKS)
def test_an_illegal_pick_is_reported_on_its_own_field(paper, kind, row, field, message):
    form = form_for(paper, **{kind: row})
    assert not form.is_valid()
    assert any(message in error for error in form.errors[field]), form.errors
    others = {name for name in form.errors if name != field}
    assert not others, form.errors


@pytest.mark.parametrize(("kind", "row", "field", "message"), ILLEGAL_PICKS)
def test_a_posted_illegal_pick_shows_next_to_its_field_and_writes_nothing(
    client, paper, kind, row, field, message
):
    client.force_login(paper.owner)
    events = Event.objects.count()
    response = client.post(
        reverse("tickets:ticket"), ticket_post(paper, **{kind: row}), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    wrapper = cell(html, field)
    assert f'id="error-{field}"' in wrapper
    assert message.replace("'", "&#x27;") in wrapper
    assert 'aria-invalid="true"' in wrapper
    assert "Nothing saved" in html
    assert not Trade.objects.exists()
    assert not TradeRevision.objects.exists()
    assert Event.objects.count() == events


@pytest.mark.parametrize(
    ("sizing", "message"),
    [
        (("quote", "0"), "The size must be greater than zero."),
        (("buying_power_pct", "150"), "At most 100 % of buying power."),
        (("risk_pct", "25"), "Risking more than 10 % of equity on one trade is refused."),
        (
            ("quote", "a lot"),
            "Size must be a plain number such as 12.5 (digits, with an optional sign and "
            "decimal point), not a lot.",
        ),
        (("quote", "1e30"), "Size is too large: it must be from 0 to 1000000000000000."),
        (
            ("quote", "1_000"),
            "Size must be a plain number such as 12.5 (digits, with an "
            "optional sign and decimal point), not 1_000.",
        ),
    ],
)
def test_a_bad_size_is_reported_on_the_size(paper, sizing, message):
    form = form_for(paper, sizing=sizing)
    assert not form.is_valid()
    assert form.errors["sizing_value"] == [message]


def test_the_symbol_must_be_one_of_the_accounts_markets(paper):
    form = form_for(paper, symbol="nope/usdt")
    assert not form.is_valid()
    assert form.errors["symbol"] == [f"{paper.label} has no market NOPE/USDT."]

    form = form_for(paper, symbol=" eth/usdt ")
    assert form.is_valid(), form.errors
    assert form.ticket().symbol == "ETH/USDT"


def test_an_account_without_markets_yet_says_so(paper):
    Market.objects.filter(account=paper).delete()
    form = form_for(paper)
    assert not form.is_valid()
    assert "not loaded yet" in form.errors["symbol"][0]


def test_another_users_account_is_not_a_choice(paper):
    stranger = UserFactory()
    form = TicketForm(ticket_post(paper), user=stranger)
    assert not form.is_valid()
    assert "Select a valid choice" in form.errors["account"][0]

    own = ExchangeAccountFactory(owner=stranger)
    assert list(form.fields["account"].queryset) == [own]


def test_saving_as_a_strategy_needs_a_name(client, paper):
    client.force_login(paper.owner)
    response = client.post(reverse("tickets:ticket"), ticket_post(paper, action="save_strategy"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<ul class="field-errors" id="error-strategy_name"><li>Name the strategy' in html
    assert not paper.owner.strategies.exists()
