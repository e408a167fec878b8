from celery import shared_task

from apps.trade_queue import services


@shared_task(name="trade_queue.promote_account")
def promote(account_id: int) -> None:
    """A slot freed on the account (enqueued on commit of the group's close)."""
    services.promote_account(account_id=account_id)


@shared_task(name="trade_queue.promotion")
def promotion() -> bool:
    return services.promotion_loop()
