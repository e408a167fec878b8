"""`get_adapter(account)`: the one way services reach an exchange."""

from __future__ import annotations

from django.conf import settings

from apps.exchanges.adapters.base import ExchangeAdapter


def get_adapter(account) -> ExchangeAdapter:
    """The adapter for `account`: the paper exchange, or ccxt with the account's credentials.

    Imported lazily so that a desk with only paper accounts never loads ccxt.
    """
    if account.is_paper:
        from apps.exchanges.adapters.paper import PaperExchange

        return PaperExchange(account)
    from apps.exchanges.adapters.ccxt import CcxtAdapter

    return CcxtAdapter(
        account.kind,
        api_key=account.api_key,
        secret=account.api_secret,
        password=account.api_passphrase,
        sandbox=account.sandbox,
        timeout_seconds=settings.EXCHANGE_TIMEOUT_SECONDS,
    )
