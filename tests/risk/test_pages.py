"""The Risk page over HTTP: rows with loss and eligibility, Preview, Run now, Skip once, Block,
settings with validation and reset, the kill switch's confirmation, and isolation."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.exchanges.models import ExchangeAccount, PaperOrder
from apps.positions.models import PositionGroup
from apps.risk.models import GroupRisk, RiskAction, RiskSettings
from tests.accounts.factories import UserFactory
from tests.risk.conftest import engine_on, open_group

pytestmark = pytest.mark.django_db

D = Decimal
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def two_groups(paper, desk):
    loser = open_group(desk, paper, "ETH/USDT", "2000")
    winner = open_group(desk, paper, "BTC/USDT", "2000")
    desk.price("2944.00", "ETH/USDT")
    desk.price("71500.00", "BTC/USDT")
    desk.take_profit()  # the loop that writes the last prices the page shows
    return loser, winner


def test_the_page_lists_each_open_group_with_loss_pyramids_timer_and_eligibility(
    client, paper, two_groups
):
    loser, winner = two_groups
    engine_on(paper, wait_minutes=60)
    client.force_login(paper.owner)
    html = client.get("/risk/").content.decode()
    row = html.split(f'id="risk-group-{loser.pk}"')[1].split("</tr>")[0]
    assert "\u22128.00 %" in row and "1 / 1" in row  # a true minus, coloured as a loss
    assert 'class="num pnl loss"' in row and "2,944.00 USDT" in row  # ETH/USDT on its tick
    assert "timer: " in row and "min" in row and "left" in row  # not eligible yet
    assert f'id="risk-group-{winner.pk}"' in html
    assert 'aria-current="page">Risk<' in html


def test_preview_shows_the_plan_and_run_now_executes_it(client, paper, desk, two_groups):
    loser, _ = two_groups
    engine_on(paper)
    client.force_login(paper.owner)
    preview = client.post(f"/risk/{paper.pk}/preview/", **HTMX).content.decode()
    assert "Would act:" in preview and f"ETH/USDT 15m long #{loser.pk}" in preview
    assert not RiskAction.objects.exists()
    assert 'name="confirm" value="yes"' in preview.split('id="risk-run-confirm"')[1]

    with desk.capture(execute=True):  # the post says only "go": the server kept the plan
        result = client.post(f"/risk/{paper.pk}/run/", {"confirm": "yes"}, **HTMX).content.decode()
    action = RiskAction.objects.get()
    assert f"Risk action #{action.pk} executed" in result
    assert PositionGroup.objects.get(pk=loser.pk).status == "closed"
    assert not PaperOrder.objects.filter(account=paper, status="open").exists()


def test_run_now_without_the_answer_shows_what_it_would_sell_and_sells_nothing(
    client, paper, desk, two_groups
):
    loser, _ = two_groups
    engine_on(paper)
    client.force_login(paper.owner)

    for data, why in (({}, False), ({"confirm": "no"}, True)):
        with desk.capture(execute=True):
            html = client.post(f"/risk/{paper.pk}/run/", data, **HTMX).content.decode()
        box = html.split('id="risk-run-confirm"')[1].split("</form>")[0]
        assert '<strong class="confirm-label">Confirm:</strong> Run the risk engine now?' in box
        # The first ask is a question; only the refused answer says why, as an error.
        refused = "Nothing was sold: the confirmation was not answered yes."
        assert (refused in box) is why and ("notice error" in box) is why
        assert "Would act:" in html and f"ETH/USDT 15m long #{loser.pk}" in html

    assert not RiskAction.objects.exists()
    assert PositionGroup.objects.get(pk=loser.pk).status == "open"


def test_skip_once_and_block_answer_with_the_row(client, paper, two_groups):
    loser, _ = two_groups
    client.force_login(paper.owner)
    row = client.post(f"/risk/groups/{loser.pk}/block/", {"blocked": "1"}, **HTMX)
    assert row.status_code == 200
    html = row.content.decode()
    assert html.strip().startswith(f'<tr id="risk-group-{loser.pk}"') and "Unblock" in html
    assert GroupRisk.objects.get(group=loser).blocked
    html = client.post(f"/risk/groups/{loser.pk}/skip-once/", {"skip": "1"}, **HTMX).content
    assert "Undo skip" in html.decode() and GroupRisk.objects.get(group=loser).skip_once


def test_settings_are_validated_saved_and_reset(client, paper):
    client.force_login(paper.owner)
    form = {
        "enabled": "on",
        "loss_threshold_pct": "3",
        "require_all_pyramids": "on",
        "timer_start": "dca_filled",
        "wait_minutes": "30",
        "max_winners": "2",
        "shortfall": "skip",
        "breaker_errors": "5",
        "breaker_window_minutes": "10",
        "breaker_cooldown_minutes": "15",
        "max_drawdown_pct": "0",
    }
    html = client.post(f"/risk/{paper.pk}/settings/", form).content.decode()
    assert "Loss threshold % must be from -100 to 0, not 3." in html
    assert "Must be above 0" in html
    assert not RiskSettings.objects.filter(account=paper).exists()

    form |= {"loss_threshold_pct": "-7.5", "max_drawdown_pct": "12"}
    assert client.post(f"/risk/{paper.pk}/settings/", form).status_code == 302
    saved = RiskSettings.objects.get(account=paper)
    assert (saved.enabled, saved.loss_threshold_pct, saved.timer_start, saved.max_winners) == (
        True,
        D("-7.5"),
        "dca_filled",
        2,
    )
    client.post(f"/risk/{paper.pk}/settings/reset/")
    reset = RiskSettings.objects.get(account=paper)
    assert (reset.enabled, reset.loss_threshold_pct, reset.wait_minutes, reset.max_winners) == (
        False,
        D(-5),
        60,
        3,
    )
    assert reset.max_drawdown_pct is None and reset.shortfall == "partial"


def test_the_kill_switch_shows_what_it_will_do_and_acts_only_when_confirmed(
    client, paper, desk, two_groups
):
    loser, _ = two_groups
    client.force_login(paper.owner)
    for data in ({}, {"confirm": "on"}, {"confirm": ""}):  # no, or an incomplete, confirmation
        response = client.post(f"/risk/{paper.pk}/kill/", data)
        html = response.content.decode()
        assert response.status_code == 200
        box = html.split('id="kill-confirm"')[1].split("</form>")[0]
        refused = "Nothing was done: the confirmation was not answered yes." in box
        assert refused is ("confirm" in data)  # the first ask asks; a wrong answer says why
        assert '<strong class="confirm-label">Confirm:</strong> Throw the kill switch' in box
        assert "Closes 2 positions at market, from tickets and signals:" in box
        assert f"{loser.name} #{loser.pk}" in box
        assert "Cancels 0 tickets waiting for" in box
        assert "(s)" not in box
        assert "Removes 0 queued entries" in box
        assert 'name="confirm" value="yes"' in box
    assert ExchangeAccount.objects.get(pk=paper.pk).is_active
    assert set(PositionGroup.objects.values_list("status", flat=True)) == {"open"}

    with desk.capture(execute=True):
        response = client.post(f"/risk/{paper.pk}/kill/", {"confirm": "yes"})
    assert response.status_code == 302
    assert not ExchangeAccount.objects.get(pk=paper.pk).is_active
    page = client.get(response["Location"]).content.decode()
    assert "Kill switch engaged on" in page and 'id="resume"' in page
    assert "2 positions closing at market" in page and "0 waiting tickets cancelled" in page
    assert "0 queued entries removed" in page


def test_resume_shows_what_it_will_do_and_keeps_the_daily_limit_unless_told(client, paper, desk):
    from django.utils import timezone

    from apps.risk import services
    from apps.risk.models import AccountGuard

    RiskSettings.objects.create(account=paper, daily_loss_limit_pct=D("2"))
    services.check_guards(account=paper, now=timezone.now())
    open_group(desk, paper, "SOL/USDT", "5000")
    desk.price("135.00", "SOL/USDT")
    desk.run(services.check_guards, account=paper, now=timezone.now())
    desk.run(services.engage, account=paper, now=timezone.now())
    client.force_login(paper.owner)

    response = client.post(f"/risk/{paper.pk}/resume/")

    box = response.content.decode().split('id="resume-confirm"')[1].split("</form>")[0]
    assert response.status_code == 200
    assert "Confirm:</strong> Resume" in box and "Nothing was done" not in box
    assert "Resume will" not in box and "Releases:" not in box
    assert (
        f"Resume {paper.label}? It:" in box and "Releases this hold: kill switch engaged at" in box
    )
    assert "Keeps the breached daily loss limit (daily loss limit: down" in box
    assert "Promotes nothing: no entry is waiting in the queue." in box
    assert 'name="reset_daily" value="yes"' in box
    assert not ExchangeAccount.objects.get(pk=paper.pk).is_active  # nothing done

    response = client.post(f"/risk/{paper.pk}/resume/", {"confirm": "yes"})
    assert response.status_code == 302
    assert ExchangeAccount.objects.get(pk=paper.pk).is_active
    assert AccountGuard.objects.get(account=paper).breach_guard == "daily_loss"
    page = client.get(response["Location"]).content.decode()
    assert "The breached daily loss limit stays in force until 00:00 UTC." in page

    client.post(f"/risk/{paper.pk}/resume/", {"confirm": "yes", "reset_daily": "yes"})
    guard = AccountGuard.objects.get(account=paper)
    assert guard.breach_guard == "" and guard.day_start_equity == guard.equity


def test_another_users_account_and_groups_are_404(client, paper, two_groups):
    loser, _ = two_groups
    client.force_login(UserFactory())
    assert client.get(f"/risk/?account={paper.pk}").status_code == 404
    for path in [
        f"/risk/{paper.pk}/preview/",
        f"/risk/{paper.pk}/run/",
        f"/risk/{paper.pk}/kill/",
        f"/risk/{paper.pk}/resume/",
        f"/risk/{paper.pk}/settings/reset/",
        f"/risk/groups/{loser.pk}/block/",
        f"/risk/groups/{loser.pk}/skip-once/",
    ]:
        assert client.post(path, {"confirm": "on", "blocked": "1"}).status_code == 404, path
    assert ExchangeAccount.objects.get(pk=paper.pk).is_active
    assert not GroupRisk.objects.exists()
