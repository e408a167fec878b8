"""Exchange accounts, their markets and balances, and order previews.

Every exchange call happens outside a transaction; what it returns is written afterwards in a
short one. Errors from the exchange arrive as our own classes (apps.exchanges.errors) and are
recorded as events without credentials.
"""

from apps.exchanges.services.accounts import (
    SECRET_FIELDS,
    ConnectionResult,
    check_connection,
    create_account,
    refresh_account,
    supported_kinds,
    update_account,
)
from apps.exchanges.services.balances import refresh_balances, refresh_due_balances
from apps.exchanges.services.loops import balance_loop, market_loop, paper_price_loop
from apps.exchanges.services.markets import (
    MarketsStale,
    ensure_markets_fresh,
    refresh_due_markets,
    refresh_markets,
)
from apps.exchanges.services.preview import preview

__all__ = [
    "SECRET_FIELDS",
    "ConnectionResult",
    "MarketsStale",
    "balance_loop",
    "check_connection",
    "create_account",
    "ensure_markets_fresh",
    "market_loop",
    "paper_price_loop",
    "preview",
    "refresh_account",
    "refresh_balances",
    "refresh_due_balances",
    "refresh_due_markets",
    "refresh_markets",
    "supported_kinds",
    "update_account",
]
