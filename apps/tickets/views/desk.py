"""The Desk: the header's figures, the ticket and its controls, the tickets beside it, the
portfolio, and the one list of open positions.

One view serves the whole Desk and, for htmx, the ticket alone; the ticket posts to `ticket`,
which calls one service per action. A form error or a refused action answers 200 with the
ticket and its messages (htmx 2 does not swap 4xx), and nothing is written.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import push_url

from apps.core.confirm import confirmed, refusal
from apps.core.dashboard import figures_for
from apps.core.forms import object_id
from apps.core.scoping import get_owned_or_404
from apps.core.templatetags.money import plain
from apps.exchanges.models import ExchangeAccount
from apps.exchanges.selectors import accounts_for, markets_of, portfolio
from apps.exchanges.services.market_data import taker_fee_rate
from apps.positions.selectors import desk_positions, desk_sort
from apps.positions.services.live import desk_sort_of, remember_desk_sort
from apps.positions.services.trader import close_preview
from apps.strategies.domain.catalog import RuleKind, Side
from apps.strategies.models import Strategy
from apps.strategies.services import save_strategy
from apps.tickets import selectors
from apps.tickets.forms import (
    ROW_FIELDS,
    RuleRow,
    TicketForm,
    field_name,
    narrow,
    new_ticket_initial,
    strategy_initial,
    trade_initial,
)
from apps.tickets.models import Trade
from apps.tickets.services import (
    TicketError,
    activate_ticket,
    cancel_trade,
    close_trade,
    discard_revision,
    modify_trade,
    save_ticket,
)
from apps.tickets.views.state import Notice, TicketState, holds_position

DESK = "tickets/desk.html"
# Actions on the trade itself: the ticket's fields play no part in them.
TRADE_ACTIONS = ("modify", "discard", "cancel", "close")


# --- Lookups -------------------------------------------------------------------------------


def owned_trade(request: HttpRequest, raw: str | None) -> Trade | None:
    if not raw:
        return None
    pk = object_id(raw)
    if pk is None:
        raise Http404
    trades = Trade.objects.select_related("account", "revision", "next_revision", "strategy")
    return get_owned_or_404(trades, request.user, owner_field="owner", pk=pk)


def _strategy(request: HttpRequest, raw: str | None) -> Strategy | None:
    if not raw:
        return None
    pk = object_id(raw)
    if pk is None:
        raise Http404
    return get_owned_or_404(Strategy, request.user, owner_field="owner", pk=pk)


def _ticket_form(
    request: HttpRequest,
    state: TicketState,
    *,
    data=None,
    strategy: Strategy | None = None,
    overrides: dict[str, str] | None = None,
) -> TicketForm:
    user = request.user
    if state.trade is None:
        initial = new_ticket_initial(user)
    else:
        initial = trade_initial(state.trade, state.revision)
    if strategy is not None:
        initial |= strategy_initial(strategy)
    if overrides and state.mode in ("new", "edit", "copy"):  # elsewhere they stay the trade's
        initial |= {name: value for name, value in overrides.items() if value}
    # A trade's failed activation checks show on a fresh ticket; a posted one shows its own.
    problems = state.trade.errors if state.editing is not None and data is None else None
    return TicketForm(data, user=user, trade=state.editing, problems=problems, initial=initial)


# --- Rendering -----------------------------------------------------------------------------


def _ticket_context(
    form: TicketForm,
    state: TicketState,
    *,
    notice: Notice | None = None,
    confirm_close: bool = False,
) -> dict[str, Any]:
    account = form.current_account()
    return {
        "form": form,
        "rows": form.rows(),
        "state": state,
        "notice": notice,
        # A refusal just reported says it already; loaded later, the ticket says it itself.
        "state_notice": "" if notice and state.mode == "edit" and form.problems else state.notice,
        "confirm_close": _close_question(state.editing) if confirm_close else None,
        **_account_context(form.fields["account"].queryset, account),
    }


def _close_question(trade: Trade) -> dict[str, str]:
    """The confirmation Close at market asks (templates/core/confirm.html): what the trade's
    position holds and what the sell carries, rounded to the market's step as the close
    rounds it, in the base asset, with the dust that stays."""
    preview = close_preview(group=trade.position)
    question = (
        f"Trade #{trade.pk} holds {plain(trade.position.quantity)} {preview.base}: a position "
        "is not cancelled. Close it at market now?"
    )
    if preview.sells is not None:
        question += f" It sells {plain(preview.sells)} {preview.base}"
        if preview.stays > 0:
            question += (
                f"; {plain(preview.stays)} {preview.base} stays (dust below the market's step)"
            )
        question += "."
    return {"question": question, "keep_url": _desk_url(trade)}


def _account_context(accounts, account: ExchangeAccount | None) -> dict[str, Any]:
    """The ticket's symbol list and the Portfolio column, both for the ticket's account."""
    return {
        "accounts": accounts,
        "account": account,
        "symbols": (
            markets_of(account=account).filter(active=True).values_list("symbol", flat=True)
            if account
            else []
        ),
        "portfolio": portfolio(account=account) if account else None,
        "fee_pct": taker_fee_rate(account=account) * 100 if account else None,
    }


def _render_ticket(
    request: HttpRequest,
    form: TicketForm,
    state: TicketState,
    *,
    notice: Notice | None = None,
    confirm_close: bool = False,
    with_table: bool = False,
    partial: bool | None = None,
) -> HttpResponse:
    """The ticket alone for htmx (with the trades table and portfolio out of band), else the
    whole Desk."""
    context = _ticket_context(form, state, notice=notice, confirm_close=confirm_close)
    if request.htmx if partial is None else partial:
        if with_table:
            context["trades"] = selectors.trades_for_table(owner_id=request.user.pk)
        response = render(request, f"{DESK}#ticket-response", context)
        if state.trade is not None and state.mode != "copy":
            push_url(response, _desk_url(state.trade))
        return response
    context |= {
        "trades": selectors.trades_for_table(owner_id=request.user.pk),
        "figures": figures_for(user_id=request.user.pk, now=timezone.now()),
        # Every open position, from tickets and signals alike, in the order the trader chose.
        "desk": desk_positions(owner_id=request.user.pk, sort=desk_sort_of(request.user.pk)),
    }
    return render(request, DESK, context)


def _desk_url(trade: Trade) -> str:
    return f"{reverse('tickets:desk')}?trade={trade.pk}"


def _done(request: HttpRequest, trade: Trade, notice: Notice) -> HttpResponse:
    """After an action: htmx gets the fresh ticket; a plain form post is redirected to it."""
    if not request.htmx:
        messages.add_message(request, _LEVELS[notice.level], notice.text)
        return redirect(_desk_url(trade))
    trade = owned_trade(request, str(trade.pk))
    state = TicketState.of(trade)
    return _render_ticket(
        request, _ticket_form(request, state), state, notice=notice, with_table=True
    )


_LEVELS = {
    "info": messages.INFO,
    "success": messages.SUCCESS,
    "warning": messages.WARNING,
    "error": messages.ERROR,
}


# --- Views ---------------------------------------------------------------------------------


@login_required
@require_GET
def desk(request: HttpRequest) -> HttpResponse:
    """The Desk; `?trade=<pk>` loads a trade into the ticket, `?strategy=<pk>` a strategy."""
    if sort := desk_sort(request.GET.get("sort")):
        remember_desk_sort(request.user.pk, sort)
        if request.htmx and request.htmx.target == "desk-positions":
            desk = desk_positions(owner_id=request.user.pk, sort=sort)
            return render(request, "positions/desk_positions.html", {"desk": desk})
    trade = owned_trade(request, request.GET.get("trade"))
    strategy = _strategy(request, request.GET.get("strategy"))
    state = TicketState.of(trade)
    overrides = {name: request.GET.get(name, "") for name in ("account", "symbol")}
    form = _ticket_form(request, state, strategy=strategy, overrides=overrides)
    notice = Notice(f"Strategy {strategy.name} loaded into the ticket.") if strategy else None
    # Only a request aimed at the ticket gets the ticket alone; anything else, the whole page.
    partial = bool(request.htmx) and request.htmx.target == "ticket"
    return _render_ticket(request, form, state, notice=notice, partial=partial)


@login_required
@require_POST
def ticket(request: HttpRequest) -> HttpResponse:
    """Save, Activate, Modify, Discard, Cancel, Close at market, or Save as strategy."""
    trade = owned_trade(request, request.POST.get("trade"))
    state = TicketState.of(trade)
    action = request.POST.get("action", "save")
    if action in TRADE_ACTIONS:
        return _trade_action(request, state, action)

    form = _ticket_form(request, state, data=request.POST)
    if action == "refresh":
        # Without JavaScript the rows narrow on a round trip: re-show, validate nothing.
        refreshed = TicketForm(
            user=request.user, trade=state.editing, initial=form.data.dict() | _locked(state)
        )
        return _render_ticket(request, refreshed, state)
    if action == "save_strategy" and not request.POST.get("strategy_name", "").strip():
        form.is_valid()
        form.add_error("strategy_name", "Name the strategy to save it.")
    if not form.is_valid():
        return _render_ticket(
            request, form, state, notice=Notice("Nothing saved: fix what is marked.", "error")
        )
    try:
        if action == "save_strategy":
            return _save_strategy(request, form, state)
        if action == "activate":
            return _activate(request, form, state)
        saved = save_ticket(user=request.user, ticket=form.ticket(), trade=state.editing)
    except TicketError as error:
        return _render_ticket(request, form, state, notice=Notice(str(error), "error"))
    if state.mode == "modify":
        text = (
            f"Revision {saved.next_revision.number} saved; revision {saved.revision.number} "
            "keeps running until you Activate."
        )
    else:
        text = f"Ticket #{saved.pk} saved."
    return _done(request, saved, Notice(text, "success"))


def _locked(state: TicketState) -> dict[str, Any]:
    trade = state.editing
    if trade is None or trade.is_editable:
        return {}
    return {"account": trade.account_id, "symbol": trade.symbol, "side": trade.side}


def _trade_action(request: HttpRequest, state: TicketState, action: str) -> HttpResponse:
    trade = state.editing
    if trade is None:
        form = _ticket_form(request, state, data=request.POST)
        text = "Save or load a trade first: there is nothing to " + action + "."
        return _render_ticket(request, form, state, notice=Notice(text, "error"))
    now = timezone.now()
    try:
        if action == "modify":
            revision = modify_trade(trade=trade)
            return _done(request, trade, Notice(f"Revision {revision.number} opened for editing."))
        if action == "discard":
            discard_revision(trade=trade)
            return _done(request, trade, Notice("Changes discarded; the running revision stays."))
        if action == "cancel" and holds_position(trade):
            # A position is not cancelled: confirm closing it at market first.
            form = _ticket_form(request, state)
            return _render_ticket(request, form, state, confirm_close=True)
        if action == "close" and holds_position(trade) and not confirmed(request):
            # Selling asks once, the same way everywhere: nothing is sold without the answer.
            form = _ticket_form(request, state)
            why = refusal(request, nothing="Nothing was sold")
            notice = Notice(why, "error") if why else None
            return _render_ticket(request, form, state, notice=notice, confirm_close=True)
        if action == "cancel":
            cancel_trade(trade=trade, now=now)
            return _done(request, trade, Notice(f"Trade #{trade.pk} cancelled.", "success"))
        outcome = close_trade(trade=trade, now=now)
    except TicketError as error:
        return _render_ticket(
            request, _ticket_form(request, state), state, notice=Notice(str(error), "error")
        )
    return _done(request, trade, Notice(outcome.reason, "success"))


def _activate(request: HttpRequest, form: TicketForm, state: TicketState) -> HttpResponse:
    running = state.mode == "modify"
    activation = activate_ticket(
        user=request.user, ticket=form.ticket(), trade=state.editing, now=timezone.now()
    )
    trade = activation.trade
    if not activation.ok:
        text = "Activation refused: see the marked fields. Nothing was activated."
        if running:
            text += f" Revision {trade.revision.number} keeps running."
        return _done(request, trade, Notice(text, "error"))
    if running:
        text = f"Revision {trade.revision.number} is now running."
    else:
        text = f"Ticket #{trade.pk} activated: every check passed; waiting for the entry rule."
    return _done(request, trade, Notice(text, "success"))


def _save_strategy(request: HttpRequest, form: TicketForm, state: TicketState) -> HttpResponse:
    name = form.cleaned_data["strategy_name"]
    try:
        ticket = form.ticket()
        strategy = save_strategy(
            user=request.user,
            name=name,
            side=ticket.side,
            sizing=ticket.sizing,
            rules=ticket.rules,
            rest_take_profit=ticket.rest_take_profit,
        )
    except ValidationError as error:
        form.add_error(None, error)
        return _render_ticket(request, form, state)
    notice = Notice(f"Strategy {strategy.name} saved.", "success")
    if not request.htmx:
        messages.success(request, notice.text)
        query = {"strategy": strategy.pk, **_ticket_identity(form, state)}
        return redirect(f"{reverse('tickets:desk')}?{urlencode(query)}")
    # The ticket now follows the saved strategy; what the trader typed stays on screen.
    values = form.data.dict() | {"strategy": str(strategy.pk), "strategy_name": ""}
    shown = TicketForm(user=request.user, trade=state.editing, initial=values | _locked(state))
    return _render_ticket(request, shown, state, notice=notice)


def _ticket_identity(form: TicketForm, state: TicketState) -> dict[str, Any]:
    """What loading a strategy keeps of the ticket: its trade, account and symbol."""
    identity: dict[str, Any] = {}
    if state.editing is not None:
        identity["trade"] = state.editing.pk
    identity["account"] = form.cleaned_data["account"].pk
    identity["symbol"] = form.cleaned_data["symbol"]
    return identity


@login_required
@require_GET
def rule_row(request: HttpRequest, kind: str) -> HttpResponse:
    """One rule row narrowed to what is legal after the trader's latest pick."""
    try:
        rule_kind = RuleKind(kind)
        side = Side(request.GET.get("side") or Side.LONG)
    except ValueError as error:
        raise Http404 from error
    picked = {field: request.GET.get(field_name(rule_kind, field), "") for field in ROW_FIELDS}
    values, options = narrow(rule_kind, side, picked)
    row = RuleRow(rule_kind, side, values, options, errors={})
    return render(request, f"{DESK}#rule-row", {"row": row})


@login_required
@require_GET
def symbols(request: HttpRequest) -> HttpResponse:
    """The symbol list of the account picked on the ticket, and its Portfolio column."""
    accounts = accounts_for(request.user)
    chosen = request.GET.get("account", "")
    pk = object_id(chosen)
    account = accounts.filter(pk=pk).first() if pk else None
    if account is None:
        raise Http404
    return render(request, f"{DESK}#symbols-response", _account_context(accounts, account))
