from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.core.forms import object_id
from apps.core.installation import order_id_prefix
from apps.core.market_formats import formats_for
from apps.core.scoping import get_owned_or_404
from apps.exchanges import selectors, services
from apps.exchanges.domain.types import OrderSide, OrderType
from apps.exchanges.forms import ExchangeAccountForm, OrderPreviewForm
from apps.exchanges.models import ExchangeAccount


def _owned_account(request: HttpRequest, pk: int) -> ExchangeAccount:
    return get_owned_or_404(ExchangeAccount, request.user, owner_field="owner", pk=pk)


@login_required
def account_list(request: HttpRequest) -> HttpResponse:
    accounts = selectors.accounts_for(request.user)
    return render(request, "exchanges/accounts.html", {"accounts": accounts})


@login_required
def account_create(request: HttpRequest) -> HttpResponse:
    form = ExchangeAccountForm(
        request.POST or None, owner=request.user, kinds=services.supported_kinds()
    )
    if request.method == "POST" and form.is_valid():
        try:
            account = services.create_account(owner=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"{account.label} added.")
            return redirect("exchanges:account-detail", pk=account.pk)
    return render(request, "exchanges/account_form.html", {"form": form})


@login_required
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    account = _owned_account(request, pk)
    form = ExchangeAccountForm(
        request.POST or None,
        owner=request.user,
        kinds=services.supported_kinds(),
        account=account,
        initial={
            "label": account.label,
            "sandbox": account.sandbox,
            "quote_currency": account.quote_currency,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.update_account(account=account, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, f"{account.label} saved.")
            return redirect("exchanges:account-detail", pk=account.pk)
    context = {
        "account": account,
        "form": form,
        "portfolio": selectors.portfolio(account=account),
        "markets": selectors.markets_of(account=account),
        "preview_form": OrderPreviewForm(),
        "id_prefix": order_id_prefix(),
    }
    return render(request, "exchanges/account_detail.html", context)


@login_required
@require_POST
def account_test(request: HttpRequest, pk: int) -> HttpResponse:
    account = _owned_account(request, pk)
    result = services.check_connection(account=account)
    return render(
        request,
        "exchanges/account_detail.html#connection-result",
        {"account": account, "result": result},
    )


@login_required
@require_POST
def account_preview(request: HttpRequest, pk: int) -> HttpResponse:
    account = _owned_account(request, pk)
    form = OrderPreviewForm(request.POST)
    preview = None
    if form.is_valid():
        data = form.cleaned_data
        by_quote = data["size_in"] == "quote"
        preview = services.preview(
            account=account,
            symbol=data["symbol"].strip().upper(),
            side=OrderSide(data["side"]),
            type=OrderType(data["type"]),
            amount=None if by_quote else data["size"],
            quote_amount=data["size"] if by_quote else None,
            price=data["price"] if data["type"] == OrderType.LIMIT else None,
            now=timezone.now(),
        )
    context = {"account": account, "preview_form": form, "preview": preview}
    if preview is not None:
        context["market"] = formats_for([(account.pk, preview.symbol)])[
            (account.pk, preview.symbol)
        ]
    return render(request, "exchanges/account_detail.html#order-preview", context)


@login_required
def portfolio_panel(request: HttpRequest) -> HttpResponse:
    """The Desk's Portfolio panel for the chosen (or first) account."""
    accounts = selectors.accounts_for(request.user)
    chosen = request.GET.get("account")
    pk = object_id(chosen)
    account = accounts.filter(pk=pk).first() if pk else None
    account = account or accounts.first()
    context = {
        "accounts": accounts,
        "portfolio": selectors.portfolio(account=account) if account else None,
    }
    return render(request, "exchanges/portfolio.html", context)
