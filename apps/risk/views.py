"""The Risk page: each account's open groups with their loss and eligibility (live), Preview,
Run now, Skip once, Block, the settings, the guards, the kill switch and Resume."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from apps.core.confirm import confirmed, refusal
from apps.core.forms import object_id
from apps.core.scoping import get_owned_or_404
from apps.exchanges.models import ExchangeAccount
from apps.positions.models import PositionGroup
from apps.positions.selectors import groups_of
from apps.risk import selectors, services
from apps.risk.forms import RiskSettingsForm
from apps.risk.services.guards import active_reasons

PAGE = "risk/risk.html"


def _owned_account(request: HttpRequest, pk: int) -> ExchangeAccount:
    return get_owned_or_404(ExchangeAccount, request.user, owner_field="owner", pk=pk)


def _context(request: HttpRequest, account: ExchangeAccount | None, **extra) -> dict:
    now = timezone.now()
    context = {"accounts": selectors.accounts_of(request.user), "account": account}
    if account is None:
        return context | extra
    groups = list(selectors.open_groups(account))
    prices = selectors.stored_prices(groups)
    settings = selectors.settings_of(account)
    problem = selectors.settings_problem(settings)
    context |= {
        # Eligibility is measured with the settings: none is shown while they are unusable.
        "rows": [] if problem else services.engine.rows_of(groups, account, prices, None, now=now),
        "settings_problem": problem,
        "actions": selectors.recent_actions(account),
        "settings": settings,
        "form": RiskSettingsForm(instance=settings),
        "guard": selectors.guard_of(account),
        "guard_reasons": active_reasons(account, now=now),
        "page_url": _page_url(account),
    }
    return context | extra


def _page_url(account: ExchangeAccount) -> str:
    return f"{reverse('risk:risk')}?account={account.pk}"


@login_required
@require_GET
def risk_page(request: HttpRequest) -> HttpResponse:
    accounts = selectors.accounts_of(request.user)
    chosen = request.GET.get("account")
    account = None
    if chosen:
        pk = object_id(chosen)
        if pk is None:
            return redirect("risk:risk")
        account = _owned_account(request, pk)
    else:
        account = accounts.first()
    return render(request, PAGE, _context(request, account))


@login_required
@require_POST
def preview(request: HttpRequest, pk: int) -> HttpResponse:
    """What the engine would do now; nothing is done."""
    return _preview_answer(request, _owned_account(request, pk))


def _preview_answer(
    request: HttpRequest, account: ExchangeAccount, *, why: str = "", run_asked: bool = False
):
    """The preview panel; `run_asked` when Run now's post showed it (nothing sold), `why` when
    that post carried an answer that did not count."""
    problem = selectors.settings_problem(selectors.settings_of(account))
    if problem:
        request.session.pop(_previewed_key(account), None)
        context = {"settings_problem": problem, "confirm_why": why, "run_asked": run_asked}
        if request.htmx:
            return render(request, f"{PAGE}#preview-panel", context | {"account": account})
        return render(request, PAGE, _context(request, account, **context))
    seen = services.preview(account=account, now=timezone.now())
    plan = seen.selection.plan
    # The plan shown is kept on the server, in the trader's session: Run now's confirmation
    # posts only "go", and compares what it then finds with this, never with posted data.
    if plan is not None and plan.execute:
        request.session[_previewed_key(account)] = plan.to_dict()
    else:
        request.session.pop(_previewed_key(account), None)
    context = {"preview": seen, "plan": plan, "rows": seen.rows}
    context |= {"confirm_why": why, "run_asked": run_asked}
    if request.htmx:
        return render(request, f"{PAGE}#preview-panel", context | {"account": account})
    return render(request, PAGE, _context(request, account, **context))


@login_required
@require_POST
def run_now(request: HttpRequest, pk: int) -> HttpResponse:
    """Run the engine now on the plan the trader previewed, recomputed from their own groups
    at current prices. It sells, so it asks first: a post without the confirmation, or with
    no preview shown before it (or one already run), shows the preview and does nothing.

    The post says only "go" (confirm=yes); anything else it carries is ignored. What changed
    since the preview is reported with the action (the engine aborts when the loser changed
    or no longer qualifies, and adapts the winners' quantities)."""
    account = _owned_account(request, pk)
    if not confirmed(request):
        why = refusal(request, nothing="Nothing was sold")
        return _preview_answer(request, account, why=why, run_asked=True)
    previewed = request.session.pop(_previewed_key(account), None)
    if previewed is None or selectors.settings_problem(selectors.settings_of(account)):
        return _preview_answer(
            request,
            account,
            why="Nothing was sold: confirm the plan as it is now, below.",
            run_asked=True,
        )
    action = services.run(account=account, now=timezone.now(), expected=previewed)
    note = "" if action is not None else "Nothing to do: no losing position is eligible."
    context = {"account": account, "action": action, "note": note}
    if request.htmx:
        return render(request, f"{PAGE}#run-result", context)
    if action is not None:
        messages.info(request, action.reason)
    else:
        messages.info(request, note)
    return redirect(_page_url(account))


def _previewed_key(account: ExchangeAccount) -> str:
    return f"risk-previewed-plan-{account.pk}"


def _owned_group(request: HttpRequest, pk: int) -> PositionGroup:
    return get_object_or_404(groups_of(request.user), pk=pk)


def _group_control(request: HttpRequest, pk: int, change) -> HttpResponse:
    group = _owned_group(request, pk)
    try:
        change(group)
    except services.ControlError as error:
        messages.error(request, str(error))
    if request.htmx:
        account = group.account
        groups = list(selectors.open_groups(account).filter(pk=group.pk))
        rows = services.engine.rows_of(
            groups, account, selectors.stored_prices(groups), None, now=timezone.now()
        )
        if rows:
            return render(request, f"{PAGE}#risk-row", {"row": rows[0], "account": account})
        return HttpResponse("")
    return redirect(_page_url(group.account))


@login_required
@require_POST
def block(request: HttpRequest, pk: int) -> HttpResponse:
    blocked = request.POST.get("blocked") == "1"
    return _group_control(request, pk, lambda g: services.set_blocked(group=g, blocked=blocked))


@login_required
@require_POST
def skip_once(request: HttpRequest, pk: int) -> HttpResponse:
    skip = request.POST.get("skip") == "1"
    return _group_control(request, pk, lambda g: services.set_skip_once(group=g, skip=skip))


@login_required
@require_POST
def settings_save(request: HttpRequest, pk: int) -> HttpResponse:
    account = _owned_account(request, pk)
    form = RiskSettingsForm(request.POST, instance=selectors.settings_of(account))
    if form.is_valid():
        services.save_settings(settings=form.save(commit=False))
        messages.success(request, f"Risk settings of {account.label} saved.")
        if not request.htmx:
            return redirect(_page_url(account))
        form = RiskSettingsForm(instance=selectors.settings_of(account))
    context = {"account": account, "form": form, "saved": form.is_bound is False}
    if request.htmx:
        return render(request, f"{PAGE}#settings-form", context)
    return render(request, PAGE, _context(request, account, form=form))


@login_required
@require_POST
def settings_reset(request: HttpRequest, pk: int) -> HttpResponse:
    account = _owned_account(request, pk)
    services.reset_settings(account=account)
    messages.success(request, f"Risk settings of {account.label} reset to the defaults.")
    return redirect(_page_url(account))


@login_required
@require_POST
def kill(request: HttpRequest, pk: int) -> HttpResponse:
    """The kill switch. Its first post only shows what it would do (200, nothing done); the
    confirmation's post throws it."""
    account = _owned_account(request, pk)
    if not confirmed(request):
        plan = selectors.kill_switch_plan(account)
        why = refusal(request, nothing="Nothing was done")
        context = _context(request, account, kill_plan=plan, confirm_why=why)
        return render(request, PAGE, context)
    done = services.engage(account=account, now=timezone.now())
    messages.warning(request, f"Kill switch engaged on {account.label}: {done.summary}.")
    return redirect(_page_url(account))


@login_required
@require_POST
def resume(request: HttpRequest, pk: int) -> HttpResponse:
    """Resume. Its first post only shows what it would do (what it releases, that a breached
    daily loss limit stays, the queued entries it would promote); the confirmation's post
    resumes, resetting the day's baseline only when its box is ticked."""
    account = _owned_account(request, pk)
    now = timezone.now()
    plan = services.resume_plan(account=account, now=now)
    if not confirmed(request):
        why = refusal(request, nothing="Nothing was done")
        context = _context(request, account, resume_plan=plan, confirm_why=why)
        return render(request, PAGE, context)
    reset_daily = request.POST.get("reset_daily") == "yes"
    services.resume(account=account, now=now, reset_daily=reset_daily)
    text = f"{account.label} resumed."
    if plan.daily_breach and not reset_daily:
        text += " The breached daily loss limit stays in force until 00:00 UTC."
    elif reset_daily:
        text += " The day starts again from the current equity."
    messages.success(request, text)
    return redirect(_page_url(account))
