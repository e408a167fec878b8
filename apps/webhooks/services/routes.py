"""Webhook routes: a trader's URLs, each trading one account with one strategy.

The token is the secret part of the URL: it goes into the route's page (its owner needs it to
paste into TradingView) and nowhere else: never into events, logs or the admin.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.core.events import record_event
from apps.exchanges.models import ExchangeAccount
from apps.strategies.models import Strategy
from apps.webhooks.domain.access import parse_allowlist
from apps.webhooks.models import DUPLICATE_WINDOW_DEFAULT, TRADINGVIEW_IPS, WebhookRoute
from apps.webhooks.selectors import DEMO_ROUTE

DEMO_STRATEGY = "TradingView demo"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _check(
    owner,
    *,
    label: str,
    account: ExchangeAccount,
    strategy: Strategy,
    ip_allowlist: str,
    route: WebhookRoute | None = None,
) -> None:
    errors = {}
    if account.owner_id != owner.pk:
        errors["account"] = "Choose one of your exchange accounts."
    if strategy.owner_id != owner.pk:
        errors["strategy"] = "Choose one of your strategies."
    others = WebhookRoute.objects.filter(owner=owner, label=label)
    if route is not None:
        others = others.exclude(pk=route.pk)
    if others.exists():
        errors["label"] = "You already have a route with this label."
    try:
        parse_allowlist(ip_allowlist)
    except ValueError as problem:
        errors["ip_allowlist"] = f"{problem}."
    if errors:
        raise ValidationError(errors)


def _facts(route: WebhookRoute) -> dict:
    """What an event may say about a route: never its token or secret."""
    return {
        "route": route.label,
        "account": route.account.label,
        "strategy": route.strategy.name,
        "secret": "set" if route.secret else "none",
        "allowlist": " ".join(str(n) for n in parse_allowlist(route.ip_allowlist)) or "anyone",
        "max_lag_seconds": route.max_lag_seconds,
        "rate_limit_per_minute": route.rate_limit_per_minute,
        "duplicate_window_seconds": route.duplicate_window_seconds,
    }


def create_route(
    *,
    owner,
    label: str,
    account: ExchangeAccount,
    strategy: Strategy,
    secret: str = "",
    ip_allowlist: str = TRADINGVIEW_IPS,
    max_lag_seconds: int = 300,
    rate_limit_per_minute: int = 60,
    duplicate_window_seconds: int = DUPLICATE_WINDOW_DEFAULT,
) -> WebhookRoute:
    _check(owner, label=label, account=account, strategy=strategy, ip_allowlist=ip_allowlist)
    with transaction.atomic():
        route = WebhookRoute.objects.create(
            owner=owner,
            label=label,
            token=new_token(),
            secret=secret,
            ip_allowlist=ip_allowlist.strip(),
            account=account,
            strategy=strategy,
            max_lag_seconds=max_lag_seconds,
            rate_limit_per_minute=rate_limit_per_minute,
            duplicate_window_seconds=duplicate_window_seconds,
        )
        record_event(
            kind="webhook.route_created",
            message=f"Webhook route {label} created: signals trade {account.label} with "
            f"strategy {strategy.name}.",
            user=owner,
            account=account,
            subject=route,
            data=_facts(route),
        )
    return route


def update_route(
    *,
    route: WebhookRoute,
    label: str,
    account: ExchangeAccount,
    strategy: Strategy,
    ip_allowlist: str,
    max_lag_seconds: int,
    rate_limit_per_minute: int,
    new_secret: str = "",
    clear_secret: bool = False,
    duplicate_window_seconds: int | None = None,
) -> WebhookRoute:
    """Change a route's settings. A blank `new_secret` keeps the saved secret;
    `clear_secret` removes it; no `duplicate_window_seconds` keeps the route's."""
    owner = route.owner
    _check(
        owner,
        label=label,
        account=account,
        strategy=strategy,
        ip_allowlist=ip_allowlist,
        route=route,
    )
    with transaction.atomic():
        route = WebhookRoute.objects.select_for_update().get(pk=route.pk)
        route.label, route.account, route.strategy = label, account, strategy
        route.ip_allowlist = ip_allowlist.strip()
        route.max_lag_seconds, route.rate_limit_per_minute = max_lag_seconds, rate_limit_per_minute
        if duplicate_window_seconds is not None:
            route.duplicate_window_seconds = duplicate_window_seconds
        if clear_secret:
            route.secret = ""
        elif new_secret:
            route.secret = new_secret
        route.save()
        record_event(
            kind="webhook.route_updated",
            message=f"Webhook route {label} saved.",
            user=owner,
            account=account,
            subject=route,
            data=_facts(route) | {"secret_changed": bool(clear_secret or new_secret)},
        )
    return route


def rotate_token(*, route: WebhookRoute, now: datetime) -> WebhookRoute:
    """A new URL: the old one stops working at once (TradingView alerts need the new one)."""
    with transaction.atomic():
        route = WebhookRoute.objects.select_for_update().get(pk=route.pk)
        route.token, route.rotated_at = new_token(), now
        route.save(update_fields=["token", "rotated_at"])
        record_event(
            kind="webhook.route_rotated",
            message=f"Webhook route {route.label} has a new URL; the old one no longer works.",
            user=route.owner,
            account=route.account,
            subject=route,
            data={"route": route.label},
        )
    return route


def set_route_active(*, route: WebhookRoute, active: bool) -> WebhookRoute:
    """Deactivate (its URL answers 404, waiting signals are rejected) or reactivate a route."""
    with transaction.atomic():
        updated = WebhookRoute.objects.filter(pk=route.pk, is_active=not active).update(
            is_active=active
        )
        route.refresh_from_db()
        if updated:
            record_event(
                kind="webhook.route_activated" if active else "webhook.route_deactivated",
                message=f"Webhook route {route.label} "
                + ("reactivated." if active else "deactivated: its URL no longer accepts signals."),
                user=route.owner,
                account=route.account,
                subject=route,
                data={"route": route.label},
            )
    return route


def ensure_demo_route(*, user, account: ExchangeAccount) -> WebhookRoute:
    """The demo trader's strategy and route on the paper account (created once): no secret and
    no allowlist, so a `curl` on loopback opens a paper position."""
    existing = WebhookRoute.objects.filter(owner=user, label=DEMO_ROUTE).first()
    if existing is not None:
        return existing
    strategy, _ = Strategy.objects.get_or_create(
        owner=user,
        name=DEMO_STRATEGY,
        defaults={"side": "long", "sizing_kind": "quote", "sizing_value": Decimal("100")},
    )
    return create_route(
        owner=user,
        label=DEMO_ROUTE,
        account=account,
        strategy=strategy,
        ip_allowlist="",
        max_lag_seconds=300,
        rate_limit_per_minute=60,
    )
