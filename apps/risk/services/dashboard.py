"""The risk app's figures in the Desk's header: equity, today's PnL and what guards the
accounts (`apps.core.dashboard.desk_figures`, connected in `RiskConfig.ready`).

Equity is what the risk loop last measured for the account's guards (every balance valued in
the quote currency, every few seconds); today's PnL is that equity against the day's opening
equity at 00:00 UTC: realised and unrealised together, fees included, exactly what the daily
loss guard compares. Several accounts are summed per quote currency, never across them.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.urls import reverse

from apps.core import formatting
from apps.core.dashboard import Figure
from apps.core.numbers import ZERO
from apps.risk.models import AccountGuard
from apps.risk.services.guards import active_reasons, today


def desk_figures(*, user_id: int, now: datetime) -> list[Figure]:
    guards = list(AccountGuard.objects.filter(account__owner_id=user_id).select_related("account"))
    equity: dict[str, Decimal] = defaultdict(lambda: ZERO)
    day_pnl: dict[str, Decimal] = defaultdict(lambda: ZERO)
    day_start: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for guard in guards:
        quote = guard.account.quote_currency
        if guard.equity is None:
            continue
        equity[quote] += guard.equity
        if guard.day == today(now) and guard.day_start_equity:
            day_pnl[quote] += guard.equity - guard.day_start_equity
            day_start[quote] += guard.day_start_equity
    risk_url = reverse("risk:risk")
    figures = [
        Figure(
            key="equity",
            label="Equity",
            value=" · ".join(
                formatting.quote(v, q, places=settings.QUOTE_PLACES)
                for q, v in sorted(equity.items())
            )
            or "–",
            detail="every balance at its last price" if equity else "not measured yet",
            order=10,
            url=risk_url,
        )
    ]
    if day_start:
        quote, pnl = max(day_pnl.items(), key=lambda item: day_start[item[0]])
        pct = pnl / day_start[quote] * 100
        figures.append(
            Figure(
                key="today-pnl",
                label="Today's PnL",
                value=" · ".join(
                    formatting.signed(v, q, places=settings.QUOTE_PLACES)
                    for q, v in sorted(day_pnl.items())
                ),
                detail=f"{formatting.pct(pct, signed=True)} since 00:00 UTC, fees included",
                tone=formatting.tone(pnl, places=settings.QUOTE_PLACES),
                order=20,
            )
        )
    else:
        figures.append(
            Figure(
                key="today-pnl",
                label="Today's PnL",
                value="–",
                detail="from the day's equity",
                order=20,
            )
        )
    reasons = [
        f"{guard.account.label}: {reason}"
        for guard in guards
        for reason in active_reasons(guard.account, now=now)
    ]
    killed = any(guard.killed_at is not None for guard in guards)
    figures.append(
        Figure(
            key="guards",
            label="Guards",
            value=("Kill switch on" if killed else f"{len(reasons)} in force")
            if reasons
            else "All clear",
            detail=reasons[0] if reasons else "no guard, breaker or kill switch in force",
            title="\n".join(reasons),
            tone=("error" if killed else "warning") if reasons else "",
            order=70,
            url=risk_url,
        )
    )
    return figures
