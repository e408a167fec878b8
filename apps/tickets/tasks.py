from celery import shared_task

from apps.tickets import services


@shared_task(name="trades.rules")
def rules() -> bool:
    return services.rules_loop()


@shared_task(name="trades.market_data")
def market_data() -> bool:
    return services.market_data_loop()
