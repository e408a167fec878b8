"""Desk tickets pass the same gate as webhook entries: a breached daily loss limit, drawdown or
exposure guard, an open circuit breaker or the kill switch refuses the ticket at Activate
(nothing is activated) and again when its entry rule fires (nothing is bought; the trade is
Rejected with the reason and an event)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from apps.core.models import Event
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.paper.services import set_price
from apps.positions.models import Order, PositionGroup
from apps.risk import services
from apps.risk.models import AccountGuard, RiskSettings
from apps.tickets.models import Trade
from apps.tickets.services import activate_ticket, evaluate_rules
from tests.positions.grouping import Desk
from tests.risk.conftest import START, open_group
from tests.tickets.conftest import BTC, ticket
from tests.tickets.posts import ticket_post

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def desk(django_capture_on_commit_callbacks) -> Desk:
    for symbol, price in START.items():
        set_price(symbol=symbol, price=Decimal(price))
    return Desk(django_capture_on_commit_callbacks)


def _daily_loss(account, desk) -> str:
    RiskSettings.objects.create(account=account, daily_loss_limit_pct=D("2"))
    services.check_guards(account=account, now=timezone.now())  # the day starts at 10000
    open_group(desk, account, "ETH/USDT", "5000")
    desk.price("2880.00", "ETH/USDT")  # ETH -10 %: about -500 USDT, 5 % of the day
    desk.run(services.check_guards, account=account, now=timezone.now())
    return "Daily loss limit: down 50"


def _drawdown(account, desk) -> str:
    RiskSettings.objects.create(account=account, max_drawdown_pct=D("3"))
    services.check_guards(account=account, now=timezone.now())
    open_group(desk, account, "ETH/USDT", "5000")
    desk.price("2880.00", "ETH/USDT")
    desk.run(services.check_guards, account=account, now=timezone.now())
    return "Maximum drawdown: equity 949"


def _exposure(account, desk) -> str:
    RiskSettings.objects.create(account=account, max_symbol_exposure_pct=D("30"))
    open_group(desk, account, BTC, "4000")  # the ticket's own symbol
    desk.run(services.check_guards, account=account, now=timezone.now())
    return "Maximum exposure: BTC/USDT positions are worth 399"


def _breaker(account, desk) -> str:
    RiskSettings.objects.create(account=account, breaker_errors=2)
    for _ in range(2):
        services.record_exchange_error(
            account_id=account.pk, error="RequestTimedOut", now=timezone.now()
        )
    return "Circuit breaker: 2 exchange errors in a row"


def _kill_switch_not_resumed(account, desk) -> str:
    """The kill switch engaged, then the account switched back on (say, in the admin) without
    Resume: the switch itself still refuses entries."""
    desk.run(services.engage, account=account, now=timezone.now())
    ExchangeAccount.objects.filter(pk=account.pk).update(is_active=True)
    account.refresh_from_db()
    return "Kill switch engaged at"


GUARDS = [_daily_loss, _drawdown, _exposure, _breaker, _kill_switch_not_resumed]


def _activate(desk, account):
    return desk.run(
        activate_ticket, user=account.owner, ticket=ticket(account), trade=None, now=timezone.now()
    )


@pytest.mark.parametrize("breach", GUARDS, ids=lambda f: f.__name__.strip("_"))
def test_a_guard_in_force_refuses_activation_and_activates_nothing(paper, desk, breach):
    expected = breach(paper, desk)

    activation = _activate(desk, paper)

    assert not activation.ok
    trade = Trade.objects.get(pk=activation.trade.pk)
    assert trade.status == Trade.Status.REJECTED and trade.activated_at is None
    assert trade.errors["account"].startswith(expected)
    assert not Order.objects.filter(group__trade=trade).exists()
    refused = Event.objects.get(kind="trade.rejected", subject_id=trade.pk)
    assert refused.message.startswith(f"Activation refused: account: {expected}")


@pytest.mark.parametrize("breach", GUARDS[:-1], ids=lambda f: f.__name__.strip("_"))
def test_a_guard_that_comes_into_force_refuses_the_entry_when_it_fires(paper, desk, breach):
    # An entry that cannot fire yet, so the trade waits while the guard comes into force.
    waits = {"primary": "last", "condition": "at_or_below", "secondary": "fixed", "value": "60000"}
    activation = desk.run(
        activate_ticket,
        user=paper.owner,
        ticket=ticket(paper, entry=waits),
        trade=None,
        now=timezone.now(),
    )
    assert activation.ok, activation.plan.problems
    expected = breach(paper, desk)
    desk.price("59000.00")  # the entry rule is met

    desk.run(evaluate_rules, now=timezone.now())

    trade = Trade.objects.get(pk=activation.trade.pk)
    assert trade.status == Trade.Status.REJECTED
    assert trade.errors["account"].startswith(expected)
    assert trade.position_or_none is None  # nothing bought: no position opened
    assert not Order.objects.filter(group__trade=trade).exists()
    assert not PositionGroup.objects.filter(account=paper, trade__isnull=False).exists()
    refused = Event.objects.get(kind="trade.rejected", subject_id=trade.pk)
    assert refused.message.startswith(f"Entry rule met, but the entry was refused: {expected}")
    assert refused.data["at"] == "entry"
    # The loop does not come back to it: a rejected trade is not evaluated.
    desk.run(evaluate_rules, now=timezone.now())
    assert not Order.objects.filter(group__trade=trade).exists()


def test_a_waiting_trade_does_not_enter_after_the_kill_switch_even_if_switched_back_on(paper, desk):
    waits = {"primary": "last", "condition": "at_or_below", "secondary": "fixed", "value": "60000"}
    trade = desk.run(
        activate_ticket,
        user=paper.owner,
        ticket=ticket(paper, entry=waits),
        trade=None,
        now=timezone.now(),
    ).trade
    _kill_switch_not_resumed(paper, desk)
    desk.price("59000.00")

    desk.run(evaluate_rules, now=timezone.now())

    assert Trade.objects.get(pk=trade.pk).status == Trade.Status.CANCELLED
    assert not Order.objects.filter(group__trade=trade).exists()


def test_the_entry_goes_ahead_once_the_guard_is_released(paper, desk):
    _breaker(paper, desk)
    assert not _activate(desk, paper).ok
    desk.run(services.resume, account=paper, now=timezone.now())  # releases the breaker
    trade = Trade.objects.get()
    activation = desk.run(
        activate_ticket, user=paper.owner, ticket=ticket(paper), trade=trade, now=timezone.now()
    )
    assert activation.ok
    desk.run(evaluate_rules, now=timezone.now())
    trade = Trade.objects.get(pk=trade.pk)
    assert trade.status == Trade.Status.OPEN
    assert trade.position.quantity > 0


def test_an_open_trades_new_revision_is_not_held_back_by_a_guard(paper, desk):
    """Modify on an Open trade changes how its position is managed (a tighter stop, say); a
    guard against new positions must not stand in its way."""
    activation = _activate(desk, paper)
    desk.run(evaluate_rules, now=timezone.now())
    trade = Trade.objects.get(pk=activation.trade.pk)
    assert trade.status == Trade.Status.OPEN
    _breaker(paper, desk)
    stop = {
        "primary": "last",
        "condition": "at_or_below",
        "secondary": "entry_price",
        "value": "-1",
        "unit": "percent",
    }
    from apps.tickets.services import modify_trade

    modify_trade(trade=trade)
    swapped = desk.run(
        activate_ticket,
        user=paper.owner,
        ticket=ticket(paper, initial_stop=stop),
        trade=Trade.objects.get(pk=trade.pk),
        now=timezone.now(),
    )
    assert swapped.ok, swapped.plan.problems
    trade = Trade.objects.get(pk=trade.pk)
    assert trade.revision.rules["initial_stop"]["value"] == "-1"
    # The position now runs on the new revision's exits.
    assert trade.position.exit_rules["initial_stop"]["value"] == "-1"


def test_the_desk_shows_a_guard_refusal_like_any_other(client, paper, desk):
    expected = _breaker(paper, desk)
    client.force_login(paper.owner)

    response = client.post(
        "/trades/ticket/", ticket_post(paper, action="activate"), HTTP_HX_REQUEST="true"
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "Activation refused: see the marked fields. Nothing was activated." in html
    assert expected in html
    assert Trade.objects.get().status == Trade.Status.REJECTED
    assert AccountGuard.objects.get(account=paper).breaker_until is not None
