"""The Queue & Pool page: each account's pool (slots used / free), its queue in priority order
(live), Promote and Remove, the pool's settings, and the CSV export of the queue."""

from __future__ import annotations

from collections.abc import Iterator

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from apps.core.confirm import confirmed, entry_name, refusal
from apps.core.csv_export import csv_response
from apps.trade_queue import selectors, services
from apps.trade_queue.forms import PoolSettingsForm
from apps.trade_queue.selectors import AccountQueue

PAGE = "trade_queue/queue.html"


def _with_form(aq: AccountQueue, data=None) -> AccountQueue:
    aq.form = PoolSettingsForm(data, account=aq.account, pool_settings=aq.settings)
    return aq


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    accounts = [_with_form(aq) for aq in selectors.queue_page(request.user)]
    return render(request, PAGE, {"accounts": accounts})


def _answer(
    request: HttpRequest,
    account,
    notice: str,
    *,
    error: bool = False,
    partial: str = "account-pool",
) -> HttpResponse:
    """htmx: the account's pool and queue with what happened (`partial`: Remove's answer also
    closes its confirmation); else back to the page."""
    if request.htmx:
        aq = selectors.account_queue(account)
        return render(
            request, f"{PAGE}#{partial}", {"aq": aq, "notice": notice, "notice_error": error}
        )
    (messages.error if error else messages.success)(request, notice)
    return redirect("trade_queue:queue")


@login_required
@require_POST
def promote(request: HttpRequest, pk: int) -> HttpResponse:
    """Promote: this entry takes the next free slot ahead of priority (never beyond the cap)."""
    return _act_on_queued(request, pk, services.request_promotion)


@login_required
@require_POST
def remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Remove: the first post only asks (200, the confirmation, beside the live pool so a push
    does not wipe it; nothing is removed); the confirmation's post removes the entry."""
    if not confirmed(request):
        return _ask_remove(request, pk)
    return _act_on_queued(request, pk, services.remove_queued, partial="remove-answer")


def _ask_remove(request: HttpRequest, pk: int) -> HttpResponse:
    queued = get_object_or_404(selectors.queued_of(request.user), pk=pk)
    context = {
        "confirm_remove": queued,
        "confirm_question": (
            f"Remove {entry_name(queued)} from the queue? Its signal is decided cancelled and "
            "it is never promoted."
        ),
        "confirm_why": refusal(request, nothing="Nothing was removed"),
    }
    if request.htmx:
        aq = selectors.account_queue(queued.account)
        return render(request, f"{PAGE}#remove-confirm", {"aq": aq, **context})
    accounts = [_with_form(aq) for aq in selectors.queue_page(request.user)]
    return render(request, PAGE, {"accounts": accounts, **context})


def _act_on_queued(
    request: HttpRequest, pk: int, service, *, partial: str = "account-pool"
) -> HttpResponse:
    queued = get_object_or_404(selectors.queued_of(request.user), pk=pk)
    try:
        notice = service(queued_id=queued.pk, now=timezone.now(), by=request.user.get_username())
    except services.QueueError as error:
        return _answer(request, queued.account, str(error), error=True, partial=partial)
    return _answer(request, queued.account, notice, partial=partial)


@login_required
@require_POST
def pool_settings(request: HttpRequest, account_pk: int) -> HttpResponse:
    """Save the pool's settings; a validation failure answers with the form and its errors."""
    account = get_object_or_404(selectors.accounts_of(request.user), pk=account_pk)
    aq = _with_form(selectors.account_queue(account), request.POST)
    saved = False
    if aq.form.is_valid():
        data = aq.form.cleaned_data
        try:
            services.update_pool_settings(
                account=account,
                max_open_groups=data["max_open_groups"],
                pyramids_count=data["pyramids_count"],
                queue_expiry_minutes=data["queue_expiry_minutes"],
            )
        except ValidationError as error:
            aq.form.add_error(None, error)
        else:
            saved = True
            account.refresh_from_db()
            aq = _with_form(selectors.account_queue(account))
    if not request.htmx:
        if saved:
            messages.success(request, f"{account.label}'s pool settings saved.")
            return redirect("trade_queue:queue")
        accounts = [
            aq if other.account.pk == account.pk else _with_form(other)
            for other in selectors.queue_page(request.user)
        ]
        return render(request, PAGE, {"accounts": accounts})
    return render(request, f"{PAGE}#settings-answer", {"aq": aq, "saved": saved})


# --- CSV ------------------------------------------------------------------------------------

CSV_COLUMNS = [
    "account",
    "rank",
    "queued_id",
    "symbol",
    "timeframe",
    "side",
    "status",
    "signal_id",
    "signal_price",
    "quantity",
    "market_price",
    "market_price_at",
    "loss_pct",
    "continuation",
    "replacements",
    "queued_at",
    "expires_at",
    "promoted_by_trader_at",
]


@login_required
@require_GET
def queue_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Every waiting entry of the trader's accounts, in rank order per account (the one CSV
    helper: values unrounded, a label or symbol that reads as a formula neutralised)."""

    def rows() -> Iterator[list]:
        for aq in selectors.queue_page(request.user):
            for row in aq.rows:
                queued = row.queued
                yield [
                    aq.account.label,
                    row.rank,
                    queued.pk,
                    queued.symbol,
                    queued.timeframe,
                    queued.side,
                    queued.status,
                    queued.signal_id,
                    queued.signal_price,
                    queued.quantity,
                    queued.market_price,
                    queued.market_price_at,
                    row.loss_pct,
                    row.continuation,
                    queued.replacements,
                    queued.queued_at,
                    queued.expires_at,
                    queued.pinned_at,
                ]

    return csv_response("queue.csv", CSV_COLUMNS, rows())
