"""Settings → Strategies: what a webhook signal does with a strategy's position groups.

Sizing and rules are saved from the Desk's ticket (Save as strategy); this page edits the DCA
grid, the take-profit mode and the pyramid limit, and warns, without refusing, when a leg
would fall below an account's market minimums at the current price.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from apps.core.market_formats import formats_for
from apps.core.scoping import get_owned_or_404
from apps.exchanges.selectors import accounts_for, markets_of
from apps.strategies.domain import dca
from apps.strategies.domain.sizing import Sizing, SizingKind
from apps.strategies.forms import LegFormSet, StrategyGridForm, grid_rows
from apps.strategies.models import Strategy
from apps.strategies.selectors import strategies_for
from apps.strategies.services import GridPreview, preview_grid, update_strategy_grid

FORM = "strategies/strategy_form.html"


@login_required
def strategy_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "strategies/strategies.html", {"strategies": strategies_for(request.user)}
    )


def _preview_target(request: HttpRequest, data=None) -> tuple[str, str]:
    """The account and symbol to check the grid against: as asked, else the first account and
    its BTC market (or first market)."""
    source = data if data is not None else request.GET
    account, symbol = source.get("preview_account", ""), source.get("preview_symbol", "")
    if data is not None or "preview_account" in source:
        return account, symbol
    first = accounts_for(request.user).first()
    if first is None:
        return "", ""
    symbols = list(
        markets_of(account=first).filter(active=True).values_list("symbol", flat=True)[:200]
    )
    default = "BTC/USDT" if "BTC/USDT" in symbols else (symbols[0] if symbols else "")
    return str(first.pk), default


@login_required
def strategy_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """GET shows the saved grid (with its warnings); an htmx POST (any edit) answers only the
    preview of the posted grid, and a plain POST "preview" the whole page, neither saving; a
    plain POST "save" validates and saves, then shows the saved grid."""
    strategy = get_owned_or_404(Strategy, request.user, owner_field="owner", pk=pk)
    if request.method == "POST":
        form = StrategyGridForm(request.POST, user=request.user)
        legs = LegFormSet(request.POST, prefix="legs")
    else:
        form, legs = _saved_grid(request, strategy)
    saving = request.method == "POST" and request.POST.get("action") == "save" and not request.htmx
    preview = GridPreview()
    rows: list = []
    if form.is_valid() and legs.is_valid():
        raw, rows = grid_rows(legs)
        if not _put_problems(form, rows, raw):
            if saving and _save(request, form, strategy, raw):
                query = {
                    "preview_account": request.POST.get("preview_account", ""),
                    "preview_symbol": form.cleaned_data["preview_symbol"],
                }
                url = reverse("strategies:edit", args=[strategy.pk])
                return redirect(f"{url}?{urlencode(query)}")
            preview = _preview(form, strategy, raw)
    warnings = {
        id(leg_form): plan
        for leg_form, plan in zip(rows, preview.legs, strict=False)
        if not plan.ok
    }
    context = {
        "strategy": strategy,
        "form": form,
        "legs": legs,
        "leg_rows": [(leg_form, warnings.get(id(leg_form))) for leg_form in legs.forms],
        "preview": preview,
        "preview_rows": _numbered(preview, rows, legs.forms),
        "grid_errors": _grid_errors(form, legs),
        "single_leg_warning": preview.legs[0] if not rows and preview.warnings else None,
        "market": _market_format(form) if preview.legs else None,
    }
    return render(request, f"{FORM}#grid-preview" if request.htmx else FORM, context)


def _saved_grid(request: HttpRequest, strategy: Strategy):
    """The saved values as a bound form and formset, so they are checked as a post is."""
    account, symbol = _preview_target(request)
    form = StrategyGridForm(
        user=request.user,
        initial={
            "tp_mode": strategy.tp_mode,
            "group_tp_pct": strategy.group_tp_pct.normalize(),
            "pyramid_limit": strategy.pyramid_limit,
            "rest_take_profit": strategy.rest_take_profit,
            "preview_account": account,
            "preview_symbol": symbol,
        },
    )
    legs = LegFormSet(prefix="legs", initial=strategy.dca_legs)
    data = {**_bound(form), **_bound_formset(legs)}
    return StrategyGridForm(data, user=request.user), LegFormSet(data, prefix="legs")


def _save(request: HttpRequest, form: StrategyGridForm, strategy: Strategy, raw) -> bool:
    """Save the checked grid; False (with the error on the form) if the service refuses it."""
    try:
        update_strategy_grid(
            user=request.user,
            strategy=strategy,
            dca_legs=raw,
            tp_mode=form.cleaned_data["tp_mode"],
            group_tp_pct=form.cleaned_data["group_tp_pct"],
            pyramid_limit=form.cleaned_data["pyramid_limit"],
            rest_take_profit=form.cleaned_data["rest_take_profit"],
        )
    except ValidationError as error:
        form.add_error(None, error)
        return False
    messages.success(request, f"Strategy {strategy.name} saved.")
    return True


def _numbered(preview: GridPreview, rows: list, forms: list) -> list[tuple]:
    """Each previewed leg with the number of its row in the grid (blank rows are skipped, so a
    leg's place among the filled legs may differ), its own take-profit price and the group's
    once it has filled."""
    numbers = {id(form): number for number, form in enumerate(forms)}
    return [
        (numbers[id(rows[leg.index])] if leg.index < len(rows) else leg.index, leg, tp, group_tp)
        for leg, tp, group_tp in preview.rows
    ]


def _grid_errors(form: StrategyGridForm, legs) -> list[str]:
    """Every problem of the posted grid as one list, for the preview (which stands in for
    the legs until they are fixed): the settings', the grid's and each leg's, by leg number."""
    errors = [str(error) for error in form.non_field_errors()]
    errors += [
        f"{form.fields[name].label}: {error}"
        for name, field_errors in form.errors.items()
        if name != "__all__"
        for error in field_errors
    ]
    errors += [str(error) for error in legs.non_form_errors()]
    for index, leg_form in enumerate(legs.forms):
        number = index + 1  # legs count from 1, as the editor shows them
        errors += [f"Leg {number}: {error}" for error in leg_form.non_field_errors()]
        errors += [
            f"Leg {number} {leg_form.fields[name].label}: {error}"
            for name, field_errors in leg_form.errors.items()
            if name != "__all__"
            for error in field_errors
        ]
    return errors


def _bound(form: StrategyGridForm) -> dict:
    return {
        name: "" if form.initial.get(name) is None else str(form.initial.get(name))
        for name in form.fields
    }


def _bound_formset(formset) -> dict:
    data = {
        f"{formset.prefix}-TOTAL_FORMS": str(len(formset.forms)),
        f"{formset.prefix}-INITIAL_FORMS": str(formset.initial_form_count()),
    }
    for index, leg_form in enumerate(formset.forms):
        for name in leg_form.fields:
            data[f"{formset.prefix}-{index}-{name}"] = str(leg_form.initial.get(name, ""))
    return data


def _put_problems(form: StrategyGridForm, rows: list, raw: list[dict]) -> bool:
    """Put the domain's problems on the leg (or the setting) they concern; True if any."""
    problems = dca.grid_problems(raw)
    for index, messages_ in problems.items():
        for message in messages_:
            if index is None:
                form.add_error(None, message)
            else:
                rows[index].add_error(None, message)
    settings_problems = dca.tp_settings_problems(
        pyramid_limit=form.cleaned_data["pyramid_limit"],
        group_tp_pct=form.cleaned_data["group_tp_pct"],
    )
    for field, message in settings_problems.items():
        form.add_error(field, message)
    return bool(problems or settings_problems)


def _market_format(form: StrategyGridForm):
    """The previewed market's tick, step and units, for the preview's figures."""
    pair = (form.cleaned_data["preview_account"].pk, form.cleaned_data["preview_symbol"])
    return formats_for([pair])[pair]


def _preview(form: StrategyGridForm, strategy: Strategy, raw: list[dict]) -> GridPreview:
    account = form.cleaned_data.get("preview_account")
    symbol = form.cleaned_data.get("preview_symbol")
    if account is None or not symbol:
        return GridPreview()
    return preview_grid(
        account=account,
        symbol=symbol,
        legs=dca.parse_grid(raw),
        sizing=Sizing(SizingKind(strategy.sizing_kind), strategy.sizing_value.normalize()),
        group_tp_pct=form.cleaned_data["group_tp_pct"],
        tp_mode=form.cleaned_data["tp_mode"],
        price=form.cleaned_data.get("preview_price"),
    )
