"""The engine's figures in the Desk's header: open positions and the pool, exposure and the
unrealised PnL (`apps.core.dashboard.desk_figures`, connected in `PositionsConfig.ready`)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.urls import reverse

from apps.core import formatting
from apps.core.dashboard import Figure
from apps.core.numbers import ZERO
from apps.exchanges.models import ExchangeAccount
from apps.positions.models import PositionGroup
from apps.positions.services.pool import pool_of


def desk_figures(*, user_id: int, now: datetime) -> list[Figure]:
    held = PositionGroup.objects.filter(
        owner_id=user_id, status__in=[*PositionGroup.POOL, PositionGroup.Status.CLOSING]
    ).select_related("account")
    exposure: dict[str, Decimal] = defaultdict(lambda: ZERO)
    unrealised: dict[str, Decimal] = defaultdict(lambda: ZERO)
    count = 0
    for position in held:
        count += 1
        quote = position.account.quote_currency
        price = position.last_price or position.average_entry
        if price is not None:
            exposure[quote] += position.quantity * price
        unrealised[quote] += position.unrealised_pnl or ZERO
    pools = [pool_of(a) for a in ExchangeAccount.objects.filter(owner_id=user_id, is_active=True)]
    used, size = sum(p.used for p in pools), sum(p.size for p in pools)
    total = sum(unrealised.values(), ZERO)
    positions_url = reverse("positions:list")
    return [
        Figure(
            key="positions",
            label="Open positions",
            value=str(count),
            detail=f"pool {used} / {size}" + (" · full" if pools and used >= size else ""),
            tone="warning" if pools and used >= size else "",
            order=40,
            url=positions_url,
        ),
        Figure(
            key="exposure",
            label="Open exposure",
            value=" · ".join(
                formatting.quote(v, q, places=settings.QUOTE_PLACES)
                for q, v in sorted(exposure.items())
            )
            or "–",
            detail="held at the last price" if exposure else "nothing held",
            order=30,
        ),
        Figure(
            key="unrealised",
            label="Unrealised PnL",
            value=" · ".join(
                formatting.signed(v, q, places=settings.QUOTE_PLACES)
                for q, v in sorted(unrealised.items())
            )
            or "–",
            detail="open positions, entry fees included",
            tone=formatting.tone(total, places=settings.QUOTE_PLACES),
            order=25,
        ),
    ]
