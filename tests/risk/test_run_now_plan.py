"""Run now acts on the plan the server computes from the caller's own groups: the post says
only "go" (confirm=yes). Whatever else it carries (another trader's group id, ids that do not
exist, amounts that are not numbers or overflow) is ignored, stores nothing and never 500s."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from apps.core.models import Event
from apps.exchanges.models import PaperSettings
from apps.exchanges.paper.services import open_paper_account
from apps.exchanges.services import refresh_balances, refresh_markets
from apps.positions.models import Order, PositionGroup
from apps.risk.models import AccountGuard, RiskAction
from tests.accounts.factories import OperatorFactory
from tests.exchanges.factories import ExchangeAccountFactory
from tests.risk.conftest import engine_on, open_group

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def paper_account():
    account = ExchangeAccountFactory(kind="paper", quote_currency="USDT")
    open_paper_account(account=account, initial_balance=Decimal("10000"))
    PaperSettings.objects.filter(account=account).update(slippage_rate=Decimal(0))
    now = timezone.now()
    refresh_markets(account=account, now=now)
    refresh_balances(account=account, now=now)
    return account


@pytest.fixture
def two_groups(paper, desk):
    """ETH/USDT at -8 % (an eligible loser once the engine is on) and BTC/USDT in profit."""
    loser = open_group(desk, paper, "ETH/USDT", "2000")
    winner = open_group(desk, paper, "BTC/USDT", "2000")
    desk.price("2944.00", "ETH/USDT")
    desk.price("71500.00", "BTC/USDT")
    desk.take_profit()
    return loser, winner


@pytest.fixture
def foreign_loser(desk):
    """Another trader's losing group."""
    other = paper_account()
    return open_group(desk, other, "XRP/USDT", "500")


def plan_posted(loser, required="239.76") -> dict:
    return {
        "loser": loser,
        "loser_label": f"XRP/USDT 15m long #{loser}",
        "winners": [],
        "required": required,
        "covered": "1",
    }


def names_group(group_id: int) -> bool:
    """Whether any risk action or event stored names group `group_id`."""
    return (
        RiskAction.objects.filter(loser_id=group_id).exists()
        or Event.objects.filter(message__contains=f"#{group_id}", kind__startswith="risk").exists()
    )


def test_the_preview_carries_no_plan_and_go_alone_executes_the_server_plan(
    client, paper, desk, two_groups
):
    loser, _ = two_groups
    engine_on(paper)
    client.force_login(paper.owner)
    preview = client.post(f"/risk/{paper.pk}/preview/", **HTMX).content.decode()
    confirm = preview.split('id="risk-run-confirm"')[1]
    assert 'name="expected"' not in preview and 'name="confirm" value="yes"' in confirm

    with desk.capture(execute=True):
        result = client.post(f"/risk/{paper.pk}/run/", {"confirm": "yes"}, **HTMX)
    action = RiskAction.objects.get()
    assert action.status == RiskAction.Status.EXECUTED and action.loser_id == loser.pk
    assert f"Risk action #{action.pk} executed" in result.content.decode()
    assert PositionGroup.objects.get(pk=loser.pk).status == PositionGroup.Status.CLOSED


def test_another_traders_group_posted_as_loser_is_ignored_the_callers_own_plan_runs(
    client, paper, desk, two_groups, foreign_loser
):
    loser, _ = two_groups
    engine_on(paper)
    client.force_login(paper.owner)
    client.post(f"/risk/{paper.pk}/preview/", **HTMX)

    posted = {"confirm": "yes", "expected": json.dumps(plan_posted(foreign_loser.pk))}
    with desk.capture(execute=True):
        response = client.post(f"/risk/{paper.pk}/run/", posted, **HTMX)

    assert response.status_code == 200
    assert RiskAction.objects.get().loser_id == loser.pk
    assert not names_group(foreign_loser.pk)
    assert PositionGroup.objects.get(pk=foreign_loser.pk).status == PositionGroup.Status.OPEN
    assert not Order.objects.filter(group=foreign_loser, purpose=Order.Purpose.RISK).exists()


def test_another_traders_group_posted_without_a_plan_of_ones_own_stores_nothing(
    client, paper, foreign_loser
):
    client.force_login(paper.owner)
    posted = {"confirm": "yes", "expected": json.dumps(plan_posted(foreign_loser.pk))}

    response = client.post(f"/risk/{paper.pk}/run/", posted)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Nothing was sold" in html and "No losing position is eligible." in html
    assert not RiskAction.objects.exists() and not names_group(foreign_loser.pk)
    assert f"#{foreign_loser.pk}" not in html


@pytest.mark.parametrize(
    "expected",
    [
        "abc",
        json.dumps(plan_posted("abc")),
        json.dumps(plan_posted(987654321)),
        json.dumps(plan_posted(1, required="1e400")),
        json.dumps(plan_posted(1, required="not a number")),
        json.dumps(plan_posted(None, required=None)),
    ],
)
@pytest.mark.parametrize("htmx", [False, True])
def test_hostile_plans_posted_with_go_answer_with_a_message_and_store_nothing(
    client, paper, desk, expected, htmx
):
    open_group(desk, paper, "ETH/USDT", "2000")  # a group, but none eligible: engine off
    client.force_login(paper.owner)

    response = client.post(
        f"/risk/{paper.pk}/run/", {"confirm": "yes", "expected": expected}, **(HTMX if htmx else {})
    )

    assert response.status_code == 200
    assert "Nothing was sold" in response.content.decode()
    assert not RiskAction.objects.exists()
    assert not Event.objects.filter(kind__startswith="risk.action").exists()


def test_go_without_a_preview_shows_the_plan_again_and_a_second_go_sells_nothing_twice(
    client, paper, desk, two_groups
):
    loser, _ = two_groups
    engine_on(paper)
    client.force_login(paper.owner)

    first = client.post(f"/risk/{paper.pk}/run/", {"confirm": "yes"}, **HTMX).content.decode()
    assert "Nothing was sold: confirm the plan as it is now, below." in first
    assert 'id="risk-run-confirm"' in first and not RiskAction.objects.exists()

    with desk.capture(execute=True):
        client.post(f"/risk/{paper.pk}/run/", {"confirm": "yes"}, **HTMX)  # the shown plan
        again = client.post(f"/risk/{paper.pk}/run/", {"confirm": "yes"}, **HTMX)
    assert RiskAction.objects.count() == 1
    assert PositionGroup.objects.get(pk=loser.pk).status == PositionGroup.Status.CLOSED
    assert "Nothing was sold" in again.content.decode()


def test_a_winner_that_moved_since_the_preview_runs_on_the_fresh_plan_and_says_so(
    client, paper, desk, two_groups
):
    loser, _ = two_groups
    engine_on(paper)
    client.force_login(paper.owner)
    client.post(f"/risk/{paper.pk}/preview/", **HTMX)
    desk.price("72000.00", "BTC/USDT")  # the winner realises more per unit: it sells less

    with desk.capture(execute=True):
        html = client.post(f"/risk/{paper.pk}/run/", {"confirm": "yes"}, **HTMX).content.decode()

    action = RiskAction.objects.get()
    assert action.status == RiskAction.Status.EXECUTED and action.loser_id == loser.pk
    assert "Since selection" in action.reason and "Since selection" in html
    assert any("BTC/USDT 15m long" in change for change in action.calculation["changes"])
    assert Decimal(action.calculation["winners"][0]["price"]) == Decimal("72000")


def test_a_loser_that_no_longer_qualifies_at_go_is_refused_with_the_reason(
    client, paper, desk, two_groups
):
    loser, _ = two_groups
    engine_on(paper)
    client.force_login(paper.owner)
    client.post(f"/risk/{paper.pk}/preview/", **HTMX)
    desk.price("3100", "ETH/USDT")  # -3.12 %: above the -5 % threshold now

    html = client.post(f"/risk/{paper.pk}/run/", {"confirm": "yes"}, **HTMX).content.decode()

    assert "aborted" in html and "no longer qualifies" in html
    assert RiskAction.objects.get().status == RiskAction.Status.ABORTED
    assert not Order.objects.filter(purpose=Order.Purpose.RISK).exists()
    assert PositionGroup.objects.get(pk=loser.pk).status == PositionGroup.Status.OPEN


def test_a_non_finite_amount_stored_earlier_breaks_neither_the_risk_page_nor_the_admin(
    client, paper
):
    action = RiskAction.objects.create(
        owner=paper.owner,
        account=paper,
        status=RiskAction.Status.ABORTED,
        trigger=RiskAction.Trigger.MANUAL,
        required=Decimal(1),
        covered=Decimal(1),
        reason="Aborted: an older version stored what a client posted.",
        created_at=timezone.now(),
    )
    with connection.cursor() as cursor:  # what an older version could store; NaN is what
        # PostgreSQL's numeric(36, 18) can hold of it (SQLite held an infinity)
        cursor.execute(
            "UPDATE risk_riskaction SET required = 'NaN', covered = 'NaN' WHERE id = %s",
            [action.pk],
        )
    client.force_login(paper.owner)
    page = client.get(f"/risk/?account={paper.pk}")
    assert page.status_code == 200
    row = page.content.decode().split(f'id="risk-action-{action.pk}"')[1].split("</tr>")[0]
    assert "not a number" in row

    client.force_login(OperatorFactory())
    listing = client.get("/admin/risk/riskaction/")
    assert listing.status_code == 200 and "not a number" in listing.content.decode()
    assert client.get(f"/admin/risk/riskaction/{action.pk}/change/").status_code == 200


@pytest.mark.parametrize("answer", ["off", "0", "1", "on", "true", "YES", " yes", ""])
def test_the_kill_switch_engages_only_on_the_exact_answer(client, paper, desk, answer):
    group = open_group(desk, paper, "ETH/USDT", "500")
    client.force_login(paper.owner)
    url = f"/risk/{paper.pk}/kill/"

    with desk.capture(execute=True):
        refused = client.post(url, {"confirm": answer})

    assert refused.status_code == 200
    html = refused.content.decode()
    assert 'id="kill-confirm"' in html
    assert "Nothing was done: the confirmation was not answered yes." in html
    paper.refresh_from_db()
    assert paper.is_active and not AccountGuard.objects.filter(killed_at__isnull=False).exists()
    assert PositionGroup.objects.get(pk=group.pk).status == PositionGroup.Status.OPEN
    assert not Event.objects.filter(kind="account.kill_switch").exists()

    with desk.capture(execute=True):
        assert client.post(url, {"confirm": "yes"}).status_code == 302
    paper.refresh_from_db()
    assert not paper.is_active and AccountGuard.objects.get(account=paper).killed_at
    assert PositionGroup.objects.get(pk=group.pk).status != PositionGroup.Status.OPEN


def test_the_kill_switch_acts_on_the_callers_account_whatever_else_is_posted(
    client, paper, desk, foreign_loser
):
    client.force_login(paper.owner)
    posted = {"confirm": "yes", "account": foreign_loser.account_id, "groups": foreign_loser.pk}

    with desk.capture(execute=True):
        client.post(f"/risk/{paper.pk}/kill/", posted)

    assert PositionGroup.objects.get(pk=foreign_loser.pk).status == PositionGroup.Status.OPEN
    foreign_loser.account.refresh_from_db()
    assert foreign_loser.account.is_active
    assert AccountGuard.objects.get(killed_at__isnull=False).account_id == paper.pk


@pytest.mark.parametrize("answer", ["off", "0", "on"])
def test_resume_acts_only_on_the_exact_answer(client, paper, desk, answer):
    client.force_login(paper.owner)
    with desk.capture(execute=True):
        client.post(f"/risk/{paper.pk}/kill/", {"confirm": "yes"})

    refused = client.post(f"/risk/{paper.pk}/resume/", {"confirm": answer, "reset_daily": "yes"})

    assert refused.status_code == 200 and 'id="resume-confirm"' in refused.content.decode()
    paper.refresh_from_db()
    assert not paper.is_active and AccountGuard.objects.get(account=paper).killed_at
    client.post(f"/risk/{paper.pk}/resume/", {"confirm": "yes"})
    paper.refresh_from_db()
    assert paper.is_active and AccountGuard.objects.get(account=paper).killed_at is None
