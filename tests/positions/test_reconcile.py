"""Reconciliation: the exchange's orders against the desk's, by client order id, at start-up
and every few minutes per account; what it finds is recorded on the account and as events."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.core.installation import order_id_prefix
from apps.core.models import Event
from apps.exchanges.adapters import get_adapter
from apps.exchanges.domain.types import OrderSide, OrderType
from apps.exchanges.models import ExchangeAccount, PaperOrder, PaperSettings
from apps.exchanges.paper.services import cancel_order as cancel_on_paper
from apps.exchanges.paper.services import set_price
from apps.positions.models import Order, PositionGroup
from apps.positions.services import reconcile
from apps.positions.services.reconcile import reconcile_account, reconcile_due
from apps.tickets.services import activate_ticket, evaluate_rules
from tests.positions.grouping import Desk
from tests.tickets.conftest import BTC, STOP_2_PCT, ticket

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def desk(django_capture_on_commit_callbacks) -> Desk:
    return Desk(django_capture_on_commit_callbacks)


def protected(desk: Desk, account) -> PositionGroup:
    """A ticket's position, its entry filled and its stop resting on the exchange."""
    activation = desk.run(
        activate_ticket,
        user=account.owner,
        ticket=ticket(account, initial_stop=STOP_2_PCT),
        trade=None,
        now=timezone.now(),
    )
    desk.run(evaluate_rules, now=timezone.now())
    return PositionGroup.objects.get(trade=activation.trade)


def run(desk: Desk, account, **kw):
    """Reconcile a little later than now: orders just sent are their sender's (SEND_GRACE)."""
    return desk.run(reconcile_account, account=account, now=timezone.now() + timedelta(minutes=1))


def stops(position) -> list[Order]:
    return list(position.orders.filter(protective=True).order_by("pk"))


def kinds(findings) -> list[str]:
    return [finding.kind for finding in findings]


def test_a_fill_the_desk_missed_is_recorded(paper, desk):
    position = protected(desk, paper)
    [stop] = stops(position)
    set_price(symbol=BTC, price=D("63500.00"))  # the stop fills while the desk is down

    findings = run(desk, paper)

    assert kinds(findings) == ["missed_fill"]
    assert findings[0].message == (
        f"Order {stop.client_order_id} (initial stop, position #{position.pk}) filled 0.01536 "
        "more on the exchange than the desk had recorded: the fill is recorded now."
    )
    stop.refresh_from_db()
    position.refresh_from_db()
    assert (stop.status, stop.filled) == (Order.Status.FILLED, D("0.01536"))
    assert (position.status, position.exit_reason) == ("closed", "initial_stop")
    event = Event.objects.get(kind="reconcile.missed_fill")
    assert event.account_id == paper.pk and event.level == Event.Level.WARNING
    paper.refresh_from_db()
    assert paper.reconciliation["findings"][0]["kind"] == "missed_fill"


def test_an_order_placed_but_never_acknowledged_is_found_by_its_client_id(paper, desk):
    """The entry's answer was lost after the exchange had filled it: the desk holds it as
    unknown and has placed no stop. Reconciliation finds it filled by its client order id,
    records the fill and rests the stop; nothing is bought twice."""
    PaperSettings.objects.filter(account=paper).update(timeout_after_placing_rate=D(1))
    position = protected(desk, paper)
    entry = position.orders.get(side="buy")
    assert (entry.status, stops(position)) == (Order.Status.UNKNOWN, [])
    PaperSettings.objects.filter(account=paper).update(timeout_after_placing_rate=D(0))

    findings = run(desk, paper)

    assert kinds(findings) == ["missed_fill"]
    entry.refresh_from_db()
    assert (entry.status, entry.filled) == (Order.Status.FILLED, D("0.01538"))
    assert PaperOrder.objects.filter(side="buy").count() == 1
    [stop] = stops(position)
    assert stop.status == Order.Status.OPEN and stop.trigger_price == D("63700.00")


def test_an_order_that_never_reached_the_exchange_is_recorded_so_and_its_stop_placed(paper, desk):
    position = protected(desk, paper)
    [stop] = stops(position)
    # As if the send had died before the exchange saw it: no paper order, the desk unsure.
    cancel_on_paper(account=paper, client_order_id=stop.client_order_id, now=timezone.now())
    PaperOrder.objects.filter(client_order_id=stop.client_order_id).update(client_order_id="gone")
    Order.objects.filter(pk=stop.pk).update(status=Order.Status.UNKNOWN)

    findings = run(desk, paper)

    assert kinds(findings) == ["never_placed"]
    stop.refresh_from_db()
    assert stop.status == Order.Status.CANCELLED
    assert "Never placed" in stop.error
    [again] = [o for o in stops(position) if o.status in Order.LIVE]
    assert again.pk != stop.pk and again.trigger_price == stop.trigger_price
    assert Event.objects.filter(kind="reconcile.never_placed").count() == 1


def test_a_stop_cancelled_by_hand_is_placed_again_and_the_trader_told(paper, desk):
    position = protected(desk, paper)
    [stop] = stops(position)
    cancel_on_paper(account=paper, client_order_id=stop.client_order_id, now=timezone.now())

    findings = run(desk, paper)

    assert kinds(findings) == ["cancelled_outside"]
    assert "placed again" in findings[0].message
    [old, again] = stops(position)
    assert old.status == Order.Status.CANCELLED and again.status == Order.Status.OPEN
    assert PaperOrder.objects.get(client_order_id=again.client_order_id).status == "open"
    # Told once, on the position's timeline (notifiable), not twice.
    assert Event.objects.filter(kind="protection.stop_cancelled").count() == 1
    assert not Event.objects.filter(kind="reconcile.cancelled_outside").exists()


def _place_by_hand(account, client_order_id: str):
    adapter = get_adapter(account)
    return adapter.create_order(
        symbol=BTC,
        side=OrderSide.BUY,
        type=OrderType.LIMIT,
        amount=D("0.001"),
        price=D("50000.00"),
        client_order_id=client_order_id,
    )


def test_an_open_order_with_our_prefix_and_no_row_is_reported_and_left_by_default(paper, desk):
    ours = _place_by_hand(paper, f"{order_id_prefix()}g999p1l1")
    theirs = _place_by_hand(paper, "tdzzzzg999p1l1")  # another desk on the same account

    findings = run(desk, paper)

    assert kinds(findings) == ["unknown_order"]
    assert ours.client_order_id in findings[0].message
    assert "RECONCILE_CANCEL_UNKNOWN" in findings[0].message
    assert PaperOrder.objects.get(client_order_id=ours.client_order_id).status == "open"
    assert PaperOrder.objects.get(client_order_id=theirs.client_order_id).status == "open"
    assert Event.objects.get(kind="reconcile.unknown_order").level == Event.Level.WARNING


def test_with_the_setting_an_unknown_order_with_our_prefix_is_cancelled(paper, desk, settings):
    settings.RECONCILE_CANCEL_UNKNOWN = True
    ours = _place_by_hand(paper, f"{order_id_prefix()}g999p1l1")

    findings = run(desk, paper)

    assert kinds(findings) == ["unknown_order"]
    assert "It is cancelled." in findings[0].message
    assert PaperOrder.objects.get(client_order_id=ours.client_order_id).status == "canceled"


def test_in_agreement_it_finds_nothing_and_the_account_page_says_when(paper, desk, client):
    protected(desk, paper)

    assert run(desk, paper) == []

    paper.refresh_from_db()
    assert paper.reconciliation == {"checked": 1, "error": "", "findings": []}  # the stop
    client.force_login(paper.owner)
    page = client.get(reverse("exchanges:account-detail", args=[paper.pk])).content.decode()
    reconciled = page.split('id="reconciliation">')[1].split("</dd>")[0]
    assert f"{paper.reconciled_at:%Y-%m-%d %H:%M:%S} UTC: 1 order checked" in reconciled
    assert "all in agreement" in reconciled
    assert f"<code>{order_id_prefix()}</code>" in page


def test_the_first_run_of_a_process_reconciles_every_account_then_only_those_due(
    paper, desk, monkeypatch, settings
):
    settings.RECONCILE_SECONDS = 180
    monkeypatch.setattr(reconcile, "_started", {"done": False})
    now = timezone.now()
    ExchangeAccount.objects.filter(pk=paper.pk).update(reconciled_at=now - timedelta(seconds=5))

    assert desk.run(reconcile_due, now=now) == 1  # start-up: all, even one just reconciled
    assert desk.run(reconcile_due, now=now + timedelta(seconds=60)) == 0
    assert desk.run(reconcile_due, now=now + timedelta(seconds=181)) == 1


def test_an_exchange_that_does_not_answer_is_recorded_on_the_account(paper, desk):
    PaperSettings.objects.filter(account=paper).update(error_rates={"NetworkFailure": "1"})

    assert run(desk, paper) == []

    paper.refresh_from_db()
    assert paper.reconciliation["error"].startswith("NetworkFailure")
    assert paper.reconciled_at is not None
