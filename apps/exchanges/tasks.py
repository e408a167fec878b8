from celery import shared_task
from django.utils import timezone

from apps.exchanges import services


@shared_task(name="exchanges.refresh_markets")
def refresh_markets() -> bool:
    return services.market_loop()


@shared_task(name="exchanges.refresh_balances")
def refresh_balances() -> bool:
    return services.balance_loop()


@shared_task(name="exchanges.paper_prices")
def paper_prices() -> bool:
    return services.paper_price_loop()


@shared_task(name="exchanges.refresh_account")
def refresh_account(account_id: int) -> None:
    services.refresh_account(account_id=account_id, now=timezone.now())
