from __future__ import annotations

import json

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from apps.core.csv_export import csv_response
from apps.performance import selectors
from apps.performance.forms import PARAMS, PerformanceFilterForm
from apps.risk.domain.selection import duration_text


def _scope(request: HttpRequest) -> tuple[PerformanceFilterForm, selectors.Scope]:
    form = PerformanceFilterForm(request.GET, user=request.user)
    form.is_valid()
    period = form.period(today=timezone.now().date())
    account = form.cleaned_data.get("account")
    return form, selectors.scope_for(user=request.user, account=account, period=period)


@login_required
def performance(request: HttpRequest) -> HttpResponse:
    """The figures, curve and breakdowns of the trader's closed positions over a period."""
    form, scope = _scope(request)
    view = selectors.performance(scope)
    query = request.GET.copy()
    for name in list(query):
        if name not in PARAMS:
            del query[name]
    context = {
        "form": form,
        "problems": form.problems(),
        "view": view,
        "figures": view.figures,
        "quote": scope.quote,
        "charts": json.dumps(selectors.chart_series(view)),
        "params": query.urlencode(),
        "holding": duration_text(view.figures.average_holding)
        if view.figures.average_holding is not None
        else "–",
    }
    return render(request, "performance/performance.html", context)


@login_required
def performance_csv(request: HttpRequest) -> StreamingHttpResponse:
    """Every field of every closed position behind the current view, Decimals unrounded."""
    _, scope = _scope(request)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    return csv_response(
        f"tradedesk-performance-{stamp}.csv", selectors.CSV_HEADER, selectors.csv_rows(scope)
    )
